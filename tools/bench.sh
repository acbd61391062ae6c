#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: build (or reuse) the non-debug VM kernel -- the selftests'
# config fragment, then tools/bench.config -- and the patched nvmet family
# and nvmet-hotplug against it, boot it once and run tools/bench-guest.sh,
# which measures nvmet-hotplug against stock nvmet in that one boot.
#
#   BENCH_OUT=<file.json> tools/bench.sh
#
# The guest writes results/bench/bench.{json,csv,log}; they are copied to
# BENCH_OUT (default results/bench/bench.json) and the same name with .csv
# and .log.  The guest's knobs (PHASES, CYCLES, VIS_CYCLES, MASS_NR, IO_RUNS,
# IO_RUNTIME, MEM_NR, DELAY_MS, QUIESCE_MS, P1_BUDGET, P4_PERIOD_MS) are
# passed on from
# the environment.
set -euo pipefail

out=${BENCH_OUT:-results/bench/bench.json}
case $out in
/*) ;;
*) out=$PWD/$out ;;
esac
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
CACHE=${NVMET_HP_CACHE:-$HOME/.cache/nvmet-hotplug}
export KCONFIG="tools/testing/selftests/nvmet_hotplug/config tools/bench.config"

res=$top/results/bench
mkdir -p "$res"
rm -f "$res/bench.json" "$res/bench.csv" "$res/bench.log"
knobs=()
for v in CYCLES VIS_CYCLES MASS_NR IO_RUNS IO_RUNTIME MEM_NR DELAY_MS \
	 QUIESCE_MS P1_BUDGET PHASES P4_PERIOD_MS; do
	[ -n "${!v:-}" ] && knobs+=("$v=\"${!v}\"")
done
start=$SECONDS
tools/in-vm.sh bench "${knobs[@]}" tools/bench-guest.sh "$res/bench.json"
echo "bench: VM run took $((SECONDS - start)) s (with the builds)" >&2
if [ ! -s "$res/bench.json" ]; then
	echo "bench: the guest wrote no results; see $res/bench.log" >&2
	exit 1
fi

# How the VM ran is known here, not in the guest.
accel=$(cat "$CACHE/accel-$(hostname)" 2>/dev/null || echo unknown)
jq --arg a "$accel" '.accel = $a' "$res/bench.json" >"$res/bench.json.tmp" &&
	mv "$res/bench.json.tmp" "$res/bench.json"

if [ "$out" != "$res/bench.json" ]; then
	mkdir -p "$(dirname "$out")"
	cp "$res/bench.json" "$out"
	[ -f "$res/bench.csv" ] && cp "$res/bench.csv" "${out%.json}.csv"
	[ -f "$res/bench.log" ] && cp "$res/bench.log" "${out%.json}.log"
fi
echo "bench: results in $out and ${out%.json}.csv" >&2
