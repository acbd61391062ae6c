#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# make series-check: the series must be bisectable.  Apply patches/ to the
# kernel's drivers/nvme/target one patch at a time, and at each step build
# the nvmet family with W=1 (no warning) and run checkpatch --strict on
# the patch; the last step builds nvmet-hotplug too.  One case per patch,
# then "N passed, N failed".
#
#   [KDIR=<kernel build dir> KSRC=<kernel source>] tools/series-check.sh
#
# Without KDIR, the debug VM kernel of the selftests (set up and built on
# the first run, as make check does).
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
if [ -z "${KDIR:-}" ]; then
	KSRC=$(tools/setup.sh | tail -n 1) || exit 1
	KDIR=$(tools/kernel.sh "$KSRC" tools/testing/selftests/nvmet_hotplug/config |
		tail -n 1) || exit 1
fi
KSRC=${KSRC:-$KDIR}
# an O= build tree links its source tree as "source"
[ -d "$KSRC/drivers/nvme/target" ] || [ ! -d "$KSRC/source" ] ||
	KSRC=$(realpath "$KSRC/source")
b=$top/.build/series-check
cp=$KSRC/scripts/checkpatch.pl
if [ ! -d "$KSRC/drivers/nvme/target" ] || [ ! -x "$cp" ]; then
	echo "series-check: $KSRC has no drivers/nvme/target or checkpatch.pl; set KSRC to the kernel source"
	echo "0 passed, 1 failed"
	exit 1
fi
pass=0
fail=0

rm -rf "$b"
mkdir -p "$b/drivers/nvme/host"
cp -a "$KSRC/drivers/nvme/target" "$b/drivers/nvme/target" || exit 1
# loop.c and pci-epf.c include the host driver's private headers
cp -a "$KSRC"/drivers/nvme/host/*.h "$b/drivers/nvme/host/"
echo 'obj-m += drivers/nvme/target/' >"$b/Kbuild"
export QUILT_PATCHES=$top/patches QUILT_PC=.pc
# the patch names of the series file (no comments, blank lines or options)
mapfile -t series < <(grep -Ev '^[[:space:]]*(#|$)' patches/series |
	awk '{ print $1 }')
n=0
for p in "${series[@]}"; do
	n=$((n + 1))
	ok=1
	# no fuzz (as git am), and no user's or system's quiltrc
	if ! (cd "$b" && quilt --quiltrc=/dev/null push -q --fuzz=0 \
		>"$b/push.log" 2>&1); then
		sed 's/^/#   /' "$b/push.log"
		echo "not ok - $n $p: applies"
		fail=$((fail + 1))
		break
	fi
	if [ "$n" = "${#series[@]}" ]; then
		cp -a drivers/nvme/target/hotplug "$b/drivers/nvme/target/"
		echo 'obj-m += drivers/nvme/target/hotplug/' >>"$b/Kbuild"
	fi
	if ! make -s -C "$KDIR" M="$b" W=1 -j"${JOBS:-$(nproc)}" modules \
		>"$b/build.log" 2>&1; then
		tail -n 20 "$b/build.log" | sed 's/^/#   /'
		ok=0
	fi
	# modpost's "ERROR: modpost: ... undefined!" too (a symbol that a
	# later patch exports)
	grep -Ei 'warning:|error:' "$b/build.log" | sed 's/^/#   /' | grep . && ok=0
	# from patches/, as tools/style.sh (run from the top of this git tree,
	# checkpatch reports the blank context lines of a patch as trailing
	# whitespace)
	out=$(cd patches && "$cp" --no-tree --strict --terse --show-types "$p" |
		grep -E ': (ERROR|WARNING|CHECK):')
	[ -n "$out" ] && { echo "$out" | sed 's/^/#   /'; ok=0; }
	if [ $ok = 1 ]; then
		echo "ok - $n $p: builds with W=1, checkpatch --strict clean"
		pass=$((pass + 1))
	else
		echo "not ok - $n $p: builds with W=1, checkpatch --strict clean"
		fail=$((fail + 1))
	fi
done
echo "$pass passed, $fail failed"
[ "$fail" = 0 ] && [ "$pass" = "${#series[@]}" ]
