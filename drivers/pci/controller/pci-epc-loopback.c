// SPDX-License-Identifier: GPL-2.0
/*
 * PCI endpoint controller whose link leads back into the same machine.
 *
 * The endpoint side is an ordinary EPC: an endpoint function (nvmet-pci-epf,
 * for one) is linked to it through configfs and started.  The host side is
 * a software PCI root bus in a PCI domain of its own, as VMD creates one,
 * with a single function whose configuration space is emulated from the
 * header and BARs the endpoint function sets, and whose INTx is a Linux
 * interrupt raised by pci_epc_raise_irq().  The stock drivers of the
 * machine (nvme, for one) bind to that function as to real hardware.
 *
 * Both sides need to reach each other's memory through an ioremap()ed
 * physical range, and ioremap() refuses RAM.  The range is therefore an
 * alias of all of RAM that QEMU provides: an ivshmem-plain device whose
 * memory backend is the file that also backs the machine's RAM maps every
 * byte of RAM a second time in its BAR 2, at the file offset of that byte.
 * The host sees a BAR of the function at the alias of the endpoint's BAR
 * memory; the endpoint reaches a host DMA address through an outbound
 * window that is a whole alias BAR.  Each window serves one mapping at a
 * time, so there are as many windows as alias devices (one per persistent
 * completion queue mapping of nvmet-pci-epf, and one for its transfers
 * when it has no DMA channel).  The controller's device also offers the
 * function two DMA channels that copy between its buffers and host
 * addresses directly.  See Documentation/nvme/pci-epc-loopback.rst.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/dma-mapping.h>
#include <linux/dmaengine.h>
#include <linux/highmem.h>
#include <linux/interrupt.h>
#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/irq.h>
#include <linux/irq_work.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/pci-epc.h>
#include <linux/pci-epf.h>
#include <linux/platform_device.h>
#include <linux/random.h>
#include <linux/scatterlist.h>
#include <linux/sizes.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#define EPC_LB_NAME		"pci-epc-loopback"
#define EPC_LB_MAX_WINDOWS	8
/* QEMU's ivshmem device, whose BAR 2 is its memory backend */
#define EPC_LB_IVSHMEM_VENDOR	PCI_VENDOR_ID_REDHAT_QUMRANET
#define EPC_LB_IVSHMEM_DEVICE	0x1110
#define EPC_LB_ALIAS_BAR	2

static unsigned long lowmem_mb;
module_param(lowmem_mb, ulong, 0444);
MODULE_PARM_DESC(lowmem_mb,
		 "RAM below 4 GiB as the machine lays it out, in MiB (0: from the memory map)");

static bool dma = true;
module_param(dma, bool, 0444);
MODULE_PARM_DESC(dma,
		 "offer the endpoint function DMA channels (else it copies through windows)");

static atomic64_t epc_lb_dma_bytes;

struct epc_lb_bar {
	u64 size;			/* 0: not set */
	u64 addr;			/* host address: the memory's alias */
	int flags;			/* PCI_BASE_ADDRESS_* of the BAR */
	bool probing[2];		/* all-ones written to the dword */
};

/*
 * The function's DMA engine.  A real endpoint controller has one that moves
 * data between the endpoint's memory and host addresses without an outbound
 * window; nvmet-pci-epf asks for a DEV_TO_MEM and a MEM_TO_DEV slave channel
 * of the controller's device, and falls back to memcpy through a mapped
 * window without them.  Here both sides are the same machine's RAM, so a
 * transfer is a copy between two physical ranges of RAM, done when the
 * transfer is issued.  Host addresses that are not RAM are refused when the
 * transfer is prepared.
 */
#define EPC_LB_DMA_CHANNELS	2

struct epc_lb_dma_seg {
	phys_addr_t local;		/* the endpoint's buffer */
	u64 pci_addr;			/* the host's memory */
	u32 len;
};

struct epc_lb_dma_desc {
	struct dma_async_tx_descriptor tx;
	struct list_head node;
	enum dma_transfer_direction dir;
	unsigned int nr_segs;
	struct epc_lb_dma_seg seg[] __counted_by(nr_segs);
};

struct epc_lb_dma_chan {
	struct dma_chan chan;
	spinlock_t lock;		/* the lists, cfg, busy and cookies */
	struct dma_slave_config cfg;
	struct list_head submitted;	/* submitted, not issued yet */
	struct list_head issued;	/* issued, not done yet */
	bool busy;			/* a caller is working off issued */
};

struct epc_lb {
	struct platform_device *pdev;
	struct pci_epc *epc;
	struct dma_device dma;
	struct epc_lb_dma_chan dma_chan[EPC_LB_DMA_CHANNELS];
	bool dma_registered;

	/* the alias of RAM: BAR 2 of each ivshmem device */
	struct pci_dev *alias_dev[EPC_LB_MAX_WINDOWS];	/* bound to us */
	bool windows_fixed;		/* the EPC has them: no more */
	struct pci_epc_mem_window win[EPC_LB_MAX_WINDOWS];
	unsigned int nr_win;
	resource_size_t alias_size;
	phys_addr_t lowmem;

	/* the function, as the endpoint configured it (under cfg_lock) */
	raw_spinlock_t cfg_lock;
	struct pci_epf_header hdr;
	bool hdr_set;
	struct epc_lb_bar bar[PCI_STD_NUM_BARS];
	u16 command;
	u8 irq_line;
	u8 cache_line;
	u8 latency;
	bool link_up;

	/* the host side (under host_lock) */
	struct mutex host_lock;
	struct pci_host_bridge *bridge;
	struct pci_bus *bus;
	struct pci_sysdata sysdata;
	struct resource busn;
	struct resource mmio;
	bool mmio_claimed;

	bool want_up;			/* started: the link should be up */

	int irq;
	struct irq_work irq_work;
	atomic64_t irqs_raised;
	struct work_struct link_work;
};

static struct epc_lb *epc_lb;

/* Host bus address of the alias of physical address @phys, or ~0. */
static u64 epc_lb_alias(struct epc_lb *lb, u64 phys)
{
	u64 off = phys;

	if (phys >= SZ_4G)
		off = phys - SZ_4G + lb->lowmem;
	else if (phys >= lb->lowmem)
		return ~0ULL;
	return off < lb->alias_size ? off : ~0ULL;
}

/* ---------------------------------------------------------------------
 * The host side: configuration space of the one function at devfn 0.
 */

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

static struct pci_ops epc_lb_pci_ops = {
	.read	= epc_lb_cfg_read,
	.write	= epc_lb_cfg_write,
};

static int epc_lb_map_irq(const struct pci_dev *pdev, u8 slot, u8 pin)
{
	return epc_lb->irq;
}

/* INTx reaches the host's handler in hard interrupt context. */
static void epc_lb_irq_work(struct irq_work *work)
{
	struct epc_lb *lb = container_of(work, struct epc_lb, irq_work);

	generic_handle_irq(lb->irq);
}

/* Caller holds host_lock. */
static int epc_lb_host_add(struct epc_lb *lb)
{
	struct pci_host_bridge *bridge;
	int ret;

	lb->busn = DEFINE_RES_NAMED(0, 1, EPC_LB_NAME " bus", IORESOURCE_BUS);
	/*
	 * The bridge's memory window is the whole alias of the first alias
	 * device: the function's BARs are claimed inside it where they are.
	 * Not prefetchable, or a non-prefetchable BAR could not be claimed
	 * in it.
	 */
	lb->mmio = DEFINE_RES_NAMED(lb->win[0].phys_base, lb->alias_size,
				    EPC_LB_NAME " host",
				    IORESOURCE_MEM | IORESOURCE_MEM_64);
	ret = request_resource(&lb->alias_dev[0]->resource[EPC_LB_ALIAS_BAR],
			       &lb->mmio);
	if (ret) {
		dev_err(&lb->pdev->dev, "alias BAR of %s busy: %d\n",
			pci_name(lb->alias_dev[0]), ret);
		return ret;
	}
	lb->mmio_claimed = true;

	memset(&lb->sysdata, 0, sizeof(lb->sysdata));
	lb->sysdata.domain = pci_bus_find_emul_domain_nr(0, 0x10000, INT_MAX);
	if (lb->sysdata.domain < 0) {
		ret = lb->sysdata.domain;
		goto err_res;
	}
	lb->sysdata.node = NUMA_NO_NODE;

	/*
	 * The bridge is allocated here rather than by pci_create_root_bus()
	 * so that its first reference is ours: pci_remove_root_bus() only
	 * unregisters it, and epc_lb_host_remove() drops that reference.
	 */
	bridge = pci_alloc_host_bridge(0);
	if (!bridge) {
		ret = -ENOMEM;
		goto err_domain;
	}
	bridge->dev.parent = &lb->pdev->dev;
	bridge->sysdata = &lb->sysdata;
	bridge->ops = &epc_lb_pci_ops;
	bridge->map_irq = epc_lb_map_irq;
	bridge->swizzle_irq = pci_common_swizzle;
	pci_add_resource(&bridge->windows, &lb->busn);
	pci_add_resource(&bridge->windows, &lb->mmio);

	pci_lock_rescan_remove();
	ret = pci_scan_root_bus_bridge(bridge);
	if (ret) {
		pci_unlock_rescan_remove();
		put_device(&bridge->dev);
		goto err_domain;
	}
	lb->bridge = bridge;
	lb->bus = bridge->bus;
	/* no MSI domain behind this bus: the function uses INTx */
	lb->bus->bus_flags |= PCI_BUS_FLAGS_NO_MSI;
	pci_bus_claim_resources(lb->bus);
	pci_bus_add_devices(lb->bus);
	pci_unlock_rescan_remove();
	dev_info(&lb->pdev->dev, "link up: host side is PCI domain %04x\n",
		 lb->sysdata.domain);
	return 0;

err_domain:
	pci_bus_release_emul_domain_nr(lb->sysdata.domain);
err_res:
	release_resource(&lb->mmio);
	lb->mmio_claimed = false;
	return ret;
}

/*
 * Caller holds host_lock.  The link is already down: configuration reads
 * fail, so the host's driver sees a surprise removal and does not wait for
 * the endpoint.
 */
static void epc_lb_host_remove(struct epc_lb *lb)
{
	if (!lb->bus)
		return;
	pci_lock_rescan_remove();
	pci_stop_root_bus(lb->bus);
	pci_remove_root_bus(lb->bus);
	pci_unlock_rescan_remove();
	put_device(&lb->bridge->dev);
	lb->bridge = NULL;
	lb->bus = NULL;
	pci_bus_release_emul_domain_nr(lb->sysdata.domain);
	irq_work_sync(&lb->irq_work);
	if (lb->mmio_claimed) {
		release_resource(&lb->mmio);
		lb->mmio_claimed = false;
	}
	dev_info(&lb->pdev->dev, "link down: host side removed\n");
}

static void epc_lb_set_link(struct epc_lb *lb, bool up)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&lb->cfg_lock, flags);
	lb->link_up = up;
	raw_spin_unlock_irqrestore(&lb->cfg_lock, flags);
}

/*
 * The link follows want_up in a work item, never under the EPC lock: the
 * function's link_up and link_down handlers map and unmap windows, which
 * takes the EPC lock that ->start() and ->stop() are called with.  Going
 * down, the function stops touching host memory before the host side is
 * removed (a surprise removal for the host's driver: configuration reads
 * already fail, so it does not wait for the endpoint).
 */
static void epc_lb_link_work(struct work_struct *work)
{
	struct epc_lb *lb = container_of(work, struct epc_lb, link_work);
	bool up, undo;

	for (;;) {
		mutex_lock(&lb->host_lock);
		up = lb->want_up;
		if (up == !!lb->bus) {
			mutex_unlock(&lb->host_lock);
			return;
		}
		mutex_unlock(&lb->host_lock);

		if (up)
			pci_epc_linkup(lb->epc);
		else
			pci_epc_linkdown(lb->epc);

		mutex_lock(&lb->host_lock);
		if (up && lb->want_up && !lb->bus) {
			epc_lb_set_link(lb, true);
			if (epc_lb_host_add(lb)) {
				epc_lb_set_link(lb, false);
				lb->want_up = false;
			}
		} else if (!up && !lb->want_up) {
			epc_lb_host_remove(lb);
		}
		/* the function went up, the host did not (failed or stopped) */
		undo = up && !lb->bus;
		mutex_unlock(&lb->host_lock);
		if (undo)
			pci_epc_linkdown(lb->epc);
	}
}

/* ---------------------------------------------------------------------
 * The endpoint side.
 */

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

static const struct pci_epc_ops epc_lb_ops = {
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

/* ---------------------------------------------------------------------
 * DMA: see the comment at struct epc_lb_dma_chan.
 */

static inline struct epc_lb_dma_chan *to_epc_lb_chan(struct dma_chan *chan)
{
	return container_of(chan, struct epc_lb_dma_chan, chan);
}

static bool epc_lb_is_ram(phys_addr_t addr, size_t len)
{
	return len && addr + len > addr &&
		region_intersects(addr, len, IORESOURCE_SYSTEM_RAM,
				  IORES_DESC_NONE) == REGION_INTERSECTS;
}

/* Copy between two ranges of RAM a page at a time. */
static void epc_lb_copy_phys(phys_addr_t dst, phys_addr_t src, size_t len)
{
	while (len) {
		size_t d_off = dst & ~PAGE_MASK, s_off = src & ~PAGE_MASK;
		size_t n = min3(len, PAGE_SIZE - d_off, PAGE_SIZE - s_off);
		void *d = kmap_local_pfn(PHYS_PFN(dst));
		void *s = kmap_local_pfn(PHYS_PFN(src));

		memcpy(d + d_off, s + s_off, n);
		kunmap_local(s);
		kunmap_local(d);
		dst += n;
		src += n;
		len -= n;
	}
}

static dma_cookie_t epc_lb_dma_tx_submit(struct dma_async_tx_descriptor *tx)
{
	struct epc_lb_dma_desc *d = container_of(tx, typeof(*d), tx);
	struct epc_lb_dma_chan *c = to_epc_lb_chan(tx->chan);
	unsigned long flags;
	dma_cookie_t cookie;

	spin_lock_irqsave(&c->lock, flags);
	cookie = c->chan.cookie + 1;
	if (cookie < DMA_MIN_COOKIE)
		cookie = DMA_MIN_COOKIE;
	c->chan.cookie = cookie;
	tx->cookie = cookie;
	list_add_tail(&d->node, &c->submitted);
	spin_unlock_irqrestore(&c->lock, flags);
	return cookie;
}

static struct dma_async_tx_descriptor *
epc_lb_dma_prep_config_sg(struct dma_chan *chan, struct scatterlist *sgl,
			  unsigned int sg_len, enum dma_transfer_direction dir,
			  unsigned long flags, struct dma_slave_config *cfg)
{
	struct device *dev = chan->device->dev;
	struct epc_lb_dma_desc *d;
	struct scatterlist *sg;
	u64 pci_addr;
	unsigned int i;

	switch (dir) {
	case DMA_DEV_TO_MEM:
		pci_addr = cfg->src_addr;
		break;
	case DMA_MEM_TO_DEV:
		pci_addr = cfg->dst_addr;
		break;
	default:
		return NULL;
	}
	if (!sg_len)
		return NULL;

	d = kzalloc_flex(*d, seg, sg_len, GFP_NOWAIT);
	if (!d)
		return NULL;
	d->nr_segs = sg_len;
	for_each_sg(sgl, sg, sg_len, i) {
		struct epc_lb_dma_seg *s = &d->seg[i];

		/* the device is direct-mapped: checked at probe */
		s->local = sg_dma_address(sg);
		s->pci_addr = pci_addr;
		s->len = sg_dma_len(sg);
		/* no IOMMU and no offset in front of the host bus */
		if (!epc_lb_is_ram(s->local, s->len) ||
		    !epc_lb_is_ram(s->pci_addr, s->len)) {
			dev_err_ratelimited(dev,
					    "%s: no RAM at %pad or host address 0x%llx (%u bytes)\n",
					    dma_chan_name(chan),
					    &sg_dma_address(sg), s->pci_addr,
					    s->len);
			kfree(d);
			return NULL;
		}
		pci_addr += s->len;
	}
	d->dir = dir;
	dma_async_tx_descriptor_init(&d->tx, chan);
	d->tx.flags = flags;
	d->tx.tx_submit = epc_lb_dma_tx_submit;
	return &d->tx;
}

static struct dma_async_tx_descriptor *
epc_lb_dma_prep_slave_sg(struct dma_chan *chan, struct scatterlist *sgl,
			 unsigned int sg_len, enum dma_transfer_direction dir,
			 unsigned long flags, void *context)
{
	struct epc_lb_dma_chan *c = to_epc_lb_chan(chan);
	struct dma_slave_config cfg;
	unsigned long lflags;

	spin_lock_irqsave(&c->lock, lflags);
	cfg = c->cfg;
	spin_unlock_irqrestore(&c->lock, lflags);
	return epc_lb_dma_prep_config_sg(chan, sgl, sg_len, dir, flags, &cfg);
}

static int epc_lb_dma_config(struct dma_chan *chan,
			     struct dma_slave_config *cfg)
{
	struct epc_lb_dma_chan *c = to_epc_lb_chan(chan);
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	c->cfg = *cfg;
	spin_unlock_irqrestore(&c->lock, flags);
	return 0;
}

static void epc_lb_dma_run(struct epc_lb_dma_desc *d)
{
	unsigned int i;

	for (i = 0; i < d->nr_segs; i++) {
		struct epc_lb_dma_seg *s = &d->seg[i];

		if (d->dir == DMA_DEV_TO_MEM)
			epc_lb_copy_phys(s->local, s->pci_addr, s->len);
		else
			epc_lb_copy_phys(s->pci_addr, s->local, s->len);
		atomic64_add(s->len, &epc_lb_dma_bytes);
	}
}

/*
 * Works off the issued descriptors in order.  A caller that finds another
 * one at it leaves its descriptors to that one, so cookies complete in
 * order and a waiter never sees its cookie done before its data is.
 */
static void epc_lb_dma_issue_pending(struct dma_chan *chan)
{
	struct epc_lb_dma_chan *c = to_epc_lb_chan(chan);
	struct dmaengine_result res = { .result = DMA_TRANS_NOERROR };
	struct epc_lb_dma_desc *d;
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	list_splice_tail_init(&c->submitted, &c->issued);
	if (c->busy) {
		spin_unlock_irqrestore(&c->lock, flags);
		return;
	}
	c->busy = true;
	while ((d = list_first_entry_or_null(&c->issued,
					     struct epc_lb_dma_desc, node))) {
		list_del(&d->node);
		spin_unlock_irqrestore(&c->lock, flags);

		epc_lb_dma_run(d);

		spin_lock_irqsave(&c->lock, flags);
		c->chan.completed_cookie = d->tx.cookie;
		spin_unlock_irqrestore(&c->lock, flags);
		if (d->tx.callback_result)
			d->tx.callback_result(d->tx.callback_param, &res);
		else if (d->tx.callback)
			d->tx.callback(d->tx.callback_param);
		kfree(d);
		spin_lock_irqsave(&c->lock, flags);
	}
	c->busy = false;
	spin_unlock_irqrestore(&c->lock, flags);
}

static enum dma_status epc_lb_dma_tx_status(struct dma_chan *chan,
					    dma_cookie_t cookie,
					    struct dma_tx_state *state)
{
	struct epc_lb_dma_chan *c = to_epc_lb_chan(chan);
	dma_cookie_t used, done;
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	used = chan->cookie;
	done = chan->completed_cookie;
	spin_unlock_irqrestore(&c->lock, flags);
	dma_set_tx_state(state, done, used, 0);
	return dma_async_is_complete(cookie, done, used);
}

/* Only submitted descriptors can be dropped: issued ones are being copied. */
static int epc_lb_dma_terminate_all(struct dma_chan *chan)
{
	struct epc_lb_dma_chan *c = to_epc_lb_chan(chan);
	struct epc_lb_dma_desc *d, *tmp;
	unsigned long flags;
	LIST_HEAD(drop);

	spin_lock_irqsave(&c->lock, flags);
	list_splice_init(&c->submitted, &drop);
	spin_unlock_irqrestore(&c->lock, flags);
	list_for_each_entry_safe(d, tmp, &drop, node)
		kfree(d);
	return 0;
}

static void epc_lb_dma_synchronize(struct dma_chan *chan)
{
	struct epc_lb_dma_chan *c = to_epc_lb_chan(chan);
	unsigned long flags;
	bool busy;

	do {
		spin_lock_irqsave(&c->lock, flags);
		busy = c->busy || !list_empty(&c->issued);
		spin_unlock_irqrestore(&c->lock, flags);
		if (busy)
			cond_resched();
	} while (busy);
}

static int epc_lb_dma_alloc_chan_resources(struct dma_chan *chan)
{
	struct epc_lb_dma_chan *c = to_epc_lb_chan(chan);
	unsigned long flags;

	spin_lock_irqsave(&c->lock, flags);
	chan->cookie = DMA_MIN_COOKIE;
	chan->completed_cookie = DMA_MIN_COOKIE;
	memset(&c->cfg, 0, sizeof(c->cfg));
	spin_unlock_irqrestore(&c->lock, flags);
	return 0;
}

static void epc_lb_dma_free_chan_resources(struct dma_chan *chan)
{
	epc_lb_dma_terminate_all(chan);
	epc_lb_dma_synchronize(chan);
}

static int epc_lb_dma_register(struct epc_lb *lb)
{
	struct dma_device *dd = &lb->dma;
	unsigned int i;

	dd->dev = &lb->pdev->dev;
	INIT_LIST_HEAD(&dd->channels);
	dma_cap_set(DMA_SLAVE, dd->cap_mask);
	dma_cap_set(DMA_PRIVATE, dd->cap_mask);
	dd->directions = BIT(DMA_DEV_TO_MEM) | BIT(DMA_MEM_TO_DEV);
	dd->src_addr_widths = BIT(DMA_SLAVE_BUSWIDTH_1_BYTE);
	dd->dst_addr_widths = BIT(DMA_SLAVE_BUSWIDTH_1_BYTE);
	dd->residue_granularity = DMA_RESIDUE_GRANULARITY_DESCRIPTOR;
	dd->device_alloc_chan_resources = epc_lb_dma_alloc_chan_resources;
	dd->device_free_chan_resources = epc_lb_dma_free_chan_resources;
	dd->device_prep_slave_sg = epc_lb_dma_prep_slave_sg;
	dd->device_prep_config_sg = epc_lb_dma_prep_config_sg;
	dd->device_config = epc_lb_dma_config;
	dd->device_issue_pending = epc_lb_dma_issue_pending;
	dd->device_tx_status = epc_lb_dma_tx_status;
	dd->device_terminate_all = epc_lb_dma_terminate_all;
	dd->device_synchronize = epc_lb_dma_synchronize;
	for (i = 0; i < EPC_LB_DMA_CHANNELS; i++) {
		struct epc_lb_dma_chan *c = &lb->dma_chan[i];

		spin_lock_init(&c->lock);
		INIT_LIST_HEAD(&c->submitted);
		INIT_LIST_HEAD(&c->issued);
		c->chan.device = dd;
		list_add_tail(&c->chan.device_node, &dd->channels);
	}
	return dma_async_device_register(dd);
}

/* ---------------------------------------------------------------------
 * Set-up: find the alias devices and check that they alias RAM.
 */

static int epc_lb_ram_res(struct resource *r, void *arg)
{
	phys_addr_t *end = arg;	/* [0]: below 4 GiB, [1]: all */

	if (r->end < SZ_4G)
		end[0] = max_t(phys_addr_t, end[0], r->end + 1);
	end[1] = max_t(phys_addr_t, end[1], r->end + 1);
	return 0;
}

/* The alias shows the same bytes as the direct map at @phys. */
static int epc_lb_check_alias(struct epc_lb *lb, unsigned int w,
			      phys_addr_t phys, const void *direct)
{
	u64 off = epc_lb_alias(lb, phys);
	void __iomem *a;
	u8 buf[64];

	if (off == ~0ULL)
		return -ERANGE;
	a = ioremap(lb->win[w].phys_base + off, sizeof(buf));
	if (!a)
		return -ENOMEM;
	memcpy_fromio(buf, a, sizeof(buf));
	iounmap(a);
	return memcmp(buf, direct, sizeof(buf)) ? -EIO : 0;
}

/*
 * The ivshmem devices are ours: a driver bound to them, so that no other
 * driver maps them meanwhile, and their memory decoding enabled.  Each
 * becomes a window; the host side's memory window nests in the alias BAR
 * of the first (not as a busy region, or the host side's drivers could
 * not request their BARs inside it).
 */
static int epc_lb_alias_probe(struct pci_dev *pdev,
			      const struct pci_device_id *id)
{
	resource_size_t len = pci_resource_len(pdev, EPC_LB_ALIAS_BAR);
	struct epc_lb *lb = epc_lb;
	unsigned int w = lb->nr_win;
	int ret;

	/* a device that comes later (hot-add, new_id) is not used */
	if (lb->windows_fixed || w == EPC_LB_MAX_WINDOWS || !len ||
	    (lb->alias_size && len != lb->alias_size))
		return -ENODEV;
	ret = pci_enable_device_mem(pdev);
	if (ret)
		return ret;
	lb->alias_size = len;
	lb->alias_dev[w] = pdev;
	lb->win[w].phys_base = pci_resource_start(pdev, EPC_LB_ALIAS_BAR);
	lb->win[w].size = len;
	lb->win[w].page_size = len;
	lb->nr_win++;
	return 0;
}

static void epc_lb_alias_remove(struct pci_dev *pdev)
{
	struct epc_lb *lb = epc_lb;

	/*
	 * Only at unload, unless the device is hot-removed under the EPC
	 * (sysfs remove, device_del): take the host side down first, its
	 * window nests in the first device's BAR.  The EPC's windows stay
	 * dead; nothing else can be done for them.
	 */
	if (lb->windows_fixed) {
		pci_err(pdev, "alias of RAM removed while in use: host side down\n");
		mutex_lock(&lb->host_lock);
		lb->want_up = false;
		epc_lb_set_link(lb, false);
		epc_lb_host_remove(lb);
		mutex_unlock(&lb->host_lock);
	}
	pci_disable_device(pdev);
}

static const struct pci_device_id epc_lb_alias_ids[] = {
	{ PCI_DEVICE(EPC_LB_IVSHMEM_VENDOR, EPC_LB_IVSHMEM_DEVICE) },
	{ }
};

/* no MODULE_DEVICE_TABLE: an ivshmem device must not load this module */
static struct pci_driver epc_lb_alias_driver = {
	.name		= EPC_LB_NAME "-alias",
	.id_table	= epc_lb_alias_ids,
	.probe		= epc_lb_alias_probe,
	.remove		= epc_lb_alias_remove,
	.driver		= {
		.suppress_bind_attrs	= true,
		.probe_type		= PROBE_FORCE_SYNCHRONOUS,
	},
};

static void epc_lb_put_aliases(struct epc_lb *lb)
{
	lb->windows_fixed = false;
	pci_unregister_driver(&epc_lb_alias_driver);
	lb->nr_win = 0;
}

static int epc_lb_find_alias(struct epc_lb *lb)
{
	phys_addr_t ram_end[2] = { 0, 0 };
	struct page *pages[2] = { NULL, NULL };
	unsigned int w, i;
	int ret = 0;

	walk_iomem_res_desc(IORES_DESC_NONE,
			    IORESOURCE_SYSTEM_RAM | IORESOURCE_BUSY, 0, -1,
			    ram_end, epc_lb_ram_res);
	/* QEMU's PC machines end RAM below 4 GiB on a 256 MiB boundary */
	lb->lowmem = lowmem_mb ? (phys_addr_t)lowmem_mb * SZ_1M :
				 ALIGN(ram_end[0], SZ_256M);
	/* binds the ivshmem devices there are, one window each */
	ret = pci_register_driver(&epc_lb_alias_driver);
	if (ret)
		return ret;
	if (!lb->nr_win) {
		pr_err("no ivshmem device aliases RAM: boot QEMU with its RAM and an ivshmem-plain device on one shared memory-backend-file\n");
		ret = -ENODEV;
		goto err;
	}
	if (epc_lb_alias(lb, ram_end[1] - 1) == ~0ULL) {
		pr_err("alias of %pa bytes does not cover RAM up to %pa (RAM below 4 GiB: %pa)\n",
		       &lb->alias_size, &ram_end[1], &lb->lowmem);
		ret = -ERANGE;
		goto err;
	}

	/*
	 * Pages of ours through every alias: one below 4 GiB, and one from
	 * the normal zone, which is above 4 GiB when RAM is.
	 */
	pages[0] = alloc_page(GFP_DMA32);
	pages[1] = alloc_page(GFP_KERNEL);
	if (!pages[0] || !pages[1]) {
		ret = -ENOMEM;
		goto err_pages;
	}
	for (i = 0; i < 2; i++)
		get_random_bytes(page_address(pages[i]), 64);
	for (w = 0; w < lb->nr_win && !ret; w++) {
		for (i = 0; i < 2 && !ret; i++) {
			phys_addr_t phys = page_to_phys(pages[i]);

			ret = epc_lb_check_alias(lb, w, phys,
						 page_address(pages[i]));
			if (ret)
				pr_err("%s does not alias RAM at %pa (RAM below 4 GiB: %pa): %d\n",
				       pci_name(lb->alias_dev[w]), &phys,
				       &lb->lowmem, ret);
		}
	}
err_pages:
	for (i = 0; i < 2; i++)
		if (pages[i])
			__free_page(pages[i]);
	if (ret)
		goto err;
	return 0;
err:
	epc_lb_put_aliases(lb);
	return ret;
}

static ssize_t irqs_raised_show(struct device *dev,
				struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n", atomic64_read(&epc_lb->irqs_raised));
}
static DEVICE_ATTR_RO(irqs_raised);

static ssize_t windows_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	return sysfs_emit(buf, "%u\n", epc_lb->nr_win);
}
static DEVICE_ATTR_RO(windows);

static ssize_t dma_bytes_show(struct device *dev,
			      struct device_attribute *attr, char *buf)
{
	return sysfs_emit(buf, "%lld\n", atomic64_read(&epc_lb_dma_bytes));
}
static DEVICE_ATTR_RO(dma_bytes);

static struct attribute *epc_lb_attrs[] = {
	&dev_attr_irqs_raised.attr,
	&dev_attr_windows.attr,
	&dev_attr_dma_bytes.attr,
	NULL,
};
ATTRIBUTE_GROUPS(epc_lb);

/*
 * The channels copy between physical ranges, and take the addresses the
 * endpoint function mapped for this device as such: that needs a device
 * without an IOMMU or a bus offset in front of it (a platform device on
 * x86 without memory encryption).  Check it on a real mapping.
 */
static int epc_lb_dma_identity(struct device *dev)
{
	void *buf = kmalloc(64, GFP_KERNEL);
	dma_addr_t addr;
	int ret = 0;

	if (!buf)
		return -ENOMEM;
	addr = dma_map_single(dev, buf, 64, DMA_TO_DEVICE);
	if (dma_mapping_error(dev, addr)) {
		ret = -EIO;
		goto out_free;
	}
	if (addr != virt_to_phys(buf))
		ret = -EOPNOTSUPP;
	dma_unmap_single(dev, addr, 64, DMA_TO_DEVICE);
out_free:
	kfree(buf);
	return ret;
}

/*
 * The driver of the controller's device: a DMA engine must belong to a
 * bound device, and the endpoint function looks for its channels on the
 * controller's parent device.
 */
static int epc_lb_probe(struct platform_device *pdev)
{
	struct epc_lb *lb = epc_lb;
	int ret;

	if (!dma)
		return 0;
	ret = epc_lb_dma_identity(&pdev->dev);
	if (ret) {
		dev_err(&pdev->dev, "DMA addresses of this device are not physical addresses: no DMA channels\n");
		return ret;
	}
	ret = epc_lb_dma_register(lb);
	if (ret) {
		dev_err(&pdev->dev, "DMA engine not registered: %d\n", ret);
		return ret;
	}
	lb->dma_registered = true;
	return 0;
}

static void epc_lb_remove(struct platform_device *pdev)
{
	struct epc_lb *lb = epc_lb;

	if (lb->dma_registered)
		dma_async_device_unregister(&lb->dma);
	lb->dma_registered = false;
}

static struct platform_driver epc_lb_driver = {
	.probe = epc_lb_probe,
	.remove = epc_lb_remove,
	.driver = {
		.name = EPC_LB_NAME,
		.suppress_bind_attrs = true,
		.probe_type = PROBE_FORCE_SYNCHRONOUS,
	},
};

static int __init epc_lb_init(void)
{
	struct platform_device_info info = {
		.name = EPC_LB_NAME,
		.id = PLATFORM_DEVID_NONE,
		.dma_mask = DMA_BIT_MASK(64),
	};
	struct epc_lb *lb;
	int ret;

	lb = kzalloc_obj(*lb);
	if (!lb)
		return -ENOMEM;
	raw_spin_lock_init(&lb->cfg_lock);
	mutex_init(&lb->host_lock);
	init_irq_work(&lb->irq_work, epc_lb_irq_work);
	INIT_WORK(&lb->link_work, epc_lb_link_work);
	epc_lb = lb;

	ret = epc_lb_find_alias(lb);
	if (ret)
		goto err_free;

	lb->irq = irq_alloc_desc(NUMA_NO_NODE);
	if (lb->irq < 0) {
		ret = lb->irq;
		goto err_alias;
	}
	irq_set_chip_and_handler_name(lb->irq, &dummy_irq_chip,
				      handle_simple_irq, "INTx");
	irq_modify_status(lb->irq, IRQ_NOREQUEST | IRQ_NOPROBE, 0);

	info.parent = NULL;
	lb->pdev = platform_device_register_full(&info);
	if (IS_ERR(lb->pdev)) {
		ret = PTR_ERR(lb->pdev);
		goto err_irq;
	}
	ret = sysfs_create_groups(&lb->pdev->dev.kobj, epc_lb_groups);
	if (ret)
		goto err_pdev;
	ret = platform_driver_register(&epc_lb_driver);
	if (ret)
		goto err_groups;
	if (dma && !lb->dma_registered) {
		ret = -ENODEV;
		goto err_driver;
	}

	lb->epc = pci_epc_create(&lb->pdev->dev, &epc_lb_ops);
	if (IS_ERR(lb->epc)) {
		ret = PTR_ERR(lb->epc);
		goto err_driver;
	}
	/*
	 * The EPC core's configfs group holds a reference on this module
	 * for as long as the EPC exists, as for every EPC driver: an
	 * endpoint function may be linked to the EPC at any time, and its
	 * epf->epc must never outlive it.  The EPC exists from load on, so
	 * the module stays loaded (only a forced unload gets past that).
	 */
	epc_set_drvdata(lb->epc, lb);
	lb->epc->max_functions = 1;
	ret = pci_epc_multi_mem_init(lb->epc, lb->win, lb->nr_win);
	if (ret)
		goto err_epc;
	lb->windows_fixed = true;
	pci_epc_init_notify(lb->epc);

	pr_info("%s: %u windows aliasing %pa bytes of RAM, INTx irq %d, %s\n",
		dev_name(&lb->epc->dev), lb->nr_win, &lb->alias_size, lb->irq,
		lb->dma_registered ? "2 DMA channels" : "no DMA");
	return 0;

err_epc:
	pci_epc_destroy(lb->epc);
err_driver:
	platform_driver_unregister(&epc_lb_driver);
err_groups:
	sysfs_remove_groups(&lb->pdev->dev.kobj, epc_lb_groups);
err_pdev:
	platform_device_unregister(lb->pdev);
err_irq:
	irq_free_desc(lb->irq);
err_alias:
	epc_lb_put_aliases(lb);
err_free:
	kfree(lb);
	epc_lb = NULL;
	return ret;
}

static void __exit epc_lb_exit(void)
{
	struct epc_lb *lb = epc_lb;

	/*
	 * The EPC's configfs group pins the module: only a forced unload
	 * gets here, and then nothing stops a function from being linked.
	 * Take the host side down in any case.
	 */
	mutex_lock(&lb->host_lock);
	lb->want_up = false;
	epc_lb_set_link(lb, false);
	mutex_unlock(&lb->host_lock);
	flush_work(&lb->link_work);
	mutex_lock(&lb->host_lock);
	epc_lb_host_remove(lb);
	mutex_unlock(&lb->host_lock);

	pci_epc_deinit_notify(lb->epc);
	pci_epc_mem_exit(lb->epc);
	pci_epc_destroy(lb->epc);
	platform_driver_unregister(&epc_lb_driver);
	sysfs_remove_groups(&lb->pdev->dev.kobj, epc_lb_groups);
	platform_device_unregister(lb->pdev);
	irq_work_sync(&lb->irq_work);
	irq_free_desc(lb->irq);
	epc_lb_put_aliases(lb);
	kfree(lb);
}

module_init(epc_lb_init);
module_exit(epc_lb_exit);

MODULE_DESCRIPTION("PCI endpoint controller looped back to a software PCI root bus");
MODULE_LICENSE("GPL");
