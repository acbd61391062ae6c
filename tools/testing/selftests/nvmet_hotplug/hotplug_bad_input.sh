#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bad input on every hotplug file and on enable: a clear error, a pr_err
# that says why, and no change of state.
. "$(dirname "$0")/lib.sh"

hp_require_root
trap hp_cleanup EXIT
ktap_print_header
ktap_set_plan 23

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start

dev=$(hp_nullb_create hpbad 16) || ktap_exit_fail_msg "null_blk"
HP_NQN=$(hp_subsys_create bad) || ktap_exit_fail_msg "subsystem"
hp_ns_create "$HP_NQN" 1 "$dev" || ktap_exit_fail_msg "nsid 1"
hp_ns_create "$HP_NQN" 2 /dev/nvmet-hotplug-no-such-device 0 ||
	ktap_exit_fail_msg "nsid 2"
ns=$(hp_ns_dir "$HP_NQN" 1)
hp=$ns/hotplug

snapshot() { cat "$hp/state" "$hp/quiesce_timeout_ms" "$hp/on_timeout" "$hp/stats"; }

# expect_reject FILE VALUE ERRNO-TEXT DMESG-REGEX
expect_reject() { hp_reject snapshot "$@"; }

for v in abc 0 -1 3600001 99999999999 "1 2" ""; do
	hp_check "quiesce_timeout_ms rejects '$v'" \
		expect_reject "$hp/quiesce_timeout_ms" "$v" "Invalid argument" \
		"quiesce_timeout_ms must be"
done
for v in maybe failx 1 ""; do
	hp_check "on_timeout rejects '$v'" \
		expect_reject "$hp/on_timeout" "$v" "Invalid argument" \
		"on_timeout must be"
done
for f in backend_watch auto_reattach keep_identity; do
	hp_check "$f rejects 'maybe'" \
		expect_reject "$hp/$f" maybe "Invalid argument" "$f must be 0 or 1"
done
hp_check "swap is write-only" eval '! cat "$hp/swap" 2>/dev/null'
hp_log_mark
hp_check "swap on a detached namespace is refused" \
	eval 'hp_write_fails "$(hp_ns_dir "$HP_NQN" 2)/hotplug/swap" "$dev" "Device or resource busy" &&
	      hp_logged_since_mark "swap needs a live namespace"'
for f in state inflight stats; do
	hp_check "$f is read-only" \
		eval "! (echo 1 >'$hp/$f') 2>/dev/null && [ \"\$(head -n1 '$hp/state')\" = live ]"
done
hp_check "enable rejects garbage" \
	expect_reject "$ns/enable" maybe "Invalid argument" ""
hp_check "enabling a namespace whose device is missing fails, state says why" \
	eval '! (echo 1 >"$(hp_ns_dir "$HP_NQN" 2)/enable") 2>/dev/null &&
	      [ "$(hp_state "$HP_NQN" 2)" = failed ] &&
	      grep -q "reason: attach of /dev/nvmet-hotplug-no-such-device failed" \
		"$(hp_ns_dir "$HP_NQN" 2)/hotplug/state"'
hp_check "valid values are taken" \
	eval 'echo 2500 >"$hp/quiesce_timeout_ms" && echo wait >"$hp/on_timeout" &&
	      [ "$(cat "$hp/quiesce_timeout_ms")" = 2500 ] &&
	      [ "$(cat "$hp/on_timeout")" = wait ]'
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
