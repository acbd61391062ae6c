#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# A backend that goes away with commands stuck in it does not freeze the
# control plane.  The namespace is hot-swapped (keep_identity) onto a
# null_blk device whose commands take 25 s (irqmode=2, a timer: they are
# held in the device, as a suspended dm table or a hung transport holds
# them), a write load fills it, and the device is powered off: the loss
# work quiesces the namespace and waits for the held commands.  While they
# are held: an enable write on another subsystem and rmdir of an unrelated
# namespace finish within 5 s, rmdir of the stuck namespace and rmmod of
# nvmet-hotplug fail at once with EBUSY, the warning about the drain is
# rate limited.  Once the device lets the commands go, the namespace is
# backend-lost, the host drops it, the stuck namespace can be removed and
# the module unloaded, and dmesg is clean (no hung task, no lockdep).
. "$(dirname "$0")/lib.sh"

hp_require_root
trap 'hp_cleanup; rm -rf "$work"' EXIT
work=$(mktemp -d)
ktap_print_header
ktap_set_plan 13

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start

# The held commands complete after HOLD_S; the host's I/O timeout is 30 s.
HOLD_S=25
fast=$(hp_nullb_create hpstf 64) || ktap_exit_fail_msg "null_blk"
slow=$(hp_nullb_create hpsts 64 irqmode=2 \
	completion_nsec=$((HOLD_S * 1000000000))) ||
	ktap_exit_fail_msg "slow null_blk"
other1=$(hp_nullb_create hpsto1 16) || ktap_exit_fail_msg "null_blk"
other2=$(hp_nullb_create hpsto2 16) || ktap_exit_fail_msg "null_blk"

# Another subsystem, not connected: the control plane next to the stuck one.
onqn=$(hp_subsys_create stother) || ktap_exit_fail_msg "other subsystem"
hp_ns_create "$onqn" 1 "$other1" || ktap_exit_fail_msg "other nsid 1"
hp_ns_create "$onqn" 2 "$other2" || ktap_exit_fail_msg "other nsid 2"

# The host scans the namespace on the fast device (the partition scan
# would take minutes on the slow one), then it moves to the slow one
# without the host noticing.
hp_setup_live stuck "$fast"
ns=$(hp_ns_dir "$HP_NQN" 1)
host=$(hp_disk "$HP_NQN" 1)
echo 1 >"$ns/hotplug/keep_identity" && echo "$slow" >"$ns/hotplug/swap" &&
	echo 1 >"$ns/hotplug/backend_watch" &&
	echo 1000 >"$ns/hotplug/quiesce_timeout_ms" ||
	ktap_exit_fail_msg "moving nsid 1 to the slow device"
hp_check "nsid 1 is live on the slow device, watched" \
	eval '[ "$(hp_state "$HP_NQN" 1)" = live ] &&
	      [ "$(cat "$ns/device_path")" = "$slow" ] &&
	      [ "$(cat "$ns/hotplug/backend_watch")" = 1 ]'

fio --name=held --filename="$host" --rw=randwrite --bs=4k --size=32M \
	--direct=1 --ioengine=libaio --iodepth=4 --time_based --runtime=3600 \
	--output=/dev/null >/dev/null 2>&1 &
HP_BG_PIDS+=($!)
inflight() { hp_rd "$ns/hotplug/inflight" && [ "$HP_RD" -ge "$1" ]; }
hp_wait "commands held in the device" inflight 4 ||
	ktap_exit_fail_msg "no commands in flight"

# 1. The device goes away; its power-off waits for the held commands.
hp_log_mark
(echo 0 >"$NULLB_CFS/hpsts/power") &
poweroff=$!
HP_BG_PIDS+=("$poweroff")
quiescing() { [ "$(hp_state "$HP_NQN" 1)" = quiescing ]; }
hp_check "the loss is seen: nsid 1 quiesces, commands are still held" \
	eval 'hp_wait "nsid 1 quiescing" quiescing && inflight 1'

# within SECS CMD...: CMD runs in the background and is done within SECS
# seconds; its output is in $work/out, its exit status in $WITHIN_RC.
within() {
	local secs=$1 pid end
	shift
	("$@") >"$work/out" 2>&1 &
	pid=$!
	end=$((SECONDS + secs))
	while hp_running "$pid" && [ "$SECONDS" -lt "$end" ]; do
		hp_sleep 0.1
	done
	if hp_running "$pid"; then
		HP_BG_PIDS+=("$pid")
		hp_log "still blocked after ${secs}s: $*"
		return 1
	fi
	wait "$pid"
	WITHIN_RC=$?
	return 0
}
busy() { [ "$WITHIN_RC" != 0 ] && grep -qi "busy\|in use" "$work/out"; }
odir=$(hp_ns_dir "$onqn" 1)

# 2. While it is stuck: rmdir of the stuck namespace is refused at once
#    (before, it waited for the drain holding the module's global lock and
#    froze everything below).
hp_check "rmdir of the stuck namespace fails at once with EBUSY" \
	eval 'within 5 rmdir "$ns" && busy && [ -d "$ns" ]'
hp_check "an enable write on another subsystem finishes within 5 s" \
	eval 'within 5 eval "echo 0 >$odir/enable && echo 1 >$odir/enable" &&
	      [ "$WITHIN_RC" = 0 ] && [ "$(hp_state "$onqn" 1)" = live ]'
hp_check "rmdir of an unrelated namespace finishes within 5 s" \
	eval 'within 5 eval "echo 0 >$(hp_ns_dir "$onqn" 2)/enable &&
			     rmdir $(hp_ns_dir "$onqn" 2)" &&
	      [ "$WITHIN_RC" = 0 ] && [ ! -d "$(hp_ns_dir "$onqn" 2)" ]'
hp_check "rmmod of nvmet-hotplug fails at once: the module is in use" \
	eval 'within 5 rmmod nvmet_hotplug && busy &&
	      [ -d /sys/module/nvmet_hotplug ]'
# if it did unload, the rest needs it back
[ -d /sys/module/nvmet_hotplug ] || hp_load_modules
hp_check "the namespace was still draining during all of it, and says why" \
	eval 'quiescing && hp_running $poweroff &&
	      grep -q "reason: backend $slow went away" "$ns/hotplug/state"'

# 3. The device lets the commands go: everything completes.
hp_check "the held commands complete: nsid 1 is backend-lost" \
	hp_wait "backend-lost" eval '[ "$(hp_state "$HP_NQN" 1)" = backend-lost ]'
hp_check "the host removed nsid 1 through both controllers" \
	hp_wait "nsid 1 gone" hp_ns_gone_all "$HP_NQN" 1
hp_check "the power-off finished" hp_wait "power-off" eval "! hp_running $poweroff"
# at the bound (1 s), then at each doubling: 1, 2, 4, 8, 16 s
nwarn=$(dmesg | awk -v m="$HP_LOG_MARK" 'found && /still in flight on the lost backend/ { n++ }
	index($0, m) { found = 1 } END { print n + 0 }')
hp_log "drain warnings: $nwarn"
hp_check "the drain warning came, and no more than once per doubling" \
	eval '[ "$nwarn" -ge 1 ] && [ "$nwarn" -le 6 ]'
hp_check "the stuck namespace can be removed now" \
	eval 'within 30 rmdir "$ns" && [ "$WITHIN_RC" = 0 ] && [ ! -d "$ns" ]'
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
