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
#
# The guest's RAM lives in a file, which VM_ALIAS_WINDOWS (4) ivshmem-plain
# devices map a second time each: the RAM aliases through which the
# loopback PCI endpoint controller (drivers/pci/controller) lets both ends
# of its link reach each other's memory.  VM_ALIAS_WINDOWS=0 boots without.
#
# VM_CONSOLE=FILE keeps the guest's serial console (the kernel log as it is
# written, up to a panic) in FILE, at console log level VM_CONSOLE_LEVEL
# (default 5: warnings and worse, so oopses, hung tasks, the OOM killer and
# panics, without the serial port slowing the guest down with every line).
#
# VM_APPEND adds kernel command-line arguments (make check: the trace
# events of the suite, enabled once at boot, see below).  VM_TCG_THREAD
# (single or multi) picks QEMU's TCG threading when KVM is not used; the
# default is QEMU's (multi: one host thread per vCPU).
#
# Live kernel text patching under multi-threaded TCG: QEMU 7.2 (Debian 12)
# does not keep a translation block that another vCPU is still translating
# coherent with a concurrent write to the guest code it translates.  The
# kernel's text_poke_bp protocol (INT3 at the first byte, sync every CPU,
# write the tail, sync, write the first byte, sync) then leaves a vCPU
# running a stale translation that still holds the INT3 after the patching
# has finished, and the INT3 handler no longer knows the address: "Oops:
# int3" and a panic (seen at trace_sched_wakeup+0x5 when a trace event was
# toggled, which switches the tracer's comm recording on sched_switch and
# sched_wakeup).  tools/textpoke-repro.sh reproduces it; thread=single and
# one vCPU do not.  The suite therefore never patches live kernel text: its
# trace events are enabled once, at boot (VM_APPEND from tools/check.sh)
# or at their module's load, and tests only switch tracing_on, clear
# buffers and set filters (lib.sh, hp_trace_*).
set -euo pipefail

kdir=$1
rwdir=$(realpath "$2")
cmd=$3
CACHE=${NVMET_HP_CACHE:-$HOME/.cache/nvmet-hotplug}
mkdir -p "$CACHE" "$rwdir"

mem=${VM_MEMORY:-4G}
vng_opts=(--run "$kdir" --memory "$mem" --cpus "${VM_CPUS:-2}"
	  --rwdir "$rwdir=$rwdir" --user root
	  --append "panic_on_warn=0")

windows=${VM_ALIAS_WINDOWS:-4}
ram=""
if [ "$windows" -gt 0 ]; then
	ram=$(mktemp /dev/shm/nvmet-hp-ram.XXXXXX)
	trap 'rm -f "$ram"' EXIT
	qopts=(-object "memory-backend-file,id=ram0,size=$mem,mem-path=$ram,share=on"
	       -machine memory-backend=ram0)
	for ((w = 0; w < windows; w++)); do
		qopts+=(-object "memory-backend-file,id=alias$w,size=$mem,mem-path=$ram,share=on"
			-device "ivshmem-plain,memdev=alias$w")
	done
	for o in "${qopts[@]}"; do
		vng_opts+=(--qemu-opt="$o")
	done
fi

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
if [ "$accel" != kvm ]; then
	vng_opts+=(--disable-kvm)
	[ -z "${VM_TCG_THREAD:-}" ] ||
		vng_opts+=(--qemu-opt=-accel --qemu-opt="tcg,thread=$VM_TCG_THREAD")
	accel="tcg${VM_TCG_THREAD:+ (thread=$VM_TCG_THREAD)}"
fi
[ -z "${VM_APPEND:-}" ] || vng_opts+=(--append "$VM_APPEND")
echo "vm: booting $(basename "$kdir") with $accel" >&2
if [ -n "${VM_CONSOLE:-}" ]; then
	# --verbose routes the serial console to vng's stderr
	# (its "debug" argument comes before ours: our loglevel= wins)
	vng "${vng_opts[@]}" --verbose \
		--append "loglevel=${VM_CONSOLE_LEVEL:-5}" \
		--exec "$cmd" </dev/null 2>"$VM_CONSOLE"
else
	vng "${vng_opts[@]}" --exec "$cmd" </dev/null
fi
