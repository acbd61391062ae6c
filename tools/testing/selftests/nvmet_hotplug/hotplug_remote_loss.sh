#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Loss of a remote backend under load: the backing device of nsid 1 is an
# nvme-tcp disk of a second nvmet subsystem, connected with
# ctrl_loss_tmo=1, and its port is taken away while writes are in flight.
# The host's controller of that disk cannot reconnect and is deleted after
# a second, its disk goes (the block layer calls the module's mark_dead),
# the writes in flight to it fail instead of draining, and nsid 1 becomes
# backend-lost: its controller gets the AEN, the host drops it, the load
# ends with an error, nothing hangs.
#
# The disk is the multipath head of the backend's namespace, and 7.3 ends
# it with del_gendisk(): mark_dead is called with surprise=false.  Only
# the hidden per-path disks are marked dead (nvme_mark_namespaces_dead(),
# for a DEAD controller, which fabrics never have); a backend that the
# block layer reports as a surprise removal needs another driver (nbd's
# disconnect, disk_force_media_change()), not in this kernel's config.
. "$(dirname "$0")/lib.sh"

BK_PORT=5
BK_SVC=4421
hp_require_root
trap 'hp_trace_aen_stop 2>/dev/null; hp_cleanup' EXIT
ktap_print_header
ktap_set_plan 6

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start

# The backend: a subsystem of its own on a tcp port of its own.
nullb=$(hp_nullb_create hpsurb 64) || ktap_exit_fail_msg "null_blk"
bk=$(hp_subsys_create surbk) || ktap_exit_fail_msg "backend subsystem"
hp_ns_create "$bk" 1 "$nullb" || ktap_exit_fail_msg "backend nsid 1"
d=$CFS/ports/$BK_PORT
mkdir "$d" && echo tcp >"$d/addr_trtype" && echo ipv4 >"$d/addr_adrfam" &&
	echo "$TCP_ADDR" >"$d/addr_traddr" && echo $BK_SVC >"$d/addr_trsvcid" ||
	ktap_exit_fail_msg "backend port"
HP_PORTS+=("$BK_PORT")
hp_port_link $BK_PORT "$bk" || ktap_exit_fail_msg "backend port link"
nvme connect -t tcp -a "$TCP_ADDR" -s $BK_SVC -n "$bk" --hostnqn="$HOSTNQN" \
	--hostid="$HOSTID" --ctrl-loss-tmo=1 --reconnect-delay=1 >/dev/null ||
	ktap_exit_fail_msg "connect to the backend"
hp_wait "the backend disk" hp_disk_find "$bk" 1 || ktap_exit_fail_msg "no backend disk"
bkdisk=$HP_DISK
hp_log "backend disk: $bkdisk ($(hp_ctrls "$bk"))"

# The namespace under test, on that disk, watched, with the host on it.
HP_NQN=$(hp_subsys_create sur) || ktap_exit_fail_msg "subsystem"
hp_ns_create "$HP_NQN" 1 "$bkdisk" 0 || ktap_exit_fail_msg "nsid 1"
ns=$(hp_ns_dir "$HP_NQN" 1)
echo 1 >"$ns/enable" && echo 1 >"$ns/hotplug/backend_watch" ||
	ktap_exit_fail_msg "enable with backend_watch"
hp_port_create 1 loop || ktap_exit_fail_msg "port"
hp_port_link 1 "$HP_NQN" || ktap_exit_fail_msg "port link"
c=$(hp_connect "$HP_NQN" loop) || ktap_exit_fail_msg "connect"
hp_wait "nsid 1 on the host" hp_ns_visible_all "$HP_NQN" 1 1 ||
	ktap_exit_fail_msg "nsid 1 not seen"
host=$(hp_disk "$HP_NQN" 1)

hp_trace_aen_start || ktap_exit_fail_msg "trace events"
fio --name=load --filename="$host" --rw=randwrite --bs=64k --size=32M \
	--direct=1 --ioengine=libaio --iodepth=16 --time_based --runtime=3600 \
	--output=/dev/null >/dev/null 2>&1 &
fio_pid=$!
HP_BG_PIDS+=("$fio_pid")
hp_wait "writes in flight" eval '[ "$(cat "$ns/hotplug/inflight")" -gt 0 ]' ||
	ktap_exit_fail_msg "no I/O in flight"
inflight=$(cat "$ns/hotplug/inflight")
# The backend's port goes: its controller on the host loses its
# connection, cannot reconnect, and is deleted after ctrl_loss_tmo.
rm "$d/subsystems/$bk"
t0=$SECONDS
hp_check "with $inflight writes in flight, the backend's loss makes nsid 1 backend-lost" \
	eval 'hp_wait "backend-lost" eval "[ \"\$(hp_state \"\$HP_NQN\" 1)\" = backend-lost ]" &&
	      grep -q "reason: backend .* went away" "$ns/hotplug/state"'
hp_log "backend-lost after $((SECONDS - t0)) s: $(tr '\n' ' ' <"$ns/hotplug/state")"
how=$(hp_dmesg_since_mark | grep -o "nsid 1: backing device .* is going away.*" | tail -n 1)
hp_log "the module was told: ${how:-nothing}"
hp_check "the block layer told the module (mark_dead) that the disk is going away, orderly" \
	eval '[ -n "$how" ] && [[ $how == *"going away" ]]'
hp_check "the host's controller got the Namespace Attribute Changed AEN and dropped nsid 1" \
	eval 'hp_wait "AEN" eval "grep -q \" $c: NVME_AEN=0x040002\" $TRACEFS/trace" &&
	      hp_wait "nsid 1 gone" hp_ns_gone_all "$HP_NQN" 1'
hp_trace_aen_stop
hp_check "the load saw the loss as an error and ended" hp_bg_failed "$fio_pid"
hp_check "the backend's controller is gone from the host" \
	hp_wait "backend controller gone" hp_nr_ctrls_is "$bk" 0
hp_check "dmesg clean (no hung task)" hp_dmesg_clean
ktap_finished
