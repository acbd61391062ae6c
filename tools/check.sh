#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make check: build everything (first run: machine set-up and debug kernel),
# run the style checks, boot the debug kernel once and run the whole
# nvmet_hotplug kselftest suite in it.  Ends with "N passed, N failed".
#
#   tools/check.sh [TEST...]     (default: every TEST_PROGS)
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
t0=$SECONDS
res=$top/results/check
rm -rf "$res"
mkdir -p "$res"
pass=0
fail=0
result() {
	if [ "$1" = ok ]; then
		pass=$((pass + 1))
		echo "ok - $2"
	else
		fail=$((fail + 1))
		echo "not ok - $2"
	fi
}

ksrc=$(tools/setup.sh | tail -n 1) || { echo "0 passed, 1 failed"; exit 1; }
export KSRC=$ksrc
b=$(tools/build.sh 2>"$res/build.log" | tail -n 1)
if [ -z "$b" ] || grep -E 'warning:|error:' "$res/build.log"; then
	tail -n 30 "$res/build.log"
	result fail "W=1 build of the nvmet family and nvmet-hotplug"
	echo "$pass passed, $fail failed"
	exit 1
fi
result ok "W=1 build of the nvmet family and nvmet-hotplug, no warnings"
kdir=$(cat "$b/.kdir")
# nvmet as the kernel ships it, for the negative controls
bs=$(STOCK=1 tools/build.sh 2>"$res/build-stock.log" | tail -n 1)
[ -n "$bs" ] || { tail -n 30 "$res/build-stock.log"; result fail "build of stock nvmet"; }
echo "# build ready after $((SECONDS - t0)) s"

if tools/style.sh "$b" >"$res/style.log" 2>&1; then
	result ok "checkpatch --strict, sparse C=2, kernel-doc"
else
	tail -n 40 "$res/style.log"
	result fail "checkpatch --strict, sparse C=2, kernel-doc"
fi

sel=tools/testing/selftests/nvmet_hotplug
tests=("$@")
[ ${#tests[@]} -gt 0 ] ||
	mapfile -t tests < <(sed -n 's/^TEST_PROGS *+\?:\?= *//p' "$sel/Makefile")
# One boot, with the VM's RAM aliased in ivshmem BARs (tools/vm.sh,
# VM_ALIAS_WINDOWS), which the PCIe test needs and the others ignore.
# Earlier whole-suite runs with the aliases lost the guest mid-suite; the
# cause was the live text patching of trace events (tools/vm.sh), so the
# PCIe test no longer needs a boot of its own.
# The suite's trace events are enabled at boot and no test toggles one
# (lib.sh, HP_TRACE_BOOT; tools/vm.sh says why): HP_TRACE_STRICT makes a
# test fail rather than enable an event itself.
trace_boot=$(sed -n 's/^HP_TRACE_BOOT="\(.*\)"$/\1/p' "$sel/lib.sh")
[ -n "$trace_boot" ] || { echo "no HP_TRACE_BOOT in $sel/lib.sh"; echo "$pass passed, $((fail + 1)) failed"; exit 1; }
# vmrun RESULTS ALIASES TEST...
vmrun() {
	local r=$1 w=$2
	shift 2
	mkdir -p "$r"
	VM_APPEND=$trace_boot VM_ALIAS_WINDOWS=$w VM_CONSOLE=$r/console.log \
		VM_UDEV_RULES=tools/vm-udev \
		tools/vm.sh "$kdir" "$r" \
		"cd $top && HP_TRACE_STRICT=1 NVMET_HP_BUILD=$b NVMET_HP_STOCK_BUILD=$bs KSRC=$ksrc $sel/run_suite.sh $r $*" \
		2>&1 | tee "$r/vm.log"
}
vm_start=$SECONDS
vmrun "$res" 4 "${tests[@]}"
echo "# VM run took $((SECONDS - vm_start)) s"
# A boot that ended before its last test wrote its exit code lost the guest:
# say in which test and case, and show how the kernel log ended (the whole
# console is in console.log).
# lost_case TAP TEST: the case that was running (the one after the last
# result in the test's KTAP output, which is written as the test goes).
lost_case() {
	local f=$1 t=$2 plan last n
	if [ ! -s "$f" ]; then
		echo "# GUEST LOST before $t wrote any output"
		return
	fi
	plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$f" | head -n 1)
	last=$(grep -E '^(not )?ok [0-9]+ ' "$f" | tail -n 1)
	n=$(echo "$last" | sed -nE 's/^(not )?ok ([0-9]+) .*/\2/p')
	echo "# GUEST LOST in $t, while case $((${n:-0} + 1)) of ${plan:-?} was running;" \
		"the last case that ended: ${last:-none}"
	echo "# the test's last lines:"
	tail -n 5 "$f" | sed 's/^/#   /'
}
lost() {
	local r=$1 t n
	shift
	for t in "$@"; do
		[ -f "$r/$t.rc" ] && continue
		lost_case "$r/$t.tap" "$t"
		echo "# console ($r/console.log): its first report, then its end"
		n=$(grep -nE -m 1 'Oops|BUG:|WARNING:|Kernel panic|RIP:|INFO: task|rcu: INFO|Call Trace' \
			"$r/console.log" 2>/dev/null | cut -d: -f1)
		if [ -n "$n" ]; then
			sed -n "$((n > 5 ? n - 5 : 1)),$((n + 40))p" "$r/console.log"
			echo "..."
		fi | sed 's/^/#   /'
		tail -n 60 "$r/console.log" 2>/dev/null | sed 's/^/#   /'
		return
	done
}
lost "$res" "${tests[@]}"

# The serial console of every boot (the retries of tools/vm.sh too) holds
# the kernel log as it was written, up to the end: a report that a test's
# own dmesg check missed (the guest died, the buffer wrapped, it came
# between two tests) is found here.  lib.sh says what a report is.
console_clean() {
	local f bad rc=0 re known
	re=$(sed -n "s/^HP_BAD_DMESG='\(.*\)'$/\1/p" "$sel/lib.sh")
	known=$(sed -n "s/^HP_KNOWN_DMESG='\(.*\)'$/\1/p" "$sel/lib.sh")
	[ -n "$re" ] && [ -n "$known" ] || { echo "# no HP_BAD_DMESG in $sel/lib.sh"; return 1; }
	for f in "$1"/console.log*; do
		bad=$(grep -aE "$re" "$f" | grep -aEv "$known")
		[ -z "$bad" ] && continue
		echo "# kernel reports in $f:"
		echo "$bad" | head -n 20 | sed 's/^/#   /'
		rc=1
	done
	return $rc
}
if console_clean "$res"; then
	result ok "no kernel report on the serial console of the boot"
else
	result fail "no kernel report on the serial console of the boot"
fi

# Count every KTAP test case of every script; a script that stopped early
# counts its missing cases as failed.
shopt -s nullglob
count() {
	local r=$1 t f plan ok nok skip missing rc
	shift
	for t in "$@"; do
		f=$r/$t.tap
		if [ ! -f "$f" ]; then
			result fail "$t did not run"
			continue
		fi
		plan=$(sed -n 's/^1\.\.\([0-9]*\).*/\1/p' "$f" | head -n 1)
		ok=$(grep -c '^ok ' "$f")
		nok=$(grep -c '^not ok ' "$f")
		skip=$(grep -c '^ok .*# SKIP' "$f")
		pass=$((pass + ok - skip))
		fail=$((fail + nok))
		missing=$(( ${plan:-1} - ok - nok ))
		[ "$missing" -gt 0 ] && fail=$((fail + missing))
		rc=$(cat "$r/$t.rc" 2>/dev/null || echo '?')
		echo "# $t: plan ${plan:-none}, $ok ok ($skip skipped), $nok not ok, $missing missing, exit $rc"
		if [ "$rc" != 0 ] && [ "$nok" -eq 0 ] && [ "$missing" -le 0 ]; then
			fail=$((fail + 1))
		fi
	done
}
count "$res" "${tests[@]}"
echo "# make check took $((SECONDS - t0)) s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
