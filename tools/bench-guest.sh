#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hot-remove latency under a 16-job 1 MiB sequential write load, through
# nvmet-hotplug and through stock nvmet (the module unloaded) in the same
# boot.  Run inside the VM by tools/bench.sh.  Prints one table and writes
# it as CSV to $1.
set -u
. "$(dirname "$0")/testing/selftests/nvmet_hotplug/lib.sh"
trap hp_cleanup EXIT
CYCLES=${CYCLES:-20}
csv=${1:-/dev/null}

ms() { echo $(($(date +%s%N) / 1000000)); }
host_inflight() {
	local d
	d=$(basename "$1")
	awk '{ print $1 + $2 }' "/sys/block/$d/inflight"
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
p99() { sort -n | awk '{ a[NR] = $1 } END { i = int(NR * 0.99 + 0.999); print a[i] }'; }
stat_line() {
	local f=$1
	printf '%s,%s,%s,%s,%s\n' "$2" "$(median <"$f")" "$(p99 <"$f")" \
		"$(sort -n "$f" | head -n 1)" "$(sort -n "$f" | tail -n 1)"
}

run_mode() {
	local mode=$1 dev ns disk i t0 t1 t2 pid
	hp_load_modules "$([ "$mode" = stock ] && echo stock)" || return 1
	[ "$mode" = stock ] && hp_unload_hotplug
	dev=$(hp_nullb_create "hpbench$mode" 128)
	HP_NQN=$(hp_subsys_create "bench$mode")
	hp_port_create 1 loop
	hp_port_link 1 "$HP_NQN"
	hp_ns_create "$HP_NQN" 1 "$dev"
	hp_connect "$HP_NQN" loop >/dev/null
	ns=$(hp_ns_dir "$HP_NQN" 1)
	: >"/tmp/bench-$mode-write"
	: >"/tmp/bench-$mode-host"
	for i in $(seq "$CYCLES"); do
		hp_wait "nsid 1 on the host" hp_ns_visible_all "$HP_NQN" 1 1 || return 1
		disk=$(hp_disk "$HP_NQN" 1)
		fio --name=load --filename="$disk" --rw=write --bs=1M --numjobs=16 \
			--size=8M --offset_increment=8M --direct=1 --ioengine=libaio \
			--iodepth=1 --time_based --runtime=600 --output=/dev/null \
			>/dev/null 2>&1 &
		pid=$!
		hp_wait "write load" eval "[ \$(host_inflight $disk) -ge 8 ]" || return 1
		t0=$(ms)
		echo 0 >"$ns/enable"
		t1=$(ms)
		hp_wait "host removal" hp_ns_gone_all "$HP_NQN" 1
		t2=$(ms)
		echo $((t1 - t0)) >>"/tmp/bench-$mode-write"
		echo $((t2 - t0)) >>"/tmp/bench-$mode-host"
		wait "$pid"
		echo 1 >"$ns/enable"
	done
	hp_cleanup
}

echo "# hot-remove under 16 x 1 MiB sequential writes, $CYCLES cycles each, nvme-loop"
for mode in stock module; do
	echo "# running $mode"
	run_mode "$mode" || { echo "# $mode failed"; exit 1; }
done
{
	echo "metric,p50_ms,p99_ms,min_ms,max_ms"
	stat_line /tmp/bench-stock-write "stock enable write"
	stat_line /tmp/bench-module-write "module enable write"
	stat_line /tmp/bench-stock-host "stock host sees removal"
	stat_line /tmp/bench-module-host "module host sees removal"
} | tee "$csv" | column -t -s,
