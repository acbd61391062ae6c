#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make demo: build (or reuse) everything and run tools/demo-guest.sh in the
# VM.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
ksrc=$(tools/setup.sh | tail -n 1)
export KSRC=$ksrc
b=$(tools/build.sh | tail -n 1)
mkdir -p results/demo
tools/vm.sh "$(cat "$b/.kdir")" "$top/results/demo" \
	"cd $top && NVMET_HP_BUILD=$b KSRC=$ksrc tools/demo-guest.sh"
