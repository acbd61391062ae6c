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
# an O= build tree links its source tree as "source"
[ -z "${KSRC:-}" ] && [ -d "$kdir/source/scripts" ] && ksrc=$(realpath "$kdir/source")
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
# Debian's sparse (0.6.4) predates __typeof_unqual__, so the kernel's
# checker-valid.sh turns C=2 off: map it to __typeof__ (sparse only loses
# the qualifier stripping).  Nor does 0.6.4 take __builtin_strlen() as a
# constant, which the static_assert() of every MODULE_INFO() (so of
# every MODULE_* and module_param line) needs: its "bad constant
# expression" error would end sparse's warnings for the rest of the file
# (sparse prints no warning after an error).  Give it the value the
# builtin has on a string literal.  Every report fails the check.
command -v sparse >/dev/null || { echo "sparse is not installed"; exit 1; }
find "$b" -name '*.o' -delete
make -s -C "$kdir" M="$b" C=2 \
	CF="-D__typeof_unqual__=__typeof__ '-D__builtin_strlen(s)=(sizeof(s) - 1)'" \
	modules >"$b/sparse.log" 2>&1 || rc=1
# Reports on upstream code that the series does not touch, each matched
# exactly: nvmet-tcp's data digest error path stores a CPU-order status in
# the little-endian CQE (drivers/nvme/target/tcp.c,
# nvmet_tcp_try_recv_ddgst()), once.
known='^drivers/nvme/target/tcp\.c:[0-9]+:[0-9]+: warning: incorrect type in assignment \(different base types\)$'
out=$(grep -E 'warning|error' "$b/sparse.log" | grep -Ev "$known")
[ "$(grep -cE "$known" "$b/sparse.log")" -le 1 ] ||
	out+=$'\n'"$(grep -E "$known" "$b/sparse.log")"
[ -n "$out" ] && { echo "$out"; rc=1; }
grep -q 'sparse is not available' "$b/sparse.log" && { echo "sparse did not run"; rc=1; }

echo "== kernel-doc"
out=$("$ksrc/scripts/kernel-doc" -none -Wall "${src[@]}" 2>&1)
[ -n "$out" ] && { echo "$out"; rc=1; }

[ $rc -eq 0 ] && echo "style: clean"
exit $rc
