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
echo "# build ready after $((SECONDS - t0)) s"

if tools/style.sh "$b" >"$res/style.log" 2>&1; then
	result ok "checkpatch --strict, sparse C=2, kernel-doc"
else
	tail -n 40 "$res/style.log"
	result fail "checkpatch --strict, sparse C=2, kernel-doc"
fi

sel=tools/testing/selftests/nvmet_hotplug
vm_start=$SECONDS
tools/vm.sh "$kdir" "$res" \
	"cd $top && NVMET_HP_BUILD=$b KSRC=$ksrc $sel/run_suite.sh $res $*" \
	2>&1 | tee "$res/vm.log"
echo "# VM run took $((SECONDS - vm_start)) s"

# Count every KTAP test case of every script; a script that stopped early
# counts its missing cases as failed.
shopt -s nullglob
tests=("$@")
[ ${#tests[@]} -gt 0 ] ||
	mapfile -t tests < <(sed -n 's/^TEST_PROGS *+\?:\?= *//p' "$sel/Makefile")
for t in "${tests[@]}"; do
	f=$res/$t.tap
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
	rc=$(cat "$res/$t.rc" 2>/dev/null || echo '?')
	echo "# $t: plan ${plan:-none}, $ok ok ($skip skipped), $nok not ok, $missing missing, exit $rc"
	if [ "$rc" != 0 ] && [ "$nok" -eq 0 ] && [ "$missing" -le 0 ]; then
		fail=$((fail + 1))
	fi
done
echo "# make check took $((SECONDS - t0)) s"
echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
