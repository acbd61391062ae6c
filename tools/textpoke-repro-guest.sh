#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Guest half of tools/textpoke-repro.sh: keep both vCPUs busy with
# cross-CPU wakeups (a pipe between a writer on CPU 0 and a reader on
# CPU 1) and, for REPRO_SECONDS, do what a test does with trace events:
#
#   REPRO_MODE=toggle  enable and disable rcu:rcu_grace_period in an
#                      instance, as hotplug_batch.sh did: the first event
#                      enabled and the last disabled switch the comm
#                      recording on sched_switch/sched_wakeup, i.e. rewrite
#                      live kernel text (static keys, static calls)
#   REPRO_MODE=suite   what make check does now: booted with the suite's
#                      HP_TRACE_BOOT (lib.sh) and an instance of its own
#                      with the event, nvmet loaded as lib.sh loads it (its
#                      events armed before the load); each step switches
#                      tracing_on and clears the buffers as the tests do,
#                      and sets and clears the event's filter: none of
#                      which rewrites kernel text
#
# Progress goes to the kernel log at warning level, so that the serial
# console (tools/vm.sh VM_CONSOLE) shows how far the guest got.
set -u
mode=${REPRO_MODE:-toggle}
secs=${REPRO_SECONDS:-600}
T=/sys/kernel/tracing
inst=$T/instances/nvmet_hp_repro
say() { echo "<4>nvmet-hp-repro: $*" >/dev/kmsg; echo "nvmet-hp-repro: $*"; }

mountpoint -q $T || mount -t tracefs nodev $T
ev=events/rcu/rcu_grace_period
case $mode in
toggle)
	[ -d $T/$ev ] || { say "no $ev in this kernel"; exit 4; }
	mkdir -p $inst
	step() {
		echo 1 >$inst/$ev/enable && echo 0 >$inst/$ev/enable
	} ;;
suite)
	[ "$(cat $inst/$ev/enable 2>/dev/null)" = 1 ] ||
		{ say "boot without trace_instance=nvmet_hp_repro,rcu:rcu_grace_period"; exit 4; }
	HP_TRACE_STRICT=1
	. "$(dirname "$0")/testing/selftests/nvmet_hotplug/lib.sh"
	hp_load_modules stock || { say "nvmet did not load with its events"; exit 1; }
	step() {
		hp_trace_aen_start && hp_trace_aen_stop &&
			echo 0 >$inst/tracing_on && echo >$inst/trace &&
			echo 'gpevent == "end"' >$inst/$ev/filter &&
			echo 1 >$inst/tracing_on &&
			echo 0 >$inst/$ev/filter
	} ;;
*)
	say "REPRO_MODE is toggle or suite"
	exit 2 ;;
esac

pkill -x udevd 2>/dev/null || pkill -x systemd-udevd 2>/dev/null
if [ "$(nproc)" -gt 1 ]; then
	taskset -c 0 yes | taskset -c 1 cat >/dev/null &
else
	yes | cat >/dev/null &
fi
busy=$!
say "mode $mode, $(nproc) CPUs, $secs s, $(cat /proc/cmdline | tr ' ' '\n' | grep -E '^trace_' | tr '\n' ' ')"
n=0 t0=$SECONDS next=$((SECONDS + 30))
while [ $((SECONDS - t0)) -lt "$secs" ]; do
	step || { say "step $n failed"; exit 1; }
	n=$((n + 1))
	if [ $SECONDS -ge $next ]; then
		say "$n steps after $((SECONDS - t0)) s"
		next=$((SECONDS + 30))
	fi
done
kill $busy 2>/dev/null
events=""
[ "$mode" = suite ] && events=", $(grep -c rcu_grace_period $inst/trace) events in the buffer"
say "survived: $n steps in $((SECONDS - t0)) s$events"
