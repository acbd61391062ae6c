#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The same NSID removed and re-added 50 times in a row; the host sees
# every removal and every re-add by itself, through both controllers, with
# no nvme ns-rescan.  Stock 7.3.4 queues the AEN before the namespace is
# visible, and a host that scans in between misses the re-add
# (hotplug_stock.sh); every other enable is written by a SCHED_IDLE task,
# which every kernel worker it wakes preempts, so that such a stretch
# lasts (stock then missed 3 of its first 7 re-adds; make soak does 1000).
. "$(dirname "$0")/lib.sh"

CYCLES=${CYCLES:-50}
hp_require_root
trap hp_cleanup EXIT
ktap_print_header
ktap_set_plan 5

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start

dev=$(hp_nullb_create hpreuse 16) || ktap_exit_fail_msg "null_blk"
hp_setup_live reuse "$dev"
ns=$(hp_ns_dir "$HP_NQN" 1)

missed_rm=0
missed_add=0
write_err=0
start=$SECONDS
for i in $(seq "$CYCLES"); do
	echo 0 >"$ns/enable" || write_err=$((write_err + 1))
	if ! hp_wait "removal $i" hp_ns_gone_all "$HP_NQN" 1; then
		missed_rm=$((missed_rm + 1))
		break
	fi
	if [ $((i % 2)) = 1 ]; then
		chrt -i 0 sh -c 'echo 1 >"$1"' sh "$ns/enable"
	else
		echo 1 >"$ns/enable"
	fi || write_err=$((write_err + 1))
	if ! hp_wait "re-add $i" hp_ns_visible_all "$HP_NQN" 1 2; then
		missed_add=$((missed_add + 1))
		break
	fi
done
hp_log "$i cycles in $((SECONDS - start)) s"
hp_check "every enable write succeeded" [ "$write_err" -eq 0 ]
hp_check "the host saw all $CYCLES removals by itself" \
	eval '[ "$missed_rm" -eq 0 ] && [ "$i" -eq "$CYCLES" ]'
hp_check "the host saw all $CYCLES re-adds by itself" \
	eval '[ "$missed_add" -eq 0 ] && [ "$i" -eq "$CYCLES" ]'
hp_check "hotplug/stats counted every detach and attach" \
	eval '[ "$(hp_stat "$HP_NQN" 1 detaches)" -eq "$CYCLES" ] &&
	      [ "$(hp_stat "$HP_NQN" 1 attaches)" -eq $((CYCLES + 1)) ]'
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
