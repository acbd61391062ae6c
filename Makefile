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
	@tools/demo.sh

bench:
	@tools/bench.sh

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
