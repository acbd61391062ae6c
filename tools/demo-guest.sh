#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The demo scenario, run inside the VM by make demo: a subsystem with
# four namespaces on a loop and a tcp port, the host connected through
# both, then a hot-remove and a hot-add of nsid 2 under a 16-job 1 MiB
# fio write load, with what the host saw and how long it took.  With
# DEMO_PCIE=1 (make demo PCIE=1) the host is the stock nvme PCI driver
# instead, on the PCIe path of nvmet-pci-epf and pci-epc-loopback.
set -u
HP_TRACE=0
. "$(dirname "$0")/testing/selftests/nvmet_hotplug/lib.sh"
pcie=${DEMO_PCIE:-0}
cleanup() {
	if [ "$pcie" = 1 ]; then
		hp_pcie_teardown "$HP_NQN"
		hp_cleanup
		rmmod nvmet_pci_epf	# pci-epc-loopback stays: its EPC pins it
	else
		hp_cleanup
	fi
}
trap cleanup EXIT

ms() { local t=${EPOCHREALTIME/./}; echo $((t / 1000)); }
say() { printf '\n== %s\n' "$*"; }
host_view() {
	nvme list -v 2>/dev/null | sed -n '/^Subsystem/,$p' | head -n 20
	echo "block devices: $(cd /sys/block && ls -d nvme*n* 2>/dev/null | grep -v c | tr '\n' ' ')"
}

hp_load_modules || exit 1
if [ "$pcie" = 1 ]; then
	hp_pcie_available || { echo "no RAM alias for the PCIe path (VM_ALIAS_WINDOWS=0?)"; exit 1; }
	hp_pcie_load || exit 1
	say "target: 4 null_blk namespaces on a PCI port of nvmet-pci-epf, on pci-epc-loopback"
	HP_NQN=$(hp_subsys_create demo) || exit 1
	paths=1
	how="the PCIe controller"
else
	say "target: 4 null_blk namespaces, loop port and tcp port $TCP_ADDR:$TCP_PORT"
	hp_setup_two_ctrls demo || exit 1
	paths=2
	how="both controllers"
fi
# nsid 2's writes take 100 ms in the backend (dm-delay), as on a busy
# disk, so that the hot-remove has I/O in flight to drain
for i in 1 2 3 4; do
	dev=$(hp_nullb_create hpdemo$i 64)
	[ $i = 2 ] && dev=$(hp_dm_delay hpdemoslow "$dev" 0 100)
	hp_ns_create "$HP_NQN" $i "$dev"
done
if [ "$pcie" = 1 ]; then
	{ hp_pcie_setup "$HP_NQN" 9 && hp_pcie_start "$HP_NQN"; } || exit 1
	echo "host: $HP_PCTRL at PCI $(basename "$(readlink -f "/sys/class/nvme/$HP_PCTRL/device")"), driver $(basename "$(readlink -f "/sys/class/nvme/$HP_PCTRL/device/driver")")"
else
	hp_connect_both "$HP_NQN" || exit 1
fi
for i in 1 2 3 4; do hp_wait "nsid $i" hp_ns_visible_all "$HP_NQN" $i $paths; done
host_view

ns=$(hp_ns_dir "$HP_NQN" 2)
disk=$(hp_disk "$HP_NQN" 2)
say "fio: 16 jobs of 1 MiB sequential writes on $disk (nsid 2)"
fio --name=load --filename="$disk" --rw=write --bs=1M --numjobs=16 \
	--size=4M --offset_increment=4M --direct=1 --ioengine=libaio \
	--iodepth=2 --time_based --runtime=600 --output=/dev/null 2>/dev/null &
fio_pid=$!
inflight() { hp_rd "$ns/hotplug/inflight" && n=$HP_RD && [ "$n" -gt 0 ]; }
hp_wait "I/O in flight" inflight
echo "target: $n commands in flight on nsid 2 (last look before the removal)"

say "hot-remove: echo 0 > .../namespaces/2/enable"
t0=$(ms)
echo 0 >"$ns/enable"
t1=$(ms)
hp_wait "host drops nsid 2" hp_ns_gone_all "$HP_NQN" 2
t2=$(ms)
echo "configfs write returned after $((t1 - t0)) ms (state: $(hp_state "$HP_NQN" 2))"
echo "host removed the block device through $how $((t2 - t0)) ms after the write"
wait "$fio_pid"
echo "fio ended with exit code $? (its device went away)"
host_view

say "hot-add: echo 1 > .../namespaces/2/enable"
t0=$(ms)
echo 1 >"$ns/enable"
t1=$(ms)
hp_wait "host adds nsid 2" hp_ns_visible_all "$HP_NQN" 2 $paths
t2=$(ms)
echo "configfs write returned after $((t1 - t0)) ms (state: $(hp_state "$HP_NQN" 2))"
echo "host added $(hp_disk "$HP_NQN" 2) through $how $((t2 - t0)) ms after the write"
host_view

say "what the host logged"
dmesg | grep -E 'nvme[0-9]+: (rescanning|new ctrl)|nvmet_hotplug: ' | tail -n 12
say "target stats of nsid 2"
cat "$ns/hotplug/stats"
