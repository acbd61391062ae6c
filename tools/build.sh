#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Build the patched nvmet family and nvmet-hotplug as external modules.
#
#   KDIR=<kernel build dir> [KSRC=<kernel source>] tools/build.sh [make args]
#
# Without KDIR, sets up the machine and builds (or reuses) the debug VM
# kernel of the selftests, or the kernel of the config fragments listed in
# KCONFIG (make bench: KCONFIG="tools/testing/selftests/nvmet_hotplug/config
# tools/bench.config"), tools/vm.config always first (tools/kernel.sh);
# the modules' build directory is named after the
# kernel's build directory, so each kernel has its own.  KSRC defaults to
# KDIR and must contain drivers/nvme/target (a distro's headers package
# does not: point KSRC at the matching source tree).  Prints the build
# directory on the last line.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
if [ -z "${KDIR:-}" ]; then
	# KCONFIG: the config fragments of the VM kernel, separated by
	# spaces, later ones overriding earlier ones (make bench: the
	# selftests' fragment, then tools/bench.config).
	read -ra frags <<<"${KCONFIG:-tools/testing/selftests/nvmet_hotplug/config}"
	KSRC=$(tools/setup.sh | tail -n 1)
	KDIR=$(tools/kernel.sh "$KSRC" "${frags[@]}" | tail -n 1)
fi
KSRC=${KSRC:-$KDIR}
if [ ! -d "$KSRC/drivers/nvme/target" ]; then
	echo "build: $KSRC has no drivers/nvme/target; set KSRC to the kernel source" >&2
	exit 1
fi

# STOCK=1: the nvmet family as the kernel ships it (no patches, no
# nvmet-hotplug, no endpoint controller), for the selftests' negative
# controls (hotplug_stock.sh), in a build directory of its own.
if [ "${STOCK:-0}" = 1 ]; then
	b=${BUILD:-$top/.build/$(basename "$KDIR")-stock}
	if [ "$(cat "$b/.stock" 2>/dev/null)" != "$KSRC" ]; then
		rm -rf "$b"
		mkdir -p "$b/drivers/nvme/host"
		cp -a "$KSRC/drivers/nvme/target" "$b/drivers/nvme/target"
		cp -a "$KSRC"/drivers/nvme/host/*.h "$b/drivers/nvme/host/"
		echo "$KSRC" >"$b/.stock"
	fi
	echo 'obj-m += drivers/nvme/target/' >"$b/Kbuild"
	make -C "$KDIR" M="$b" "$@" >&2
	echo "$KDIR" >"$b/.kdir"
	echo "$b"
	exit 0
fi

b=${BUILD:-$top/.build/$(basename "$KDIR")}
stamp=$( (echo "$KSRC"; cat patches/series patches/*.patch) | sha256sum | cut -c1-16)
if [ "$(cat "$b/.patched" 2>/dev/null)" != "$stamp" ]; then
	echo "build: copying $KSRC/drivers/nvme/target and applying patches/" >&2
	rm -rf "$b"
	mkdir -p "$b/drivers/nvme"
	cp -a "$KSRC/drivers/nvme/target" "$b/drivers/nvme/target"
	# loop.c and pci-epf.c include the host driver's private headers
	mkdir -p "$b/drivers/nvme/host"
	cp -a "$KSRC"/drivers/nvme/host/*.h "$b/drivers/nvme/host/"
	(cd "$b" && QUILT_PATCHES="$top/patches" QUILT_PC=.pc quilt push -aq >&2)
	echo "$stamp" >"$b/.patched"
fi
mkdir -p "$b/drivers/nvme/target/hotplug"
rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='.*' \
	--exclude='*.mod*' --exclude=modules.order \
	drivers/nvme/target/hotplug/ "$b/drivers/nvme/target/hotplug/"
mkdir -p "$b/drivers/pci/controller"
rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='.*' \
	--exclude='*.mod*' --exclude=modules.order \
	drivers/pci/controller/ "$b/drivers/pci/controller/"
cp -p Kbuild "$b/Kbuild"

make -C "$KDIR" M="$b" W=1 "$@" >&2
echo "$KDIR" >"$b/.kdir"
echo "$b"
