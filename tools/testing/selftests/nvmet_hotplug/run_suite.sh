#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Runs the TEST_PROGS of the Makefile in order, inside the VM, each with the
# timeout of "settings", as kselftest's runner would, and writes
# <results>/<test>.tap.  Usage: run_suite.sh RESULTS_DIR [TEST...]
set -u
dir=$(cd "$(dirname "$0")" && pwd)
out=${1:?results directory}
shift
mkdir -p "$out"
timeout=$(sed -n 's/^timeout=//p' "$dir/settings")
tests=("$@")
[ ${#tests[@]} -gt 0 ] ||
	mapfile -t tests < <(sed -n 's/^TEST_PROGS *+\?:\?= *//p' "$dir/Makefile")

# virtme-ng starts udevd to bring the guest up; the suite does not need it
# (device nodes come from devtmpfs, dm devices use --noudevsync) and under
# TCG its probing of every new disk costs a third of the suite's time.
pkill -x udevd 2>/dev/null || pkill -x systemd-udevd 2>/dev/null

echo "TAP version 13"
echo "1..${#tests[@]}"
n=0
for t in "${tests[@]}"; do
	n=$((n + 1))
	echo "# selftests: nvmet_hotplug: $t"
	start=$SECONDS
	# The console copy says when each line came (seconds into the test).
	timeout --foreground -k 10 "$timeout" "$dir/$t" 2>&1 |
		tee "$out/$t.tap" |
		while IFS= read -r l || [ -n "$l" ]; do
			printf '# [%4d s] %s\n' $((SECONDS - start)) "$l"
		done
	rc=${PIPESTATUS[0]}
	echo "# $t: exit $rc after $((SECONDS - start)) s," \
		"$(awk '/^MemAvailable/ { print $2 / 1024 " MiB available" }' /proc/meminfo)"
	echo "$rc" >"$out/$t.rc"
	[ "$rc" = 0 ] || dmesg >"$out/$t.dmesg"
	case $rc in
	0) echo "ok $n selftests: nvmet_hotplug: $t" ;;
	4) echo "ok $n selftests: nvmet_hotplug: $t # SKIP" ;;
	124) echo "not ok $n selftests: nvmet_hotplug: $t # TIMEOUT $timeout seconds" ;;
	*) echo "not ok $n selftests: nvmet_hotplug: $t # exit=$rc" ;;
	esac
done
dmesg >"$out/dmesg.txt"
