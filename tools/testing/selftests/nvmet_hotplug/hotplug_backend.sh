#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Backend hotplug: with backend_watch the namespace is hot-removed by itself
# when its block device goes away under load (null_blk powered off, which
# removes the disk through del_gendisk), the host drops it on every
# controller.  A null_blk device has no unique identifier: auto_reattach
# is refused for it (EOPNOTSUPP), and when it returns the namespace waits
# for "enable", which brings it back with the same NSID, UUID and data.
# Automatic re-attach by identity, with a backend that has one: a
# namespace of a second nvmet subsystem, reached by this host over loop,
# with an NGUID.  When it goes away and another namespace comes back under
# the same kernel name, nothing is attached and the mismatch is logged;
# when the same one comes back the namespace is re-attached and the data
# written before the loss reads back.  An orderly removal of that disk
# (nvme disconnect) is a loss too; a device_path written while the
# namespace is backend-lost is what "enable" uses, and stops the automatic
# re-attach.
. "$(dirname "$0")/lib.sh"

hp_require_root
trap 'hp_cleanup; rm -rf "$work"' EXIT
work=$(mktemp -d)
ktap_print_header
ktap_set_plan 25

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start

nullb=$(hp_nullb_create hpbk 64) || ktap_exit_fail_msg "null_blk"
nullb2=$(hp_nullb_create hpbk2 16) || ktap_exit_fail_msg "null_blk"
hp_setup_live bk "$nullb" "$nullb2"
ns=$(hp_ns_dir "$HP_NQN" 1)
ns2=$(hp_ns_dir "$HP_NQN" 2)
# power [DEV] 0|1
power() {
	local d=hpbk
	[ $# = 2 ] && { d=$1; shift; }
	echo "$1" >"$NULLB_CFS/$d/power"
}
state_is() { [ "$(hp_state "$HP_NQN" "${2:-1}")" = "$1" ]; }

echo 1 >"$ns/hotplug/backend_watch" && echo 1 >"$ns2/hotplug/backend_watch"
hp_check "backend_watch is on for the live namespaces" \
	eval '[ "$(cat "$ns/hotplug/backend_watch")" = 1 ] &&
	      [ "$(cat "$ns2/hotplug/backend_watch")" = 1 ]'
snap_reattach() { cat "$ns/hotplug/auto_reattach" "$ns/hotplug/state"; }
hp_check "auto_reattach on a null_blk backend: EOPNOTSUPP, logged, unchanged" \
	eval 'hp_reject snap_reattach "$ns/hotplug/auto_reattach" 1 \
		"Operation not supported" "auto_reattach needs a backend with a unique identifier" &&
	      [ "$(cat "$ns/hotplug/auto_reattach")" = 0 ]'

# A known pattern in the first 4 MiB, the load writes elsewhere.
host=$(hp_disk "$HP_NQN" 1)
uuid=$(cat "/sys/block/${host#/dev/}/uuid")
dd if=/dev/urandom of="$work/pattern" bs=1M count=4 status=none
dd if="$work/pattern" of="$host" bs=1M oflag=direct status=none ||
	ktap_exit_fail_msg "writing the pattern"
sum=$(md5sum <"$work/pattern" | cut -d' ' -f1)

fio --name=load --filename="$host" --rw=randwrite --bs=64k --offset=8M \
	--size=32M --direct=1 --ioengine=libaio --iodepth=8 --time_based \
	--runtime=3600 --output=/dev/null &
fio_pid=$!
HP_BG_PIDS+=("$fio_pid")
writes() { awk '{ print $5 }' /sys/block/hpbk/stat; }
w0=$(writes)
hp_wait "load reaches the backend" eval '[ "$(writes)" -gt $((w0 + 64)) ]'

# 1. The device goes away under load (timed, to 0.2 s polls).
usecs() { echo "${EPOCHREALTIME/./}"; }
t0=$(usecs)
power 0
hp_check "the namespace goes to backend-lost by itself" \
	hp_wait "backend-lost" state_is backend-lost
t1=$(usecs)
hp_check "the host removed nsid 1 through both controllers" \
	hp_wait "nsid 1 gone" hp_ns_gone_all "$HP_NQN" 1
t2=$(usecs)
hp_log "backend loss under load: nsid 1 backend-lost $(((t1 - t0) / 1000)) ms after the power-off, gone from both host controllers after $(((t2 - t0) / 1000)) ms"
hp_check "stats count one backend loss and the state says why" \
	eval '[ "$(hp_stat "$HP_NQN" 1 backend_lost)" -eq 1 ] &&
	      grep -q "reason: backend /dev/hpbk went away" "$ns/hotplug/state"'
hp_check "the load saw the removal as an error and ended" \
	hp_bg_failed "$fio_pid"

# 2. It comes back: without an identity to check, only "enable" attaches
#    it again, with the same NSID and identity.
power 1
hp_wait "/dev/hpbk back" eval "blockdev --getsz /dev/hpbk >/dev/null 2>&1"
echo 1 >"$ns/enable"
hp_check "enable attaches it again and the host sees it through both controllers" \
	eval 'state_is live && hp_wait "nsid 1 back" hp_ns_visible_all "$HP_NQN" 1 2'
host=$(hp_disk "$HP_NQN" 1)
hp_check "same identity: the host sees the same UUID" \
	[ "$(cat "/sys/block/${host#/dev/}/uuid")" = "$uuid" ]
got=$(dd if="$host" bs=1M count=4 iflag=direct status=none | md5sum | cut -d' ' -f1)
hp_check "the data written before the loss reads back intact" [ "$got" = "$sum" ]

# 3. A backend with a unique identifier: namespace 1 of a second subsystem
#    (NGUID A), which this host reaches over loop; its namespace 2 (NGUID
#    B, same size) is the impostor that comes back under the same name.
nullb3=$(hp_nullb_create hpbk3 16) || ktap_exit_fail_msg "null_blk"
nullb4=$(hp_nullb_create hpbk4 16) || ktap_exit_fail_msg "null_blk"
nullb5=$(hp_nullb_create hpbk5 16) || ktap_exit_fail_msg "null_blk"
lower=$(hp_subsys_create bklower) || ktap_exit_fail_msg "lower subsystem"
hp_ns_create "$lower" 1 "$nullb3" 0 && hp_ns_create "$lower" 2 "$nullb4" 0 ||
	ktap_exit_fail_msg "lower namespaces"
l1=$(hp_ns_dir "$lower" 1)
l2=$(hp_ns_dir "$lower" 2)
echo 6e766d65-7468-6f74-706c-75672d410001 >"$l1/device_nguid" &&
	echo 6e766d65-7468-6f74-706c-75672d420002 >"$l2/device_nguid" &&
	echo 1 >"$l1/enable" || ktap_exit_fail_msg "lower nsid 1"
hp_port_link 1 "$lower" || ktap_exit_fail_msg "lower port link"
hp_connect "$lower" loop >/dev/null || ktap_exit_fail_msg "lower connect"
hp_wait "lower disk" hp_disk_find "$lower" 1 || ktap_exit_fail_msg "lower disk"
ldisk=$HP_DISK
hp_ns_create "$HP_NQN" 3 "$ldisk" 0 || ktap_exit_fail_msg "nsid 3"
ns3=$(hp_ns_dir "$HP_NQN" 3)
echo 1 >"$ns3/enable" && echo 1 >"$ns3/hotplug/backend_watch" ||
	ktap_exit_fail_msg "nsid 3 on $ldisk"
hp_check "auto_reattach is accepted for a disk with an NGUID" \
	eval 'echo 1 >"$ns3/hotplug/auto_reattach" &&
	      [ "$(cat "$ns3/hotplug/auto_reattach")" = 1 ]'
hp_wait "nsid 3 on both controllers" hp_ns_visible_all "$HP_NQN" 3 2 ||
	ktap_exit_fail_msg "nsid 3 not seen"
host3=$(hp_disk "$HP_NQN" 3)
uuid3=$(cat "/sys/block/${host3#/dev/}/uuid")
dd if="$work/pattern" of="$host3" bs=1M oflag=direct status=none ||
	ktap_exit_fail_msg "writing the pattern to nsid 3"

lost_gone() { [ "$(hp_state "$HP_NQN" 3)" = backend-lost ] && [ ! -e "/sys/block/${ldisk#/dev/}" ]; }
echo 0 >"$l1/enable"
hp_check "the lower namespace goes away: nsid 3 goes backend-lost" \
	hp_wait "nsid 3 backend-lost, $ldisk gone" lost_gone
hp_check "the host removed nsid 3 through both controllers" \
	hp_wait "nsid 3 gone" hp_ns_gone_all "$HP_NQN" 3

# lower_back NSDIR NSID: enable a lower namespace until the host shows it
# under the kernel name of the lost disk.  The name is free once the last
# opener of the previous disk let it go, which happens a moment after the
# state changed (a deferred fput): try again until the host reuses it.
lower_back() {
	local i
	for i in 1 2 3 4 5; do
		echo 1 >"$1/enable" || return 1
		hp_wait "lower nsid $2 on the host" hp_disk_find "$lower" "$2" ||
			return 1
		[ "$HP_DISK" = "$ldisk" ] && return 0
		hp_log "lower nsid $2 came back as $HP_DISK, not $ldisk: again"
		echo 0 >"$1/enable"
		hp_wait "lower nsid $2 gone" eval "! hp_disk_find $lower $2" ||
			return 1
	done
	return 1
}
impostor() { hp_log_mark && lower_back "$l2" 2; }
hp_check "another namespace comes back as $ldisk" impostor
hp_check "it is refused: the pr_err names the mismatch" \
	hp_wait "mismatch logged" hp_logged_since_mark \
		"${ldisk#/dev/} is back but is not the lost disk \\(unique id 6e766d6574686f74706c75672d420002"
hp_check "nsid 3 stays backend-lost, the host does not see it" \
	eval 'state_is backend-lost 3 && hp_ns_gone_all "$HP_NQN" 3 &&
	      [ "$(hp_stat "$HP_NQN" 3 reattaches)" -eq 0 ]'

echo 0 >"$l2/enable"
hp_wait "impostor gone" eval '[ ! -e "/sys/block/${ldisk#/dev/}" ]'
hp_check "the lost namespace comes back: nsid 3 is re-attached by itself" \
	eval 'lower_back "$l1" 1 && hp_wait "nsid 3 live" state_is live 3'
hp_check "the host sees nsid 3 again with the same UUID" \
	eval 'hp_wait "nsid 3 back" hp_ns_visible_all "$HP_NQN" 3 2 &&
	      [ "$(cat "/sys/block/$(hp_disk "$HP_NQN" 3 | cut -d/ -f3)/uuid")" = "$uuid3" ]'
host3=$(hp_disk "$HP_NQN" 3)
got=$(dd if="$host3" bs=1M count=4 iflag=direct status=none | md5sum | cut -d' ' -f1)
hp_check "the data written before the loss reads back intact" [ "$got" = "$sum" ]
hp_check "stats count one loss and one re-attach" \
	eval '[ "$(hp_stat "$HP_NQN" 3 backend_lost)" -eq 1 ] &&
	      [ "$(hp_stat "$HP_NQN" 3 reattaches)" -eq 1 ]'

# 4. Orderly removal of the stacked disk (nvme disconnect: the host driver
#    deletes the disk, del_gendisk marks it dead).
hp_disconnect_all "$lower"
hp_check "orderly removal of the backing disk: nsid 3 goes backend-lost" \
	hp_wait "nsid 3 backend-lost" state_is backend-lost 3
hp_check "the host removed nsid 3 through both controllers" \
	hp_wait "nsid 3 gone" hp_ns_gone_all "$HP_NQN" 3

# 5. The admin points the lost namespace elsewhere: the lost disk coming
#    back is not attached, "enable" attaches the new path.
hp_log_mark
# a re-attach run may hold the set-up files for a moment (EBUSY)
hp_wait "device_path written" eval 'echo "$nullb5" 2>/dev/null >"$ns3/device_path"' ||
	ktap_exit_fail_msg "device_path"
hp_connect "$lower" loop >/dev/null || ktap_exit_fail_msg "lower reconnect"
hp_check "the lost disk returns, but device_path changed: it is not attached" \
	eval 'hp_wait "skip logged" hp_logged_since_mark "nsid 3: device_path or buffered_io changed" &&
	      state_is backend-lost 3'
echo 1 >"$ns3/enable"
hp_check "enable attaches the new device_path" \
	eval 'state_is live 3 && [ "$(cat "$ns3/device_path")" = "$nullb5" ] &&
	      hp_wait "nsid 3 back" hp_ns_visible_all "$HP_NQN" 3 2'
hp_check "nsid 1 and 2 are untouched" \
	eval 'state_is live 1 && state_is live 2 &&
	      hp_ns_visible_all "$HP_NQN" 1 2 && hp_ns_visible_all "$HP_NQN" 2 2'
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
