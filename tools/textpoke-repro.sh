#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Reproducer of the "Oops: int3" that lost the test guest (tools/vm.sh says
# why it happens): boot the debug VM kernel and run
# tools/textpoke-repro-guest.sh in it, with a CPU-heavy job on the host
# beside it.  Reports whether the guest survived and keeps its console.
#
#   make repro-textpoke [REPRO_MODE=toggle|suite] [REPRO_SECONDS=1800]
#                       [REPRO_LOAD=1] [VM_TCG_THREAD=single|multi]
#                       [VM_CPUS=2]
#
# REPRO_MODE=toggle toggles a trace event as the old suite did (expected:
# the guest is lost under multi-threaded TCG); REPRO_MODE=suite boots with
# the event enabled, as make check does now, and only switches tracing_on,
# the buffer and a filter.  REPRO_LOAD host processes run sha256sum
# /dev/zero meanwhile (0: none).  Ends "repro: survived" (exit 0),
# "repro: guest lost" (exit 1) or, when the guest did not get as far as
# the reproducer, "repro: the guest never started" (exit 2).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mode=${REPRO_MODE:-toggle}
secs=${REPRO_SECONDS:-1800}
load=${REPRO_LOAD:-1}
res=$top/results/repro-textpoke/$mode-${VM_TCG_THREAD:-default}-${VM_CPUS:-2}cpu
rm -rf "$res"
mkdir -p "$res"

ksrc=$(tools/setup.sh | tail -n 1) || exit 1
b=$(KSRC=$ksrc tools/build.sh 2>"$res/build.log" | tail -n 1)
[ -n "$b" ] || { tail -n 20 "$res/build.log"; exit 1; }
kdir=$(cat "$b/.kdir")

append=""
[ "$mode" = suite ] &&
	append="$(sed -n 's/^HP_TRACE_BOOT="\(.*\)"$/\1/p' \
		tools/testing/selftests/nvmet_hotplug/lib.sh) trace_instance=nvmet_hp_repro,rcu:rcu_grace_period"
pids=()
for ((i = 0; i < load; i++)); do
	sha256sum /dev/zero &
	pids+=($!)
done
trap '[ ${#pids[@]} -eq 0 ] || kill "${pids[@]}" 2>/dev/null' EXIT
echo "repro: mode $mode, ${secs} s, $load host load processes," \
	"tcg thread ${VM_TCG_THREAD:-default}, ${VM_CPUS:-2} vCPUs"
t0=$SECONDS
VM_APPEND=$append VM_ALIAS_WINDOWS=0 VM_CONSOLE=$res/console.log \
	timeout $((secs + 1500)) tools/vm.sh "$kdir" "$res" \
	"NVMET_HP_BUILD=$b KSRC=$ksrc REPRO_MODE=$mode REPRO_SECONDS=$secs $top/tools/textpoke-repro-guest.sh" \
	2>&1 | tee "$res/vm.log"
el=$((SECONDS - t0))
if ! grep -q 'nvmet-hp-repro: mode' "$res/vm.log"; then
	echo "repro: the guest never started the reproducer ($el s); console ($res/console.log):"
	tail -n 5 "$res/console.log" | sed 's/^/#   /'
	exit 2
fi
if grep -q 'nvmet-hp-repro: survived' "$res/vm.log"; then
	echo "repro: survived ($el s in all; console: $res/console.log)"
	exit 0
fi
echo "repro: guest lost after $el s; the console's end ($res/console.log):"
grep -E 'nvmet-hp-repro|Oops|RIP:|panic' "$res/console.log" | tail -n 12 | sed 's/^/#   /'
exit 1
