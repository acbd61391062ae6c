#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Boot a kernel build directory with virtme-ng and run one command in it.
#
#   tools/vm.sh KDIR RWDIR COMMAND
#
# The guest sees the host's root filesystem (nvme-cli, fio, this tree) and
# can write to RWDIR.  KVM is used when it works; on machines where it
# fails (emulation errors) the runner falls back to TCG by itself and
# remembers the answer.
set -euo pipefail

kdir=$1
rwdir=$(realpath "$2")
cmd=$3
CACHE=${NVMET_HP_CACHE:-$HOME/.cache/nvmet-hotplug}
mkdir -p "$CACHE" "$rwdir"

vng_opts=(--run "$kdir" --memory "${VM_MEMORY:-4G}" --cpus "${VM_CPUS:-2}"
	  --rwdir "$rwdir=$rwdir" --user root
	  --append "panic_on_warn=0")

accel_file=$CACHE/accel-$(hostname)
if [ ! -f "$accel_file" ]; then
	accel=tcg
	if [ -w /dev/kvm ] && [ -z "${VM_FORCE_TCG:-}" ]; then
		echo "vm: probing KVM" >&2
		if timeout 90 vng "${vng_opts[@]}" --exec "echo nvmet-hp-vm-ok" \
			</dev/null 2>&1 | grep -q nvmet-hp-vm-ok; then
			accel=kvm
		fi
	fi
	echo "$accel" >"$accel_file"
fi
accel=$(cat "$accel_file")
[ "$accel" = kvm ] || vng_opts+=(--disable-kvm)
echo "vm: booting $(basename "$kdir") with $accel" >&2
exec vng "${vng_opts[@]}" --exec "$cmd" </dev/null
