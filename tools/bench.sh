#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make bench: hot-remove latency under load, nvmet-hotplug vs stock nvmet in
# the same boot (tools/bench-guest.sh).  Writes results/bench/latency.csv.
# It runs on the kernel of the test suite for now (KCONFIG=<fragment>
# selects another kernel, e.g. a non-debug one).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
ksrc=$(tools/setup.sh | tail -n 1)
export KSRC=$ksrc
b=$(tools/build.sh | tail -n 1)
mkdir -p results/bench
tools/vm.sh "$(cat "$b/.kdir")" "$top/results/bench" \
	"cd $top && NVMET_HP_BUILD=$b KSRC=$ksrc CYCLES=${CYCLES:-20} tools/bench-guest.sh $top/results/bench/latency.csv"
