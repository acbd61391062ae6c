#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# AEN masking: a controller that disabled Namespace Attribute Notices gets
# no AEN but its Changed Namespace List still names every NSID; a controller
# that was sent an AEN gets no second one until it has read the log, and
# every change is still reported, with fewer AENs than changes.
. "$(dirname "$0")/lib.sh"

NR=10
hp_require_root
trap 'hp_trace_aen_stop 2>/dev/null; hp_cleanup' EXIT
ktap_print_header
ktap_set_plan 8

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start

dev=$(hp_nullb_create hpaen 16) || ktap_exit_fail_msg "null_blk"
hp_setup_two_ctrls aen || ktap_exit_fail_msg "target set-up"
for i in $(seq 1 $((NR + 2))); do
	hp_ns_create "$HP_NQN" "$i" "$dev" || ktap_exit_fail_msg "nsid $i"
done
hp_connect_both "$HP_NQN" || ktap_exit_fail_msg "connect"
for i in $(seq 1 $((NR + 2))); do
	hp_wait "nsid $i on both controllers" hp_ns_visible_all "$HP_NQN" "$i" 2 ||
		ktap_exit_fail_msg "nsid $i not seen"
done
read -r c1 c2 <<<"$(hp_ctrls "$HP_NQN" | tr '\n' ' ')"

# 1. The host masks Namespace Attribute Notices on c2 (Set Features,
#    Asynchronous Event Configuration = 0): c2 gets no AEN, its log keeps
#    the NSID.
nvme set-feature "/dev/$c2" -f 0x0b -v 0 >/dev/null ||
	ktap_exit_fail_msg "set-feature on $c2"
hp_trace_aen_start || ktap_exit_fail_msg "trace events"
echo 0 >"$(hp_ns_dir "$HP_NQN" 1)/enable"
hp_wait "nsid 1 gone from $c1" eval "! hp_ctrl_has_ns $c1 1"
hp_check "masked controller got no AEN, the other one did" \
	eval "! grep -q '$c2: NVME_AEN=0x040002' $TRACEFS/trace && grep -q '$c1: NVME_AEN=0x040002' $TRACEFS/trace"
hp_check "the masked controller's Changed Namespace List names nsid 1" \
	eval "nvme changed-ns-list-log /dev/$c2 -b | od -An -tu4 -v | tr -s ' ' '\n' | grep -qx 1"
nvme set-feature "/dev/$c2" -f 0x0b -v 0x100 >/dev/null
nvme ns-rescan "/dev/$c2"
hp_check "after unmasking and a rescan the masked controller drops nsid 1" \
	hp_wait "nsid 1 gone" hp_ns_gone_all "$HP_NQN" 1

# 2. Changes at once on two unmasked controllers: between two AENs to a
#    controller it must have read the Changed Namespace List (RAE=0):
#    nvmet_req_init records the admin commands (lib.sh).  The NR
#    removals run side by side, so that changes come while a controller
#    has an AEN it has not answered yet: they must be coalesced.
echo >$TRACEFS/trace
pids=()
for i in $(seq 3 $((NR + 2))); do
	echo 0 >"$(hp_ns_dir "$HP_NQN" "$i")/enable" &
	pids+=($!)
done
wrc=0
for p in "${pids[@]}"; do
	wait "$p" || wrc=1
done
ok=1
for i in $(seq 3 $((NR + 2))); do
	hp_wait "nsid $i gone" hp_ns_gone_all "$HP_NQN" "$i" || ok=0
done
hp_check "every one of $NR concurrent removals succeeded and reached the host" \
	eval '[ $ok = 1 ] && [ $wrc = 0 ]'
hp_check "nsid 2 is still there" hp_ns_visible_all "$HP_NQN" 2 2
hp_trace_aen_stop
aens=0
for i in $(seq 3 $((NR + 2))); do
	aens=$((aens + $(hp_stat "$HP_NQN" "$i" aens_sent)))
done
seq_ok=$(awk '
	/nvmet_async_event: nvmet[0-9]+: NVME_AEN=/ {
		match($0, /nvmet[0-9]+:/); c = substr($0, RSTART, RLENGTH)
		if (pending[c]) bad++
		pending[c] = 1; n++
	}
	/nvmet_req_init: nvmet[0-9]+: qid=0.*nvme_admin_get_log_page, cdw10=04 [0-7]/ {
		match($0, /nvmet[0-9]+:/); c = substr($0, RSTART, RLENGTH)
		pending[c] = 0
	}
	END { printf "%d %d\n", n, bad }' $TRACEFS/trace)
hp_log "$((NR * 2)) namespace changes on 2 controllers, $aens AENs queued, target trace: AENs and violations: $seq_ok"
hp_check "no second AEN to a controller before it read the log" \
	eval '[ "${seq_ok#* }" -eq 0 ] && [ "${seq_ok% *}" -eq "$aens" ]'
hp_check "the changes were coalesced: fewer AENs ($aens) than changes ($((NR * 2)))" \
	eval '[ "$aens" -gt 0 ] && [ "$aens" -lt $((NR * 2)) ]'
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
