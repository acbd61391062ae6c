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

hp_watched_under_load surprise "$sd"
(echo 1 >"/sys/bus/scsi/devices/$h/delete") &
deleter=$!
HP_BG_PIDS+=("$deleter")
hp_log "deleting $h with $HP_INFLIGHT writes in flight"
hp_check_watched_lost "with writes in flight, the surprise removal makes nsid 1 backend-lost" \
	"the block layer told the module (mark_dead) of a surprise removal" \
	'*going away (surprise removal)'
hp_check "the delete of the disk returned and the disk is gone" \
	eval 'hp_wait "delete" eval "! hp_running $deleter" && wait $deleter &&
	      [ ! -e "/sys/bus/scsi/devices/$h" ] && [ ! -b "$sd" ]'
hp_check "dmesg clean (no hung task)" hp_dmesg_clean
ktap_finished
