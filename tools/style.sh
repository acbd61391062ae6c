#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Style checks: checkpatch --strict on our sources and on the patch series,
# sparse (C=2) on the whole external build, kernel-doc on our sources.
#
#   KSRC=<kernel source> tools/style.sh BUILD_DIR
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
b=$(realpath "$1")
kdir=$(cat "$b/.kdir")
ksrc=${KSRC:-$kdir}
cp=$ksrc/scripts/checkpatch.pl
rc=0

mapfile -t src < <(git ls-files 'drivers/*.c' 'drivers/*.h')
echo "== checkpatch --strict: ${src[*]}"
out=$("$cp" -f --no-tree --strict --max-line-length=80 --terse --show-types \
	"${src[@]}" | grep -E ': (ERROR|WARNING|CHECK):')
[ -n "$out" ] && { echo "$out"; rc=1; }
echo "== checkpatch --strict: patches/"
for p in $(cat patches/series); do
	out=$(cd patches && "$cp" --no-tree --strict --terse "$p") ||
		{ echo "$out"; rc=1; }
	echo "$out" | grep -E ': (ERROR|WARNING|CHECK):' && rc=1
	true
done

echo "== sparse (C=2)"
command -v sparse >/dev/null || { echo "sparse is not installed"; exit 1; }
make -s -C "$kdir" M="$b" C=2 modules >"$b/sparse.log" 2>&1 || rc=1
grep -E 'warning|error' "$b/sparse.log" && rc=1

echo "== kernel-doc"
out=$("$ksrc/scripts/kernel-doc" -none -Wall "${src[@]}" 2>&1)
[ -n "$out" ] && { echo "$out"; rc=1; }

[ $rc -eq 0 ] && echo "style: clean"
exit $rc
