#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Unload and reload nvmet-hotplug while namespaces are live and connected:
# nvmet goes back to its built-in lifecycle, the reloaded module adopts the
# namespaces, and host I/O goes on throughout.  Enabling a namespace that
# is live already sends no AEN, with the module and without.  Loaded
# while nvmet's built-in disable waits for a command held below the
# namespace (a suspended dm table), the module reports nvmet's state of
# the namespace (quiescing, then detached) and every hotplug file reads
# safely before and after the drain.
. "$(dirname "$0")/lib.sh"

hp_require_root
trap 'hp_trace_aen_stop 2>/dev/null; hp_cleanup' EXIT
ktap_print_header
ktap_set_plan 18

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start

dev1=$(hp_nullb_create hpunl1 32) || ktap_exit_fail_msg "null_blk"
dev2=$(hp_nullb_create hpunl2 16) || ktap_exit_fail_msg "null_blk"
dev3=$(hp_nullb_create hpunl3 16) || ktap_exit_fail_msg "null_blk"
held=$(hp_dm_delay hpunlheld "$dev3" 0 0) || ktap_exit_fail_msg "dm"
hp_setup_live unload "$dev1" "$dev2" "$held"
host=$(hp_disk "$HP_NQN" 1)
host3=$(hp_disk "$HP_NQN" 3)
ns1=$(hp_ns_dir "$HP_NQN" 1)
ns2=$(hp_ns_dir "$HP_NQN" 2)
ns3=$(hp_ns_dir "$HP_NQN" 3)

# quiet_enable: "echo 1 > enable" of the live nsid 1 changes nothing, so
# no controller may get a Namespace Attribute Changed AEN (0x040002) for
# it.  The target sends a controller's AENs in the order it queued them,
# one per outstanding Asynchronous Event Request: an ANA change queued
# after the write is a fence.  Once every controller got the ANA change
# AENs (0x0c0302) of the change and of its undoing, an AEN of the write
# would be in the trace before them.
ana_all() {
	local p
	for p in "${HP_PORTS[@]}"; do
		echo "$1" >"$CFS/ports/$p/ana_groups/1/ana_state" || return 1
	done
}
quiet_enable() {
	local ok=0
	hp_trace_aen_start || return 1
	echo 1 >"$ns1/enable" || ok=1
	ana_all non-optimized || ok=1
	hp_wait "ANA change AEN on every controller" \
		hp_ctrls_got_aen "$HP_NQN" 0x0c0302 1 || ok=1
	ana_all optimized || ok=1
	hp_wait "second ANA change AEN on every controller" \
		hp_ctrls_got_aen "$HP_NQN" 0x0c0302 2 || ok=1
	hp_trace_aen_stop
	if grep -q 'NVME_AEN=0x040002' "$TRACEFS/trace"; then
		hp_log "a write that changed nothing sent: $(grep -o 'nvme[0-9]*: NVME_AEN=0x040002' "$TRACEFS/trace" | paste -s -d ' ')"
		return 1
	fi
	[ $ok = 0 ]
}

fio --name=io --filename="$host" --rw=randrw --bs=16k --size=8M --direct=1 \
	--ioengine=libaio --iodepth=4 --time_based --runtime=3600 \
	--output=/dev/null &
fio_pid=$!
HP_BG_PIDS+=("$fio_pid")

# (a regression guard: the module never notified for a live namespace)
hp_check "enable of a live namespace: no AEN (nvmet-hotplug)" quiet_enable
hp_check "rmmod nvmet_hotplug with live, connected namespaces" hp_unload_hotplug
hp_check "enable of a live namespace: no AEN (built-in)" quiet_enable
hp_check "hotplug files answer ENODEV without the module" \
	eval '! cat "$ns2/hotplug/state" 2>/dev/null'
echo 0 >"$ns2/enable"
hp_check "built-in disable works and the host sees it" \
	hp_wait "nsid 2 gone" hp_ns_gone_all "$HP_NQN" 2
echo 1 >"$ns2/enable"
hp_check "built-in enable works and the host sees it" \
	hp_wait "nsid 2 back" hp_ns_visible_all "$HP_NQN" 2 2
hp_check "reload nvmet-hotplug" hp_load_modules
hp_check "reloaded module adopts the live namespaces" \
	eval '[ "$(hp_state "$HP_NQN" 1)" = live ] && [ "$(hp_state "$HP_NQN" 2)" = live ]'
echo 0 >"$ns2/enable"
hp_check "adopted namespace hot-removes through the module" \
	eval 'hp_wait "nsid 2 gone" hp_ns_gone_all "$HP_NQN" 2 &&
	      [ "$(hp_stat "$HP_NQN" 2 detaches)" -eq 1 ]'
hp_check "unload again, then reload, with a detached namespace" \
	eval 'hp_unload_hotplug && hp_load_modules &&
	      [ "$(hp_state "$HP_NQN" 2)" = detached ]'
# Loaded while the built-in disable of nsid 3 waits for a read that the
# suspended dm table holds.
read_all() {
	local f
	for f in state inflight quiesce_timeout_ms on_timeout stats \
		backend_watch auto_reattach keep_identity; do
		cat "$ns3/hotplug/$f" >/dev/null || return 1
	done
}
host_inflight() { [ "$(awk '{ print $1 + $2 }' "/sys/block/${host3#/dev/}/inflight")" -ge 1 ]; }
state3() { [ "$(hp_state "$HP_NQN" 3)" = "$1" ]; }
stuck_disable() {
	hp_unload_hotplug || return 1
	dmsetup --noudevsync suspend hpunlheld || return 1
	dd if="$host3" of=/dev/null bs=4k count=1 iflag=direct status=none &
	HP_BG_PIDS+=($!)
	hp_wait "a read held below nsid 3" host_inflight || return 1
	(echo 0 >"$ns3/enable") &
	disabler=$!
	HP_BG_PIDS+=("$disabler")
	hp_wait "the built-in disable waits" \
		grep -q nvmet_ns_disable "/proc/$disabler/stack" || return 1
	hp_load_modules
}
hp_check "a read held below nsid 3, its built-in disable started, module loaded" \
	stuck_disable
hp_check "loaded meanwhile: nsid 3 reads as quiescing, the read in flight" \
	eval 'hp_wait "nsid 3 quiescing" state3 quiescing &&
	      [ "$(cat "$ns3/hotplug/inflight")" -ge 1 ] && hp_running $disabler'
hp_check "every hotplug file of nsid 3 reads while it is stuck" read_all
dmsetup --noudevsync resume hpunlheld
hp_check "the read goes through: the disable ends, nsid 3 is detached, nothing in flight" \
	eval 'hp_wait "disable done" eval "! hp_running $disabler" &&
	      state3 detached && [ "$(cat "$ns3/hotplug/inflight")" = 0 ] &&
	      hp_wait "nsid 3 gone" hp_ns_gone_all "$HP_NQN" 3'
hp_check "every hotplug file of nsid 3 reads after the drain" read_all

hp_check "host I/O went on without error throughout (fio still running)" \
	hp_running "$fio_pid"
kill "$fio_pid"
wait "$fio_pid"
hp_check "data written now reads back intact" \
	fio --name=v --filename="$host" --rw=write --bs=64k --size=4M \
	--direct=1 --verify=crc32c --do_verify=1 --verify_state_save=0 --output=/dev/null
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
