#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Backend hotplug: with backend_watch the namespace is hot-removed by itself
# when its block device goes away under load (null_blk powered off, which
# removes the disk through del_gendisk), the host drops it on every
# controller; with auto_reattach it comes back by itself, same NSID and
# UUID, when the device returns, and the data written before the loss
# reads back intact.  Without auto_reattach it waits for "enable".  The
# same with an orderly removal of another kind of disk: the backend of
# nsid 3 is a namespace of a second nvmet subsystem that this host reaches
# over loop, and "nvme disconnect" removes that disk.
. "$(dirname "$0")/lib.sh"

hp_require_root
trap 'hp_cleanup; rm -rf "$work"' EXIT
work=$(mktemp -d)
ktap_print_header
ktap_set_plan 17

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start

nullb=$(hp_nullb_create hpbk 64) || ktap_exit_fail_msg "null_blk"
nullb2=$(hp_nullb_create hpbk2 16) || ktap_exit_fail_msg "null_blk"
hp_setup_live bk "$nullb" "$nullb2"
ns=$(hp_ns_dir "$HP_NQN" 1)
ns2=$(hp_ns_dir "$HP_NQN" 2)
# power [DEV] 0|1
power() {
	local d=hpbk
	[ $# = 2 ] && { d=$1; shift; }
	echo "$1" >"$NULLB_CFS/$d/power"
}
state_is() { [ "$(hp_state "$HP_NQN" "${2:-1}")" = "$1" ]; }

echo 1 >"$ns/hotplug/backend_watch" && echo 1 >"$ns/hotplug/auto_reattach"
echo 1 >"$ns2/hotplug/backend_watch" && echo 1 >"$ns2/hotplug/auto_reattach"
hp_check "backend_watch and auto_reattach are on for the live namespace" \
	eval '[ "$(cat "$ns/hotplug/backend_watch")" = 1 ] &&
	      [ "$(cat "$ns/hotplug/auto_reattach")" = 1 ]'

# A known pattern in the first 4 MiB, the load writes elsewhere.
host=$(hp_disk "$HP_NQN" 1)
uuid=$(cat "/sys/block/${host#/dev/}/uuid")
dd if=/dev/urandom of="$work/pattern" bs=1M count=4 status=none
dd if="$work/pattern" of="$host" bs=1M oflag=direct status=none ||
	ktap_exit_fail_msg "writing the pattern"
sum=$(md5sum <"$work/pattern" | cut -d' ' -f1)

fio --name=load --filename="$host" --rw=randwrite --bs=64k --offset=8M \
	--size=32M --direct=1 --ioengine=libaio --iodepth=8 --time_based \
	--runtime=3600 --output=/dev/null &
fio_pid=$!
HP_BG_PIDS+=("$fio_pid")
writes() { awk '{ print $5 }' /sys/block/hpbk/stat; }
w0=$(writes)
hp_wait "load reaches the backend" eval '[ "$(writes)" -gt $((w0 + 64)) ]'

# 1. The device goes away under load (timed, to 0.2 s polls).
usecs() { echo "${EPOCHREALTIME/./}"; }
t0=$(usecs)
power 0
hp_check "the namespace goes to backend-lost by itself" \
	hp_wait "backend-lost" state_is backend-lost
t1=$(usecs)
hp_check "the host removed nsid 1 through both controllers" \
	hp_wait "nsid 1 gone" hp_ns_gone_all "$HP_NQN" 1
t2=$(usecs)
hp_log "backend loss under load: nsid 1 backend-lost $(((t1 - t0) / 1000)) ms after the power-off, gone from both host controllers after $(((t2 - t0) / 1000)) ms"
hp_check "stats count one backend loss and the state says why" \
	eval '[ "$(hp_stat "$HP_NQN" 1 backend_lost)" -eq 1 ] &&
	      grep -q "reason: backend /dev/hpbk went away" "$ns/hotplug/state"'
hp_check "the load saw the removal and ended" \
	hp_wait "fio exit" eval "! hp_running $fio_pid"

# 2. It comes back: re-attached with the same NSID and identity.
power 1
hp_check "the namespace is re-attached by itself" \
	hp_wait "live again" state_is live
hp_check "the host sees nsid 1 again through both controllers" \
	hp_wait "nsid 1 back" hp_ns_visible_all "$HP_NQN" 1 2
host=$(hp_disk "$HP_NQN" 1)
hp_check "same identity: the host sees the same UUID" \
	[ "$(cat "/sys/block/${host#/dev/}/uuid")" = "$uuid" ]
got=$(dd if="$host" bs=1M count=4 iflag=direct status=none | md5sum | cut -d' ' -f1)
hp_check "the data written before the loss reads back intact" [ "$got" = "$sum" ]
hp_check "stats count one re-attach and the watch is open again" \
	eval '[ "$(hp_stat "$HP_NQN" 1 reattaches)" -eq 1 ] &&
	      [ "$(cat "$ns/hotplug/backend_watch")" = 1 ]'

# 3. Without auto_reattach the namespace waits for the admin.  nsid 2,
#    with auto_reattach, shows when the re-attach work has looked at the
#    devices: its device returns after that of nsid 1.
echo 0 >"$ns/hotplug/auto_reattach"
power 0
power hpbk2 0
hp_wait "backend-lost again" state_is backend-lost
hp_wait "nsid 2 backend-lost" state_is backend-lost 2
hp_wait "nsid 1 gone again" hp_ns_gone_all "$HP_NQN" 1
power 1
hp_wait "/dev/hpbk back" eval "blockdev --getsz /dev/hpbk >/dev/null 2>&1"
power hpbk2 1
hp_wait "nsid 2 re-attached" state_is live 2
hp_check "without auto_reattach the namespace stays backend-lost" \
	eval 'state_is backend-lost && [ "$(hp_stat "$HP_NQN" 1 reattaches)" -eq 1 ]'
echo 1 >"$ns/enable"
hp_check "enable attaches it again and the host sees it" \
	eval 'state_is live && hp_wait "nsid 1 back" hp_ns_visible_all "$HP_NQN" 1 2'
hp_check "stats: two losses, one automatic re-attach" \
	eval '[ "$(hp_stat "$HP_NQN" 1 backend_lost)" -eq 2 ] &&
	      [ "$(hp_stat "$HP_NQN" 1 reattaches)" -eq 1 ]'

# 4. Orderly removal of a stacked NVMe disk (nvme disconnect: the host
#    driver deletes the disk, del_gendisk marks it dead).
nullb3=$(hp_nullb_create hpbk3 16) || ktap_exit_fail_msg "null_blk"
lower=$(hp_subsys_create bklower) || ktap_exit_fail_msg "lower subsystem"
hp_ns_create "$lower" 1 "$nullb3" || ktap_exit_fail_msg "lower nsid 1"
hp_port_link 1 "$lower" || ktap_exit_fail_msg "lower port link"
lctrl=$(hp_connect "$lower" loop) || ktap_exit_fail_msg "lower connect"
hp_wait "lower disk" hp_disk_find "$lower" 1 || ktap_exit_fail_msg "lower disk"
hp_disk_find "$lower" 1
hp_ns_create "$HP_NQN" 3 "$HP_DISK" 0 || ktap_exit_fail_msg "nsid 3"
ns3=$(hp_ns_dir "$HP_NQN" 3)
echo 1 >"$ns3/hotplug/backend_watch" && echo 1 >"$ns3/enable" ||
	ktap_exit_fail_msg "nsid 3 on $HP_DISK"
hp_wait "nsid 3 on both controllers" hp_ns_visible_all "$HP_NQN" 3 2 ||
	ktap_exit_fail_msg "nsid 3 not seen"
nvme disconnect -d "$lctrl" >/dev/null 2>&1
hp_check "orderly removal of the backing disk: nsid 3 goes backend-lost" \
	hp_wait "nsid 3 backend-lost" state_is backend-lost 3
hp_check "the host removed nsid 3 through both controllers" \
	hp_wait "nsid 3 gone" hp_ns_gone_all "$HP_NQN" 3
hp_check "nsid 1 and 2 are untouched" \
	eval 'state_is live 1 && state_is live 2 &&
	      hp_ns_visible_all "$HP_NQN" 1 2 && hp_ns_visible_all "$HP_NQN" 2 2'
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
