#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Soak (make soak, not part of make check), two phases that run at the
# same time on two namespaces of one subsystem, the host connected
# through two controllers (loop and tcp):
#  - CYCLES hot-remove/hot-add cycles of nsid 1 under a fio write load
#    with verification (writes held 50 ms by dm-delay, so that some are in
#    flight at most removals);
#  - SWAPS swaps of nsid 2's backing device that alternate keep_identity
#    (1, 0, 1, ...), each followed by a read through the host that must
#    return the data both devices hold.
# Prints the cycles and swaps done, the misses (a host controller that did
# not follow within WAIT_TIMEOUT), the I/O and verify errors and the
# kernel's reports; KTAP, one case per phase and one for dmesg.
# The loops start as few processes as they can: one costs 0.3-0.5 s in
# the debug VM under TCG, and a job of fio (even the lean one of
# tools/setup.sh) 3-4 s; a fio per cycle would set the time of a cycle,
# so one fio runs through all of them.  The host's default, a disk that
# goes with its last path and I/O that fails, is what
# hotplug_remove_load.sh tests.
#
#   CYCLES=1000 SWAPS=1000 soak.sh
. "$(dirname "$0")/lib.sh"

CYCLES=${CYCLES:-1000}
SWAPS=${SWAPS:-1000}
hp_require_root
work=$(mktemp -d)
# the host's disk of nsid 1 keeps its queued I/O for up to
# delayed_removal_secs when its paths are gone; switched off before the
# clean-up disconnects, so that the removal is immediate then
head=
trap '[ -n "$head" ] && echo 0 >"/sys/block/${head#/dev/}/delayed_removal_secs"
      hp_cleanup; rm -rf "$work"' EXIT
# as run_suite.sh: udevd's probing of every new disk costs a third of the
# time under TCG, and nothing here needs it
pkill -x udevd 2>/dev/null || pkill -x systemd-udevd 2>/dev/null
ktap_print_header
ktap_set_plan 3

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start
dev=$(hp_nullb_create hpsoak 64) || ktap_exit_fail_msg "null_blk"
slow=$(hp_dm_delay hpsoakslow "$dev" 0 50) || ktap_exit_fail_msg "dm-delay"
swa=$(hp_nullb_create hpsoaka 64) || ktap_exit_fail_msg "null_blk a"
swb=$(hp_nullb_create hpsoakb 64) || ktap_exit_fail_msg "null_blk b"
# both swap devices hold the same 8 MiB of random data
dd if=/dev/urandom of="$work/data" bs=1M count=8 status=none
dd if="$work/data" of="$swa" bs=1M oflag=direct status=none
dd if="$work/data" of="$swb" bs=1M oflag=direct status=none
hp_setup_live soak "$slow" "$swa"
ns=$(hp_ns_dir "$HP_NQN" 1)
ns2=$(hp_ns_dir "$HP_NQN" 2)
mapfile -t ctrls < <(hp_ctrls "$HP_NQN")
[ ${#ctrls[@]} = 2 ] || ktap_exit_fail_msg "two host controllers: ${ctrls[*]}"

# lap NAME: add NAME=<ms since the last lap> to the timing line of a cycle
lap() {
	local t=$((${EPOCHREALTIME//[!0-9]/} / 1000))
	laps+=" $1=$((t - lap_t))"
	lap_t=$t
}
lap_start() { laps='' lap_t=$((${EPOCHREALTIME//[!0-9]/} / 1000)); }

# 2. (in the background) Swaps of nsid 2 between the two devices,
#    alternating keep_identity, each followed by a direct read through the
#    host of one MiB (swap s reads MiB s % 8), compared with the data.
mapfile -t sums < <(for i in $(seq 0 7); do
	dd if="$work/data" bs=1M skip="$i" count=1 status=none | md5sum | cut -d' ' -f1
done)
# new_identity: both controllers have nsid 2, and the host's disk has the
# namespace's current UUID (HP_DISK is that disk)
new_identity() {
	local u
	hp_ns_visible_all "$HP_NQN" 2 2 && hp_rd "$ns2/device_uuid" && u=$HP_RD &&
		hp_rd "/sys/block/${HP_DISK#/dev/}/uuid" && [ "$HP_RD" = "$u" ]
}
swaps() {
	local s d got laps lap_t r0 done_swaps=0 misses=0 read_bad=0 t0=$SECONDS
	for ((s = 1; s <= SWAPS; s++)); do
		lap_start
		r0=$read_bad
		echo $((s % 2)) >"$ns2/hotplug/keep_identity"
		if [ $((s % 2)) = 1 ]; then d=$swb; else d=$swa; fi
		echo "$d" >"$ns2/hotplug/swap" || { hp_log "swap $s failed"; break; }
		lap swap
		# a new identity: the host drops the namespace and adds the new one
		hp_wait "swap $s: nsid 2 with its identity on both controllers" \
			new_identity || { misses=$((misses + 1)); break; }
		lap identity
		got=$(dd if="$HP_DISK" bs=1M skip=$((s % 8)) count=1 iflag=direct status=none | md5sum)
		[ "${got%% *}" = "${sums[s % 8]}" ] || read_bad=$((read_bad + 1))
		lap read
		done_swaps=$s
		if [ "$s" -le 10 ] || [ $((s % 25)) = 0 ] || [ "$read_bad" != "$r0" ]; then
			hp_log "swap $s:$laps; $misses misses, $read_bad bad reads, $((SECONDS - t0)) s"
		fi
	done
	hp_log "swaps: $done_swaps of $SWAPS in $((SECONDS - t0)) s, $misses misses, $read_bad reads that did not match"
	echo "$done_swaps $misses $read_bad" >"$work/swaps.res"
}
swaps &
swap_pid=$!
HP_BG_PIDS+=("$swap_pid")

# 1. Remove and add under a verified write load: one fio for the whole
#    phase, writing 8 MiB in 64 KiB blocks (four in flight) and reading
#    it back verified, over and over.  The host keeps its multipath disk
#    while the namespace is gone (delayed_removal_secs) and queues the
#    I/O meanwhile, so fio runs through every cycle: the namespace is
#    removed (with I/O in flight when the load allows: up to 10 s of
#    waiting for it; at least half the removals must have had some), both
#    controllers must drop their path, it is added back, both must find it
#    again, the queued I/O must reach the backend again, on the same disk
#    of the host, and fio must still be running.  Any error fio reports,
#    a failed I/O or a block that did not verify, fails the phase, and so
#    does a host that never queued I/O for want of a path (then nothing
#    was tested) or failed any for it.
in_flight() { hp_rd "$ns/hotplug/inflight" && [ "${HP_RD:-0}" -gt 0 ]; }
# backend_ios: IOS = the reads and writes the backend completed
# (the dm device's node is not a link to dm-N without udev: its name)
for bsys in /sys/block/dm-*; do
	hp_rd "$bsys/dm/name" && [ "$HP_RD" = hpsoakslow ] && break
done
[ "$HP_RD" = hpsoakslow ] || ktap_exit_fail_msg "no dm device hpsoakslow in /sys/block"
backend_ios() {
	local -a st
	read -ra st <"$bsys/stat" && IOS=$((st[0] + st[4]))
}
moved() { backend_ios && [ "$IOS" -gt "$ios0" ]; }
# paths N: N of the two controllers have a path to nsid 1
paths() {
	local c n=0
	for c in "${ctrls[@]}"; do
		hp_ctrl_has_ns "$c" 1 && n=$((n + 1))
	done
	[ $n = "$1" ]
}
hp_disk_find "$HP_NQN" 1 || ktap_exit_fail_msg "no disk for nsid 1"
hsys=/sys/block/${HP_DISK#/dev/}
hp_rd "$hsys/diskseq"
seq0=$HP_RD
# the host's multipath counters: I/O queued for want of a path, and I/O
# failed for it
hp_rd "$hsys/diag/io_requeue_no_usable_path_count" && requeued0=$HP_RD &&
	hp_rd "$hsys/diag/io_fail_no_available_path_count" && nopath0=$HP_RD ||
	ktap_exit_fail_msg "no diag counters on $HP_DISK (not a multipath disk?)"
echo $((2 * WAIT_TIMEOUT + 30)) >"$hsys/delayed_removal_secs" ||
	ktap_exit_fail_msg "delayed_removal_secs of $HP_DISK"
head=$HP_DISK
# --randrepeat=0: each pass writes new data (the same data again would
# hide a write that never landed but for its header); a verify header
# every 4 KiB catches a torn write
(cd "$work" && exec fio --name=load --filename="$head" --rw=write --bs=64k \
	--size=8M --loops=1000000 --do_verify=1 --verify=crc32c \
	--verify_interval=4k --randrepeat=0 --direct=1 --ioengine=libaio \
	--iodepth=4 --output-format=json --output="$work/load.json" \
	2>"$work/load.err") &
fio_pid=$!
HP_BG_PIDS+=("$fio_pid")
done_cycles=0 misses=0 loaded=0 t0=$SECONDS
for ((c = 1; c <= CYCLES; c++)); do
	lap_start
	m0=$misses
	for ((i = 0; i < 50; i++)); do
		in_flight && break
		hp_sleep 0.2
	done
	in_flight && loaded=$((loaded + 1))
	lap load
	echo 0 >"$ns/enable" || { hp_log "cycle $c: disable failed"; break; }
	lap disable
	hp_wait "cycle $c: both paths gone" paths 0 || misses=$((misses + 1))
	lap gone
	echo 1 >"$ns/enable" || { hp_log "cycle $c: enable failed"; break; }
	hp_wait "cycle $c: both paths back" paths 2 || { misses=$((misses + 1)); break; }
	lap back
	# the queued I/O goes on: the backend completes more of it, on the
	# same disk of the host
	backend_ios
	ios0=$IOS
	hp_wait "cycle $c: I/O reaches the backend again" moved ||
		{ misses=$((misses + 1)); break; }
	lap moved
	hp_rd "$hsys/diskseq"
	[ "$HP_RD" = "$seq0" ] || { hp_log "cycle $c: $head is a new disk"; break; }
	hp_running $fio_pid || { hp_log "cycle $c: fio ended"; break; }
	done_cycles=$c
	# every cycle's times (ms) while few, then every 25th and any that
	# missed
	if [ "$c" -le 10 ] || [ $((c % 25)) = 0 ] || [ "$misses" != "$m0" ]; then
		hp_log "cycle $c:$laps; $misses misses, $((SECONDS - t0)) s"
	fi
done
ok=1
hp_running $fio_pid || { hp_log "fio ended before the last cycle"; ok=0; }
kill -INT $fio_pid 2>/dev/null
# a fio that does not stop (its I/O queued for good) is killed, not waited
# for without bound
if ! hp_wait "fio stops" eval "! hp_running $fio_pid"; then
	ok=0
	kill -KILL $fio_pid 2>/dev/null
fi
wait $fio_pid
rc=$?
hp_rd "$hsys/diag/io_requeue_no_usable_path_count"
requeued=$((HP_RD - requeued0))
hp_rd "$hsys/diag/io_fail_no_available_path_count"
nopath=$((HP_RD - nopath0))
io_errors=$(grep -c 'io_u error' "$work/load.err")
verify_bad=$(grep -c 'verify' "$work/load.err")
fio_error=$(hp_fio_json "$work/load.json" '.error')
written=$(hp_fio_json "$work/load.json" '.write.io_bytes')
verified=$(hp_fio_json "$work/load.json" '.read.io_bytes')
hp_log "remove/add: $done_cycles of $CYCLES cycles in $((SECONDS - t0)) s ($loaded with I/O in flight at the removal), $misses misses; the host queued $requeued I/Os for want of a path and failed $nopath; fio (stopped: exit $rc, error ${fio_error:-?}) wrote ${written:-?} bytes and read ${verified:-?} back verified, $io_errors I/O errors, $verify_bad verify errors"
[ -s "$work/load.err" ] && head -n 20 "$work/load.err" | sed 's/^/#   /'
# fio exits 128 when SIGINT stops it, with no job error; what it verified
# is what it wrote, but for the last pass (at most 8 MiB written and not
# read back when it was stopped); I/O was in flight at most removals
[ "$done_cycles" = "$CYCLES" ] && [ "$misses" = 0 ] && [ "$rc" = 128 ] &&
	[ "$fio_error" = 0 ] && [ "$io_errors" = 0 ] && [ "$verify_bad" = 0 ] &&
	[ "$requeued" -gt 0 ] && [ "$nopath" = 0 ] &&
	[ "${verified:-0}" -gt 0 ] &&
	[ $((${written:-0} - verified)) -le $((8 << 20)) ] &&
	[ $((2 * loaded)) -ge "$done_cycles" ] || ok=0
hp_check "$CYCLES remove/add cycles under a verified load: no miss, no I/O or verify error" \
	[ $ok = 1 ]
echo 0 >"$hsys/delayed_removal_secs"
head=

WAIT_TIMEOUT=$((WAIT_TIMEOUT * SWAPS)) hp_wait "the swaps end" eval "! hp_running $swap_pid"
read -r done_swaps swap_misses read_bad 2>/dev/null <"$work/swaps.res"
swaps_ok() {
	[ "${done_swaps:-0}" = "$SWAPS" ] && [ "$swap_misses" = 0 ] &&
		[ "$read_bad" = 0 ]
}
hp_check "$SWAPS swaps of alternating identity: no miss, every read matches" \
	swaps_ok
hp_check "dmesg clean (the reports and their count are logged)" hp_dmesg_clean
ktap_finished
