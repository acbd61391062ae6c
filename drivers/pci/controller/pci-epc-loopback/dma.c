// SPDX-License-Identifier: GPL-2.0
/*
 * DMA channels of the controller's device (dmaengine): see the comment at
 * struct epc_lb_dma_chan in epc-lb.h.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/atomic.h>
#include <linux/dmaengine.h>
#include <linux/highmem.h>
#include <linux/ioport.h>
#include <linux/scatterlist.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

#include "epc-lb.h"

atomic64_t epc_lb_dma_bytes;

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

int epc_lb_dma_register(struct epc_lb *lb)
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
