#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hot-remove under a 16-job 1 MiB write load through two controllers: the
# configfs write returns, the host drops the namespace on every controller
# by itself, and every write fio saw complete before the removal reads back
# intact after the same backend is attached again.  A third, observer
# controller (another host NQN, on its own loop port whose ANA state keeps
# the host's I/O off it) masks the Namespace Attribute Notice, so that its
# Changed Namespace List log can be read after the removal; its stale path
# keeps the host's block device (and fio's writes, queued) until it is
# rescanned.
. "$(dirname "$0")/lib.sh"

hp_require_root
trap 'hp_cleanup; rm -rf "$work"' EXIT
work=$(mktemp -d)
ktap_print_header
ktap_set_plan 11

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start

# Writes take 500 ms in the backend, so that many are in flight.
nullb=$(hp_nullb_create hprm 128) || ktap_exit_fail_msg "null_blk"
dev=$(hp_dm_delay hprmslow "$nullb" 0 500) || ktap_exit_fail_msg "dm-delay"
hp_setup_live rm "$dev"
read -r c1 c2 <<<"$(hp_ctrls "$HP_NQN" | tr '\n' ' ')"
hp_port_create 3 loop || ktap_exit_fail_msg "observer port"
echo 3 >"$CFS/ports/3/addr_traddr"
echo inaccessible >"$CFS/ports/3/ana_groups/1/ana_state"
hp_port_link 3 "$HP_NQN" || ktap_exit_fail_msg "observer port link"
obs=$(hp_connect_observer "$HP_NQN" 3) ||
	ktap_exit_fail_msg "observer controller"
hp_wait "observer sees nsid 1" hp_ctrl_has_ns "$obs" 1 ||
	ktap_exit_fail_msg "observer does not see nsid 1"
nvme set-feature "/dev/$obs" -f 0x0b -v 0 >/dev/null ||
	ktap_exit_fail_msg "set-feature on the observer"
host=$(hp_disk "$HP_NQN" 1)
ns=$(hp_ns_dir "$HP_NQN" 1)

fio_args=(--rw=write --bs=1M --numjobs=16 --size=6M --offset_increment=6M
	  --direct=1 --ioengine=libaio --iodepth=2 --verify=crc32c
	  --verify_state_save=1 --output-format=json)
hp_trace_aen_start || ktap_exit_fail_msg "trace events"
(cd "$work" && exec fio --name=load --filename="$host" \
	--do_verify=0 "${fio_args[@]}" --output="$work/write.json" \
	2>"$work/write.err") &
fio_pid=$!
HP_BG_PIDS+=("$fio_pid")

# Some writes reached the backend (8 MiB), some are in flight.
written_mib() { awk '{ print int($7 / 2048) }' /sys/block/hprm/stat; }
hp_wait "8 MiB written" eval '[ "$(written_mib)" -ge 8 ]'
hp_wait "I/O in flight on nsid 1" eval "[ \$(cat $ns/hotplug/inflight) -gt 0 ]"
hp_log "removing with $(written_mib) MiB written, $(cat "$ns/hotplug/inflight") commands in flight"
hp_check "fio is still writing when the removal starts" hp_running "$fio_pid"
echo 0 >"$ns/enable"
hp_check "the configfs write returned success" [ $? -eq 0 ]
hp_check "nsid 1 is detached on the target" [ "$(hp_state "$HP_NQN" 1)" = detached ]
hp_check "the host removed nsid 1 through both controllers by itself" \
	hp_wait "nsid 1 gone" eval "! hp_ctrl_has_ns $c1 1 && ! hp_ctrl_has_ns $c2 1"
ok=1
for c in $c1 $c2; do
	n=$(grep 'nvme_async_event:' $TRACEFS/trace | grep -c "$c: NVME_AEN=0x040002")
	hp_log "$c: $n Namespace Attribute Changed AEN(s)"
	[ "$n" -ge 1 ] || ok=0
done
hp_check "every host controller got the Namespace Attribute Changed AEN" [ $ok = 1 ]
hp_check "every host controller read the Changed Namespace List log" \
	[ "$(hp_dmesg_since_mark | grep -c 'rescanning namespaces')" -ge 2 ]
hp_trace_aen_stop
hp_check "the Changed Namespace List log names nsid 1 (observer controller)" \
	eval "nvme changed-ns-list-log /dev/$obs -b | od -An -tu4 -v | tr -s ' ' '\n' | grep -qx 1"
nvme set-feature "/dev/$obs" -f 0x0b -v 0x100 >/dev/null
nvme ns-rescan "/dev/$obs"
hp_check "no block device of nsid 1 is left on the host" \
	hp_wait "nsid 1 gone" hp_ns_gone_all "$HP_NQN" 1
hp_check "fio saw the removal as an error and exited" \
	hp_wait "fio exit" eval "! hp_running $fio_pid"

echo 1 >"$ns/enable"
hp_wait "nsid 1 back" hp_ns_visible_all "$HP_NQN" 1 3
host=$(hp_disk "$HP_NQN" 1)
hp_check "every completed write reads back intact" \
	hp_verify_written "$work" "$host" "${fio_args[@]}"
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
