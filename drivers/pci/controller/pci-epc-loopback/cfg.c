// SPDX-License-Identifier: GPL-2.0
/*
 * Configuration space emulation: the one function at devfn 0 of the host
 * side, from the header and BARs the endpoint function set.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/pci.h>
#include <linux/spinlock.h>

#include "epc-lb.h"

static u32 epc_lb_bar_mask(const struct epc_lb_bar *b, bool high)
{
	u64 mask = ~(b->size - 1);

	return high ? upper_32_bits(mask) :
		      (lower_32_bits(mask) & PCI_BASE_ADDRESS_MEM_MASK);
}

/* BAR register @reg (0..5): the BAR it belongs to, and which dword */
static struct epc_lb_bar *epc_lb_bar_reg(struct epc_lb *lb, int reg, bool *high)
{
	*high = false;
	if (lb->bar[reg].size)
		return &lb->bar[reg];
	if (reg > 0 && lb->bar[reg - 1].size &&
	    (lb->bar[reg - 1].flags & PCI_BASE_ADDRESS_MEM_TYPE_64)) {
		*high = true;
		return &lb->bar[reg - 1];
	}
	return NULL;
}

static u32 epc_lb_cfg_dword(struct epc_lb *lb, int where)
{
	const struct pci_epf_header *h = &lb->hdr;
	struct epc_lb_bar *b;
	bool high;
	u32 v;

	switch (where) {
	case PCI_VENDOR_ID:
		return h->vendorid | (u32)h->deviceid << 16;
	case PCI_COMMAND:
		return lb->command;
	case PCI_CLASS_REVISION:
		return h->revid | (u32)h->progif_code << 8 |
			(u32)h->subclass_code << 16 |
			(u32)h->baseclass_code << 24;
	case PCI_CACHE_LINE_SIZE:
		return lb->cache_line | (u32)lb->latency << 8 |
			(u32)PCI_HEADER_TYPE_NORMAL << 16;
	case PCI_BASE_ADDRESS_0 ... PCI_BASE_ADDRESS_5:
		b = epc_lb_bar_reg(lb, (where - PCI_BASE_ADDRESS_0) / 4, &high);
		if (!b)
			return 0;
		if (b->probing[high])
			v = epc_lb_bar_mask(b, high);
		else
			v = high ? upper_32_bits(b->addr) :
				   lower_32_bits(b->addr);
		if (!high)
			v |= b->flags & ~PCI_BASE_ADDRESS_MEM_MASK;
		return v;
	case PCI_SUBSYSTEM_VENDOR_ID:
		return h->subsys_vendor_id | (u32)h->subsys_id << 16;
	case PCI_INTERRUPT_LINE:
		return lb->irq_line | (u32)h->interrupt_pin << 8;
	default:
		return 0;
	}
}

static void epc_lb_cfg_write_dword(struct epc_lb *lb, int where, u32 v)
{
	struct epc_lb_bar *b;
	bool high;

	switch (where) {
	case PCI_COMMAND:
		lb->command = v & (PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER |
				   PCI_COMMAND_PARITY | PCI_COMMAND_SERR |
				   PCI_COMMAND_INTX_DISABLE);
		break;
	case PCI_CACHE_LINE_SIZE:
		lb->cache_line = v & 0xff;
		lb->latency = (v >> 8) & 0xff;
		break;
	case PCI_BASE_ADDRESS_0 ... PCI_BASE_ADDRESS_5:
		/*
		 * The BAR's address is where the alias shows the endpoint's
		 * memory and cannot move: an all-ones write starts a size
		 * probe, any other write ends it.
		 */
		b = epc_lb_bar_reg(lb, (where - PCI_BASE_ADDRESS_0) / 4, &high);
		if (b)
			b->probing[high] = (v & epc_lb_bar_mask(b, high)) ==
					   epc_lb_bar_mask(b, high);
		break;
	case PCI_INTERRUPT_LINE:
		lb->irq_line = v & 0xff;
		break;
	}
}

static int epc_lb_cfg_read(struct pci_bus *bus, unsigned int devfn, int where,
			   int size, u32 *val)
{
	struct epc_lb *lb = epc_lb;
	unsigned long flags;
	u32 v;

	raw_spin_lock_irqsave(&lb->cfg_lock, flags);
	if (devfn != 0 || !lb->link_up || !lb->hdr_set) {
		raw_spin_unlock_irqrestore(&lb->cfg_lock, flags);
		PCI_SET_ERROR_RESPONSE(val);
		return PCIBIOS_DEVICE_NOT_FOUND;
	}
	v = epc_lb_cfg_dword(lb, where & ~3);
	raw_spin_unlock_irqrestore(&lb->cfg_lock, flags);

	v >>= 8 * (where & 3);
	if (size < 4)
		v &= (1U << (8 * size)) - 1;
	*val = v;
	return PCIBIOS_SUCCESSFUL;
}

static int epc_lb_cfg_write(struct pci_bus *bus, unsigned int devfn, int where,
			    int size, u32 val)
{
	struct epc_lb *lb = epc_lb;
	int shift = 8 * (where & 3);
	unsigned long flags;
	u32 mask, v;

	raw_spin_lock_irqsave(&lb->cfg_lock, flags);
	if (devfn != 0 || !lb->link_up || !lb->hdr_set) {
		raw_spin_unlock_irqrestore(&lb->cfg_lock, flags);
		return PCIBIOS_DEVICE_NOT_FOUND;
	}
	mask = size == 4 ? ~0U : ((1U << (8 * size)) - 1) << shift;
	if (size == 4) {
		v = val;
	} else {
		v = epc_lb_cfg_dword(lb, where & ~3);
		/* a sub-dword write does not start a BAR size probe */
		if (where >= PCI_BASE_ADDRESS_0 &&
		    where <= PCI_BASE_ADDRESS_5 + 3)
			v = 0;
		v = (v & ~mask) | ((val << shift) & mask);
	}
	epc_lb_cfg_write_dword(lb, where & ~3, v);
	raw_spin_unlock_irqrestore(&lb->cfg_lock, flags);
	return PCIBIOS_SUCCESSFUL;
}

struct pci_ops epc_lb_pci_ops = {
	.read	= epc_lb_cfg_read,
	.write	= epc_lb_cfg_write,
};
