#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build (or reuse) everything and run a guest script in the test VM.
#
#   tools/in-vm.sh NAME GUEST-COMMAND...
#
# The command runs from the top of the tree with NVMET_HP_BUILD and KSRC
# set, and may write to results/NAME.  Used by make demo and make bench.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
name=$1
shift
ksrc=$(tools/setup.sh | tail -n 1)
export KSRC=$ksrc
b=$(tools/build.sh | tail -n 1)
mkdir -p "results/$name"
tools/vm.sh "$(cat "$b/.kdir")" "$top/results/$name" \
	"cd $top && NVMET_HP_BUILD=$b KSRC=$ksrc $*"
