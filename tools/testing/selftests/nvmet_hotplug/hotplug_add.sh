#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Hot-add: a namespace enabled on a live subsystem appears on the host by
# itself (AEN, Changed Namespace List, rescan) through every controller, and
# a controller that connects later sees it at start.
. "$(dirname "$0")/lib.sh"

hp_require_root
trap hp_cleanup EXIT
ktap_print_header
ktap_set_plan 7

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start

dev1=$(hp_nullb_create hpadd1 16) || ktap_exit_fail_msg "null_blk"
dev2=$(hp_nullb_create hpadd2 16) || ktap_exit_fail_msg "null_blk"
hp_setup_live add "$dev1"

hp_ns_create "$HP_NQN" 2 "$dev2" 1
hp_check "hot-added nsid 2 is live on the target" \
	[ "$(hp_state "$HP_NQN" 2)" = live ]
hp_check "nsid 2 appears through both controllers without a rescan" \
	hp_wait "nsid 2 on both controllers" hp_ns_visible_all "$HP_NQN" 2 2
hp_check "each controller got one Namespace Attribute Changed AEN" \
	[ "$(hp_stat "$HP_NQN" 2 aens_sent)" -eq 2 ]
hp_check "the host read the Changed Namespace List on each controller" \
	hp_wait "host rescans" eval \
	'[ "$(hp_dmesg_since_mark | grep -c "rescanning namespaces")" -ge 2 ]'

# A controller that is not live when the namespace is added sees it at start.
nvme disconnect -d "$(hp_ctrls "$HP_NQN" | head -n 1)" >/dev/null
hp_wait "one controller left" hp_nr_ctrls_is "$HP_NQN" 1
dev3=$(hp_nullb_create hpadd3 16)
hp_ns_create "$HP_NQN" 3 "$dev3" 1
hp_wait "nsid 3 on the remaining controller" hp_ns_visible_all "$HP_NQN" 3 1
hp_connect "$HP_NQN" loop >/dev/null
hp_check "a controller connected after the hot-add sees nsid 3 at start" \
	hp_wait "nsid 3 on both controllers" hp_ns_visible_all "$HP_NQN" 3 2
hp_check "data written through the hot-added namespace reads back" \
	fio --name=v --filename="$(hp_disk "$HP_NQN" 2)" --rw=write --bs=64k \
	--size=4M --direct=1 --verify=crc32c --do_verify=1 --verify_state_save=0 --output=/dev/null
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
