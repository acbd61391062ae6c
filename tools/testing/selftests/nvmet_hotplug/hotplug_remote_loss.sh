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
hp_watched_under_load sur "$bkdisk"
hp_log "$HP_INFLIGHT writes in flight"
# The backend's port goes: its controller on the host loses its
# connection, cannot reconnect, and is deleted after ctrl_loss_tmo.
rm "$d/subsystems/$bk"
hp_check_watched_lost "with writes in flight, the backend's loss makes nsid 1 backend-lost" \
	"the block layer told the module (mark_dead) that the disk is going away, orderly" \
	'*going away'
hp_check "the backend's controller is gone from the host" \
	hp_wait "backend controller gone" hp_nr_ctrls_is "$bk" 0
hp_check "dmesg clean (no hung task)" hp_dmesg_clean
ktap_finished
