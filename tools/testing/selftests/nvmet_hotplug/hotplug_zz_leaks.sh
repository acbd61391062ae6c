#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Last of the suite: unload the whole nvmet family (the loopback PCI
# endpoint controller stays: its EPC pins it) and look for leaks
# (kmemleak) and for any kernel report during the whole run.
. "$(dirname "$0")/lib.sh"

hp_require_root
ktap_print_header
ktap_set_plan 3

KML=/sys/kernel/debug/kmemleak
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug

hp_check "the nvmet family unloads" hp_unload_nvmet
# The suite's kernel has kmemleak (config): a kmemleak that is missing or
# that turned itself off (its pool ran out, say) cannot find a leak, and
# that is a failure, not a pass.  A scan fails with EPERM once it is off.
kmemleak_scan() {
	local leaks
	if [ ! -e $KML ]; then
		hp_log "no $KML: kmemleak is not in this kernel"
		return 1
	fi
	echo scan >$KML || { hp_log "kmemleak scan failed (disabled?)"; return 1; }
	echo scan >$KML || { hp_log "kmemleak scan failed (disabled?)"; return 1; }
	leaks=$(grep -c 'unreferenced object' $KML)
	hp_log "kmemleak: $leaks unreferenced objects"
	[ "$leaks" -eq 0 ] && return 0
	head -n 60 $KML | sed 's/^/#   /'
	return 1
}
hp_check "kmemleak scans and finds no leak" kmemleak_scan
HP_MARKER="Linux version"
hp_check "no KASAN, lockdep, kmemleak, WARN or hung-task report in the whole run" \
	hp_dmesg_clean
ktap_finished
