// SPDX-License-Identifier: GPL-2.0
/*
 * The endpoint side: the EPC operations (struct pci_epc_ops).
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/irq_work.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/pci-epc.h>
#include <linux/pci-epf.h>
#include <linux/sizes.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "epc-lb.h"

static int epc_lb_write_header(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			       struct pci_epf_header *hdr)
{
	struct epc_lb *lb = epc_get_drvdata(epc);
	unsigned long flags;

	if (hdr->vendorid == PCI_ANY_ID || hdr->deviceid == PCI_ANY_ID) {
		dev_err(&epc->dev,
			"vendor and device ID must be set (vendor %04x, device %04x)\n",
			hdr->vendorid, hdr->deviceid);
		return -EINVAL;
	}
	raw_spin_lock_irqsave(&lb->cfg_lock, flags);
	lb->hdr = *hdr;
	lb->hdr_set = true;
	raw_spin_unlock_irqrestore(&lb->cfg_lock, flags);
	return 0;
}

static int epc_lb_set_bar(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			  struct pci_epf_bar *epf_bar)
{
	struct epc_lb *lb = epc_get_drvdata(epc);
	enum pci_barno barno = epf_bar->barno;
	bool is64 = epf_bar->flags & PCI_BASE_ADDRESS_MEM_TYPE_64;
	unsigned long flags;
	u64 addr;

	if (epf_bar->flags & PCI_BASE_ADDRESS_SPACE_IO) {
		dev_err(&epc->dev, "BAR %d: I/O space is not supported\n",
			barno);
		return -EINVAL;
	}
	if (is64 && barno == BAR_5) {
		dev_err(&epc->dev, "BAR 5 cannot be 64-bit\n");
		return -EINVAL;
	}
	if (!is_power_of_2(epf_bar->size) || epf_bar->size < 128) {
		dev_err(&epc->dev, "BAR %d: size %zu is not a power of 2 >= 128\n",
			barno, epf_bar->size);
		return -EINVAL;
	}
	addr = epc_lb_alias(lb, epf_bar->phys_addr);
	if (addr == ~0ULL || addr + epf_bar->size > lb->alias_size ||
	    !IS_ALIGNED(addr, epf_bar->size)) {
		dev_err(&epc->dev,
			"BAR %d: memory at %pad (%zu bytes) has no aligned alias\n",
			barno, &epf_bar->phys_addr, epf_bar->size);
		return -EINVAL;
	}
	addr += lb->win[0].phys_base;
	if (!is64 && upper_32_bits(addr + epf_bar->size - 1)) {
		dev_err(&epc->dev, "BAR %d: alias above 4 GiB needs a 64-bit BAR\n",
			barno);
		return -EINVAL;
	}

	raw_spin_lock_irqsave(&lb->cfg_lock, flags);
	lb->bar[barno] = (struct epc_lb_bar) {
		.size = epf_bar->size,
		.addr = addr,
		.flags = epf_bar->flags & (PCI_BASE_ADDRESS_MEM_TYPE_MASK |
					   PCI_BASE_ADDRESS_MEM_PREFETCH),
	};
	raw_spin_unlock_irqrestore(&lb->cfg_lock, flags);
	return 0;
}

static void epc_lb_clear_bar(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			     struct pci_epf_bar *epf_bar)
{
	struct epc_lb *lb = epc_get_drvdata(epc);
	unsigned long flags;

	/*
	 * The function is being torn down (its controller is already
	 * stopped): the host must let go of the BAR before its memory goes.
	 */
	mutex_lock(&lb->host_lock);
	lb->want_up = false;
	epc_lb_set_link(lb, false);
	epc_lb_host_remove(lb);
	mutex_unlock(&lb->host_lock);

	raw_spin_lock_irqsave(&lb->cfg_lock, flags);
	memset(&lb->bar[epf_bar->barno], 0, sizeof(lb->bar[0]));
	raw_spin_unlock_irqrestore(&lb->cfg_lock, flags);
}

/*
 * A window is a whole alias of RAM, so it maps every host address at once:
 * the window's start maps the PCI address whose alias offset is 0.
 */
static u64 epc_lb_align_addr(struct pci_epc *epc, u64 pci_addr, size_t *size,
			     size_t *offset)
{
	struct epc_lb *lb = epc_get_drvdata(epc);
	u64 off = epc_lb_alias(lb, pci_addr);

	if (off == ~0ULL) {
		/* nothing maps it: a window of 0 bytes fails the allocation */
		*offset = 0;
		*size = 0;
		return pci_addr;
	}
	*offset = off;
	*size = lb->alias_size;
	return pci_addr - off;
}

static int epc_lb_map_addr(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			   phys_addr_t addr, u64 pci_addr, size_t size)
{
	struct epc_lb *lb = epc_get_drvdata(epc);

	if (size != lb->alias_size) {
		dev_err(&epc->dev, "mapping of %zu bytes at %#llx: not a window\n",
			size, pci_addr);
		return -EINVAL;
	}
	/* the alias is fixed: nothing to program */
	return 0;
}

static void epc_lb_unmap_addr(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			      phys_addr_t addr)
{
}

static int epc_lb_raise_irq(struct pci_epc *epc, u8 func_no, u8 vfunc_no,
			    unsigned int type, u16 interrupt_num)
{
	struct epc_lb *lb = epc_get_drvdata(epc);
	bool fire;

	if (type != PCI_IRQ_INTX) {
		dev_err(&epc->dev, "IRQ type %u not supported, INTx only\n",
			type);
		return -EINVAL;
	}
	raw_spin_lock_irq(&lb->cfg_lock);
	fire = lb->link_up && !(lb->command & PCI_COMMAND_INTX_DISABLE);
	raw_spin_unlock_irq(&lb->cfg_lock);
	if (fire) {
		atomic64_inc(&lb->irqs_raised);
		irq_work_queue(&lb->irq_work);
	}
	return 0;
}

static int epc_lb_start(struct pci_epc *epc)
{
	struct epc_lb *lb = epc_get_drvdata(epc);
	int ret = 0;

	mutex_lock(&lb->host_lock);
	if (!lb->hdr_set || !lb->bar[BAR_0].size) {
		dev_err(&epc->dev, "no function configured: link an EPF first\n");
		ret = -EINVAL;
	} else {
		lb->want_up = true;
		schedule_work(&lb->link_work);
	}
	mutex_unlock(&lb->host_lock);
	return ret;
}

static void epc_lb_stop(struct pci_epc *epc)
{
	struct epc_lb *lb = epc_get_drvdata(epc);

	mutex_lock(&lb->host_lock);
	lb->want_up = false;
	/* at once: no configuration access, no interrupt */
	epc_lb_set_link(lb, false);
	schedule_work(&lb->link_work);
	mutex_unlock(&lb->host_lock);
}

static const struct pci_epc_features epc_lb_features = {
	.linkup_notifier = true,
	.intx_capable = true,
	.align = SZ_4K,
};

static const struct pci_epc_features *
epc_lb_get_features(struct pci_epc *epc, u8 func_no, u8 vfunc_no)
{
	return &epc_lb_features;
}

const struct pci_epc_ops epc_lb_ops = {
	.write_header	= epc_lb_write_header,
	.set_bar	= epc_lb_set_bar,
	.clear_bar	= epc_lb_clear_bar,
	.align_addr	= epc_lb_align_addr,
	.map_addr	= epc_lb_map_addr,
	.unmap_addr	= epc_lb_unmap_addr,
	.raise_irq	= epc_lb_raise_irq,
	.start		= epc_lb_start,
	.stop		= epc_lb_stop,
	.get_features	= epc_lb_get_features,
	.owner		= THIS_MODULE,
};
