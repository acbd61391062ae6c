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
# Live kernel text patching under multi-threaded TCG loses the guest.
# The kernel rewrites live text (static keys, static calls: a trace event
# switched on or off, a static branch flipped) with text_poke_bp: INT3 on
# the first byte, sync every CPU, write the rest, sync, write the first
# byte, sync.  A CPU that hits the INT3 meanwhile is sent on by the INT3
# handler, which knows the address only while the patching runs.  Under
# QEMU 7.2's multi-threaded TCG (Debian 12, one host thread per vCPU) a
# vCPU can still execute a translation of the code made while the INT3
# was there after the patching has finished: the guest memory holds the
# new instruction (the Oops's "Code:" line shows it, e.g. 66 90 at
# trace_sched_wakeup+0x4), the vCPU runs the stale INT3, and the handler,
# no longer patching, reports "Oops: int3" and the kernel panics.  The IPIs
# that sync the CPUs do not help: they serialise the guest CPU, not QEMU's
# translation cache, which the concurrent write did not invalidate.  A
# host that is loaded makes the window wider.  make repro-textpoke shows
# it: toggling a trace event while both vCPUs run wakeups lost the guest
# after 28 s; with -accel tcg,thread=single (VM_TCG_THREAD=single) or one
# vCPU, 3824 and 4783 toggles did not (tools/textpoke-repro.sh).
#
# Single-threaded TCG would halve the guest's CPU, so the suite rather
# does not patch live text: no test enables or disables a trace event
# (lib.sh, HP_TRACE_BOOT).  What still patches text at run time is
# outside the tests: a module's own text as it loads (before any of it
# runs) and the first nvme-tcp socket's memalloc_socks_key, a few times a
# run.
set -euo pipefail

kdir=$1
rwdir=$(realpath "$2")
CACHE=${NVMET_HP_CACHE:-$HOME/.cache/nvmet-hotplug}
# the lean fio that tools/setup.sh builds (it says why) comes first in the
# guest's PATH
cmd="PATH='$CACHE/fio':\$PATH; $3"
mkdir -p "$CACHE" "$rwdir"

mem=${VM_MEMORY:-4G}
# The guest's root is the host's, over 9p (--force-9p: the flags below
# are 9p's).  vng mounts it without a cache (cache=none), so every program
# start reads the binary and its libraries through 9p again; the guest
# only reads it (writes go to tmpfs overlays and RWDIR, a mount of its
# own), and cache=loose keeps what it read (a later rootflags= wins).  The
# price: the guest does not see what the host changes under the root
# while it runs, so do not rebuild or edit the tree during a run.
# log_buf_len: the kernel log holds the whole suite (a 256-namespace test
# on a debug kernel writes far more than the default 256 KiB), so that a
# test's dmesg check still finds its mark (lib.sh, hp_dmesg_since_mark).
vng_opts=(--run "$kdir" --memory "$mem" --cpus "${VM_CPUS:-2}" --force-9p
	  --rwdir "$rwdir=$rwdir" --user root
	  --append "panic_on_warn=0 log_buf_len=32M rootflags=version=9p2000.L,trans=virtio,access=any,cache=loose")

# VM_UDEV_RULES=DIR: DIR is mounted over the guest's /usr/lib/udev/rules.d
# (the host has no rules in /etc/udev/rules.d).  virtme-init starts udevd, triggers every
# device and waits for udev to settle before it runs the command; with
# the host's rules that took 90 s of the boot under TCG (the programs the
# rules start for every device), with tools/vm-udev's 44 s, and the suite
# stops udevd as it starts.  tools/vm-udev has the one rule virtme-init
# needs: the names of its virtio-serial ports.
[ -z "${VM_UDEV_RULES:-}" ] ||
	vng_opts+=(--rodir "/usr/lib/udev/rules.d=$(realpath -e "$VM_UDEV_RULES")")

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
	# First the bare kernel under KVM, without a root: where KVM works it
	# prints its banner at once and panics for want of a root; where it
	# does not (this runner: the guest hangs or exits without printing a
	# line) that saves the 90 s of a whole guest.  Only a kernel that
	# starts is given the whole guest.
	if [ -w /dev/kvm ] && [ -z "${VM_FORCE_TCG:-}" ]; then
		echo "vm: probing KVM" >&2
		bare=$(timeout -k 5 20 qemu-system-x86_64 -accel kvm -cpu host \
			-m 256 -nodefaults -display none -no-reboot -serial stdio \
			-kernel "$kdir/arch/x86/boot/bzImage" \
			-append "console=ttyS0 panic=-1" </dev/null 2>&1) || true
		if ! grep -q 'Linux version' <<<"$bare"; then
			echo "vm: the kernel does not start under KVM here${bare:+ (${bare%%$'\n'*})}" >&2
		else
			# the output first: under pipefail a vng killed by
			# SIGPIPE after grep -q matched would read as failure
			guest=$(timeout -k 5 90 vng "${vng_opts[@]}" \
				--exec "echo nvmet-hp-vm-ok" </dev/null 2>&1) || true
			if grep -q nvmet-hp-vm-ok <<<"$guest"; then
				accel=kvm
			fi
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
	# (its "debug" argument comes before ours: our loglevel= wins).
	# virtme-init needs udev to name the virtio-serial ports that carry
	# the command; on a loaded machine udevd may not come up in time, and
	# virtme-init powers the guest off before it runs the command: boot
	# again then (the console of each such boot is kept).
	for attempt in 1 2 3; do
		rc=0
		vng "${vng_opts[@]}" --verbose \
			--append "loglevel=${VM_CONSOLE_LEVEL:-5}" \
			--exec "$cmd" </dev/null 2>"$VM_CONSOLE" || rc=$?
		grep -q 'cannot find script I/O ports' "$VM_CONSOLE" || break
		[ "$attempt" -lt 3 ] || break
		cp "$VM_CONSOLE" "$VM_CONSOLE.no-ports-$attempt"
		echo "vm: the guest started without its script ports (udev too slow, boot $attempt); booting again" >&2
	done
	exit "$rc"
else
	vng "${vng_opts[@]}" --exec "$cmd" </dev/null
fi
