/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of pci-epc-loopback share: the controller's state and the
 * functions one file calls in another.
 */

#ifndef _PCI_EPC_LOOPBACK_H
#define _PCI_EPC_LOOPBACK_H

#include <linux/atomic.h>
#include <linux/dmaengine.h>
#include <linux/ioport.h>
#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/pci-epc.h>
#include <linux/pci-epf.h>
#include <linux/platform_device.h>
#include <linux/spinlock.h>
#include <linux/types.h>
#include <linux/workqueue.h>

#define EPC_LB_NAME		"pci-epc-loopback"
#define EPC_LB_MAX_WINDOWS	8
/* QEMU's ivshmem device, whose BAR 2 is its memory backend */
#define EPC_LB_IVSHMEM_VENDOR	PCI_VENDOR_ID_REDHAT_QUMRANET
#define EPC_LB_IVSHMEM_DEVICE	0x1110
#define EPC_LB_ALIAS_BAR	2

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

/* main.c */
extern unsigned long lowmem_mb;
extern struct epc_lb *epc_lb;

/* cfg.c */
extern struct pci_ops epc_lb_pci_ops;

/* host.c */
void epc_lb_irq_work(struct irq_work *work);
void epc_lb_host_remove(struct epc_lb *lb);
void epc_lb_set_link(struct epc_lb *lb, bool up);
void epc_lb_link_work(struct work_struct *work);

/* epc.c */
extern const struct pci_epc_ops epc_lb_ops;

/* dma.c */
extern atomic64_t epc_lb_dma_bytes;
int epc_lb_dma_register(struct epc_lb *lb);

/* alias.c */
u64 epc_lb_alias(struct epc_lb *lb, u64 phys);
void epc_lb_put_aliases(struct epc_lb *lb);
int epc_lb_find_alias(struct epc_lb *lb);

#endif /* _PCI_EPC_LOOPBACK_H */
