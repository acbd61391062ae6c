#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# Bounded quiesce with I/O held by the backend (dm-delay): on_timeout=fail
# gives up within the bound with -ETIMEDOUT and the namespace keeps serving
# I/O, and the held writes then complete with their data on the backend;
# on_timeout=wait finishes when the I/O drains, a fatal signal ends it,
# and meanwhile configfs writes to another namespace of the same
# subsystem (the host following) and to another subsystem go through at
# once.  A host that scans while
# a quiesce is in progress keeps the namespace: it stays in the Active
# Namespace ID list, and Identify describes it, until it is really
# detached.
. "$(dirname "$0")/lib.sh"

DELAY_MS=8000
BOUND_MS=1000
hp_require_root
work=$(mktemp -d)
cleanup() {
	rm -rf "$work"
	hp_trace_aen_stop 2>/dev/null
	hp_cleanup
	dmsetup --noudevsync remove hpslow 2>/dev/null
	hp_cleanup
}
trap cleanup EXIT
ktap_print_header
ktap_set_plan 19

hp_start || ktap_exit_fail_msg "cannot load modules"
modprobe dm-delay || ktap_exit_fail_msg "no dm-delay"
hp_dmesg_mark start

now_ms() { echo $(($(date +%s%N) / 1000000)); }
set_delay() { hp_dm_set_delay hpslow "$nullb" "$1"; }
inflight() { cat "$ns/hotplug/inflight"; }

nullb=$(hp_nullb_create hpslowb 16) || ktap_exit_fail_msg "null_blk"
other=$(hp_nullb_create hpother 16) || ktap_exit_fail_msg "null_blk"
same=$(hp_nullb_create hpsame 16) || ktap_exit_fail_msg "null_blk"
slow=$(hp_dm_delay hpslow "$nullb" 0 0) || ktap_exit_fail_msg "dm-delay"
hp_setup_live slow "$slow" "$same"
other_nqn=$(hp_subsys_create other) || ktap_exit_fail_msg "subsystem 2"
hp_ns_create "$other_nqn" 1 "$other" || ktap_exit_fail_msg "other nsid 1"
host=$(hp_disk "$HP_NQN" 1)
ns=$(hp_ns_dir "$HP_NQN" 1)
# I/O is held up to 55 s below: the host's own 30 s command timeout (on
# its per-path request queues) would abort it and reset the controllers.
for q in /sys/block/nvme*c*n*/queue/io_timeout; do
	[ -w "$q" ] && echo 120000 >"$q"
done
onsd=$(hp_ns_dir "$other_nqn" 1)
ns2=$(hp_ns_dir "$HP_NQN" 2)

# start_held [write]: four direct reads (or writes of new random blocks)
# that the backend holds for its delay; waits until the target counts
# them in flight.
for i in 1 2 3 4; do
	head -c 4096 /dev/urandom >"$work/pat$i"
done
HELD=()
start_held() {
	local i
	HELD=()
	for i in 1 2 3 4; do
		if [ "${1:-}" = write ]; then
			dd if="$work/pat$i" of="$host" bs=4k count=1 \
				seek=$((i * 64)) oflag=direct status=none &
		else
			dd if="$host" of=/dev/null bs=4k count=1 \
				skip=$((i * 64)) iflag=direct status=none &
		fi
		HELD+=($!)
		HP_BG_PIDS+=($!)
	done
	hp_wait "I/O held in the backend" eval '[ "$(inflight)" -gt 0 ]'
}
# held_done_intact: every held write of the last start_held completed
# successfully and its block is on the backend (read from the null_blk
# device below dm-delay).  Then new random blocks for the next writes.
held_done_intact() {
	local i rc ok=1
	for i in 1 2 3 4; do
		hp_wait "held write $i done" eval "! hp_running ${HELD[i - 1]}" || return 1
		wait "${HELD[i - 1]}"
		rc=$?
		[ $rc = 0 ] || { hp_log "held write $i exited $rc"; ok=0; }
		dd if="$nullb" bs=4k count=1 skip=$((i * 64)) iflag=direct status=none |
			cmp -s - "$work/pat$i" || { hp_log "block $i is not on the backend as written"; ok=0; }
		head -c 4096 /dev/urandom >"$work/pat$i"
	done
	[ $ok = 1 ]
}

set_delay $DELAY_MS || ktap_exit_fail_msg "dm-delay reload"

# on_timeout=fail
echo $BOUND_MS >"$ns/hotplug/quiesce_timeout_ms"
echo fail >"$ns/hotplug/on_timeout"
start_held write || ktap_exit_fail_msg "no I/O in flight"
hp_log "in flight before the detach: $(inflight)"
hp_timed_write "$ns/enable" 0
rc=$HP_RC
err=$HP_ERR
hp_log "fail policy: write returned after $HP_MS ms: ${err:-success}"
hp_log "state: $(tr '\n' ' ' <"$ns/hotplug/state")"
hp_log "stats: $(tr '\n' ' ' <"$ns/hotplug/stats")"
[ $rc -ne 0 ] || hp_dmesg_since_mark | tail -n 80 | sed 's/^/#   /'
hp_check "fail: the write fails with ETIMEDOUT" \
	eval '[ $rc -ne 0 ] && echo "$err" | grep -q "timed out"'
hp_check "fail: it gives up at the bound, not before, and returns within it (+2 s for the slow VM)" \
	eval '[ $HP_MS -ge $((BOUND_MS - 10)) ] && [ $HP_MS -lt $((BOUND_MS + 2000)) ]'
hp_check "fail: the namespace stays live and says why" \
	eval '[ "$(hp_state "$HP_NQN" 1)" = live ] && grep -q "reason: detach timed out" "$ns/hotplug/state"'
hp_check "fail: the timeout is counted" [ "$(hp_stat "$HP_NQN" 1 timeouts)" -eq 1 ]
hp_check "fail: the held writes complete successfully after the give-up and read back" \
	held_done_intact

# on_timeout=fail again, a longer bound, and every host controller
# rescans (Identify, Active Namespace ID list) while the quiesce waits.
# The host must keep the very block device it had (same sysfs node: not
# dropped and added again).
# The bound leaves the rescans time on a loaded machine: they and the
# Identify commands below start about ten processes (0.3-2 s each in the
# guest), 14-16 s in all, and a CI run with the host busy took more than
# 20 s.  45 s, I/O held for 55 s.
ino=$(stat -Lc %i "/sys/block/${host#/dev/}")
scan_rc=$(mktemp)
set_delay 55000
echo 45000 >"$ns/hotplug/quiesce_timeout_ms"
start_held || ktap_exit_fail_msg "no I/O in flight"
hp_trace_aen_start || ktap_exit_fail_msg "trace events"
(echo 0 >"$ns/enable"; echo $? >"$scan_rc") 2>/dev/null &
q=$!
hp_wait "quiescing" eval '[ "$(hp_state "$HP_NQN" 1)" = quiescing ]'
echo >"$TRACEFS/trace"
for c in $(hp_ctrls "$HP_NQN"); do
	nvme ns-rescan "/dev/$c"
done
# nvmet_req_init: nvmet<cntlid>: qid=0, ... cmd=(nvme_admin_identify, cns=2, ...)
active_list_reads() {
	awk 'match($0, /nvmet[0-9]*: qid=0,.*nvme_admin_identify, cns=2,/) {
		c = substr($0, RSTART, RLENGTH)
		sub(/:.*/, "", c)
		if (!(c in seen)) { seen[c]; n++ }
	}
	END { print n + 0 }' "$TRACEFS/trace"
}
hp_wait "the Active Namespace ID list read by every controller" \
	eval '[ "$(active_list_reads)" -ge 2 ]' ||
	hp_log "controllers that read the Active Namespace ID list: $(active_list_reads)"
# Identify of the listed namespace as other hosts and tools issue it
# (CNS 00 and 03): described, not "not allocated" (NCAP 0) nor an error.
ident_ok=1
for c in $(hp_ctrls "$HP_NQN"); do
	ncap=$(nvme id-ns "/dev/$c" -n 1 -o json 2>/dev/null | jq -r .ncap)
	nvme ns-descs "/dev/$c" -n 1 >/dev/null 2>&1
	descs=$?
	hp_log "$c during the quiesce: Identify NS NCAP ${ncap:-none}, descriptor list exit $descs"
	[ "${ncap:-0}" -gt 0 ] 2>/dev/null && [ $descs = 0 ] || ident_ok=0
done
scanned=$(hp_state "$HP_NQN" 1)
hp_check "fail: Identify during the quiesce describes the namespace" \
	eval '[ $ident_ok = 1 ] && [ "$scanned" = quiescing ]'
hp_wait "the quiesce gives up" eval "! hp_running $q"
hp_log "state when every controller had scanned: $scanned; the write returned $(cat "$scan_rc")"
# A controller whose Identify got the path error meanwhile (the Linux host
# asks for the Namespace Identification Descriptor list first and then
# leaves the namespace alone; one that connected during the quiesce never
# adds it) must look again: the give-up queues the AEN.
hp_check "fail: giving up tells every controller (Namespace Attribute Changed AEN)" \
	hp_wait "an AEN after the give-up on every controller" \
		hp_ctrls_got_aen "$HP_NQN" 0x040002
hp_trace_aen_stop
hp_check "fail: the hosts rescanned while the quiesce was waiting, and it timed out" \
	eval '[ "$scanned" = quiescing ] && [ "$(cat "$scan_rc")" != 0 ] &&
	      [ "$(hp_state "$HP_NQN" 1)" = live ]'
hp_check "fail: after a rescan during the quiesce the hosts keep their block device" \
	eval 'hp_ns_visible_all "$HP_NQN" 1 2 && [ "$(hp_disk "$HP_NQN" 1)" = "$host" ] &&
	      [ "$(stat -Lc %i "/sys/block/${host#/dev/}")" = "$ino" ]'
rm -f "$scan_rc"
echo $BOUND_MS >"$ns/hotplug/quiesce_timeout_ms"
set_delay 0
hp_check "fail: the namespace keeps serving I/O" \
	timeout 120 dd if="$host" of=/dev/null bs=4k count=1 iflag=direct status=none
hp_check "fail: the host still has nsid 1 on both controllers" \
	hp_ns_visible_all "$HP_NQN" 1 2

# on_timeout=wait: a fatal signal ends the wait (the quiesce is given up,
# the namespace stays live and its held writes complete).
echo wait >"$ns/hotplug/on_timeout"
set_delay $DELAY_MS
start_held write
(echo 0 >"$ns/enable") 2>/dev/null &
killed=$!
hp_wait "quiescing" eval '[ "$(hp_state "$HP_NQN" 1)" = quiescing ]'
kill -KILL $killed
hp_check "wait: a fatal signal ends the wait, the namespace stays live, its held writes complete" \
	eval 'hp_wait "the killed write ends" eval "! hp_running $killed" &&
	      hp_wait "live again" eval "[ \"\$(hp_state \"\$HP_NQN\" 1)\" = live ]" &&
	      held_done_intact && hp_ns_visible_all "$HP_NQN" 1 2'
hp_log "state after the kill: $(tr '\n' ' ' <"$ns/hotplug/state")"

# Held 30 s (until set_delay 0 flushes them): the host's rescans of nsid 2
# below take seconds on a loaded machine.
set_delay 30000
start_held
(echo 0 >"$ns/enable"; echo $? >/tmp/hp_wait_rc) &
waiter=$!
hp_wait "quiescing" eval '[ "$(hp_state "$HP_NQN" 1)" = quiescing ]'
# Another namespace of the same subsystem: hot-removed and hot-added
# meanwhile, and the connected host follows both.
hp_timed_write "$ns2/enable" 0
rc2=$HP_RC
ms2=$HP_MS
hp_wait "nsid 2 gone" hp_ns_gone_all "$HP_NQN" 2
gone2=$?
hp_timed_write "$ns2/enable" 1
rc2=$((rc2 + HP_RC))
ms2="$ms2 ms and $HP_MS ms"
hp_wait "nsid 2 back" hp_ns_visible_all "$HP_NQN" 2 2
back2=$?
hp_log "wait policy: nsid 2 of the same subsystem disabled and enabled in $ms2"
hp_check "wait: another namespace of the same subsystem is hot-removed and hot-added meanwhile, the host follows" \
	eval '[ $rc2 = 0 ] && [ $gone2 = 0 ] && [ $back2 = 0 ] && hp_running $waiter &&
	      [ "$(hp_state "$HP_NQN" 1)" = quiescing ]'
t0=$(now_ms)
echo 0 >"$onsd/enable" && echo 1 >"$onsd/enable"
rc=$?
t1=$(now_ms)
hp_log "wait policy: other subsystem disable+enable took $((t1 - t0)) ms"
hp_check "wait: another subsystem is configurable meanwhile" \
	eval '[ $rc -eq 0 ] && hp_running $waiter'
hp_check "wait: changing the bound of a quiesce in progress is refused" \
	eval '! (echo 5000 >"$ns/hotplug/quiesce_timeout_ms") 2>/dev/null &&
	      [ "$(cat "$ns/hotplug/quiesce_timeout_ms")" = $BOUND_MS ]'
set_delay 0
hp_check "wait: the detach finishes once the I/O drains" \
	hp_wait "detach done" eval "! hp_running $waiter"
hp_check "wait: the write succeeded and the namespace is detached" \
	eval '[ "$(cat /tmp/hp_wait_rc)" = 0 ] && [ "$(hp_state "$HP_NQN" 1)" = detached ]'
hp_check "wait: the host removed nsid 1" \
	hp_wait "nsid 1 gone" hp_ns_gone_all "$HP_NQN" 1
hp_check "dmesg clean" hp_dmesg_clean
rm -f /tmp/hp_wait_rc
ktap_finished
