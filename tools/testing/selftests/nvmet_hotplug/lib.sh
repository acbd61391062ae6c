#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Helpers of the nvmet-hotplug selftests: target set-up through configfs,
# host side through nvme-cli, polling waits and dmesg checks.
#
# Environment: NVMET_HP_BUILD is the build directory of the patched nvmet
# family and nvmet-hotplug (tools/build.sh prints it), KSRC the kernel
# source (for ktap_helpers.sh).

HP_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
if [ -f "$HP_DIR/../kselftest/ktap_helpers.sh" ]; then
	. "$HP_DIR/../kselftest/ktap_helpers.sh"
else
	. "${KSRC:?KSRC must point at the kernel source}/tools/testing/selftests/kselftest/ktap_helpers.sh"
fi

CFS=/sys/kernel/config/nvmet
NULLB_CFS=/sys/kernel/config/nullb
HOSTNQN=nqn.2014-08.org.nvmexpress:uuid:6d1b0a4e-7f35-4c49-9d2f-0a9c3e3c1a01
HOSTID=6d1b0a4e-7f35-4c49-9d2f-0a9c3e3c1a01
# A second host identity, for an observer controller on the same subsystem.
HOSTNQN2=nqn.2014-08.org.nvmexpress:uuid:6d1b0a4e-7f35-4c49-9d2f-0a9c3e3c1a02
HOSTID2=6d1b0a4e-7f35-4c49-9d2f-0a9c3e3c1a02
NQN_PREFIX=nqn.2026-11.io.nvmet-hotplug:test
TCP_ADDR=127.0.0.1
TCP_PORT=4420
# Generous: the suite runs in TCG on a KASAN + lockdep kernel.
WAIT_TIMEOUT=${WAIT_TIMEOUT:-120}

# Under TCG on the debug kernel, starting a program costs 0.3-1 s, and
# configfs directories are made and removed by the hundred (256
# namespaces in hotplug_batch.sh): bash's loadable mkdir and rmdir
# (Debian's bash-builtins) do that in the shell, about 50 ms each.
for _b in mkdir rmdir; do
	if [ -f "/usr/lib/bash/$_b" ]; then
		enable -f "/usr/lib/bash/$_b" "$_b" 2>/dev/null || true
	fi
done
unset _b

HP_PORTS=()
HP_MARKER=""
HP_BG_PIDS=()

hp_log() { ktap_print_msg "$@"; }

# Load the patched nvmet family and, unless $1 = stock, nvmet-hotplug.
hp_load_modules() {
	local b=${NVMET_HP_BUILD:?NVMET_HP_BUILD not set}/drivers/nvme/target m
	mountpoint -q /sys/kernel/config || mount -t configfs none /sys/kernel/config
	modprobe null_blk nr_devices=0 2>/dev/null || true
	if [ ! -d /sys/module/nvmet ]; then
		[ "$HP_TRACE" = 0 ] || hp_trace_arm_nvmet ||
			[ "${HP_TRACE_STRICT:-0}" = 0 ] || return 1
		insmod "$b/nvmet.ko" || return 1
	fi
	[ "$HP_TRACE" = 0 ] || hp_trace_ready || return 1
	for m in nvme-loop nvmet-tcp; do
		[ -d "/sys/module/${m//-/_}" ] && continue
		insmod "$b/$m.ko" || return 1
	done
	if [ "${1:-}" != stock ] && [ ! -d /sys/module/nvmet_hotplug ]; then
		insmod "$b/hotplug/nvmet-hotplug.ko" || return 1
	fi
	return 0
}

# hp_unload_nvmet: unload the whole nvmet family (and nvmet-hotplug).
hp_unload_nvmet() {
	local m
	for m in nvmet_pci_epf nvmet_hotplug nvme_loop nvmet_tcp nvmet; do
		[ -d /sys/module/$m ] || continue
		rmmod $m || return 1
	done
}

hp_unload_hotplug() {
	[ -d /sys/module/nvmet_hotplug ] || return 0
	rmmod nvmet_hotplug
}

# hp_wait DESC CMD...: poll CMD until it succeeds or WAIT_TIMEOUT passes.
hp_wait() {
	local desc=$1 end=$((SECONDS + WAIT_TIMEOUT))
	shift
	while ! "$@"; do
		if [ "$SECONDS" -ge "$end" ]; then
			hp_log "timed out after ${WAIT_TIMEOUT}s waiting for: $desc"
			return 1
		fi
		hp_sleep 0.2
	done
	return 0
}

# hp_sleep SECONDS: sleep without starting a process (read on a pipe that
# nobody writes to times out).
HP_SLEEP_FD=
hp_sleep() {
	[ -n "$HP_SLEEP_FD" ] || exec {HP_SLEEP_FD}<> <(:)
	read -rt "$1" -u "$HP_SLEEP_FD" || true
}

# null_blk device through configfs, memory backed so that data survives a
# detach/attach.  Extra "key=value" arguments are written as attributes.
hp_nullb_create() {
	local name=$1 size_mb=$2 d kv
	shift 2
	d=$NULLB_CFS/$name
	[ -d "$d" ] && hp_nullb_remove "$name"	# left by an aborted run
	mkdir "$d" || return 1
	echo "$size_mb" >"$d/size"
	echo 1 >"$d/memory_backed"
	for kv in "$@"; do
		echo "${kv#*=}" >"$d/${kv%%=*}" || return 1
	done
	echo 1 >"$d/power" || return 1
	echo "/dev/$name"
}

# hp_dm_delay NAME DEV READ_MS WRITE_MS: a dm-delay device over DEV.
hp_dm_delay() {
	local sectors
	modprobe dm-delay || return 1
	sectors=$(blockdev --getsz "$2") || return 1
	dmsetup --noudevsync create "$1" --table \
		"0 $sectors delay $2 0 $3 $2 0 $4" >/dev/null || return 1
	# no udev sync: udev may not finish dm events in the VM
	dmsetup mknodes "$1"
	hp_wait "/dev/mapper/$1" test -b "/dev/mapper/$1" || return 1
	echo "/dev/mapper/$1"
}

# hp_dm_set_delay NAME DEV MS: the dm-delay device NAME over DEV delays
# reads and writes MS from now on (suspending it flushes what it holds).
hp_dm_set_delay() {
	local sectors
	sectors=$(blockdev --getsz "$2") || return 1
	dmsetup --noudevsync suspend "$1" && dmsetup --noudevsync reload "$1" \
		--table "0 $sectors delay $2 0 $3" && dmsetup --noudevsync resume "$1"
}

hp_nullb_remove() {
	local d=$NULLB_CFS/$1
	[ -d "$d" ] || return 0
	echo 0 >"$d/power" 2>/dev/null
	rmdir "$d"
}

hp_subsys_create() {
	local nqn=$NQN_PREFIX:$1
	mkdir "$CFS/subsystems/$nqn" || return 1
	echo 1 >"$CFS/subsystems/$nqn/attr_allow_any_host"
	echo "$nqn"
}

# hp_ns_create NQN NSID DEVICE [enable]
hp_ns_create() {
	local d=$CFS/subsystems/$1/namespaces/$2
	mkdir "$d" || return 1
	echo "$3" >"$d/device_path" || return 1
	[ "${4:-1}" = 1 ] || return 0
	echo 1 >"$d/enable"
}

hp_ns_dir() { echo "$CFS/subsystems/$1/namespaces/$2"; }

hp_port_create() {
	local id=$1 trtype=$2 d=$CFS/ports/$1
	mkdir "$d" || return 1
	echo "$trtype" >"$d/addr_trtype"
	if [ "$trtype" = tcp ]; then
		echo ipv4 >"$d/addr_adrfam"
		echo "$TCP_ADDR" >"$d/addr_traddr"
		echo "$TCP_PORT" >"$d/addr_trsvcid"
	fi
	HP_PORTS+=("$id")
}

hp_port_link() {
	ln -s "$CFS/subsystems/$2" "$CFS/ports/$1/subsystems/$2"
}

# hp_connect NQN TRTYPE: connect the host with nvme-cli, print the
# controller name.  nvme-cli 2.3 may exit non-zero after a successful
# connect: the controller name it prints is what counts.  HP_KATO, if set,
# is the keep-alive timeout in seconds (the host's default is 5).
hp_connect() {
	local nqn=$1 trtype=$2 out dev
	local opts=(-n "$nqn" --hostnqn="$HOSTNQN" --hostid="$HOSTID" -o json)
	[ -n "${HP_KATO:-}" ] && opts+=(--keep-alive-tmo="$HP_KATO")
	if [ "$trtype" = tcp ]; then
		out=$(nvme connect -t tcp -a "$TCP_ADDR" -s "$TCP_PORT" \
			"${opts[@]}" 2>&1)
	else
		out=$(nvme connect -t loop "${opts[@]}" 2>&1)
	fi
	dev=$(echo "$out" | sed -n 's/.*"device" *: *"\(nvme[0-9]*\)".*/\1/p')
	[ -n "$dev" ] && [ -e "/sys/class/nvme/$dev" ] ||
		{ hp_log "connect $trtype failed: $out" >&2; return 1; }
	echo "$dev"
}

# hp_connect_observer NQN [TRADDR]: a second host identity on a loop port
# (the first one, or the one whose addr_traddr is TRADDR), through
# the kernel's /dev/nvme-fabrics (nvme-cli 2.3 refuses a second connection
# to the same port even with another host NQN).  Prints the controller.
hp_connect_observer() {
	local line fd
	exec {fd}<>/dev/nvme-fabrics || return 1
	echo "transport=loop,${2:+traddr=$2,}nqn=$1,hostnqn=$HOSTNQN2,hostid=$HOSTID2" >&$fd &&
		read -r line <&$fd
	exec {fd}>&-
	line=${line#instance=}
	[ -n "$line" ] && [ -e "/sys/class/nvme/nvme${line%%,*}" ] ||
		{ hp_log "observer connect failed" >&2; return 1; }
	echo "nvme${line%%,*}"
}

# The polling helpers below use shell builtins only: under TCG every
# process a poll starts costs tens of milliseconds.

# hp_rd FILE: print the first line of FILE, without a subprocess when
# called as HP_RD=... (sets HP_RD).
hp_rd() { HP_RD=; read -r HP_RD 2>/dev/null <"$1"; }

# Controllers of the host connected to NQN.
hp_ctrls() {
	local c
	for c in /sys/class/nvme/nvme*; do
		hp_rd "$c/subsysnqn" || continue
		[ "$HP_RD" = "$1" ] && echo "${c##*/}"
	done
}

# hp_ctrl_has_ns CTRL NSID: the controller has a path to the namespace.
hp_ctrl_has_ns() {
	local p
	for p in /sys/class/nvme/"$1"/nvme*n*; do
		hp_rd "$p/nsid" || continue
		[ "$HP_RD" = "$2" ] && return 0
	done
	return 1
}

# hp_disk_find NQN NSID: set HP_DISK to the host's visible block device of
# the namespace; hp_disk prints it.
hp_disk_find() {
	local d
	HP_DISK=
	for d in /sys/block/nvme*n*; do
		hp_rd "$d/hidden" && [ "$HP_RD" = 1 ] && continue
		hp_rd "$d/nsid" && [ "$HP_RD" = "$2" ] || continue
		hp_rd "$d/device/subsysnqn" && [ "$HP_RD" = "$1" ] || continue
		HP_DISK=/dev/${d##*/}
		return 0
	done
	return 1
}

hp_disk() { hp_disk_find "$@" && echo "$HP_DISK"; }

# Every controller of NQN (at least $3 of them) sees NSID, and so does the
# block layer.
hp_ns_visible_all() {
	local nqn=$1 nsid=$2 c n=0
	for c in /sys/class/nvme/nvme*; do
		hp_rd "$c/subsysnqn" && [ "$HP_RD" = "$nqn" ] || continue
		hp_ctrl_has_ns "${c##*/}" "$nsid" || return 1
		n=$((n + 1))
	done
	[ "$n" -ge "${3:-1}" ] || return 1
	hp_disk_find "$nqn" "$nsid" && [ -b "$HP_DISK" ]
}

# No controller of NQN sees NSID and no block device is left.
hp_ns_gone_all() {
	local nqn=$1 nsid=$2 c
	for c in /sys/class/nvme/nvme*; do
		hp_rd "$c/subsysnqn" && [ "$HP_RD" = "$nqn" ] || continue
		hp_ctrl_has_ns "${c##*/}" "$nsid" && return 1
	done
	! hp_disk_find "$nqn" "$nsid"
}

hp_state() { head -n 1 "$(hp_ns_dir "$1" "$2")/hotplug/state"; }

hp_subsys_hp_dir() { echo "$CFS/subsystems/$1/hotplug"; }

# hp_visible_nsids NQN: NSIDs of the host's visible block devices of NQN
# (multipath heads or single paths, not the hidden per-path devices),
# one per line, ascending.
hp_visible_nsids() {
	local d
	for d in /sys/block/nvme*n*; do
		hp_rd "$d/hidden" && [ "$HP_RD" = 0 ] || continue
		hp_rd "$d/device/subsysnqn" && [ "$HP_RD" = "$1" ] || continue
		hp_rd "$d/nsid" && echo "$HP_RD"
	done | sort -n
}

# hp_nr_visible NQN: sets HP_NR to the number of visible block devices.
hp_nr_visible() {
	local d
	HP_NR=0
	for d in /sys/block/nvme*n*; do
		hp_rd "$d/hidden" && [ "$HP_RD" = 0 ] || continue
		hp_rd "$d/device/subsysnqn" && [ "$HP_RD" = "$1" ] || continue
		HP_NR=$((HP_NR + 1))
	done
}

# hp_ctrl_nr_ns CTRL: namespaces the host controller CTRL has a path to.
hp_ctrl_nr_ns() {
	local p n=0
	for p in /sys/class/nvme/"$1"/nvme*n*; do
		[ -e "$p/nsid" ] && n=$((n + 1))
	done
	echo $n
}

# hp_every_ctrl_has_nr NQN NR: every host controller of NQN has NR
# namespaces and NR visible block devices exist (builtins only: it is
# polled while the host adds or removes hundreds of namespaces).
hp_every_ctrl_has_nr() {
	local c p n
	for c in /sys/class/nvme/nvme*; do
		hp_rd "$c/subsysnqn" && [ "$HP_RD" = "$1" ] || continue
		n=0
		for p in "$c"/nvme*n*; do
			[ -e "$p/nsid" ] && n=$((n + 1))
		done
		[ "$n" -eq "$2" ] || return 1
	done
	hp_nr_visible "$1"
	[ "$HP_NR" -eq "$2" ]
}

# hp_reject SNAPSHOT-CMD FILE VALUE ERRNO-TEXT [DMESG-REGEX]: writing VALUE
# to FILE fails with ERRNO-TEXT, the kernel explains it in a line matching
# DMESG-REGEX after the write, and what SNAPSHOT-CMD prints does not
# change.  One dmesg and one awk per call: the suite makes dozens of these.
hp_reject() {
	local snap=$1 before
	shift
	before=$($snap)
	hp_log_mark
	hp_write_fails "$1" "$2" "$3" || return 1
	if [ -n "${4:-}" ] && ! hp_logged_since_mark "$4"; then
		hp_log "no pr_err matching '$4' for '$2' > $1"
		return 1
	fi
	[ "$before" = "$($snap)" ] || { hp_log "'$2' > $1 changed the state"; return 1; }
}

# hp_log_mark: mark the kernel log (at debug level: not on the serial
# console); hp_logged_since_mark REGEX: a line after the last mark
# matches REGEX (an awk ERE; mawk has no {n}, \s or \w).  Unlike a count
# of lines, a mark survives the log buffer wrapping.
hp_log_mark() {
	HP_LOG_MARK="nvmet-hotplug-selftest: mark $$ $EPOCHREALTIME"
	echo "<7>$HP_LOG_MARK" >/dev/kmsg
}

# the pattern through the environment: awk -v would eat backslashes
hp_logged_since_mark() {
	dmesg | HP_MARK=$HP_LOG_MARK HP_RE=$1 awk '
		f && $0 ~ ENVIRON["HP_RE"] { ok = 1 }
		index($0, ENVIRON["HP_MARK"]) { f = 1 }
		END { exit !ok }'
}

# hp_timed_write FILE VALUE: write VALUE to FILE; sets HP_RC (its exit
# status), HP_ERR (the error text, empty on success) and HP_MS (how long
# it took, by the shell's clock: no process started around it).
hp_timed_write() {
	local t0=${EPOCHREALTIME//[!0-9]/}
	HP_ERR=$( (echo "$2" >"$1") 2>&1)
	HP_RC=$?
	HP_MS=$(((${EPOCHREALTIME//[!0-9]/} - t0) / 1000))
}

# hp_write_fails FILE VALUE ERRNO-TEXT: the write fails with an error
# whose text contains ERRNO-TEXT.
hp_write_fails() {
	local err
	err=$( (echo "$2" >"$1") 2>&1) && { hp_log "'$2' > $1 succeeded"; return 1; }
	[[ $err == *"$3"* ]] && return 0
	hp_log "'$2' > $1: '$err', expected '$3'"
	return 1
}

hp_stat() {
	awk -v k="$3" '$1 == k { print $2 }' "$(hp_ns_dir "$1" "$2")/hotplug/stats"
}

# Mark the kernel log so that hp_dmesg_clean only looks at this test.
hp_dmesg_mark() {
	HP_MARKER="nvmet-hotplug-selftest: $(basename "$0") $$ $1"
	echo "$HP_MARKER" >/dev/kmsg
}

# hp_dmesg_since_mark: the kernel log after this test's mark.  Fails (and
# says so on stderr) when the mark is not in the log: a report that was
# printed before the buffer wrapped must not pass for a clean log.
hp_dmesg_since_mark() {
	dmesg | awk -v m="$HP_MARKER" '
		found { print }
		!found && index($0, m) { found = 1 }
		END { exit !found }' && return 0
	echo "# the kernel log no longer holds the mark '$HP_MARKER'" >&2
	return 1
}

# Reports only: the boot banners of lockdep and kmemleak do not count.
# RCU stalls as kernel/rcu/tree_stall.h prints them ("rcu: INFO:
# rcu_preempt detected stalls on CPUs/tasks:", "... self-detected stall on
# CPU"); kmemleak that turned itself off finds no leak any more.
HP_BAD_DMESG='KASAN|BUG:|WARNING:|possible circular|possible recursive|inconsistent lock|DEBUG_LOCKS_WARN_ON|turning off the locking correctness validator|INFO: task .* blocked|hung_task|suspected memory leak|unreferenced object|general protection|Oops|Kernel panic|detected stalls on CPU|self-detected stall|RCU stall|soft lockup|refcount_t:|UBSAN|kmemleak: .*(disabled|Memory pool empty)'

# Reports of the kernel we run on that are not ours to fix, each matched
# exactly: the EPC core's WARN_ONCE, on every architecture without generic
# PCI domains (x86), that it cannot number the domain of a new EPC
# (drivers/pci/endpoint/pci-epc-core.c, __pci_epc_create()).
HP_KNOWN_DMESG='WARNING: drivers/pci/endpoint/pci-epc-core\.c:[0-9]+ at __pci_epc_create\+'

# hp_dmesg_clean: no report in the kernel log since this test's mark (and
# the mark is there); the reports are logged, the first 40 of them, with
# their count.  One dmesg and one awk (the patterns are EREs that mawk
# takes too).
hp_dmesg_clean() {
	local bad rc
	bad=$(dmesg | HP_MARK=$HP_MARKER HP_BAD=$HP_BAD_DMESG \
		HP_KNOWN=$HP_KNOWN_DMESG awk '
		found && $0 ~ ENVIRON["HP_BAD"] && $0 !~ ENVIRON["HP_KNOWN"] {
			if (n++ < 40) print "#   " $0
		}
		!found && index($0, ENVIRON["HP_MARK"]) { found = 1 }
		END { if (n) print n; exit !found ? 2 : n > 0 }')
	rc=$?
	if [ $rc = 2 ]; then
		echo "# the kernel log no longer holds the mark '$HP_MARKER'" >&2
		return 1
	fi
	[ $rc = 0 ] && return 0
	if [ $rc != 1 ]; then
		hp_log "the kernel log could not be read (dmesg | awk exited $rc)"
		return 1
	fi
	hp_log "kernel reported ${bad##*$'\n'} lines:"
	echo "${bad%$'\n'*}"
	return 1
}

# hp_dmesg_has REGEX: the kernel logged a line matching REGEX in this test.
hp_dmesg_has() { hp_dmesg_since_mark | grep -Eq "$1"; }
# hp_dmesg_lacks REGEX: this test's part of the log is there and has no
# line matching REGEX (not just "no match": a lost mark is a failure).
hp_dmesg_lacks() {
	local log
	log=$(hp_dmesg_since_mark) || return 1
	! echo "$log" | grep -Eq "$1"
}

# Disconnect every controller of NQN (nvme-cli 2.3's disconnect -n stops
# at the first one) and wait until they are gone.  Through sysfs, as
# nvme-cli does it: a process costs 0.1-0.4 s under TCG on the debug
# kernel, nvme-cli 1-2 s as it reads the whole topology first.
hp_disconnect_all() {
	local c
	for c in $(hp_ctrls "$1"); do
		{ echo 1 >"/sys/class/nvme/$c/delete_controller"; } 2>/dev/null
	done
	hp_wait "controllers of $1 gone" hp_nr_ctrls_is "$1" 0
}

# Remove everything the selftests create (found by name, so that what an
# aborted run left behind goes too): host controllers, ports, namespaces,
# subsystems, null_blk devices.
hp_cleanup() {
	local nqn id ns pid d ids running rms dms
	set +e
	# only those still running as this shell's children: a PID that was
	# waited for already may belong to another process by now
	running=" $(jobs -pr) "
	running=${running//$'\n'/ }
	# a child stuck in the kernel does not die of a signal: wait for
	# each for a while, then leave it (the test has failed by then)
	for pid in "${HP_BG_PIDS[@]}"; do
		[[ $running == *" $pid "* ]] || continue
		kill "$pid" 2>/dev/null
		if WAIT_TIMEOUT=10 hp_wait "process $pid to end" \
			eval "! hp_running $pid"; then
			wait "$pid" 2>/dev/null
		fi
	done
	HP_BG_PIDS=()
	for d in "$CFS"/subsystems/"$NQN_PREFIX":*; do
		[ -d "$d" ] && hp_disconnect_all "${d##*/}"
	done
	for d in "$CFS"/ports/*; do
		[ -d "$d" ] || continue
		rm -f "$d"/subsystems/"$NQN_PREFIX":* 2>/dev/null
		rmdir "$d" 2>/dev/null
	done
	for d in "$CFS"/subsystems/"$NQN_PREFIX":*; do
		[ -d "$d" ] || continue
		# With nvmet-hotplug loaded one batch write detaches them all
		# (256 single ones take a minute and a half in TCG); what it
		# leaves is done one by one below.  Without it the file only
		# logs "no hotplug module is loaded": not written then.
		ids=
		for ns in "$d"/namespaces/*; do
			[ -d "$ns" ] && ids+=${ids:+,}${ns##*/}
		done
		[ -n "$ids" ] && [ -d /sys/module/nvmet_hotplug ] &&
			echo "$ids" >"$d/hotplug/detach" 2>/dev/null
		rms=()
		for ns in "$d"/namespaces/*; do
			[ -d "$ns" ] || continue
			hp_rd "$ns/enable"
			[ "$HP_RD" = 0 ] || echo 0 >"$ns/enable" 2>/dev/null
			rms+=("$ns")
		done
		# one rmdir for them all: 256 processes took a minute
		[ ${#rms[@]} -eq 0 ] || rmdir "${rms[@]}"
		rmdir "$d"
	done
	dms=0
	for d in /dev/mapper/hp*; do
		[ -e "$d" ] || continue
		dms=1
		dmsetup info "${d##*/}" >/dev/null 2>&1 &&
			dmsetup --noudevsync remove "${d##*/}"
	done
	# without udev nobody removes the nodes of removed dm devices
	[ $dms = 0 ] || dmsetup mknodes >/dev/null 2>&1
	for d in "$NULLB_CFS"/hp*; do
		[ -d "$d" ] && hp_nullb_remove "$(basename "$d")"
	done
	HP_PORTS=()
}

# Standard set-up: subsystem NAME with a loop and a tcp port, so that the
# host has two controllers on it.  Sets HP_NQN.
hp_setup_two_ctrls() {
	HP_NQN=$(hp_subsys_create "$1") || return 1
	hp_port_create 1 loop || return 1
	hp_port_create 2 tcp || return 1
	hp_port_link 1 "$HP_NQN" || return 1
	hp_port_link 2 "$HP_NQN" || return 1
}

hp_connect_both() {
	hp_connect "$1" loop >/dev/null || return 1
	hp_connect "$1" tcp >/dev/null || return 1
	hp_wait "two controllers on $1" hp_nr_ctrls_is "$1" 2
}

hp_nr_ctrls_is() {
	local c n=0
	for c in /sys/class/nvme/nvme*; do
		hp_rd "$c/subsysnqn" && [ "$HP_RD" = "$1" ] && n=$((n + 1))
	done
	[ "$n" -eq "$2" ]
}

# hp_check DESC CMD...: one KTAP result.
hp_check() {
	local desc=$1
	shift
	if "$@"; then
		ktap_test_pass "$desc"
	else
		ktap_test_fail "$desc"
	fi
}

hp_require_root() {
	if [ "$(id -u)" != 0 ]; then
		ktap_skip_all "needs root"
		exit "$KSFT_SKIP"
	fi
	for t in nvme fio jq chrt; do
		if ! command -v "$t" >/dev/null; then
			ktap_skip_all "needs $t"
			exit "$KSFT_SKIP"
		fi
	done
}

TRACEFS=/sys/kernel/tracing

# Trace events.  A test never enables or disables a trace event: that
# rewrites live kernel text that other CPUs run, which under multi-threaded
# TCG can leave a vCPU on a stale INT3 and lose the guest (tools/vm.sh says
# why).
# Every event the suite reads is enabled once per boot, before anything
# runs it: the host's on the kernel command line (HP_TRACE_BOOT, which
# tools/check.sh passes to the VM), nvmet's as nvmet is loaded (an event
# armed with ":mod:" is enabled while the module is still coming, before
# any of its code runs).  Tests switch tracing_on, clear the buffer and
# set filters, none of which patches text.  The comm recording is off
# (norecord-cmd): it would hook sched_switch/sched_wakeup as events come
# and go.  The rcu_grace_period event has its own instance (off until
# hotplug_batch.sh counts grace periods with it).
HP_TRACE_BOOT="trace_options=norecord-cmd trace_event=nvme:nvme_async_event trace_instance=nvmet_hp_gp^traceoff,rcu:rcu_grace_period"
HP_TRACE_GP=$TRACEFS/instances/nvmet_hp_gp
# HP_TRACE=0: no trace events at all (make bench and make demo: nvmet's
# would cost every command a tracepoint call)
HP_TRACE=${HP_TRACE:-1}
HP_TRACE_EVENTS="nvme/nvme_async_event nvmet/nvmet_async_event nvmet/nvmet_req_init"

# Arm nvmet's events in the top-level buffer, before nvmet is loaded.
hp_trace_arm_nvmet() {
	mountpoint -q $TRACEFS || mount -t tracefs nodev $TRACEFS
	echo 'nvmet:nvmet_async_event:mod:nvmet' >>$TRACEFS/set_event &&
		echo 'nvmet:nvmet_req_init:mod:nvmet' >>$TRACEFS/set_event
}

# hp_trace_ready: every event of the suite is enabled, and of nvmet's
# commands only the admin queue's are kept (AENs, log pages, keep-alives),
# not every I/O.  When an event is not enabled (the kernel was not booted
# with HP_TRACE_BOOT, nvmet was loaded by someone else), HP_TRACE_STRICT=1
# (make check) fails; otherwise the event is enabled now and stays enabled
# for the rest of the boot.
hp_trace_ready() {
	local e
	mountpoint -q $TRACEFS || mount -t tracefs nodev $TRACEFS
	for e in $HP_TRACE_EVENTS; do
		hp_rd "$TRACEFS/events/$e/enable" && [ "$HP_RD" = 1 ] && continue
		if [ "${HP_TRACE_STRICT:-0}" = 1 ]; then
			hp_log "trace event $e is not enabled: boot with $HP_TRACE_BOOT and let lib.sh load nvmet"
			return 1
		fi
		hp_log "enabling trace event $e for the rest of the boot (a live text patch: see tools/vm.sh)"
		echo 1 >"$TRACEFS/events/$e/enable" || return 1
	done
	hp_rd $TRACEFS/events/nvmet/nvmet_req_init/filter
	[ "$HP_RD" = 'qid == 0' ] ||
		echo 'qid == 0' >$TRACEFS/events/nvmet/nvmet_req_init/filter
}

# Record the host's and the target's AEN tracepoints (and the target's
# admin commands) from now on, in the top-level buffer.
hp_trace_aen_start() {
	hp_trace_ready || return 1
	echo 0 >$TRACEFS/tracing_on
	echo >$TRACEFS/trace
	echo 1 >$TRACEFS/tracing_on
}

# hp_ctrls_got_aen NQN RESULT [MIN]: every host controller of NQN has at
# least MIN (1) AENs with RESULT (e.g. 0x040002) in the host's trace.
hp_ctrls_got_aen() {
	local c
	for c in $(hp_ctrls "$1"); do
		[ "$(grep -c " $c: NVME_AEN=$2" "$TRACEFS/trace")" -ge "${3:-1}" ] ||
			return 1
	done
}

hp_trace_aen_stop() {
	echo 0 >$TRACEFS/tracing_on
}

# hp_fio_json FILE KEY: a number of the first job of fio's JSON output.
hp_fio_json() { sed -n '/^{/,$p' "$1" | jq -r "[.jobs[] | $2] | add"; }

# hp_running PID: the process exists and is not a zombie.
hp_running() {
	local s
	[ -n "$1" ] && read -r s 2>/dev/null <"/proc/$1/stat" || return 1
	s=${s##*) }
	[ "${s%% *}" != Z ]
}

# Start of a test: load the modules and remove what an aborted run left.
# hp_bg_failed PID: PID, a child of this shell, has ended (waited for with
# the usual timeout) with a non-zero exit status: the load saw an error.
hp_bg_failed() {
	local rc
	hp_wait "process $1 ends" eval "! hp_running $1" || return 1
	wait "$1"
	rc=$?
	hp_log "process $1 exited $rc"
	[ "$rc" -ne 0 ]
}

hp_start() {
	hp_load_modules "$@" || return 1
	hp_cleanup
}

# hp_setup_live NAME DEV...: subsystem NAME on a loop and a tcp port with
# one namespace per DEV (nsid 1, 2, ...), the host connected through both
# and seeing every namespace.  Sets HP_NQN; bails out of the test on error.
hp_setup_live() {
	local name=$1 i=0 dev
	shift
	hp_setup_two_ctrls "$name" || ktap_exit_fail_msg "target set-up"
	for dev in "$@"; do
		i=$((i + 1))
		hp_ns_create "$HP_NQN" $i "$dev" || ktap_exit_fail_msg "nsid $i"
	done
	hp_connect_both "$HP_NQN" || ktap_exit_fail_msg "connect"
	for i in $(seq $#); do
		hp_wait "nsid $i on both controllers" \
			hp_ns_visible_all "$HP_NQN" "$i" 2 ||
			ktap_exit_fail_msg "nsid $i not seen"
	done
}

# hp_watched_under_load NAME DEV: subsystem NAME on a loop port with nsid
# 1 on DEV, enabled and watched (backend_watch), the host connected
# through one controller and writing to it (fio, random 64 KiB writes
# until one fails), the AEN trace started; returns once writes are in
# flight.  Sets HP_NQN, HP_NS (the namespace's directory), HP_CTRL,
# HP_FIO_PID and HP_INFLIGHT; bails out of the test on error.
hp_watched_under_load() {
	local host
	HP_NQN=$(hp_subsys_create "$1") || ktap_exit_fail_msg "subsystem"
	hp_ns_create "$HP_NQN" 1 "$2" 0 || ktap_exit_fail_msg "nsid 1"
	HP_NS=$(hp_ns_dir "$HP_NQN" 1)
	echo 1 >"$HP_NS/enable" && echo 1 >"$HP_NS/hotplug/backend_watch" ||
		ktap_exit_fail_msg "enable with backend_watch"
	hp_port_create 1 loop || ktap_exit_fail_msg "port"
	hp_port_link 1 "$HP_NQN" || ktap_exit_fail_msg "port link"
	HP_CTRL=$(hp_connect "$HP_NQN" loop) || ktap_exit_fail_msg "connect"
	hp_wait "nsid 1 on the host" hp_ns_visible_all "$HP_NQN" 1 1 ||
		ktap_exit_fail_msg "nsid 1 not seen"
	host=$(hp_disk "$HP_NQN" 1)
	hp_trace_aen_start || ktap_exit_fail_msg "trace events"
	fio --name=load --filename="$host" --rw=randwrite --bs=64k --size=32M \
		--direct=1 --ioengine=libaio --iodepth=16 --time_based \
		--runtime=3600 --output=/dev/null >/dev/null 2>&1 &
	HP_FIO_PID=$!
	HP_BG_PIDS+=("$HP_FIO_PID")
	hp_wait "writes in flight" \
		eval '[ "$(cat "$HP_NS/hotplug/inflight")" -gt 0 ]' ||
		ktap_exit_fail_msg "no I/O in flight"
	HP_INFLIGHT=$(cat "$HP_NS/hotplug/inflight")
}

# hp_check_watched_lost LOST-DESC TOLD-DESC TOLD-GLOB: once the backend of
# hp_watched_under_load goes away, four results: nsid 1 becomes
# backend-lost (LOST-DESC); the module's "going away" line matches the
# glob TOLD-GLOB (TOLD-DESC); the controller got the Namespace Attribute
# Changed AEN and dropped nsid 1; the load failed and ended.
hp_check_watched_lost() {
	local t0=$SECONDS how glob=$3
	hp_check "$1" eval 'hp_wait "backend-lost" eval "[ \"\$(hp_state \"\$HP_NQN\" 1)\" = backend-lost ]" &&
	      grep -q "reason: backend .* went away" "$HP_NS/hotplug/state"'
	hp_log "backend-lost after $((SECONDS - t0)) s: $(tr '\n' ' ' <"$HP_NS/hotplug/state")"
	how=$(hp_dmesg_since_mark | grep -o "nsid 1: backing device .* is going away.*" | tail -n 1)
	hp_log "the module was told: ${how:-nothing}"
	# shellcheck disable=SC2053 # the glob is meant
	hp_check "$2" eval '[[ $how == $glob ]]'
	hp_check "the host's controller got the Namespace Attribute Changed AEN and dropped nsid 1" \
		eval 'hp_wait "AEN" eval "grep -q \" $HP_CTRL: NVME_AEN=0x040002\" $TRACEFS/trace" &&
		      hp_wait "nsid 1 gone" hp_ns_gone_all "$HP_NQN" 1'
	hp_trace_aen_stop
	hp_check "the load saw the loss as an error and ended" hp_bg_failed "$HP_FIO_PID"
}

# The PCIe path: nvmet-pci-epf on the loopback PCI endpoint controller
# (drivers/pci/controller/pci-epc-loopback/), whose host side is the
# stock nvme PCI driver of this same kernel.
EPC_CFS=/sys/kernel/config/pci_ep
HP_EPC=pci-epc-loopback
HP_EPF=$EPC_CFS/functions/nvmet_pci_epf/hppcie

# hp_pcie_available: the VM maps its RAM in ivshmem BARs (tools/vm.sh).
hp_pcie_available() {
	local d
	for d in /sys/bus/pci/devices/*; do
		hp_rd "$d/vendor" && [ "$HP_RD" = 0x1af4 ] || continue
		hp_rd "$d/device" && [ "$HP_RD" = 0x1110 ] && return 0
	done
	return 1
}

hp_pcie_load() {
	local b=${NVMET_HP_BUILD:?NVMET_HP_BUILD not set}
	[ -d /sys/module/nvmet_pci_epf ] ||
		insmod "$b/drivers/nvme/target/nvmet-pci-epf.ko" || return 1
	[ -d /sys/module/pci_epc_loopback ] ||
		insmod "$b/drivers/pci/controller/pci-epc-loopback/pci-epc-loopback.ko"
}

# hp_pcie_setup NQN PORTID: a pci port for NQN and an endpoint function
# serving it, linked to the loopback EPC (not started).
hp_pcie_setup() {
	local s=$CFS/subsystems/$1
	echo 0x1b96 >"$s/attr_vendor_id" || return 1
	echo 0x1b96 >"$s/attr_subsys_vendor_id" || return 1
	hp_port_create "$2" pci && hp_port_link "$2" "$1" || return 1
	mkdir "$HP_EPF" || return 1
	echo 0xbeef >"$HP_EPF/deviceid" || return 1
	echo "$2" >"$HP_EPF/nvme/portid" || return 1
	echo "$1" >"$HP_EPF/nvme/subsysnqn" || return 1
	ln -s "$HP_EPF" "$EPC_CFS/controllers/$HP_EPC/"
}

# hp_pcie_ctrl NQN: sets HP_PCTRL to the host's PCIe controller of NQN.
hp_pcie_ctrl() {
	local c
	for c in /sys/class/nvme/nvme*; do
		hp_rd "$c/transport" && [ "$HP_RD" = pcie ] || continue
		hp_rd "$c/subsysnqn" && [ "$HP_RD" = "$1" ] || continue
		HP_PCTRL=${c##*/}
		return 0
	done
	return 1
}
hp_pcie_gone() { ! hp_pcie_ctrl "$1"; }
hp_pcie_live() {
	hp_pcie_ctrl "$1" && hp_rd "/sys/class/nvme/$HP_PCTRL/state" &&
		[ "$HP_RD" = live ]
}

# hp_pcie_start NQN: start the link and wait for the host's controller.
hp_pcie_start() {
	echo 1 >"$EPC_CFS/controllers/$HP_EPC/start" &&
		hp_wait "PCIe controller live" hp_pcie_live "$1"
}

# hp_pcie_teardown NQN: stop, wait for the host to let go, unlink, and
# remove the function (the port goes with hp_cleanup).
hp_pcie_teardown() {
	[ -f "$EPC_CFS/controllers/$HP_EPC/start" ] &&
		echo 0 >"$EPC_CFS/controllers/$HP_EPC/start" 2>/dev/null
	hp_wait "no PCIe controller" hp_pcie_gone "$1" >/dev/null
	[ -L "$EPC_CFS/controllers/$HP_EPC/${HP_EPF##*/}" ] &&
		unlink "$EPC_CFS/controllers/$HP_EPC/${HP_EPF##*/}"
	[ -d "$HP_EPF" ] && rmdir "$HP_EPF"
	return 0
}

# hp_fio_write WORK HOST FIO-ARGS...: fio's write load on HOST in the
# background, run in WORK: its JSON output in WORK/write.json, its stderr
# in WORK/write.err and, once it ends, its exit status in WORK/write.rc.
# HP_FIO_PID is the process to wait for (a shell that passes a TERM on to
# fio, so that hp_cleanup stops fio too).
hp_fio_write() {
	local work=$1 host=$2
	shift 2
	rm -f "$work/write.rc"
	(cd "$work" || exit 1
	 f=
	 trap '[ -n "$f" ] && kill $f 2>/dev/null; exit 143' TERM
	 fio --name=load --filename="$host" --do_verify=0 "$@" \
		--output="$work/write.json" 2>"$work/write.err" &
	 f=$!
	 wait $f
	 echo $? >"$work/write.rc") &
	HP_FIO_PID=$!
	HP_BG_PIDS+=("$HP_FIO_PID")
}

# hp_verify_written WORK HOST FIO-ARGS...: after a hot-remove under the
# load of hp_fio_write (with --verify_state_save=1), and the same backend
# re-added as HOST: verify what fio wrote.  fio's saved state counts the
# writes that failed when the device went away as done, and a failed write
# need not be on the media: every block that does not verify must be one
# whose write fio saw fail.  fio's exit status must say what it saw (a
# write that failed makes it exit non-zero, and only then may the verify
# find bad blocks), and every byte fio saw written must have been read
# back: the bytes verified are at least the bytes written and at most
# those plus the failed writes.  Logs the counts; 0 if all holds.
hp_verify_written() {
	local work=$1 host=$2 vrc wrc ok=1 failed fbytes nbad bad written read
	shift 2
	(cd "$work" && fio --name=load --filename="$host" --verify_only \
		--verify_state_load=1 --continue_on_error=verify "$@" \
		--output="$work/verify.json" 2>"$work/verify.err")
	vrc=$?
	hp_rd "$work/write.rc"
	wrc=$HP_RD
	# one awk for fio's stderr and JSON output (each process costs up to
	# half a second in the debug VM): the failed writes (offset and
	# length, each once), the blocks that did not verify, the bytes fio
	# wrote and read (the first io_bytes of each job's "write" and
	# "read"); then the counts, and the bad blocks whose write did not
	# fail, one per line
	{ read -r failed fbytes nbad bad written read; cat >"$work/bad"; } < <(
	awk 'function scan(f, re, k, l, s) {
		while ((getline l <f) > 0)
			while (match(l, re)) {
				s = substr(l, RSTART, RLENGTH)
				l = substr(l, RSTART + RLENGTH)
				if (k == "w") {
					split(s, a, /[=,]/)
					if (!(s in wlen)) { wlen[s]; fb += a[4] }
					fail[a[2]]
				} else {
					sub(/.* /, "", s)
					badb[s]
					break
				}
			}
	}
	function bytes(f, dir, l, in_dir, n) {
		while ((getline l <f) > 0) {
			if (l ~ "^ *\"" dir "\" : [{]") {
				in_dir = 1
			} else if (in_dir && l ~ /"io_bytes" : /) {
				sub(/.*"io_bytes" : /, "", l)
				n += l + 0
				in_dir = 0
			}
		}
		return n + 0
	}
	BEGIN {
		scan(ARGV[1], "write offset=[0-9]+, buflen=[0-9]+", "w")
		scan(ARGV[2], "verify.* offset [0-9]+", "v")
		for (o in fail) nf++
		for (o in badb) { nb++; if (!(o in fail)) { nx++; x = x o "\n" } }
		printf "%d %.0f %d %d %.0f %.0f\n%s", nf, fb, nb, nx,
			bytes(ARGV[3], "write"), bytes(ARGV[4], "read"), x
	}' "$work/write.err" "$work/verify.err" "$work/write.json" \
		"$work/verify.json")
	if ! [[ "$failed $fbytes $nbad $bad $written $read" =~ ^[0-9]+( [0-9]+){5}$ ]]; then
		hp_log "fio's outputs could not be read: '$failed $fbytes $nbad $bad $written $read'"
		return 1
	fi
	hp_log "fio wrote $written bytes (exit ${wrc:-none}), $failed writes ($fbytes bytes) failed at the removal; verified $read bytes (exit $vrc), $nbad blocks bad, $bad of them not failed writes"
	if [ "$bad" -ne 0 ]; then
		hp_log "blocks that fio saw written but read back wrong:"
		sort -n "$work/bad" | head -n 20 | sed 's/^/#   /'
		ok=0
	fi
	if [ -z "$wrc" ] || { [ "$failed" -gt 0 ] && [ "$wrc" = 0 ]; } ||
	   { [ "$failed" -eq 0 ] && [ "$wrc" != 0 ]; }; then
		hp_log "fio's exit status ${wrc:-none} does not match its $failed failed writes"
		ok=0
	fi
	if [ "$vrc" != 0 ] && [ "$nbad" -eq 0 ]; then
		hp_log "the verify exited $vrc with no bad block"
		ok=0
	fi
	if [ "$written" -le 0 ] || [ "$read" -lt "$written" ] ||
	   [ "$read" -gt $((written + fbytes)) ]; then
		hp_log "verified bytes not in [written, written + failed] = [$written, $((written + fbytes))]"
		ok=0
	fi
	[ $ok = 1 ]
}
