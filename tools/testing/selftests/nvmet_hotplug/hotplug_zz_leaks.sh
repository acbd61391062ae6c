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

unload() {
	local m
	for m in nvmet_pci_epf nvmet_hotplug nvme_loop nvmet_tcp nvmet; do
		[ -d /sys/module/$m ] || continue
		rmmod $m || return 1
	done
}
hp_check "the nvmet family unloads" unload
if [ -w $KML ]; then
	echo scan >$KML
	echo scan >$KML
	leaks=$(grep -c 'unreferenced object' $KML)
	[ "$leaks" -eq 0 ] || head -n 60 $KML | sed 's/^/#   /'
	hp_check "kmemleak finds no leak ($leaks)" [ "$leaks" -eq 0 ]
else
	ktap_test_skip "kmemleak not available"
fi
HP_MARKER="Linux version"
hp_check "no KASAN, lockdep, kmemleak, WARN or hung-task report in the whole run" \
	hp_dmesg_clean
ktap_finished
