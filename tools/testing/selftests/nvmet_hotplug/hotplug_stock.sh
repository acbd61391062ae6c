#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Negative controls: what the suite checks for nvmet-hotplug, against
# nvmet as the kernel ships it (no patches, no module; tools/check.sh
# builds it, NVMET_HP_STOCK_BUILD).  The checks pass here when stock nvmet
# FAILS them, and the stock numbers are logged:
# - the re-add race (hotplug_reuse.sh): stock queues the Namespace
#   Attribute Changed AEN before the namespace is visible, so a host that
#   scans at once misses some re-adds (patch 0001 fixes it);
# - the bound of a hot-remove (hotplug_quiesce_timeout.sh): stock waits
#   for I/O held in the backend for as long as it is held;
# - the freeze (hotplug_quiesce_timeout.sh, "another subsystem is
#   configurable meanwhile"): stock holds the global nvmet_config_sem
#   across that wait, so a write to another subsystem waits too.
# Runs first, before the patched family is loaded, and unloads stock.
. "$(dirname "$0")/lib.sh"

CYCLES=${CYCLES:-40}
DELAY_MS=8000
hp_require_root
stock=${NVMET_HP_STOCK_BUILD:-}/drivers/nvme/target
ktap_print_header
if [ ! -f "$stock/nvmet.ko" ]; then
	ktap_skip_all "no stock nvmet build (NVMET_HP_STOCK_BUILD)"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 4

unload_all() {
	local m
	for m in nvmet_pci_epf nvmet_hotplug nvme_loop nvmet_tcp nvmet; do
		[ -d /sys/module/$m ] || continue
		rmmod $m || return 1
	done
}
cleanup() {
	hp_trace_aen_stop 2>/dev/null
	hp_cleanup
	dmsetup --noudevsync remove hpstslow 2>/dev/null
	hp_cleanup
	unload_all
}
trap cleanup EXIT
mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
modprobe null_blk nr_devices=0 2>/dev/null
[ -d /sys/module/nvmet ] && { hp_cleanup; unload_all || ktap_exit_fail_msg "unload"; }
hp_trace_arm_nvmet || ktap_exit_fail_msg "trace events"
for m in nvmet nvme-loop nvmet-tcp; do
	insmod "$stock/$m.ko" || ktap_exit_fail_msg "insmod stock $m"
done
hp_trace_ready || ktap_exit_fail_msg "trace events"
hp_cleanup
hp_dmesg_mark start

dev=$(hp_nullb_create hpstock 16) || ktap_exit_fail_msg "null_blk"
hp_setup_live stock "$dev"
ns=$(hp_ns_dir "$HP_NQN" 1)

# 1. The re-add race: a re-add the host has not seen within 10 s (a
#    re-add that works takes 1-2 s here) is a miss; a rescan then brings
#    the host back in step.
misses=0
t0=$SECONDS
for i in $(seq "$CYCLES"); do
	echo 0 >"$ns/enable"
	hp_wait "removal $i" hp_ns_gone_all "$HP_NQN" 1 ||
		ktap_exit_fail_msg "the host did not see removal $i"
	echo 1 >"$ns/enable"
	if ! WAIT_TIMEOUT=10 hp_wait "re-add $i" hp_ns_visible_all "$HP_NQN" 1 2; then
		misses=$((misses + 1))
		for c in $(hp_ctrls "$HP_NQN"); do
			nvme ns-rescan "/dev/$c"
		done
		hp_wait "nsid 1 after a rescan" hp_ns_visible_all "$HP_NQN" 1 2 ||
			ktap_exit_fail_msg "nsid 1 lost"
	fi
done
hp_log "stock nvmet: the host missed $misses of $CYCLES re-adds ($((SECONDS - t0)) s)"
hp_check "stock misses re-adds ($misses of $CYCLES): the check of hotplug_reuse.sh fails on it" \
	[ "$misses" -gt 0 ]

# 2. and 3. A disable while the backend holds reads for DELAY_MS; a
#    write to another subsystem meanwhile.
other=$(hp_nullb_create hpstother 16) || ktap_exit_fail_msg "null_blk"
other_nqn=$(hp_subsys_create stockother) || ktap_exit_fail_msg "subsystem 2"
hp_ns_create "$other_nqn" 1 "$other" 0 || ktap_exit_fail_msg "other nsid 1"
nullb2=$(hp_nullb_create hpstslowb 16) || ktap_exit_fail_msg "null_blk"
slow=$(hp_dm_delay hpstslow "$nullb2" $DELAY_MS $DELAY_MS) || ktap_exit_fail_msg "dm-delay"
hp_ns_create "$HP_NQN" 2 "$slow" || ktap_exit_fail_msg "nsid 2"
hp_wait "nsid 2 on the host" hp_ns_visible_all "$HP_NQN" 2 2 || ktap_exit_fail_msg "nsid 2"
host2=$(hp_disk "$HP_NQN" 2)
ns2=$(hp_ns_dir "$HP_NQN" 2)
dd if="$host2" of=/dev/null bs=4k count=1 skip=64 iflag=direct status=none &
HP_BG_PIDS+=($!)
# the read is in the backend once dm-delay's disk counts it in flight
held_in_dm() {
	local d
	d=$(basename "$(readlink -f "$slow")")
	[ "$(awk '{ print $9 }' "/sys/block/$d/stat")" -gt 0 ]
}
hp_wait "a read held" held_in_dm || ktap_exit_fail_msg "no read held"
t_start=${EPOCHREALTIME//[!0-9]/}
(echo 0 >"$ns2/enable") &
disabler=$!
HP_BG_PIDS+=("$disabler")
hp_sleep 0.5
hp_timed_write "$CFS/subsystems/$other_nqn/namespaces/1/enable" 1
freeze_ms=$HP_MS
hp_wait "the disable ends" eval "! hp_running $disabler"
disable_ms=$(((${EPOCHREALTIME//[!0-9]/} - t_start) / 1000))
hp_log "stock nvmet: the disable under a held read took $disable_ms ms (held $DELAY_MS ms); a write to another subsystem meanwhile waited $freeze_ms ms"
hp_check "stock's disable is not bounded: it waited for the held read (${disable_ms} ms)" \
	[ "$disable_ms" -ge $((DELAY_MS - 1500)) ]
hp_check "stock freezes another subsystem's configfs meanwhile (${freeze_ms} ms)" \
	[ "$freeze_ms" -ge $((DELAY_MS - 2500)) ]
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
