#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench, inside the VM (tools/bench.sh boots the non-debug kernel):
# nvmet-hotplug against stock nvmet in the same boot.  "stock" is the same
# patched nvmet family with nvmet-hotplug not loaded, so that
# "echo 0|1 > enable" takes nvmet's built-in path; "module" has
# nvmet-hotplug loaded before the target is set up.
#
#   NVMET_HP_BUILD=<build> KSRC=<src> tools/bench-guest.sh [OUT.json]
#
# Phases (rough duration in TCG on the non-debug kernel, both paths):
#   1 hot-remove latency under a 16-job 1 MiB sequential write load:
#     configfs write to return, and to the host dropping the disk;
#     CYCLES cycles per path (p50/p99/max)                      ~4-8 min
#   2 host-visible latency, idle namespace: configfs write to the
#     host's block device gone / back, over loop and over tcp     ~2 min
#   3 remove then add MASS_NR (256) namespaces: stock one write each;
#     module one batch write, and one write each; the writes and the
#     time until the host's view matches                          ~3-4 min
#   4 neighbour: 4 KiB randread IOPS on namespace A with B left
#     alone, and while B is hot-removed and hot-added in a loop   ~2 min
#   5 I/O path: 4 KiB randread QD 32 IOPS on null_blk, module
#     loaded vs not, IO_RUNS runs each, alternating (median)      ~3 min
#   6 memory: slab bytes per namespace, read from /proc/slabinfo ~1 min
#
# A progress line per phase (and per path) on stderr; one table on stdout
# at the end; JSON to OUT (default results/bench/bench.json), a CSV of
# the table and the phases' log next to it (same name, .csv and .log).
# A phase that fails is logged, its numbers read "n/a", and the next one
# runs.  Every wait is bounded (WAIT_TIMEOUT); the only fixed waits are
# the fio runs of phases 4 and 5.
#
# Knobs (environment): CYCLES (50), VIS_CYCLES (15), MASS_NR (256),
# IO_RUNS (5), IO_RUNTIME (10 s), MEM_NR (512), DELAY_MS (50), QUIESCE_MS
# (2000), PHASES ("1 2 3 4 5 6": the phases to run), P4_PERIOD_MS
# (1000), P1_ROUNDS (5: phase 1 alternates the paths in rounds), P1_BUDGET
# (300 s per path for phase 1; it stops early, with fewer cycles, rather
# than overrun).
WAIT_TIMEOUT=${WAIT_TIMEOUT:-300}
HP_TRACE=0
. "$(dirname "$0")/testing/selftests/nvmet_hotplug/lib.sh"

CYCLES=${CYCLES:-50}
VIS_CYCLES=${VIS_CYCLES:-15}
MASS_NR=${MASS_NR:-256}
MASS_TIMEOUT=${MASS_TIMEOUT:-600}
IO_RUNS=${IO_RUNS:-5}
PHASES=${PHASES:-1 2 3 4 5 6}
# Phase 4: one remove+add cycle of B per P4_PERIOD_MS.  Back to back, the
# loop (configfs writes, the host's rescans) takes a whole CPU of the two
# the VM has, and A loses that CPU whichever target runs: phase 4 also
# runs back to back, for the record, but the target is checked paced.
P4_PERIOD_MS=${P4_PERIOD_MS:-1000}
IO_RUNTIME=${IO_RUNTIME:-10}
MEM_NR=${MEM_NR:-512}
# Phase 1's backend: null_blk (keeping no data) under dm-delay with every
# write delayed by DELAY_MS.  null_blk alone completes a 1 MiB write in
# microseconds, so a hot-remove would hardly find anything in flight to
# drain; with 50 ms each removal waits for up to 50 ms of writes in flight,
# as on a loaded disk, without drowning the cost of the paths themselves
# (the suite holds I/O for 500 ms when it wants it stuck).
DELAY_MS=${DELAY_MS:-50}
# The module's bound on that drain (hotplug/quiesce_timeout_ms, with
# on_timeout = fail): phase 1's p99 is compared with it.
QUIESCE_MS=${QUIESCE_MS:-2000}
P1_BUDGET=${P1_BUDGET:-300}
P1_ROUNDS=${P1_ROUNDS:-5}
# Host-side in-flight requests that count as "under load" in phase 1.
LOAD_INFLIGHT=${LOAD_INFLIGHT:-8}
# Interval of the polls of the host's view (no fork per poll).
POLL_S=0.02
# After this long without the host following a change, make it rescan.
NUDGE_S=${NUDGE_S:-30}

out=${1:-results/bench/bench.json}
case $out in
*.json) ;;
*) out=$out.json ;;
esac
csv=${out%.json}.csv
log=${out%.json}.log
mkdir -p "$(dirname "$out")"
: >"$log"
work=$(mktemp -d /tmp/nvmet-hp-bench.XXXXXX)
trap 'hp_cleanup >>"$log" 2>&1; rm -rf "$work"' EXIT
exec 3>&2

progress() { printf 'bench: [%4d s] %s\n' "$SECONDS" "$*" >&3; }
# res KEY VALUE: one result, kept in a file so that phases can run in
# subshells; a later value of the same key wins.
res() { printf '%s\t%s\n' "$1" "$2" >>"$work/res"; }
get() {
	awk -F '\t' -v k="$1" '$1 == k { v = $2 } END { print (v == "" ? "n/a" : v) }' \
		"$work/res" 2>/dev/null || echo n/a
}
touch "$work/res"

# nap SECONDS: sleep without a fork (a read that times out on a FIFO
# nobody writes to); polls in TCG must not cost a process each.
if mkfifo "$work/nap" && exec {NAP_FD}<>"$work/nap"; then
	nap() { read -r -t "$1" -u "$NAP_FD" _; return 0; }
else
	nap() { sleep "$1"; }
fi

# poll TIMEOUT_S CMD...: run CMD every POLL_S seconds until it succeeds;
# 1 after TIMEOUT_S.
poll() {
	local end=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$end" ] || return 1
		nap "$POLL_S"
	done
}

# settle TIMEOUT_S NQN CMD...: poll CMD for the host's view to change.
# If it has not after NUDGE_S, the host missed a change notification:
# that is logged and counted (in $work/nudges, tagged NUDGE_TAG), every
# host controller of NQN is told to rescan, and the poll goes on until
# TIMEOUT_S.  Without the nudge one lost AEN would stall the bench for
# TIMEOUT_S; with it the sample shows the loss as a NUDGE_S outlier.
settle() {
	local t=$1 nqn=$2 c
	shift 2
	poll "$NUDGE_S" "$@" && return 0
	echo "${NUDGE_TAG:-?}: the host did not follow within ${NUDGE_S} s ($*): rescanning"
	echo "${NUDGE_TAG:-?}" >>"$work/nudges"
	for c in $(hp_ctrls "$nqn"); do
		nvme ns-rescan "/dev/$c" >/dev/null 2>&1
	done
	poll "$t" "$@"
}

# The host's view, read with shell builtins only.  Visible disks are the
# multipath heads nvmeXnY (or the single paths without multipath), not the
# hidden per-path nvmeXcYnZ.
# host_find NQN NSID: sets HOST_DISK to the visible disk of NSID.
host_find() {
	local d v
	for d in /sys/block/nvme*n*; do
		case ${d##*/} in nvme*c*n*) continue ;; esac
		v=
		read -r v 2>/dev/null <"$d/nsid"
		[ "$v" = "$2" ] || continue
		v=
		read -r v 2>/dev/null <"$d/device/subsysnqn"
		[ "$v" = "$1" ] || continue
		[ -b "/dev/${d##*/}" ] || continue
		HOST_DISK=${d##*/}
		return 0
	done
	return 1
}

# host_count NQN: sets REPLY to the number of visible disks of NQN.
host_count() {
	local d v n=0
	for d in /sys/block/nvme*n*; do
		case ${d##*/} in nvme*c*n*) continue ;; esac
		v=
		read -r v 2>/dev/null <"$d/device/subsysnqn"
		[ "$v" = "$1" ] && [ -b "/dev/${d##*/}" ] && n=$((n + 1))
	done
	REPLY=$n
}
host_count_is() { host_count "$1"; [ "$REPLY" -eq "$2" ]; }
gone() { [ ! -e "/sys/block/$1" ] && [ ! -b "/dev/$1" ]; }

# host_inflight NQN: sets REPLY to the requests in flight on every host
# block device of NQN (per-path devices count requests, always).
host_inflight() {
	local d v r w n=0
	for d in /sys/block/nvme*n*; do
		v=
		read -r v 2>/dev/null <"$d/device/subsysnqn"
		[ "$v" = "$1" ] || continue
		r=0 w=0
		read -r r w 2>/dev/null <"$d/inflight"
		n=$((n + r + w))
	done
	REPLY=$n
}

# alive PID: running and not a zombie (no fork).
alive() {
	local s=
	read -r _ _ s _ 2>/dev/null <"/proc/$1/stat" || return 1
	[ "$s" != Z ]
}
dead() { ! alive "$1"; }

# under_load NQN PID: the host has LOAD_INFLIGHT requests in flight, or
# fio is gone (the caller checks which).
under_load() {
	alive "$2" || return 0
	host_inflight "$1"
	[ "$REPLY" -ge "$LOAD_INFLIGHT" ]
}

# stop_bg PID: let a background job end (it is told to, or its disk went
# away) for at most a minute, then kill it; one that does not die (stuck
# in the kernel) is left behind rather than waited for.
stop_bg() {
	local p keep=() rc=0
	for p in "${HP_BG_PIDS[@]}"; do
		[ "$p" = "$1" ] || keep+=("$p")
	done
	HP_BG_PIDS=("${keep[@]}")
	if ! poll 60 dead "$1"; then
		kill -9 "$1" 2>/dev/null
		if ! poll 30 dead "$1"; then
			echo "pid $1 does not die; left behind"
			return 1
		fi
		rc=1
	fi
	wait "$1" 2>/dev/null
	return $rc
}

# bench_modules stock|module: the patched nvmet family, and nvmet-hotplug
# loaded (module) or not (stock).
bench_modules() {
	if [ "$1" = stock ]; then
		hp_load_modules stock && hp_unload_hotplug &&
			[ ! -d /sys/module/nvmet_hotplug ]
	else
		hp_load_modules && [ -d /sys/module/nvmet_hotplug ]
	fi
}

# fio_iops DEV RUNTIME: 4 KiB random reads at QD 32 on DEV for RUNTIME
# seconds (after 2 s of ramp); prints the IOPS.
fio_iops() {
	local f
	[ -b "$1" ] || { echo "fio_iops: $1 is not a block device" >&2; return 1; }
	f=$(mktemp "$work/fio.XXXXXX")
	fio --name=randread --filename="$1" --rw=randread --bs=4k \
		--ioengine=libaio --iodepth=32 --numjobs=1 --direct=1 \
		--norandommap --randrepeat=0 --time_based --ramp_time=2 \
		--runtime="$2" --output-format=json --output="$f" >/dev/null 2>&1 ||
		{ echo "fio_iops: fio failed:" >&2; cat "$f" >&2; return 1; }
	sed -n '/^{/,$p' "$f" | jq -e '[.jobs[].read.iops] | add | floor'
}

# samples FILE PREFIX: PREFIX_n and PREFIX_{p50,p99,max}_ms of a file of
# microsecond samples (nearest rank: p50 is the lower median, p99 the
# ceil(0.99 n)-th smallest, the largest below 100 samples).
samples() {
	local n p50 p99 max
	[ -s "$1" ] || return 0
	read -r n p50 p99 max < <(sort -n "$1" | awk '{ a[NR] = $1 } END {
		i = int(NR * 0.99); if (i < NR * 0.99) i++
		printf "%d %.1f %.1f %.1f\n", NR, a[int((NR + 1) / 2)] / 1000,
			a[i] / 1000, a[NR] / 1000 }')
	res "$2_n" "$n"
	res "$2_p50_ms" "$p50"
	res "$2_p99_ms" "$p99"
	res "$2_max_ms" "$max"
}

# median FILE: of the numbers in FILE (lower median), or n/a.
median() {
	[ -s "$1" ] || { echo n/a; return; }
	sort -n "$1" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

# sum_file FILE: the sum of the numbers in FILE, 0 if there is none.
sum_file() { awk '{ n += $1 } END { print n + 0 }' "$1" 2>/dev/null || echo 0; }

us() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }

# ---------------------------------------------------------------------
# Phase 1: hot-remove under a 16-job 1 MiB sequential write load.

# p1_path MODE N: N hot-removes on a target set up for this round; the
# samples are appended to those of the earlier rounds.
p1_path() {
	local mode=$1 nqn ns dev disk i pid t0 t1 t2 rc d
	local wf=$work/s.p1_write_$mode hf=$work/s.p1_host_$mode
	bench_modules "$mode" || return 1
	dev=$(hp_nullb_create "hpb1$mode" 128 memory_backed=0) || return 1
	dev=$(hp_dm_delay "hpb1slow$mode" "$dev" 0 "$DELAY_MS") || return 1
	nqn=$(hp_subsys_create "b1$mode") || return 1
	{ hp_port_create 1 loop && hp_port_link 1 "$nqn" &&
	  hp_ns_create "$nqn" 1 "$dev" 0; } || return 1
	ns=$(hp_ns_dir "$nqn" 1)
	if [ "$mode" = module ]; then
		echo "$QUIESCE_MS" >"$ns/hotplug/quiesce_timeout_ms" || return 1
		echo fail >"$ns/hotplug/on_timeout" || return 1
		res p1_quiesce_bound_ms "$(cat "$ns/hotplug/quiesce_timeout_ms")"
	fi
	echo 1 >"$ns/enable" || return 1
	hp_connect "$nqn" loop >/dev/null || return 1
	local end=$((SECONDS + P1_BUDGET / P1_ROUNDS)) fails=0 lowload=0
	local load_wait=30
	NUDGE_TAG=p1_$mode
	for ((i = 1; i <= $2; i++)); do
		if [ "$SECONDS" -ge "$end" ]; then
			progress "phase 1: $mode: round budget spent after $((i - 1)) cycles"
			break
		fi
		settle "$WAIT_TIMEOUT" "$nqn" host_find "$nqn" 1 ||
			{ echo "cycle $i: nsid 1 not on the host"; return 1; }
		disk=$HOST_DISK
		fio --name=load --filename="/dev/$disk" --rw=write --bs=1M \
			--numjobs=16 --thread --size=8M --offset_increment=8M \
			--direct=1 --ioengine=libaio --iodepth=1 --time_based \
			--runtime=300 --output=/dev/null >/dev/null 2>&1 &
		pid=$!
		HP_BG_PIDS+=("$pid")
		if ! poll "$load_wait" under_load "$nqn" "$pid"; then
			# the host never showed LOAD_INFLIGHT requests in flight:
			# go on (counted), and do not wait that long again
			lowload=$((lowload + 1))
			load_wait=3
			host_inflight "$nqn"
			echo "cycle $i: only $REPLY requests in flight on the host"
		fi
		alive "$pid" || { echo "cycle $i: fio ended before the removal"; return 1; }

		t0=${EPOCHREALTIME//[!0-9]/}
		echo 0 >"$ns/enable"
		# shellcheck disable=SC2320 # the status of the configfs write
		rc=$?
		t1=${EPOCHREALTIME//[!0-9]/}
		echo $((t1 - t0)) >>"$wf"
		# the module's part of it: the drain (percpu_ref kill to zero)
		# and what it spends around it
		if [ "$mode" = module ] && [ "$rc" -eq 0 ]; then
			d=$(awk '$1 == "last_quiesce_us" { print $2 }' "$ns/hotplug/stats")
			echo "$d" >>"$work/s.p1_drain_module"
			echo $((t1 - t0 - d)) >>"$work/s.p1_overhead_module"
		fi
		if [ "$rc" -ne 0 ]; then
			# module: the drain outlived QUIESCE_MS (on_timeout = fail,
			# the namespace stays live); counted, then removed idle.
			fails=$((fails + 1))
			echo "cycle $i: echo 0 > enable failed after $(us $((t1 - t0))) ms"
			kill "$pid" 2>/dev/null
			stop_bg "$pid"
			echo 0 >"$ns/enable" || return 1
		fi
		if settle "$WAIT_TIMEOUT" "$nqn" gone "$disk"; then
			t2=${EPOCHREALTIME//[!0-9]/}
			[ "$rc" -eq 0 ] && echo $((t2 - t0)) >>"$hf"
		else
			echo "cycle $i: the host kept /dev/$disk"
			return 1
		fi
		stop_bg "$pid"
		# fio may create a regular file where its device was
		[ -f "/dev/$disk" ] && rm -f "/dev/$disk"
		echo 1 >"$ns/enable" || return 1
	done
	echo "$fails" >>"$work/s.p1_fails_$mode"
	echo "$lowload" >>"$work/s.p1_lowload_$mode"
	if [ "$mode" = module ]; then
		awk '$1 == "max_quiesce_us" { print $2 }' "$ns/hotplug/stats" \
			>>"$work/s.p1_maxq_module"
	fi
	return 0
}

# each_mode PHASE WHAT FN: FN stock, then FN module, cleaning up after each.
each_mode() {
	local mode bad=0
	for mode in stock module; do
		progress "phase $1: $mode: $2"
		"$3" "$mode" || { bad=1; echo "phase $1: $mode failed"; }
		hp_cleanup
	done
	return $bad
}

# Phase 1 runs in P1_ROUNDS rounds of CYCLES / P1_ROUNDS removals per path,
# stock and module in turn, ABBA (stock first in odd rounds): whatever
# drifts during the phase (the host's state, the page cache, the other
# CPU's load) falls on both paths alike instead of on the one that runs
# second.
p1() {
	local r mode order bad=0 per=$(((CYCLES + P1_ROUNDS - 1) / P1_ROUNDS))
	rm -f "$work"/s.p1_*
	for ((r = 1; r <= P1_ROUNDS && !bad; r++)); do
		order="stock module"
		((r % 2)) || order="module stock"
		for mode in $order; do
			progress "phase 1: round $r/$P1_ROUNDS: $mode: $per hot-removes under 16 x 1 MiB writes (dm-delay ${DELAY_MS} ms)"
			p1_path "$mode" "$per" ||
				{ bad=1; echo "phase 1: $mode failed in round $r"; }
			hp_cleanup
		done
	done
	for mode in stock module; do
		res "p1_${mode}_write_failures" "$(sum_file "$work/s.p1_fails_$mode")"
		res "p1_${mode}_low_load_cycles" "$(sum_file "$work/s.p1_lowload_$mode")"
	done
	res p1_module_max_quiesce_us "$(sort -n "$work/s.p1_maxq_module" 2>/dev/null | tail -n 1)"
	return $bad
}

p1_results() {
	local mode
	for mode in stock module; do
		samples "$work/s.p1_write_$mode" "p1_${mode}_write"
		samples "$work/s.p1_host_$mode" "p1_${mode}_host"
	done
	samples "$work/s.p1_drain_module" p1_module_drain
	samples "$work/s.p1_overhead_module" p1_module_overhead
	for mode in stock module; do
		# how many removals found (almost) nothing to drain
		res "p1_${mode}_writes_under_20ms" "$(awk '$1 < 20000 { n++ } END { print n + 0 }' "$work/s.p1_write_$mode" 2>/dev/null)"
	done
}

# ---------------------------------------------------------------------
# Phase 2: configfs write to the host's block device gone / back, idle.

p2_path() {
	local mode=$1 tr=$2 nqn ns dev disk i t0 t1 t2
	local k=$work/s.p2_${tr}
	NUDGE_TAG=p2_${tr}_$mode
	bench_modules "$mode" || return 1
	dev=$(hp_nullb_create "hpb2$tr$mode" 64 memory_backed=0) || return 1
	nqn=$(hp_subsys_create "b2$tr$mode") || return 1
	{ hp_port_create 1 "$tr" && hp_port_link 1 "$nqn" &&
	  hp_ns_create "$nqn" 1 "$dev"; } || return 1
	ns=$(hp_ns_dir "$nqn" 1)
	hp_connect "$nqn" "$tr" >/dev/null || return 1
	poll "$WAIT_TIMEOUT" host_find "$nqn" 1 || return 1
	for ((i = 1; i <= VIS_CYCLES; i++)); do
		disk=$HOST_DISK
		t0=${EPOCHREALTIME//[!0-9]/}
		echo 0 >"$ns/enable" || return 1
		t1=${EPOCHREALTIME//[!0-9]/}
		settle "$WAIT_TIMEOUT" "$nqn" gone "$disk" ||
			{ echo "$tr cycle $i: the host kept /dev/$disk"; return 1; }
		t2=${EPOCHREALTIME//[!0-9]/}
		echo $((t1 - t0)) >>"${k}_rmwrite_$mode"
		echo $((t2 - t0)) >>"${k}_gone_$mode"

		t0=${EPOCHREALTIME//[!0-9]/}
		echo 1 >"$ns/enable" || return 1
		t1=${EPOCHREALTIME//[!0-9]/}
		settle "$WAIT_TIMEOUT" "$nqn" host_find "$nqn" 1 ||
			{ echo "$tr cycle $i: nsid 1 did not come back"; return 1; }
		t2=${EPOCHREALTIME//[!0-9]/}
		echo $((t1 - t0)) >>"${k}_addwrite_$mode"
		echo $((t2 - t0)) >>"${k}_back_$mode"
	done
}

p2() {
	local mode tr bad=0
	for tr in loop tcp; do
		for mode in stock module; do
			progress "phase 2: $mode over $tr: $VIS_CYCLES removes and adds, idle"
			p2_path "$mode" "$tr" || { bad=1; echo "phase 2: $mode over $tr failed"; }
			hp_cleanup
		done
	done
	return $bad
}

p2_results() {
	local mode tr m
	for tr in loop tcp; do
		for mode in stock module; do
			for m in rmwrite gone addwrite back; do
				samples "$work/s.p2_${tr}_${m}_$mode" "p2_${tr}_${m}_$mode"
			done
		done
	done
}

# ---------------------------------------------------------------------
# Phase 3: remove then add MASS_NR namespaces.

# p3_round MODE HOW: remove, then add, every namespace, with single
# writes or one batch write each way; the writes and the host are timed.
p3_round() {
	local k=p3_$1_$2 v op t0 t1 t2 i
	NUDGE_TAG=p3_$1
	progress "phase 3: $1, $2: remove and add $N namespaces"
	for v in 0 1; do
		op=remove
		[ "$v" = 1 ] && op=add
		t0=${EPOCHREALTIME//[!0-9]/}
		if [ "$2" = batch ]; then
			if [ "$v" = 0 ]; then
				echo "1-$N" >"$shp/detach" || return 1
			else
				echo "1-$N" >"$shp/attach" || return 1
			fi
		else
			for ((i = 1; i <= N; i++)); do
				echo "$v" >"$nss/$i/enable" || return 1
			done
		fi
		t1=${EPOCHREALTIME//[!0-9]/}
		res "${k}_${op}_write_ms" "$(us $((t1 - t0)))"
		if [ "$2" = batch ]; then
			res "${k}_${op}_batch_us" \
				"$(awk '$1 == "duration_us" { print $2 }' "$shp/last_batch")"
		fi
		settle "$MASS_TIMEOUT" "$nqn" host_count_is "$nqn" $((v * N)) ||
			{ p3_why "$k $op" "$nqn" "$nss" "$N"; return 1; }
		t2=${EPOCHREALTIME//[!0-9]/}
		res "${k}_${op}_host_ms" "$(us $((t2 - t0)))"
	done
}

# p3_why WHAT NQN NS-DIR N: the host's view did not match: say what each
# side has.
p3_why() {
	local c i on=0
	for ((i = 1; i <= $4; i++)); do
		[ "$(cat "$3/$i/enable")" = 1 ] && on=$((on + 1))
	done
	echo "$1: the host has $REPLY block devices; the target has $on of $4 namespaces enabled"
	for c in $(hp_ctrls "$2"); do
		echo "$c: state $(cat "/sys/class/nvme/$c/state"), $(nvme list-ns "/dev/$c" 2>&1 | grep -c '^\[') active namespaces listed"
	done
}

p3() {
	local nqn nss shp i devs=() N=$MASS_NR
	# the host adds or removes hundreds of disks: poll less often, and
	# give it longer before suspecting a lost notification
	POLL_S=0.1
	NUDGE_S=120
	bench_modules stock || return 1
	for i in 1 2 3 4; do
		devs[i]=$(hp_nullb_create "hpb3$i" 16 memory_backed=0) || return 1
	done
	nqn=$(hp_subsys_create b3) || return 1
	{ hp_port_create 1 loop && hp_port_link 1 "$nqn"; } || return 1
	for ((i = 1; i <= N; i++)); do
		hp_ns_create "$nqn" "$i" "${devs[(i - 1) % 4 + 1]}" || return 1
	done
	nss=$CFS/subsystems/$nqn/namespaces
	shp=$CFS/subsystems/$nqn/hotplug
	hp_connect "$nqn" loop >/dev/null || return 1
	poll "$MASS_TIMEOUT" host_count_is "$nqn" "$N" ||
		{ echo "the host sees $REPLY of $N namespaces"; return 1; }
	p3_round stock single || return 1
	# the same target from here on: nvmet-hotplug adopts the namespaces
	bench_modules module || return 1
	p3_round module batch || return 1
	p3_round module single || return 1
}

# ---------------------------------------------------------------------
# Phase 4: IOPS of namespace A while namespace B is hot-plugged in a loop.

# p4_toggle NQN NS-DIR PERIOD_MS: remove and add B until $work/p4.stop
# exists, each time until the host saw it, one cycle every PERIOD_MS (0:
# back to back); counts the cycles in $work/p4.toggles.
p4_toggle() {
	local n=0 disk t0 left
	while [ ! -e "$work/p4.stop" ]; do
		t0=${EPOCHREALTIME//[!0-9]/}
		settle "$WAIT_TIMEOUT" "$1" host_find "$1" 2 || break
		disk=$HOST_DISK
		echo 0 >"$2/enable" || break
		settle "$WAIT_TIMEOUT" "$1" gone "$disk" || break
		echo 1 >"$2/enable" || break
		n=$((n + 1))
		echo "$n" >"$work/p4.toggles"
		left=$(($3 * 1000 - (${EPOCHREALTIME//[!0-9]/} - t0)))
		[ "$left" -gt 0 ] && nap "$(awk -v u="$left" 'BEGIN { printf "%.3f", u / 1e6 }')"
	done
}

# p4_loop MODE NQN DISK WHAT PERIOD_MS: A's IOPS while B cycles.
p4_loop() {
	local tpid iops rc
	rm -f "$work/p4.stop"
	echo 0 >"$work/p4.toggles"
	p4_toggle "$2" "$(hp_ns_dir "$2" 2)" "$5" &
	tpid=$!
	HP_BG_PIDS+=("$tpid")
	iops=$(fio_iops "$3" "$IO_RUNTIME")
	rc=$?
	: >"$work/p4.stop"
	stop_bg "$tpid"
	[ "$rc" -eq 0 ] || return 1
	res "p4_${1}_${4}_iops" "$iops"
	res "p4_${1}_${4}_toggles" "$(cat "$work/p4.toggles")"
	# B back, as for the first run
	echo 1 >"$(hp_ns_dir "$2" 2)/enable" 2>/dev/null
	settle "$WAIT_TIMEOUT" "$2" host_find "$2" 2
}

p4_path() {
	local mode=$1 nqn a b disk tpid iops rc
	NUDGE_TAG=p4_$mode
	bench_modules "$mode" || return 1
	a=$(hp_nullb_create "hpb4a$mode" 512 memory_backed=0) || return 1
	b=$(hp_nullb_create "hpb4b$mode" 512 memory_backed=0) || return 1
	nqn=$(hp_subsys_create "b4$mode") || return 1
	{ hp_port_create 1 loop && hp_port_link 1 "$nqn" &&
	  hp_ns_create "$nqn" 1 "$a" && hp_ns_create "$nqn" 2 "$b"; } || return 1
	hp_connect "$nqn" loop >/dev/null || return 1
	poll "$WAIT_TIMEOUT" host_find "$nqn" 2 || return 1
	poll "$WAIT_TIMEOUT" host_find "$nqn" 1 || return 1
	disk=/dev/$HOST_DISK

	iops=$(fio_iops "$disk" "$IO_RUNTIME") || return 1
	res "p4_${mode}_alone1_iops" "$iops"

	p4_loop "$mode" "$nqn" "$disk" loop "$P4_PERIOD_MS" || return 1
	p4_loop "$mode" "$nqn" "$disk" flat 0 || return 1
	iops=$(fio_iops "$disk" "$IO_RUNTIME") || return 1
	res "p4_${mode}_alone2_iops" "$iops"
}

p4() { each_mode 4 "randread on A, B alone / hot-plugged every ${P4_PERIOD_MS} ms / back to back / alone (${IO_RUNTIME} s each)" p4_path; }

p4_results() {
	local mode a1 a2 l
	for mode in stock module; do
		a1=$(get "p4_${mode}_alone1_iops")
		a2=$(get "p4_${mode}_alone2_iops")
		l=$(get "p4_${mode}_loop_iops")
		res "p4_${mode}_flat_fraction" "$(awk -v a="$a1" -v l="$(get "p4_${mode}_flat_iops")" 'BEGIN {
			if (a ~ /^[0-9]+$/ && l ~ /^[0-9]+$/ && a > 0) printf "%.3f", l / a
			else print "n/a" }')"
		res "p4_${mode}_alone_iops" "$(awk -v a="$a1" -v b="$a2" 'BEGIN {
			if (a ~ /^[0-9]+$/ && b ~ /^[0-9]+$/) printf "%d", (a + b) / 2
			else if (a ~ /^[0-9]+$/) print a; else print "n/a" }')"
		res "p4_${mode}_fraction" "$(awk -v a="$(get "p4_${mode}_alone_iops")" -v l="$l" 'BEGIN {
			if (a ~ /^[0-9]+$/ && l ~ /^[0-9]+$/ && a > 0) printf "%.3f", l / a
			else print "n/a" }')"
	done
}

# ---------------------------------------------------------------------
# Phase 5: the I/O path, module loaded vs not.

p5_run() {
	local mode=$1 dev nqn iops
	bench_modules "$mode" || return 1
	dev=$(hp_nullb_create hpb5 1024 memory_backed=0) || return 1
	nqn=$(hp_subsys_create b5) || return 1
	{ hp_port_create 1 loop && hp_port_link 1 "$nqn" &&
	  hp_ns_create "$nqn" 1 "$dev"; } || return 1
	hp_connect "$nqn" loop >/dev/null || return 1
	poll "$WAIT_TIMEOUT" host_find "$nqn" 1 || return 1
	iops=$(fio_iops "/dev/$HOST_DISK" "$IO_RUNTIME") || return 1
	echo "$iops" >>"$work/s.p5_iops_$mode"
	echo "phase 5: $mode: $iops IOPS"
}

p5() {
	local r mode order bad=0
	for ((r = 1; r <= IO_RUNS; r++)); do
		order=(stock module)
		((r % 2 == 0)) && order=(module stock)
		progress "phase 5: run $r/$IO_RUNS: ${order[*]} (${IO_RUNTIME} s each)"
		for mode in "${order[@]}"; do
			p5_run "$mode" || { bad=1; echo "phase 5: run $r $mode failed"; }
			hp_cleanup
		done
	done
	return $bad
}

p5_results() {
	local mode
	for mode in stock module; do
		res "p5_${mode}_iops" "$(median "$work/s.p5_iops_$mode")"
		[ -s "$work/s.p5_iops_$mode" ] || continue
		res "p5_${mode}_runs" "$(wc -l <"$work/s.p5_iops_$mode")"
	done
}

# ---------------------------------------------------------------------
# Phase 6: slab memory per namespace, read from /proc/slabinfo.

# slab_snap: "all-caches kmalloc-caches SUnreclaim" bytes in use, after
# the reclaimable slab (dentries, inodes) is dropped.  /proc/slabinfo
# counts the free objects of per-CPU slabs as used, so a delta is good to
# a few slabs: hence hundreds of namespaces.
slab_snap() {
	sync
	echo 2 >/proc/sys/vm/drop_caches
	cat /proc/slabinfo >"$work/slabinfo.$1"
	awk 'NR > 2 { b = $2 * $4; t += b; if ($1 ~ /^kmalloc/) k += b }
	     END { printf "%d %d", t, k }' "$work/slabinfo.$1"
	awk '$1 == "SUnreclaim:" { printf " %d\n", $2 * 1024 }' /proc/meminfo
}

# slab_delta KEY BEFORE AFTER: per-namespace deltas into the results, and
# the caches that grew most into the log.
slab_delta() {
	local t0 k0 u0 t1 k1 u1
	read -r t0 k0 u0 <<<"$2"
	read -r t1 k1 u1 <<<"$3"
	res "${1}_slab_bytes_per_ns" $(((t1 - t0) / MEM_NR))
	res "${1}_kmalloc_bytes_per_ns" $(((k1 - k0) / MEM_NR))
	res "${1}_sunreclaim_bytes_per_ns" $(((u1 - u0) / MEM_NR))
	echo "$1: caches that grew most (bytes for $MEM_NR namespaces):"
	awk 'FNR == NR { if (FNR > 2) b[$1] = $2 * $4; next }
	     FNR > 2 { d = $2 * $4 - b[$1]; if (d) print d, $1 }' \
		"$work/slabinfo.$4" "$work/slabinfo.$5" | sort -rn | head -n 5
}

p6_path() {
	local mode=$1 nqn nss i devs=() s0 s1
	[ -r /proc/slabinfo ] || { echo "no /proc/slabinfo (CONFIG_SLUB_DEBUG)"; return 1; }
	bench_modules "$mode" || return 1
	for i in 1 2 3 4; do
		devs[i]=$(hp_nullb_create "hpb6$i" 16 memory_backed=0) || return 1
	done
	nqn=$(hp_subsys_create "b6$mode") || return 1
	nss=$CFS/subsystems/$nqn/namespaces
	# the module's per-subsystem state is not per namespace
	[ "$mode" = module ] && cat "$CFS/subsystems/$nqn/hotplug/stats" >/dev/null
	s0=$(slab_snap "$mode.0")
	for ((i = 1; i <= MEM_NR; i++)); do
		hp_ns_create "$nqn" "$i" "${devs[(i - 1) % 4 + 1]}" || return 1
	done
	s1=$(slab_snap "$mode.1")
	slab_delta "p6_$mode" "$s0" "$s1" "$mode.0" "$mode.1"
	[ "$mode" = stock ] || return 0

	# What the module adds: load it over the live namespaces (adopted on
	# first use) and read every hotplug/state, which allocates their
	# struct nvmet_hp_ns.
	bench_modules module || return 1
	cat "$CFS/subsystems/$nqn/hotplug/stats" >/dev/null
	s0=$(slab_snap adds.0)
	for ((i = 1; i <= MEM_NR; i++)); do
		read -r _ <"$nss/$i/hotplug/state" || return 1
	done
	s1=$(slab_snap adds.1)
	slab_delta p6_adds "$s0" "$s1" adds.0 adds.1
}

p6() { each_mode 6 "slab before and after $MEM_NR namespaces" p6_path; }

# ---------------------------------------------------------------------

# run_phase N TITLE: run pN in a subshell (a failure or an exit there ends
# only that phase), its output into the log, then clean up.
run_phase() {
	local t0=$SECONDS rc
	case " $PHASES " in
	*" $1 "*) ;;
	*) res "p$1_status" skipped; return 0 ;;
	esac
	progress "phase $1/6: $2"
	echo "=== phase $1: $2" >>"$log"
	(
		trap hp_cleanup EXIT
		"p$1"
	) >>"$log" 2>&1
	rc=$?
	hp_cleanup >>"$log" 2>&1
	res "p$1_seconds" $((SECONDS - t0))
	if [ "$rc" -eq 0 ]; then
		res "p$1_status" ok
		progress "phase $1/6: done in $((SECONDS - t0)) s"
	else
		res "p$1_status" failed
		{ echo "phase $1 failed: the kernel's last words"; dmesg | tail -n 80; } >>"$log"
		progress "phase $1/6: FAILED after $((SECONDS - t0)) s (numbers may be n/a); last lines of $log:"
		tail -n 5 "$log" | sed 's/^/bench:     /' >&3
	fi
}

# As in the suite (run_suite.sh): udevd probing every disk the host adds
# would cost more than the paths measured here.
pkill -x udevd 2>/dev/null || pkill -x systemd-udevd 2>/dev/null
for t in fio jq nvme dmsetup; do
	command -v "$t" >/dev/null || { echo "bench: needs $t" >&2; exit 1; }
done
mountpoint -q /sys/kernel/debug || mount -t debugfs none /sys/kernel/debug 2>/dev/null
dbg=""
[ -e /proc/lockdep ] && dbg="$dbg lockdep"
[ -e /sys/kernel/debug/kmemleak ] && dbg="$dbg kmemleak"
dmesg | grep -q 'KernelAddressSanitizer initialized' && dbg="$dbg KASAN"
dbg=${dbg# }
if [ -n "$dbg" ]; then
	progress "WARNING: this kernel has $dbg: the numbers are not the non-debug ones"
fi
[ "$CYCLES" -ge 50 ] || progress "WARNING: CYCLES=$CYCLES, fewer than the 50 the target asks for"
progress "kernel $(uname -r), $(nproc) CPUs; output $out"
{ hp_load_modules stock && hp_cleanup; } >>"$log" 2>&1 ||
	{ progress "cannot load the nvmet modules from $NVMET_HP_BUILD"; exit 1; }

run_phase 1 "hot-remove latency under a 16-job 1 MiB write load"
p1_results
run_phase 2 "host-visible latency over loop and tcp"
p2_results
run_phase 3 "remove and add $MASS_NR namespaces"
run_phase 4 "neighbour IOPS while another namespace is hot-plugged"
p4_results
run_phase 5 "I/O path, module loaded vs not"
p5_results
run_phase 6 "memory per namespace"
nudges=""
if [ -s "$work/nudges" ]; then
	while read -r n t; do
		res "nudges_$t" "$n"
		nudges="$nudges $t: $n,"
	done < <(sort "$work/nudges" | uniq -c)
	nudges=${nudges%,}
fi

# ---------------------------------------------------------------------
# The table: item, metric, unit, stock, module, module/stock, target,
# verdict.  The verdict checks the target on the ratio or on the module's
# number, as the target says.

num() { [[ $1 =~ ^-?[0-9]+(\.[0-9]+)?$ ]]; }
ratio() {
	if num "$1" && num "$2" && awk -v a="$1" 'BEGIN { exit !(a + 0 > 0) }'; then
		awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", b / a }'
	else
		echo n/a
	fi
}
# verdict VALUE le|lt|ge LIMIT
verdict() {
	num "$1" && num "$3" || { echo n/a; return; }
	awk -v v="$1" -v op="$2" -v l="$3" 'BEGIN {
		ok = op == "le" ? v + 0 <= l + 0 : op == "lt" ? v + 0 < l + 0 : v + 0 >= l + 0
		print ok ? "PASS" : "FAIL" }'
}
: >"$work/rows"
# row ITEM METRIC UNIT STOCK MODULE [TARGET-TEXT ON OP LIMIT], ON being
# ratio or module
row() {
	local r v=""
	r=$(ratio "$4" "$5")
	if [ -n "${6:-}" ]; then
		if [ "$7" = ratio ]; then v=$(verdict "$r" "$8" "$9"); else v=$(verdict "$5" "$8" "$9"); fi
	fi
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$5" "$r" \
		"${6:-}" "$v" >>"$work/rows"
}
sum() {
	num "$1" && num "$2" || { echo n/a; return; }
	awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a + b }'
}

q=$(get p1_quiesce_bound_ms)
for s in p50 p99 max; do
	case $s in
	p50) row 1 "hot-remove under load: write p50" ms \
		"$(get p1_stock_write_p50_ms)" "$(get p1_module_write_p50_ms)" \
		"<= 1.0x stock" ratio le 1.0 ;;
	p99) row 1 "hot-remove under load: write p99" ms \
		"$(get p1_stock_write_p99_ms)" "$(get p1_module_write_p99_ms)" \
		"<= quiesce bound ($q ms)" module le "$q" ;;
	max) row 1 "hot-remove under load: write max" ms \
		"$(get p1_stock_write_max_ms)" "$(get p1_module_write_max_ms)" ;;
	esac
done
row 1 "hot-remove under load: drain of the I/O in flight p50" ms \
	- "$(get p1_module_drain_p50_ms)"
row 1 "hot-remove under load: write minus drain p50 (p99)" ms \
	- "$(get p1_module_overhead_p50_ms) ($(get p1_module_overhead_p99_ms))"
row 1 "removals that returned within 20 ms" count \
	"$(get p1_stock_writes_under_20ms)" "$(get p1_module_writes_under_20ms)"
row 1 "hot-remove under load: host drops disk p50" ms \
	"$(get p1_stock_host_p50_ms)" "$(get p1_module_host_p50_ms)"
row 1 "cycles (failed writes)" count \
	"$(get p1_stock_write_n) ($(get p1_stock_write_failures))" \
	"$(get p1_module_write_n) ($(get p1_module_write_failures))"
for tr in loop tcp; do
	for m in gone back; do
		for s in p50 p99; do
			row 2 "$tr idle: write to disk $m $s" ms \
				"$(get "p2_${tr}_${m}_stock_${s}_ms")" \
				"$(get "p2_${tr}_${m}_module_${s}_ms")"
		done
	done
done
for op in remove add; do
	row 3 "$op $MASS_NR: $MASS_NR writes" ms \
		"$(get "p3_stock_single_${op}_write_ms")" \
		"$(get "p3_module_single_${op}_write_ms")"
	row 3 "$op $MASS_NR: $MASS_NR writes, host done" ms \
		"$(get "p3_stock_single_${op}_host_ms")" \
		"$(get "p3_module_single_${op}_host_ms")"
	row 3 "$op $MASS_NR: stock $MASS_NR writes vs 1 batch" ms \
		"$(get "p3_stock_single_${op}_write_ms")" \
		"$(get "p3_module_batch_${op}_write_ms")"
	row 3 "$op $MASS_NR: stock $MASS_NR writes vs 1 batch, host done" ms \
		"$(get "p3_stock_single_${op}_host_ms")" \
		"$(get "p3_module_batch_${op}_host_ms")"
done
row 3 "remove+add $MASS_NR: 2x$MASS_NR writes vs 2 batches" ms \
	"$(sum "$(get p3_stock_single_remove_write_ms)" "$(get p3_stock_single_add_write_ms)")" \
	"$(sum "$(get p3_module_batch_remove_write_ms)" "$(get p3_module_batch_add_write_ms)")" \
	">= 20x faster (<= 0.05x)" ratio le 0.05
row 4 "A randread IOPS, B alone" IOPS \
	"$(get p4_stock_alone_iops)" "$(get p4_module_alone_iops)"
row 4 "A randread IOPS, B hot-plugged every $P4_PERIOD_MS ms" IOPS \
	"$(get p4_stock_loop_iops)" "$(get p4_module_loop_iops)"
row 4 "B remove+add cycles meanwhile" count \
	"$(get p4_stock_loop_toggles)" "$(get p4_module_loop_toggles)"
row 4 "A keeps (fraction of alone)" fraction \
	"$(get p4_stock_fraction)" "$(get p4_module_fraction)" \
	">= 0.95" module ge 0.95
row 4 "A randread IOPS, B hot-plugged back to back" IOPS \
	"$(get p4_stock_flat_iops)" "$(get p4_module_flat_iops)"
row 4 "B remove+add cycles meanwhile, back to back" count \
	"$(get p4_stock_flat_toggles)" "$(get p4_module_flat_toggles)"
row 4 "A keeps, back to back (the loop's CPU included)" fraction \
	"$(get p4_stock_flat_fraction)" "$(get p4_module_flat_fraction)"
row 5 "4 KiB randread QD32 null_blk, median of $IO_RUNS" IOPS \
	"$(get p5_stock_iops)" "$(get p5_module_iops)" \
	">= 0.99x stock" ratio ge 0.99
row 6 "slab per namespace, created and enabled" bytes \
	"$(get p6_stock_slab_bytes_per_ns)" "$(get p6_module_slab_bytes_per_ns)"
row 6 "slab the module adds per namespace" bytes \
	- "$(get p6_adds_slab_bytes_per_ns)" "< 1024" module lt 1024

{
	echo "# nvmet-hotplug bench: kernel $(uname -r)${dbg:+ (DEBUG: $dbg)}, $(nproc) CPUs"
	echo "# phase 1: $(get p1_stock_write_n)/$(get p1_module_write_n) cycles, dm-delay ${DELAY_MS} ms writes; phase 2: $VIS_CYCLES cycles per transport; phase 5: median of $IO_RUNS x ${IO_RUNTIME} s"
	awk -F '\t' 'BEGIN { OFS = "" }
	{ for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } n = NR }
	END {
		split("#,metric,unit,stock,module,mod/stock,target,verdict", h, ",")
		for (i = 1; i <= 8; i++) if (length(h[i]) > w[i]) w[i] = length(h[i])
		line = ""
		for (i = 1; i <= 8; i++) line = line sprintf(i <= 3 ? "%-*s  " : "%*s  ", w[i], h[i])
		print line
		for (r = 1; r <= n; r++) {
			line = ""
			for (i = 1; i <= 8; i++) line = line sprintf(i <= 3 || i >= 7 ? "%-*s  " : "%*s  ", w[i], c[r, i])
			sub(/ +$/, "", line)
			print line
		}
	}' "$work/rows"
	for p in 1 2 3 4 5 6; do
		[ "$(get "p${p}_status")" = ok ] || echo "# phase $p: $(get "p${p}_status") (see $log)"
	done
	[ -z "$nudges" ] ||
		echo "# the host missed change notifications, rescans forced after ${NUDGE_S} s (120 s in phase 3):$nudges"
} | tee "$work/table"

# CSV of the table, JSON of everything.
{
	echo '"item","metric","unit","stock","module","module_over_stock","target","verdict"'
	awk -F '\t' '{ s = ""; for (i = 1; i <= 8; i++) { f = $i; gsub(/"/, "\"\"", f)
		s = s (i > 1 ? "," : "") "\"" f "\"" } print s }' "$work/rows"
} >"$csv"

for f in "$work"/s.*; do
	[ -s "$f" ] || continue
	printf '%s\t%s\n' "${f##*/s.}" "$(jq -cs . "$f")"
done >"$work/samples"

jq -n \
	--arg kernel "$(uname -r)" --arg debug "$dbg" --arg date "$(date -u +%FT%TZ)" \
	--argjson cpus "$(nproc)" \
	--argjson params "$(jq -n --argjson c "$CYCLES" --argjson v "$VIS_CYCLES" \
		--argjson m "$MASS_NR" --argjson r "$IO_RUNS" --argjson t "$IO_RUNTIME" \
		--argjson n "$MEM_NR" --argjson d "$DELAY_MS" --argjson q "$QUIESCE_MS" \
		--argjson b "$P1_BUDGET" \
		'{cycles: $c, vis_cycles: $v, mass_nr: $m, io_runs: $r, io_runtime_s: $t,
		  mem_nr: $n, delay_ms: $d, quiesce_ms: $q, p1_budget_s: $b}')" \
	--rawfile rows "$work/rows" --rawfile res "$work/res" \
	--rawfile samples "$work/samples" '
	def val: if . == "" then null else (tonumber? // .) end;
	def lines: split("\n") | map(select(length > 0) | split("\t"));
	{
		bench: "nvmet-hotplug", date: $date, kernel: $kernel,
		kernel_debug: (if $debug == "" then null else $debug end),
		cpus: $cpus, params: $params,
		rows: ($rows | lines | map({
			item: (.[0] | val), metric: .[1], unit: .[2],
			stock: (.[3] | val), module: (.[4] | val),
			module_over_stock: (.[5] | val), target: .[6],
			verdict: (if .[7] == "" then null else .[7] end)})),
		results: ($res | lines | map({(.[0]): (.[1] | val)}) | add),
		samples: ($samples | lines | map({(.[0]): (.[1] | fromjson)}) | add)
	}' >"$out.tmp" && mv "$out.tmp" "$out" ||
	{ echo "bench: could not write $out" >&2; exit 1; }
progress "wrote $out, $csv and $log"
