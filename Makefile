# SPDX-License-Identifier: GPL-2.0
#
# nvmet-hotplug: hotplug-aware namespace lifecycle for the NVMe target.
#
#   make                 build the patched nvmet family and nvmet-hotplug
#                        (against the cached debug VM kernel, set up on the
#                        first run), or against KDIR=/KSRC= when given
#   make check           build, style checks, and the kselftest suite in a VM
#   make demo            hot-remove and hot-add under fio load, in a VM
#                        (PCIE=1: over PCIe, nvmet-pci-epf + pci-epc-loopback)
#   make soak            CYCLES= (1000) hot-remove/hot-add cycles under fio
#                        verify load and SWAPS= (1000) swaps, in a VM on the
#                        debug kernel (not part of make check)
#   make bench           nvmet-hotplug vs stock nvmet on a non-debug kernel
#                        (BENCH_OUT=file.json, default results/bench/)
#   make repro-textpoke  the guest-killing "Oops: int3" of live text patching
#                        under TCG, and that the suite's way of tracing is
#                        immune to it (tools/textpoke-repro.sh)
#   make style           checkpatch --strict, sparse, kernel-doc
#   make series-check    apply patches/ one at a time: each step builds with
#                        W=1 and passes checkpatch --strict (bisectable)
#   make install         install the modules into the running kernel (KDIR)
#   make clean

KDIR ?=
KSRC ?=
export KDIR KSRC

all: modules

modules:
	@tools/build.sh

check:
	@tools/check.sh $(TESTS)

# tools/testing/selftests/nvmet_hotplug/soak.sh in one boot, its KTAP
# output in results/soak/soak.tap and the serial console (warnings and
# worse) in results/soak/console.log
CYCLES ?= 1000
SWAPS ?= 1000
soak:
	@mkdir -p results/soak && \
	VM_CONSOLE=$(CURDIR)/results/soak/console.log VM_UDEV_RULES=tools/vm-udev \
	tools/in-vm.sh soak "bash -c 'set -o pipefail; HP_TRACE=0 \
		CYCLES=$(CYCLES) SWAPS=$(SWAPS) WAIT_TIMEOUT=120 \
		tools/testing/selftests/nvmet_hotplug/soak.sh 2>&1 | \
		tee results/soak/soak.tap'"

# PCIE=1: the host is the stock nvme PCI driver, on nvmet-pci-epf and the
# loopback PCI endpoint controller
demo:
	@tools/in-vm.sh demo $(if $(PCIE),DEMO_PCIE=1) tools/demo-guest.sh

# nvmet-hotplug vs stock nvmet in one boot of a non-debug VM kernel (the
# selftests' fragment, then tools/bench.config): one table, and JSON in
# BENCH_OUT with a CSV next to it.  The guest's knobs (CYCLES=, ...) are
# passed on, see tools/bench-guest.sh.
BENCH_OUT ?= results/bench/bench.json
bench:
	@BENCH_OUT=$(BENCH_OUT) tools/bench.sh

repro-textpoke:
	@tools/textpoke-repro.sh

style:
	@b=$$(tools/build.sh | tail -n 1) && tools/style.sh $$b

series-check:
	@tools/series-check.sh

install:
	@test -n "$(KDIR)" || { echo "install: set KDIR (and KSRC)"; exit 1; }
	@b=$$(tools/build.sh | tail -n 1) && \
	$(MAKE) -C $(KDIR) M=$$b INSTALL_MOD_DIR=updates modules_install && \
	depmod -a

clean:
	rm -rf .build results

.PHONY: all modules check soak demo bench repro-textpoke style series-check \
	install clean
