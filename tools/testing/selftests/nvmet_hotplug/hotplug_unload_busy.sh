#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# rmmod nvmet-hotplug in busy states, each of which must either complete
# or be refused with a clear error, and leave nothing behind: with a
# backend_watch claim open (the claim goes, the namespace stays live on
# nvmet's built-in path); with a namespace backend-lost (when its disk
# comes back nothing re-attaches it and nothing touches freed memory);
# while a wait-policy quiesce, a batch and a swap wait for I/O held in
# the backend (refused: the module is in use; each operation then
# completes).  Afterwards nvmet's built-in path works.
. "$(dirname "$0")/lib.sh"

hp_require_root
trap 'hp_cleanup' EXIT
ktap_print_header
ktap_set_plan 9

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start

dev1=$(hp_nullb_create hpub1 16) || ktap_exit_fail_msg "null_blk 1"
dev2=$(hp_nullb_create hpub2 16) || ktap_exit_fail_msg "null_blk 2"
dev3=$(hp_nullb_create hpub3 16) || ktap_exit_fail_msg "null_blk 3"
dev4=$(hp_nullb_create hpub4 16) || ktap_exit_fail_msg "null_blk 4"
slow=$(hp_dm_delay hpubslow "$dev2" 0 0) || ktap_exit_fail_msg "dm-delay"
hp_setup_live unlbusy "$dev1" "$slow" "$dev3"
nss=$CFS/subsystems/$HP_NQN/namespaces
shp=$(hp_subsys_hp_dir "$HP_NQN")
hmod=${NVMET_HP_BUILD:?}/drivers/nvme/target/hotplug/nvmet-hotplug.ko

set_delay() { hp_dm_set_delay hpubslow "$dev2" "$1"; }
# hold: a read of nsid 2 that the backend holds 20 s (until set_delay 0;
# less than the host's 30 s I/O timeout)
hold() {
	local host2
	hp_wait "nsid 2 on the host" hp_ns_visible_all "$HP_NQN" 2 2 || return 1
	host2=$(hp_disk "$HP_NQN" 2) || return 1
	set_delay 20000 || return 1
	dd if="$host2" of=/dev/null bs=4k count=1 iflag=direct status=none &
	HP_BG_PIDS+=($!)
	hp_wait "I/O held" eval '[ "$(cat "$nss/2/hotplug/inflight")" -gt 0 ]'
}
# busy_refused DESC CMD...: with the I/O held, CMD runs in the background
# and waits; rmmod is refused (the module is in use) and the module stays;
# once the I/O is let go CMD succeeds.
busy_refused() {
	local desc=$1 pid err rc=0
	shift
	hold || { set_delay 0; return 1; }
	("$@") &
	pid=$!
	HP_BG_PIDS+=("$pid")
	if hp_wait "$desc waiting" eval 'case $(hp_state "$HP_NQN" 2) in quiescing|swapping) true ;; *) false ;; esac'; then
		err=$(rmmod nvmet_hotplug 2>&1)
		rc=$?
		hp_log "rmmod during $desc: exit $rc: $err"
		hp_running "$pid" || hp_log "$desc had ended before the rmmod"
	fi
	set_delay 0
	hp_wait "$desc done" eval "! hp_running $pid" || return 1
	wait "$pid" || { hp_log "$desc failed"; return 1; }
	[ $rc -ne 0 ] && [[ $err == *"in use"* ]] && [ -d /sys/module/nvmet_hotplug ]
}

# 1. A backend_watch claim open.
echo 1 >"$nss/1/hotplug/backend_watch" || ktap_exit_fail_msg "backend_watch"
hp_check "rmmod with a backend_watch claim open completes" rmmod nvmet_hotplug
hp_check "the namespace stays live and served on nvmet's built-in path" \
	eval '[ "$(cat "$nss/1/enable")" = 1 ] && hp_ns_visible_all "$HP_NQN" 1 2 &&
	      dd if="$(hp_disk "$HP_NQN" 1)" of=/dev/null bs=4k count=1 iflag=direct status=none'
insmod "$hmod" || ktap_exit_fail_msg "reload"

# 2. A namespace backend-lost, then its disk comes back.
echo 1 >"$nss/3/hotplug/backend_watch" || ktap_exit_fail_msg "backend_watch 3"
echo 0 >"$NULLB_CFS/hpub3/power"
hp_wait "nsid 3 backend-lost" eval '[ "$(hp_state "$HP_NQN" 3)" = backend-lost ]' ||
	ktap_exit_fail_msg "nsid 3 not backend-lost"
hp_check "rmmod with a namespace backend-lost completes" rmmod nvmet_hotplug
echo 1 >"$NULLB_CFS/hpub3/power"
hp_wait "hpub3 back" eval "blockdev --getsz $dev3 >/dev/null 2>&1"
hp_check "its disk comes back: nothing re-attaches it, the host does not see it" \
	eval '[ "$(cat "$nss/3/enable")" = 0 ] && hp_ns_gone_all "$HP_NQN" 3'
insmod "$hmod" || ktap_exit_fail_msg "reload"

# 3. A wait-policy quiesce, a batch and a swap waiting for held I/O.
echo wait >"$nss/2/hotplug/on_timeout"
hp_check "rmmod during a wait-policy quiesce is refused, the quiesce completes" \
	busy_refused "a wait-policy quiesce" eval 'echo 0 >"$nss/2/enable"'
echo 1 >"$nss/2/enable" || ktap_exit_fail_msg "re-enable nsid 2"
hp_check "rmmod during a batch is refused, the batch completes" \
	busy_refused "a batch" eval 'echo 2 >"$shp/detach"'
echo 1 >"$nss/2/enable" || ktap_exit_fail_msg "re-enable nsid 2"
echo 1 >"$nss/2/hotplug/keep_identity"
hp_check "rmmod during a swap is refused, the swap completes" \
	busy_refused "a swap" eval 'echo "$dev4" >"$nss/2/hotplug/swap"'

# 4. Unloaded, nvmet's built-in path hot-removes and hot-adds.
rmmod nvmet_hotplug || ktap_exit_fail_msg "rmmod"
echo 0 >"$nss/1/enable"
hp_check "without the module, the built-in path hot-removes and hot-adds" \
	eval 'hp_wait "nsid 1 gone" hp_ns_gone_all "$HP_NQN" 1 &&
	      echo 1 >"$nss/1/enable" && hp_wait "nsid 1 back" hp_ns_visible_all "$HP_NQN" 1 2'
insmod "$hmod"
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
