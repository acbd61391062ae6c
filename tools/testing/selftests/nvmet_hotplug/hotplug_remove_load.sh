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

DELAY_MS=500
BOUND_MS=30000
hp_require_root
trap 'hp_cleanup; rm -rf "$work"' EXIT
work=$(mktemp -d)
ktap_print_header
ktap_set_plan 14

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start

# Writes take 500 ms in the backend, so that many are in flight.
nullb=$(hp_nullb_create hprm 128) || ktap_exit_fail_msg "null_blk"
dev=$(hp_dm_delay hprmslow "$nullb" 0 $DELAY_MS) || ktap_exit_fail_msg "dm-delay"
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
echo $BOUND_MS >"$ns/hotplug/quiesce_timeout_ms"
lbs=$(blockdev --getss "$host")
hp_trace_aen_start || ktap_exit_fail_msg "trace events"
# nvmet_req_init keeps every command of this test, I/O too (lib.sh keeps
# only the admin queue's; the next hp_trace_ready puts that back).
echo 0 >"$TRACEFS/events/nvmet/nvmet_req_init/filter"
hp_fio_write "$work" "$host" "${fio_args[@]}"
fio_pid=$HP_FIO_PID

# Some writes reached the backend (8 MiB), some are in flight.
written_mib() { awk '{ print int($7 / 2048) }' /sys/block/hprm/stat; }
hp_wait "8 MiB written" eval '[ "$(written_mib)" -ge 8 ]'
hp_wait "I/O in flight on nsid 1" eval "[ \$(cat $ns/hotplug/inflight) -gt 0 ]"
mib=$(written_mib)
inflight=$(cat "$ns/hotplug/inflight")
# The removal's start and end in the trace, where nvmet_req_init recorded
# every command the target took.
echo "hp: removal starts" >"$TRACEFS/trace_marker"
hp_timed_write "$ns/enable" 0
echo "hp: removal ends" >"$TRACEFS/trace_marker"
hp_log "removed with $mib MiB written and $inflight commands in flight: the write returned after $HP_MS ms: ${HP_ERR:-success}"
hp_check "I/O was in flight when the removal started ($inflight commands)" \
	[ "$inflight" -gt 0 ]
hp_check "fio was still writing when the removal started" hp_running "$fio_pid"
hp_check "the configfs write returned success" [ "$HP_RC" -eq 0 ]

# From the trace: when the youngest write taken before the removal was
# taken, and the ranges of all of them.  The backend holds each write
# DELAY_MS, so a drain (a write that succeeded: one that gave up did not
# drain) cannot end before that write's delay has run out; and it must
# end within the bound.
awk -v lbs="$lbs" -v taken="$work/taken" '
	{ for (i = 1; i <= NF; i++) if ($i ~ /^[0-9]+\.[0-9]+:$/) { t = $i + 0; break } }
	/tracing_mark_write: hp: removal starts/ { start = t; after = 1 }
	/tracing_mark_write: hp: removal ends/ { end = t }
	!after && /nvmet_req_init:.* nsid=1,.*nvme_cmd_write, slba=/ {
		young = t
		match($0, /slba=[0-9]+/); slba = substr($0, RSTART + 5, RLENGTH - 5)
		match($0, /len=[0-9]+/); len = substr($0, RSTART + 4, RLENGTH - 4)
		print slba * lbs, (len + 1) * lbs > taken
	}
	END { printf "%d %d %d\n", (end - start) * 1000, (young - start) * 1000, (young > 0) }
' "$TRACEFS/trace" >"$work/times"
echo 'qid == 0' >"$TRACEFS/events/nvmet/nvmet_req_init/filter"
read -r took young_ms seen <"$work/times"
remaining=$((young_ms + DELAY_MS))
last_ms=$(($(hp_stat "$HP_NQN" 1 last_quiesce_us) / 1000))
hp_log "trace: the removal took $took ms; the youngest write was taken $((-young_ms)) ms before it, $remaining ms of its backend delay left; last_quiesce_us says $last_ms ms"
hp_check "the drain waited out the youngest write's backend delay ($remaining ms) and ended within the bound ($BOUND_MS ms)" \
	eval '[ "$HP_RC" -eq 0 ] && [ "$seen" = 1 ] && [ "$remaining" -gt 0 ] && [ "$took" -ge "$remaining" ] &&
	      [ "$HP_MS" -le "$BOUND_MS" ]'
# The module's own measure (0 when a quiesce gives up) runs from the kill
# of the namespace's reference to the drain, inside the write.
hp_check "last_quiesce_us ($last_ms ms) measures a drain inside the write" \
	eval '[ "$last_ms" -gt 0 ] && [ "$last_ms" -le "$HP_MS" ]'
hp_check "nsid 1 is detached on the target" [ "$(hp_state "$HP_NQN" 1)" = detached ]
hp_check "the host removed nsid 1 through both controllers by itself" \
	hp_wait "nsid 1 gone" eval "! hp_ctrl_has_ns $c1 1 && ! hp_ctrl_has_ns $c2 1"
ok=1
for c in $c1 $c2; do
	n=$(grep 'nvme_async_event:' $TRACEFS/trace | grep -c " $c: NVME_AEN=0x040002")
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
hp_wait "fio exit" eval "! hp_running $fio_pid"
# A write the target took before the removal was drained: fio must not
# have seen any of them fail.  Only writes sent after it may fail.  The
# host may split a 1 MiB write in two commands, one taken before the
# removal and one after: a failed write counts as taken before only if
# commands taken before cover all of it.
early_failed() {
	grep -Eo 'write offset=[0-9]+, buflen=[0-9]+' "$work/write.err" |
		tr -c '0-9\n' ' ' | awk -v taken="$work/taken" '
		BEGIN { while ((getline l <taken) > 0) { split(l, a, " "); o[++n] = a[1]; e[n] = a[1] + a[2] } }
		{
			got = 0
			for (i = 1; i <= n; i++) {
				lo = o[i] > $1 ? o[i] : $1
				hi = e[i] < $1 + $2 ? e[i] : $1 + $2
				if (hi > lo) got += hi - lo
			}
			if (got >= $2) print $1
		}'
}
nfailed=$(grep -c 'write offset=' "$work/write.err")
early=$(early_failed | sort -u | wc -l)
hp_log "fio exit $(cat "$work/write.rc" 2>/dev/null), $nfailed failed writes, $early of them taken by the target before the removal; $(wc -l <"$work/taken") writes were taken before it"
hp_check "fio saw writes sent after the removal fail, none taken before it" \
	eval '[ -s "$work/write.rc" ] && [ "$(cat "$work/write.rc")" != 0 ] && [ "$nfailed" -gt 0 ] &&
	      [ "$early" -eq 0 ] && [ -s "$work/taken" ]'

echo 1 >"$ns/enable"
hp_wait "nsid 1 back" hp_ns_visible_all "$HP_NQN" 1 3
host=$(hp_disk "$HP_NQN" 1)
hp_check "every completed write reads back intact" \
	hp_verify_written "$work" "$host" "${fio_args[@]}"
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
