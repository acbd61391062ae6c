#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Style checks: checkpatch --strict on our sources and on the patch series,
# sparse (C=2) on the whole external build, kernel-doc on our sources.
#
#   KSRC=<kernel source> tools/style.sh BUILD_DIR
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
b=$1
kdir=$(cat "$b/.kdir")
ksrc=${KSRC:-$kdir}
cp=$ksrc/scripts/checkpatch.pl
rc=0

mapfile -t src < <(git ls-files 'drivers/*.c' 'drivers/*.h')
echo "== checkpatch --strict: ${src[*]}"
"$cp" -f --no-tree --strict --max-line-length=80 --terse --show-types \
	--ignore FILE_PATH_CHANGES,SPDX_LICENSE_TAG "${src[@]}" |
	grep -E ': (ERROR|WARNING|CHECK):' && rc=1
echo "== checkpatch --strict: patches/"
for p in $(cat patches/series); do
	out=$("$cp" --no-tree --strict --terse "patches/$p") ||
		{ echo "$out"; rc=1; }
	echo "$out" | grep -E ': (ERROR|WARNING|CHECK):' && rc=1
done

echo "== sparse (C=2)"
command -v sparse >/dev/null || { echo "sparse is not installed"; exit 1; }
make -s -C "$kdir" M="$b" C=2 CF="-D__CHECK_ENDIAN__" modules 2>&1 |
	tee "$b/sparse.log" | grep -E 'warning|error' && rc=1

echo "== kernel-doc"
"$ksrc/scripts/kernel-doc" -none -Wall "${src[@]}" 2>&1 | grep . && rc=1

[ $rc -eq 0 ] && echo "style: clean"
exit $rc
