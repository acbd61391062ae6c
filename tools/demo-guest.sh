#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demo scenario, run inside the VM by tools/demo.sh: a subsystem with
# four namespaces on a loop and a tcp port, the host connected through
# both, then a hot-remove and a hot-add of nsid 2 under a 16-job 1 MiB
# fio write load, with what the host saw and how long it took.
set -u
. "$(dirname "$0")/testing/selftests/nvmet_hotplug/lib.sh"
trap hp_cleanup EXIT

ms() { echo $(($(date +%s%N) / 1000000)); }
say() { printf '\n== %s\n' "$*"; }
host_view() {
	nvme list -v 2>/dev/null | sed -n '/^Subsystem/,$p' | head -n 20
	echo "block devices: $(cd /sys/block && ls -d nvme*n* 2>/dev/null | grep -v c | tr '\n' ' ')"
}

hp_load_modules || exit 1
say "target: 4 null_blk namespaces, loop port and tcp port $TCP_ADDR:$TCP_PORT"
hp_setup_two_ctrls demo || exit 1
for i in 1 2 3 4; do
	dev=$(hp_nullb_create hpdemo$i 64)
	hp_ns_create "$HP_NQN" $i "$dev"
done
hp_connect_both "$HP_NQN" || exit 1
for i in 1 2 3 4; do hp_wait "nsid $i" hp_ns_visible_all "$HP_NQN" $i 2; done
host_view

ns=$(hp_ns_dir "$HP_NQN" 2)
disk=$(hp_disk "$HP_NQN" 2)
say "fio: 16 jobs of 1 MiB sequential writes on $disk (nsid 2)"
fio --name=load --filename="$disk" --rw=write --bs=1M --numjobs=16 \
	--size=4M --offset_increment=4M --direct=1 --ioengine=libaio \
	--iodepth=2 --time_based --runtime=600 --output=/dev/null 2>/dev/null &
fio_pid=$!
hp_wait "I/O in flight" eval "[ \$(cat $ns/hotplug/inflight) -gt 0 ]"
echo "target: $(cat "$ns/hotplug/inflight") commands in flight on nsid 2"

say "hot-remove: echo 0 > .../namespaces/2/enable"
t0=$(ms)
echo 0 >"$ns/enable"
t1=$(ms)
hp_wait "host drops nsid 2" hp_ns_gone_all "$HP_NQN" 2
t2=$(ms)
echo "configfs write returned after $((t1 - t0)) ms (state: $(hp_state "$HP_NQN" 2))"
echo "host removed the block device through both controllers $((t2 - t0)) ms after the write"
wait "$fio_pid"
echo "fio ended with exit code $? (its device went away)"
host_view

say "hot-add: echo 1 > .../namespaces/2/enable"
t0=$(ms)
echo 1 >"$ns/enable"
t1=$(ms)
hp_wait "host adds nsid 2" hp_ns_visible_all "$HP_NQN" 2 2
t2=$(ms)
echo "configfs write returned after $((t1 - t0)) ms (state: $(hp_state "$HP_NQN" 2))"
echo "host added $(hp_disk "$HP_NQN" 2) through both controllers $((t2 - t0)) ms after the write"
host_view

say "what the host logged"
dmesg | grep -E 'nvme[0-9]+: (rescanning|new ctrl)|nvmet_hotplug' | tail -n 12
say "target stats of nsid 2"
cat "$ns/hotplug/stats"
