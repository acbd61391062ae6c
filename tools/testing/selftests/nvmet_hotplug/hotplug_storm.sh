#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Concurrency storm (the shape of blktests nvme/051, with hosts connected):
# two writers toggle "enable" of the same NSIDs (1-4) 200 times each while
# batches detach and attach 3-6, keep-identity swaps move nsid 7 between
# two devices and nsid 8's backend is powered off (backend_watch).  Every
# write returns 0 or EBUSY; nothing hangs; once quiet, the target's state
# and the view of both host controllers agree on every NSID, and dmesg is
# clean.
# 400 toggles with host rescans behind each: slow in TCG
WAIT_TIMEOUT=${WAIT_TIMEOUT:-600}
. "$(dirname "$0")/lib.sh"

TOGGLES=${TOGGLES:-200}
hp_require_root
work=$(mktemp -d)
trap 'hp_cleanup; rm -rf "$work"' EXIT
ktap_print_header
ktap_set_plan 8

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start

for i in $(seq 1 8); do
	devs[i]=$(hp_nullb_create hpst$i 16) || ktap_exit_fail_msg "null_blk $i"
done
swap_b=$(hp_nullb_create hpst7b 16) || ktap_exit_fail_msg "null_blk 7b"
hp_setup_live storm "${devs[@]}"
nss=$CFS/subsystems/$HP_NQN/namespaces
shp=$(hp_subsys_hp_dir "$HP_NQN")
echo 1 >"$nss/7/hotplug/keep_identity" || ktap_exit_fail_msg "keep_identity"
echo 1 >"$nss/8/hotplug/backend_watch" || ktap_exit_fail_msg "backend_watch"

# wr FILE VALUE NAME: one write, without a process (a fork costs tens of
# milliseconds here, and the storm is bound by the CPU); a failure's error
# text goes to $work/NAME.err, the file and value to $work/NAME.what.  The
# batcher and the swapper count their writes in $work/NAME.n.
wr() {
	{ echo "$2" >"$1"; } 2>>"$work/$3.err" && return 0
	echo "$1 <- $2" >>"$work/$3.what"
	return 1
}
toggler() {
	local i
	for i in $(seq 1 "$TOGGLES"); do
		wr "$nss/$((RANDOM % 4 + 1))/enable" $((RANDOM % 2)) "$1"
	done
}
batcher() {
	local n=0
	while [ ! -e "$work/stop" ]; do
		wr "$shp/detach" 3-6 batch
		wr "$shp/attach" 3-6 batch
		n=$((n + 2))
	done
	echo $n >"$work/batch.n"
}
swapper() {
	local n=0 d
	while [ ! -e "$work/stop" ]; do
		for d in "$swap_b" "${devs[7]}"; do
			wr "$nss/7/hotplug/swap" "$d" swap
			n=$((n + 1))
		done
	done
	echo $n >"$work/swap.n"
}

t0=$SECONDS
toggler a &
pa=$!
toggler b &
pb=$!
batcher &
pc=$!
swapper &
pd=$!
HP_BG_PIDS+=("$pa" "$pb" "$pc" "$pd")
# The backend of nsid 8 goes away in the middle of it.
hp_wait "the storm under way" eval '[ $((SECONDS - t0)) -ge 10 ]'
echo 0 >"$NULLB_CFS/hpst8/power"
storm_done() { ! hp_running "$pa" && ! hp_running "$pb"; }
hp_check "both togglers finish their $TOGGLES writes each" \
	hp_wait "togglers done" storm_done
touch "$work/stop"
hp_check "the batches and the swaps stop" \
	hp_wait "batcher and swapper done" eval "! hp_running $pc && ! hp_running $pd"
hp_log "storm of $((SECONDS - t0)) s: $(cat "$work/batch.n") batches, $(cat "$work/swap.n") swaps"
# Every write succeeded or was refused with EBUSY.
bad=$(cat "$work"/*.err 2>/dev/null | grep -v "Device or resource busy")
[ -n "$bad" ] && hp_log "writes that failed: $(cat "$work"/*.what | sort | uniq -c | sort -rn | head -n 5 | paste -s -d ';')"
busy=$(cat "$work"/*.err 2>/dev/null | grep -c "Device or resource busy")
hp_log "writes refused with EBUSY: $busy"
[ -n "$bad" ] && echo "$bad" | head -n 20 | sed 's/^/#   /'
hp_check "every write returned 0 or EBUSY" [ -z "$bad" ]
hp_check "nsid 8 is backend-lost and the host dropped it" \
	eval 'hp_wait "backend-lost" eval "[ \"\$(hp_state \"\$HP_NQN\" 8)\" = backend-lost ]" &&
	      hp_wait "nsid 8 gone" hp_ns_gone_all "$HP_NQN" 8'
hp_check "nsid 7 is live on one of its two devices" \
	eval '[ "$(hp_state "$HP_NQN" 7)" = live ] &&
	      { [ "$(cat "$nss/7/device_path")" = "$swap_b" ] ||
		[ "$(cat "$nss/7/device_path")" = "${devs[7]}" ]; }'
# Once quiet, the host's view follows the target's state on every NSID.
agree() {
	local i
	for i in $(seq 1 7); do
		if [ "$(cat "$nss/$i/enable")" = 1 ]; then
			[ "$(hp_state "$HP_NQN" "$i")" = live ] &&
				hp_ns_visible_all "$HP_NQN" "$i" 2 || return 1
		else
			[ "$(hp_state "$HP_NQN" "$i")" = detached ] &&
				hp_ns_gone_all "$HP_NQN" "$i" || return 1
		fi
	done
}
hp_check "once quiet, the target's state and both host controllers agree on nsids 1-7" \
	hp_wait "the host's view settles" agree
for i in $(seq 1 8); do
	hp_log "nsid $i: enable $(cat "$nss/$i/enable"), $(hp_state "$HP_NQN" "$i"), on $(hp_ctrls "$HP_NQN" | while read -r c; do hp_ctrl_has_ns "$c" "$i" && echo -n "$c "; done)"
done
# And the lifecycle still works after it: single hot-removes and then
# single hot-adds of 1-4 reach both controllers.
ok=1
for i in 1 2 3 4; do
	echo 0 >"$nss/$i/enable" || ok=0
	hp_wait "nsid $i gone" hp_ns_gone_all "$HP_NQN" "$i" || ok=0
done
for i in 1 2 3 4; do
	echo 1 >"$nss/$i/enable" || ok=0
done
hp_check "after the storm, single hot-removes and hot-adds of nsids 1-4 reach both host controllers" \
	eval '[ $ok = 1 ] && hp_wait "1-4 on the host" agree'
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
