#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# True surprise removal of a watched backend under load: the block layer
# marks the disk dead (blk_mark_disk_dead(), which calls the holder's
# mark_dead with surprise=true) while writes are in flight to it.
#
# In 7.3 an nvme-tcp or nvme-loop disk is a multipath head, which goes
# with del_gendisk() (surprise=false, hotplug_remote_loss.sh); dm refuses
# to go while open, and nbd is not in the config.  A SCSI disk goes as a
# surprise when it cannot be resumed at its removal (sd_remove(): the
# device was unplugged while runtime suspended).  scsi_debug models that:
# its disk fails the START STOP UNIT of its runtime suspend (debugfs error
# injection), so its runtime PM is in error while I/O goes on, and
# deleting it marks the disk dead.  Each write is held 20 ms (delay=), so
# some are in flight when it goes.
#
# nsid 1 must become backend-lost, the module must have been told of a
# surprise removal, the host's controller gets the AEN and drops nsid 1,
# the load ends with an error, the delete returns and nothing hangs.
. "$(dirname "$0")/lib.sh"

hp_require_root
cleanup() {
	hp_trace_aen_stop 2>/dev/null
	hp_cleanup
	# not while a delete is stuck (hp_cleanup left it): it would hang too
	[ -d /sys/module/scsi_debug ] && ! hp_running "${deleter:-}" &&
		modprobe -r scsi_debug
}
trap cleanup EXIT
ktap_print_header
if ! modprobe -n scsi_debug 2>/dev/null || [ ! -d /sys/kernel/debug ]; then
	# make check's kernel has them (the selftests' config)
	[ "${HP_TRACE_STRICT:-0}" = 1 ] && ktap_exit_fail_msg "no scsi_debug or debugfs"
	ktap_skip_all "needs scsi_debug and debugfs"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 6

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug
[ -d /sys/module/scsi_debug ] && modprobe -r scsi_debug
# delay= is in jiffies (20 ms at HZ=1000)
modprobe scsi_debug dev_size_mb=64 delay=20 ||
	ktap_exit_fail_msg "modprobe scsi_debug"
sdev_of() {
	local d
	for d in /sys/bus/pseudo/drivers/scsi_debug/adapter*/host*/target*/*:*:*:*; do
		[ -d "$d/block" ] && { basename "$d"; return 0; }
	done
	return 1
}
hp_wait "the scsi_debug disk" sdev_of >/dev/null || ktap_exit_fail_msg "no scsi_debug disk"
h=$(sdev_of)
sd=/dev/$(ls "/sys/bus/scsi/devices/$h/block")
pm=/sys/bus/scsi/devices/$h/power
hp_wait "$sd" test -b "$sd" || ktap_exit_fail_msg "no $sd"
# START STOP UNIT (0x1b) fails with CHECK CONDITION, HARDWARE ERROR /
# INTERNAL TARGET FAILURE, every time; sd sends it to runtime suspend.
echo 1 >"/sys/class/scsi_disk/$h/manage_runtime_start_stop" ||
	ktap_exit_fail_msg "manage_runtime_start_stop"
echo "2 1 0x1b 0 0 0x2 0x4 0x44 0" >"/sys/kernel/debug/scsi_debug/$h/error" ||
	ktap_exit_fail_msg "error injection"
echo 0 >"$pm/autosuspend_delay_ms"
echo auto >"$pm/control"
hp_wait "runtime PM of $h in error" eval '[ "$(cat "$pm/runtime_status")" = error ]' ||
	ktap_exit_fail_msg "runtime_status is $(cat "$pm/runtime_status"), not error"
dd if="$sd" of=/dev/null bs=4k count=1 iflag=direct status=none ||
	ktap_exit_fail_msg "$sd does not serve I/O"
hp_log "backend: $sd ($h), runtime PM $(cat "$pm/runtime_status")"

HP_NQN=$(hp_subsys_create surprise) || ktap_exit_fail_msg "subsystem"
hp_ns_create "$HP_NQN" 1 "$sd" 0 || ktap_exit_fail_msg "nsid 1"
ns=$(hp_ns_dir "$HP_NQN" 1)
echo 1 >"$ns/enable" && echo 1 >"$ns/hotplug/backend_watch" ||
	ktap_exit_fail_msg "enable with backend_watch"
hp_port_create 1 loop || ktap_exit_fail_msg "port"
hp_port_link 1 "$HP_NQN" || ktap_exit_fail_msg "port link"
c=$(hp_connect "$HP_NQN" loop) || ktap_exit_fail_msg "connect"
hp_wait "nsid 1 on the host" hp_ns_visible_all "$HP_NQN" 1 1 ||
	ktap_exit_fail_msg "nsid 1 not seen"
host=$(hp_disk "$HP_NQN" 1)

hp_trace_aen_start || ktap_exit_fail_msg "trace events"
fio --name=load --filename="$host" --rw=randwrite --bs=64k --size=32M \
	--direct=1 --ioengine=libaio --iodepth=16 --time_based --runtime=3600 \
	--output=/dev/null >/dev/null 2>&1 &
fio_pid=$!
HP_BG_PIDS+=("$fio_pid")
hp_wait "writes in flight" eval '[ "$(cat "$ns/hotplug/inflight")" -gt 0 ]' ||
	ktap_exit_fail_msg "no I/O in flight"
inflight=$(cat "$ns/hotplug/inflight")
(echo 1 >"/sys/bus/scsi/devices/$h/delete") &
deleter=$!
HP_BG_PIDS+=("$deleter")
t0=$SECONDS
hp_log "deleting $h with $inflight writes in flight"
hp_check "with writes in flight, the surprise removal makes nsid 1 backend-lost" \
	eval 'hp_wait "backend-lost" eval "[ \"\$(hp_state \"\$HP_NQN\" 1)\" = backend-lost ]" &&
	      grep -q "reason: backend .* went away" "$ns/hotplug/state"'
hp_log "backend-lost after $((SECONDS - t0)) s: $(tr '\n' ' ' <"$ns/hotplug/state")"
how=$(hp_dmesg_since_mark | grep -o "nsid 1: backing device .* is going away.*" | tail -n 1)
hp_log "the module was told: ${how:-nothing}"
hp_check "the block layer told the module (mark_dead) of a surprise removal" \
	eval '[[ $how == *"going away (surprise removal)" ]]'
hp_check "the host's controller got the Namespace Attribute Changed AEN and dropped nsid 1" \
	eval 'hp_wait "AEN" eval "grep -q \" $c: NVME_AEN=0x040002\" $TRACEFS/trace" &&
	      hp_wait "nsid 1 gone" hp_ns_gone_all "$HP_NQN" 1'
hp_trace_aen_stop
hp_check "the load saw the loss as an error and ended" hp_bg_failed "$fio_pid"
hp_check "the delete of the disk returned and the disk is gone" \
	eval 'hp_wait "delete" eval "! hp_running $deleter" && wait $deleter &&
	      [ ! -e "/sys/bus/scsi/devices/$h" ] && [ ! -b "$sd" ]'
hp_check "dmesg clean (no hung task)" hp_dmesg_clean
ktap_finished
