#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# The PCIe path without endpoint hardware: nvmet-pci-epf on the loopback PCI
# endpoint controller (pci-epc-loopback), whose host side is a software PCI
# bus in this same kernel, so that the stock nvme PCI driver sees the
# target as a PCIe NVMe controller.  Bring-up as nvme-cli shows it, I/O
# with verify, INTx counted, hot-add and hot-remove under load seen by the
# nvme driver by itself, then teardown in every order the EPC core allows.
. "$(dirname "$0")/lib.sh"

SERIAL=hpPCIe0001
MODEL=nvmet-hotplug-pcie
EPC=$HP_EPC
FN=$HP_EPF

cleanup() {
	set +e
	hp_pcie_teardown "$HP_NQN"
	hp_cleanup
	rmmod nvmet_pci_epf 2>/dev/null
	rm -rf "$work"
}

hp_require_root
work=$(mktemp -d)
trap cleanup EXIT
ktap_print_header

b=${NVMET_HP_BUILD:?NVMET_HP_BUILD not set}
HP_NQN=$NQN_PREFIX:pcie
if ! hp_pcie_available; then
	ktap_skip_all "no ivshmem device aliases the VM's RAM (VM_ALIAS_WINDOWS=0?)"
	exit "$KSFT_SKIP"
fi
ktap_set_plan 20

hp_start || ktap_exit_fail_msg "cannot load modules"
hp_dmesg_mark start
hp_pcie_load || ktap_exit_fail_msg "nvmet-pci-epf, pci-epc-loopback"
# refused MSG: rmmod pci-epc-loopback fails and changes nothing
refused() {
	if rmmod pci_epc_loopback 2>"$work/rmmod.err"; then
		hp_log "rmmod pci-epc-loopback went through ($1)"
		return 1
	fi
	hp_log "rmmod pci-epc-loopback ($1): $(cat "$work/rmmod.err")"
	[ -d /sys/module/pci_epc_loopback ] && [ -d "$EPC_CFS/controllers/$EPC" ]
}
hp_check "rmmod pci-epc-loopback, no function linked yet: refused" \
	refused "no function yet"

EPC_DEV=/sys/devices/platform/$HP_EPC
pcie_ctrl() { hp_pcie_ctrl "$HP_NQN" && PCTRL=$HP_PCTRL; }
pcie_gone() { hp_pcie_gone "$HP_NQN"; }
pcie_live() { hp_pcie_live "$HP_NQN" && PCTRL=$HP_PCTRL; }
# intx: interrupts the host's function took, over all CPUs
intx() {
	local irq
	irq=$(cat "/sys/class/nvme/$PCTRL/device/irq") || return 1
	awk -v i="$irq:" '$1 == i { n = 0; for (f = 2; f <= NF && $f ~ /^[0-9]+$/; f++) n += $f; print n }' /proc/interrupts
}
pcie_start() { hp_pcie_start "$HP_NQN" && PCTRL=$HP_PCTRL; }
# fio_verify BS DEV SIZE
fio_verify() {
	fio --name="$1" --filename="$2" --rw=randrw --bs="$1" --size="$3" \
		--direct=1 --ioengine=libaio --iodepth=16 --verify=crc32c \
		--do_verify=1 --verify_fatal=1 --output-format=json \
		--output="$work/$1.json" 2>"$work/$1.err" &&
		[ "$(hp_fio_json "$work/$1.json" '.error')" = 0 ]
}

# The target: one subsystem on a PCI port, nsid 1 on memory-backed null_blk.
nullb=$(hp_nullb_create hppcie1 64) || ktap_exit_fail_msg "null_blk"
hp_subsys_create pcie >/dev/null || ktap_exit_fail_msg "subsystem"
S=$CFS/subsystems/$HP_NQN
echo "$SERIAL" >"$S/attr_serial"
echo -n "$MODEL" >"$S/attr_model"
hp_ns_create "$HP_NQN" 1 "$nullb" || ktap_exit_fail_msg "nsid 1"
hp_pcie_setup "$HP_NQN" 9 || ktap_exit_fail_msg "endpoint function on $EPC"

# Bring-up.
pcie_start || ktap_exit_fail_msg "no PCIe controller on the host"
list=$(nvme list -v 2>&1)
hp_log "host controller $PCTRL at $(basename "$(readlink -f /sys/class/nvme/$PCTRL/device)")"
hp_check "nvme list shows a pcie controller with the subsystem NQN, serial and model" \
	eval 'grep -q "$HP_NQN" <<<"$list" && grep -Eq "$PCTRL +$SERIAL +$MODEL.* pcie " <<<"$list"'
idc=$(nvme id-ctrl "/dev/$PCTRL" -o json)
hp_log "id-ctrl: $(jq -c '{vid, sn, mn, subnqn}' <<<"$idc")"
hp_check "nvme id-ctrl matches the target's configuration" \
	eval '[ "$(jq -r ".sn | sub(\" +\$\"; \"\")" <<<"$idc")" = "$SERIAL" ] &&
	      [ "$(jq -r ".mn | sub(\" +\$\"; \"\")" <<<"$idc")" = "$MODEL" ] &&
	      [ "$(jq -r .subnqn <<<"$idc")" = "$HP_NQN" ] &&
	      [ "$(jq -r .vid <<<"$idc")" = $((0x1b96)) ]'
hp_check "nsid 1 is a block device on the host" \
	hp_wait "nsid 1 on the PCIe controller" hp_ns_visible_all "$HP_NQN" 1 1

# I/O with verify; INTx counted.
dev=$(hp_disk "$HP_NQN" 1)
irq0=$(intx)
dma0=$(cat "$EPC_DEV/dma_bytes")
# 8 MiB at 4 KiB (about 250 IOPS here: half a minute), 32 MiB at 128 KiB
hp_check "fio 4 KiB randrw with verify: no error" fio_verify 4k "$dev" 8M
hp_check "fio 128 KiB randrw with verify: no error" fio_verify 128k "$dev" 32M
irq1=$(intx)
dma1=$(cat "$EPC_DEV/dma_bytes")
hp_log "INTx $irq0 -> $irq1, DMA bytes $dma0 -> $dma1"
# The jobs write and read back 40 MiB in all; all of it is copied by the
# controller's DMA channels, none through windows.
hp_check "the function moves the data with the controller's DMA channels" \
	eval '[ $((dma1 - dma0)) -ge $((40 << 20)) ] &&
	      ! hp_dmesg_since_mark | grep -q "falling back to MMIO"'
# For the record only: how fast the PCIe path is belongs to make bench,
# not to a test (a second fio pass over nvme-loop as a reference took a
# minute and a half of the suite).
perf() {
	local bs
	for bs in 4k 128k; do
		hp_log "$1 $bs randrw QD16: $(hp_fio_json "$work/$bs.json" '.read.iops + .write.iops' | cut -d. -f1) IOPS, $(hp_fio_json "$work/$bs.json" '.read.bw + .write.bw') KiB/s"
	done
}
perf pcie
hp_check "the function's INTx is counted in /proc/interrupts" \
	[ "${irq1:-0}" -gt "${irq0:-0}" ]

# Hot-add: the nvme driver gets the AEN and adds the disk by itself.
nullb2=$(hp_nullb_create hppcie2 64) || ktap_exit_fail_msg "null_blk"
hp_trace_aen_start || ktap_exit_fail_msg "trace events"
hp_ns_create "$HP_NQN" 2 "$nullb2"
hp_check "hot-add: nsid 2 appears on the PCIe host by itself" \
	hp_wait "nsid 2 on the PCIe controller" hp_ns_visible_all "$HP_NQN" 2 1
hp_check "hot-add: the PCIe host got the Namespace Attribute Changed AEN" \
	hp_wait "AEN" eval "grep -q '$PCTRL: NVME_AEN=0x040002' $TRACEFS/trace"

# Hot-remove under a 16-job 1 MiB write load (writes take 300 ms in the
# backend, so that some are in flight), then the same backend re-added.
slow=$(hp_dm_delay hppcieslow "$nullb2" 0 300) || ktap_exit_fail_msg "dm-delay"
ns2=$(hp_ns_dir "$HP_NQN" 2)
# The bound is not what this tests (hotplug_quiesce_timeout.sh does): on a
# loaded machine the 10 s default did not cover the drain of the 1 MiB
# writes over this slow path.
echo 60000 >"$ns2/hotplug/quiesce_timeout_ms"
echo 0 >"$ns2/enable"
hp_wait "nsid 2 gone" hp_ns_gone_all "$HP_NQN" 2
echo "$slow" >"$ns2/device_path" && echo 1 >"$ns2/enable"
hp_wait "nsid 2 back" hp_ns_visible_all "$HP_NQN" 2 1 || ktap_exit_fail_msg "nsid 2 back"
host=$(hp_disk "$HP_NQN" 2)
fio_args=(--rw=write --bs=1M --numjobs=16 --size=3M --offset_increment=3M
	  --direct=1 --ioengine=libaio --iodepth=1 --verify=crc32c
	  --verify_state_save=1 --output-format=json)
echo >"$TRACEFS/trace"
hp_fio_write "$work" "$host" "${fio_args[@]}"
fio_pid=$HP_FIO_PID
hp_wait "I/O in flight on nsid 2" eval "[ \$(cat $ns2/hotplug/inflight) -gt 0 ]"
hp_log "removing nsid 2 with $(cat "$ns2/hotplug/inflight") commands in flight"
echo 0 >"$ns2/enable"
hp_check "hot-remove under load: the configfs write returned success" [ $? -eq 0 ]
hp_check "hot-remove: the nvme driver removed nsid 2 by itself" \
	hp_wait "nsid 2 gone" hp_ns_gone_all "$HP_NQN" 2
hp_check "hot-remove: the PCIe host got the Namespace Attribute Changed AEN" \
	eval "grep -q '$PCTRL: NVME_AEN=0x040002' $TRACEFS/trace"
hp_trace_aen_stop
hp_wait "fio exit" eval "! hp_running $fio_pid"
echo 1 >"$ns2/enable"
hp_wait "nsid 2 back" hp_ns_visible_all "$HP_NQN" 2 1
host=$(hp_disk "$HP_NQN" 2)
hp_check "hot-remove: every write completed before the removal reads back intact" \
	hp_verify_written "$work" "$host" "${fio_args[@]}"

# Teardown.  An orderly removal on the host side first (the nvme driver
# shuts the controller down through the function), then stop.
bdf=$(basename "$(readlink -f "/sys/class/nvme/$PCTRL/device")")
echo 1 >"/sys/bus/pci/devices/$bdf/remove"
hp_check "orderly: the host removes the function, the endpoint saw the shutdown" \
	eval 'hp_wait "PCIe controller gone" pcie_gone &&
	      hp_dmesg_has "nvmet_pci_epf.*(Disabling|shutdown|Shutting)"'
echo 0 >"$EPC_CFS/controllers/$EPC/start"
# Stop with the host live (the link drops under it: a surprise removal).
pcie_start || ktap_exit_fail_msg "restart after stop"
hp_wait "nsid 1 after the restart" hp_ns_visible_all "$HP_NQN" 1 1 ||
	ktap_exit_fail_msg "nsid 1 after the restart"
dev=$(hp_disk "$HP_NQN" 1)
fio --name=bg --filename="$dev" --rw=randread --bs=4k --direct=1 \
	--ioengine=libaio --iodepth=8 --time_based --runtime=600 \
	--output=/dev/null >/dev/null 2>&1 &
bg=$!
HP_BG_PIDS+=("$bg")
reads() { awk '{ print $1 }' "/sys/block/${dev##*/}/stat"; }
r0=$(reads)
hp_wait "fio reading" eval '[ "$(reads)" -gt $((r0 + 100)) ]'
echo 0 >"$EPC_CFS/controllers/$EPC/start"
hp_check "stop with the host live: its controller goes away, fio gets errors and exits" \
	eval 'hp_wait "PCIe controller gone" pcie_gone && hp_bg_failed "$bg"'
# rmmod of pci-epc-loopback in every state of the link (no function yet
# is checked at the start): its EPC, which exists from load on, pins it
# (the EPC core's configfs group holds the module), so that no function's
# epf->epc can outlive the EPC.
hp_check "rmmod pci-epc-loopback, function linked and stopped: refused" \
	refused "linked, stopped"
pcie_start || ktap_exit_fail_msg "start after stop"
hp_wait "nsid 1 after the restart" hp_ns_visible_all "$HP_NQN" 1 1 ||
	ktap_exit_fail_msg "nsid 1 after the restart"
dev=$(hp_disk "$HP_NQN" 1)
refused "started, host live"
rc=$?
rmmod nvmet_pci_epf 2>"$work/rmmod.err"
rc2=$?
hp_log "rmmod nvmet-pci-epf with its function linked: $(cat "$work/rmmod.err")"
hp_check "rmmod of either module while started is refused and changes nothing" \
	eval '[ $rc -eq 0 ] && [ $rc2 -ne 0 ] && pcie_live && [ -b "$dev" ]'
# Unlinking a started controller is a misuse the EPC core warns about
# (pci-ep-cfs.c: WARN_ON_ONCE(epc_group->start)): stop first.
echo 0 >"$EPC_CFS/controllers/$EPC/start"
hp_wait "PCIe controller gone" pcie_gone
unlink "$EPC_CFS/controllers/$EPC/hppcie"
rmdir "$FN"
# the enabled pci port holds the transport module too
rm "$CFS/ports/9/subsystems/$HP_NQN"
hp_check "stop, unlink: nvmet-pci-epf unloads, pci-epc-loopback stays" \
	eval 'rmmod nvmet_pci_epf && refused "no function linked any more"'
hp_check "dmesg clean" hp_dmesg_clean
ktap_finished
