#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build (or reuse) a VM kernel for the nvmet-hotplug tests.
#
#   tools/kernel.sh KSRC FRAGMENT [EXTRA_FRAGMENT...]
#
# tools/vm.config (what no test guest needs, switched off) comes before
# the fragments given.  Later fragments override earlier ones (make bench
# adds tools/bench.config, which switches the debugging options of the
# selftests' fragment off).
# The build lives outside the repository, in
# $NVMET_HP_CACHE/kbuild-<kernel version>-<hash of the fragments>, so that
# later runs and CI on the same machine reuse it. Prints the build directory
# on the last line.
set -euo pipefail

CACHE=${NVMET_HP_CACHE:-$HOME/.cache/nvmet-hotplug}
ksrc=$1
shift
set -- "$(dirname "$0")/vm.config" "$@"
kver=$(make -s -C "$ksrc" kernelversion)
key=$(cat "$@" | sha256sum | cut -c1-12)
out=$CACHE/kbuild-$kver-$key

if [ -f "$out/.built" ]; then
	echo "kernel: reusing $out" >&2
	echo "$out"
	exit 0
fi

mkdir -p "$out"
cfgs=()
for f in "$@"; do
	cfgs+=(--config "$(realpath "$f")")
done
echo "kernel: configuring $kver in $out" >&2
(cd "$ksrc" && vng --kconfig "${cfgs[@]}" O="$out") 2>&1 |
	grep -v 'warning: override' >&2 || true
# vng appends its own defaults after the fragments (debug info, for one):
# the fragments have the last word.
cat "$@" >>"$out/.config"
make -s -C "$ksrc" O="$out" olddefconfig 2>&1 | grep -v 'warning: override' >&2 || true
# vng's merge may silently drop an option whose dependencies are missing:
# make the fragments' last word on every option a hard requirement (a
# later fragment overrides an earlier one): =y/=m lines must be in the
# .config as they are, options switched off ("=n", "is not set") must not
# be =y/=m there.
awk '/^CONFIG_[A-Za-z0-9_]+=/ { k = $0; sub(/=.*/, "", k); v[k] = $0 }
     /^# CONFIG_[A-Za-z0-9_]+ is not set/ { v[$2] = $2 "=n" }
     END { for (k in v) print v[k] }' "$@" | sort | while IFS= read -r l; do
	case $l in
	*=y | *=m)
		grep -qx "$l" "$out/.config" ||
			{ echo "kernel: $l not set" >&2; exit 1; } ;;
	*=n)
		! grep -qE "^${l%=n}=[ym]\$" "$out/.config" ||
			{ echo "kernel: ${l%=n} is set, the fragments want it off" >&2; exit 1; } ;;
	esac
done
start=$(date +%s)
echo "kernel: building (about 11 min on 2 idle cores, longer under load)" >&2
make -s -C "$ksrc" O="$out" -j"$(nproc)" bzImage modules >&2
make -s -C "$ksrc" O="$out" -j"$(nproc)" modules_prepare >&2
echo "kernel: built in $(( $(date +%s) - start )) s" >&2
touch "$out/.built"
echo "$out"
