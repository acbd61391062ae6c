#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The bounds, as a user meets them.  (a) A backend whose I/O a suspended
# device-mapper table holds (dmsetup suspend --noflush), one command in
# flight, quiesce_timeout_ms=1500, on_timeout=fail: "echo 0 > enable"
# fails with ETIMEDOUT within the bound (plus scheduling noise) and the
# namespace stays live.  (b) A null_blk backend powered off under a
# 4-deep 64 KiB write load from two host controllers (loop and tcp), with
# backend_watch: every host controller drops the namespace within a few
# seconds, far below the host's 30 s I/O timeout.
. "$(dirname "$0")/lib.sh"

BOUND_MS=1500
# scheduling noise of the debug kernel under TCG on a loaded machine
NOISE_MS=2500
LOST_MS=10000
hp_require_root
cleanup() {
	dmsetup --noudevsync resume hpbnd 2>/dev/null
	hp_cleanup
}
trap cleanup EXIT
ktap_print_header
ktap_set_plan 6

hp_start || ktap_exit_fail_msg "cannot load modules"
modprobe dm-mod 2>/dev/null
hp_dmesg_mark start
now_ms() { echo $((${EPOCHREALTIME//[!0-9]/} / 1000)); }

# (a) I/O held by a suspended dm table.
nullb=$(hp_nullb_create hpbndb 16) || ktap_exit_fail_msg "null_blk"
held=$(hp_dm_delay hpbnd "$nullb" 0 0) || ktap_exit_fail_msg "dm"
power=$(hp_nullb_create hpbndp 64) || ktap_exit_fail_msg "null_blk"
hp_setup_live bounds "$held" "$power"
ns=$(hp_ns_dir "$HP_NQN" 1)
host=$(hp_disk "$HP_NQN" 1)
echo $BOUND_MS >"$ns/hotplug/quiesce_timeout_ms" &&
	echo fail >"$ns/hotplug/on_timeout" || ktap_exit_fail_msg "policy"
dmsetup --noudevsync suspend --noflush hpbnd || ktap_exit_fail_msg "suspend"
dd if="$host" of=/dev/null bs=4k count=1 iflag=direct status=none &
HP_BG_PIDS+=($!)
hp_wait "one command held" eval '[ "$(cat "$ns/hotplug/inflight")" -ge 1 ]' ||
	ktap_exit_fail_msg "no command in flight"
hp_timed_write "$ns/enable" 0
hp_log "suspended dm, ${BOUND_MS} ms bound: the write returned after $HP_MS ms: ${HP_ERR:-success}"
hp_check "suspended dm: the write fails with ETIMEDOUT" \
	eval '[ $HP_RC -ne 0 ] && echo "$HP_ERR" | grep -q "timed out"'
# the module's own measure of the quiesce, and the write as the shell saw it
kms=$(sed -n 's/^reason: detach timed out after \([0-9]*\) ms.*/\1/p' "$ns/hotplug/state")
hp_log "the module gave up after ${kms:-?} ms"
hp_check "suspended dm: given up within the bound plus ${NOISE_MS} ms" \
	eval '[ -n "$kms" ] && [ "$kms" -ge $((BOUND_MS - 10)) ] &&
	      [ "$kms" -lt $((BOUND_MS + NOISE_MS)) ] &&
	      [ $HP_MS -lt $((BOUND_MS + NOISE_MS)) ]'

dmsetup --noudevsync resume hpbnd
hp_check "suspended dm: the namespace stayed live and serves I/O again" \
	eval '[ "$(hp_state "$HP_NQN" 1)" = live ] &&
	      timeout 120 dd if="$host" of=/dev/null bs=4k count=1 iflag=direct status=none'

# (b) null_blk powered off under a 4-deep 64 KiB write load.
ns2=$(hp_ns_dir "$HP_NQN" 2)
host2=$(hp_disk "$HP_NQN" 2)
echo 1 >"$ns2/hotplug/backend_watch" || ktap_exit_fail_msg "backend_watch"
fio --name=w --filename="$host2" --rw=write --bs=64k --size=48M --direct=1 \
	--ioengine=libaio --iodepth=4 --time_based --runtime=3600 \
	--output=/dev/null >/dev/null 2>&1 &
fio_pid=$!
HP_BG_PIDS+=("$fio_pid")
writes() { awk '{ print $5 }' /sys/block/hpbndp/stat; }
w0=$(writes)
hp_wait "load reaches the backend" eval '[ "$(writes)" -gt $((w0 + 64)) ]'
t0=$(now_ms)
echo 0 >"$NULLB_CFS/hpbndp/power"
hp_wait "nsid 2 gone from every controller" hp_ns_gone_all "$HP_NQN" 2
t1=$(now_ms)
hp_log "null_blk powered off under load: both host controllers dropped nsid 2 after $((t1 - t0)) ms (state $(hp_state "$HP_NQN" 2))"
hp_check "power-off under load: every host controller drops it within ${LOST_MS} ms" \
	eval '[ "$(hp_state "$HP_NQN" 2)" = backend-lost ] &&
	      [ $((t1 - t0)) -lt $LOST_MS ]'
hp_check "the load saw the removal as an error and ended" \
	hp_bg_failed "$fio_pid"
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
