# SPDX-License-Identifier: GPL-2.0
#
# nvmet-hotplug: hotplug-aware namespace lifecycle for the NVMe target.
#
#   make                 build the patched nvmet family and nvmet-hotplug
#                        (against the cached debug VM kernel, set up on the
#                        first run), or against KDIR=/KSRC= when given
#   make check           build, style checks, and the kselftest suite in a VM
#   make demo            hot-remove and hot-add under fio load, in a VM
#   make bench           hot-remove latency, nvmet-hotplug vs stock nvmet
#   make style           checkpatch --strict, sparse, kernel-doc
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

demo:
	@tools/in-vm.sh demo tools/demo-guest.sh

# Hot-remove latency under load, nvmet-hotplug vs stock nvmet in one boot.
# It runs on the kernel of the test suite for now; KCONFIG=<fragment>
# selects another one (e.g. without the debug options).
CYCLES ?= 20
bench:
	@tools/in-vm.sh bench CYCLES=$(CYCLES) tools/bench-guest.sh \
		$(CURDIR)/results/bench/latency.csv

style:
	@b=$$(tools/build.sh | tail -n 1) && tools/style.sh $$b

install:
	@test -n "$(KDIR)" || { echo "install: set KDIR (and KSRC)"; exit 1; }
	@b=$$(tools/build.sh | tail -n 1) && \
	$(MAKE) -C $(KDIR) M=$$b INSTALL_MOD_DIR=updates modules_install && \
	depmod -a

clean:
	rm -rf .build results

.PHONY: all modules check demo bench style install clean
