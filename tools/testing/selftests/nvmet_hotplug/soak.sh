#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Soak (make soak, not part of make check): CYCLES hot-remove/hot-add
# cycles of one NSID under a fio write load with verification, the host
# connected through two controllers (loop and tcp; writes held 200 ms by
# dm-delay, so that some are in flight at each removal), then SWAPS swaps
# that alternate keep_identity (1, 0, 1, ...), each followed by a read
# through the host that must return the data both devices hold.
# A cycle moves little data (1 MiB) and the loops start few processes:
# in the debug VM under TCG each process costs 0.1-0.45 s and fio moves
# about 1 MiB/s, and both, not nvmet, set the time of a cycle.
# Prints the cycles and swaps done, the misses (a host controller that did
# not follow within WAIT_TIMEOUT), the verify errors and the kernel's
# reports; KTAP, one case per phase and one for dmesg.
#
#   CYCLES=1000 SWAPS=1000 soak.sh
. "$(dirname "$0")/lib.sh"

CYCLES=${CYCLES:-1000}
SWAPS=${SWAPS:-1000}
hp_require_root
work=$(mktemp -d)
trap 'hp_cleanup; rm -rf "$work"' EXIT
# as run_suite.sh: udevd's probing of every new disk costs a third of the
# time under TCG, and nothing here needs it
pkill -x udevd 2>/dev/null || pkill -x systemd-udevd 2>/dev/null
ktap_print_header
ktap_set_plan 3

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start
dev=$(hp_nullb_create hpsoak 64) || ktap_exit_fail_msg "null_blk"
dev2=$(hp_nullb_create hpsoak2 64) || ktap_exit_fail_msg "null_blk 2"
slow=$(hp_dm_delay hpsoakslow "$dev" 0 200) || ktap_exit_fail_msg "dm-delay"
hp_setup_live soak "$slow"
ns=$(hp_ns_dir "$HP_NQN" 1)

# 1. Remove and add under a write load: fio writes (4 jobs of 256 KiB in
#    64 KiB blocks, two in flight per job, with a verify state), the namespace is removed once writes are in flight,
#    the host must drop it on both controllers, it is added back, the
#    host must see it on both, and what fio saw written must verify.
fio_args=(--rw=write --bs=64k --numjobs=4 --size=256k --offset_increment=256k
	  --direct=1 --ioengine=libaio --iodepth=2 --verify=crc32c
	  --verify_state_save=1 --output-format=json)
# lap NAME: add NAME=<ms since the last lap> to the cycle's timing line
lap() {
	local t=$((${EPOCHREALTIME//[!0-9]/} / 1000))
	laps+=" $1=$((t - lap_t))"
	lap_t=$t
}
lap_start() { laps='' lap_t=$((${EPOCHREALTIME//[!0-9]/} / 1000)); }
in_flight() { hp_rd "$ns/hotplug/inflight" && [ "$HP_RD" -gt 0 ]; }
done_cycles=0 misses=0 verify_bad=0 loaded=0 t0=$SECONDS
for c in $(seq 1 "$CYCLES"); do
	lap_start
	m0=$misses v0=$verify_bad
	hp_disk_find "$HP_NQN" 1 || { misses=$((misses + 1)); break; }
	host=$HP_DISK
	rm -f "$work"/*.state
	hp_fio_write "$work" "$host" "${fio_args[@]}"
	hp_wait "writes in flight" eval 'in_flight || ! hp_running $HP_FIO_PID'
	in_flight && loaded=$((loaded + 1))
	lap load
	echo 0 >"$ns/enable" || { hp_log "cycle $c: disable failed"; break; }
	lap disable
	hp_wait "nsid 1 gone" hp_ns_gone_all "$HP_NQN" 1 || misses=$((misses + 1))
	lap gone
	hp_wait "fio exit" eval "! hp_running $HP_FIO_PID"
	lap fio_exit
	echo 1 >"$ns/enable" || { hp_log "cycle $c: enable failed"; break; }
	hp_wait "nsid 1 back" hp_ns_visible_all "$HP_NQN" 1 2 || { misses=$((misses + 1)); break; }
	lap back
	hp_disk_find "$HP_NQN" 1
	host=$HP_DISK
	hp_verify_written "$work" "$host" "${fio_args[@]}" >"$work/verify.log" ||
		{ verify_bad=$((verify_bad + 1)); sed 's/^/#   /' "$work/verify.log"; }
	lap verify
	done_cycles=$c
	# every cycle's times (ms) while few, then every 25th and any that
	# missed or did not verify
	if [ "$c" -le 10 ] || [ $((c % 25)) = 0 ] || [ "$misses$verify_bad" != "$m0$v0" ]; then
		hp_log "cycle $c:$laps; $misses misses, $verify_bad bad verifies, $((SECONDS - t0)) s"
	fi
done
hp_log "remove/add: $done_cycles of $CYCLES cycles in $((SECONDS - t0)) s ($loaded with writes in flight at the removal), $misses misses, $verify_bad cycles with verify errors"
hp_check "$CYCLES remove/add cycles under load: no miss, no verify error" \
	eval '[ $done_cycles = $CYCLES ] && [ $misses = 0 ] && [ $verify_bad = 0 ]'

# 2. Swaps between the two devices, alternating keep_identity, each
#    followed by a read of data that both devices hold.
dd if=/dev/urandom of="$work/data" bs=1M count=8 status=none
dd if="$work/data" of="$dev" bs=1M oflag=direct status=none
dd if="$work/data" of="$dev2" bs=1M oflag=direct status=none
# the md5 of each MiB: swap s reads MiB s % 8
mapfile -t sums < <(for i in $(seq 0 7); do
	dd if="$work/data" bs=1M skip="$i" count=1 status=none | md5sum | cut -d' ' -f1
done)
# new_identity: both controllers have nsid 1, and the host's disk has the
# namespace's current UUID
new_identity() {
	local u
	hp_ns_visible_all "$HP_NQN" 1 2 && hp_rd "$ns/device_uuid" && u=$HP_RD &&
		hp_rd "/sys/block/${HP_DISK#/dev/}/uuid" && [ "$HP_RD" = "$u" ]
}
done_swaps=0 swap_misses=0 read_bad=0 t0=$SECONDS
for s in $(seq 1 "$SWAPS"); do
	lap_start
	r0=$read_bad
	echo $((s % 2)) >"$ns/hotplug/keep_identity"
	if [ $((s % 2)) = 1 ]; then d=$dev2; else d=$slow; fi
	echo "$d" >"$ns/hotplug/swap" || { hp_log "swap $s failed"; break; }
	lap swap
	# a new identity: the host drops the namespace and adds the new one
	hp_wait "nsid 1 with its identity on both controllers" new_identity ||
		{ swap_misses=$((swap_misses + 1)); break; }
	lap identity
	got=$(dd if="$HP_DISK" bs=1M skip=$((s % 8)) count=1 iflag=direct status=none | md5sum)
	[ "${got%% *}" = "${sums[s % 8]}" ] || read_bad=$((read_bad + 1))
	lap read
	done_swaps=$s
	if [ "$s" -le 10 ] || [ $((s % 25)) = 0 ] || [ "$read_bad" != "$r0" ]; then
		hp_log "swap $s:$laps; $swap_misses misses, $read_bad bad reads, $((SECONDS - t0)) s"
	fi
done
hp_log "swaps: $done_swaps of $SWAPS in $((SECONDS - t0)) s, $swap_misses misses, $read_bad reads that did not match"
hp_check "$SWAPS swaps of alternating identity: no miss, every read matches" \
	eval '[ $done_swaps = $SWAPS ] && [ $swap_misses = 0 ] && [ $read_bad = 0 ]'
hp_check "dmesg clean (the reports and their count are logged)" hp_dmesg_clean
ktap_finished
