// SPDX-License-Identifier: GPL-2.0
/*
 * The host side: a software PCI root bus in a PCI domain of its own, its
 * INTx, and the link that adds and removes it.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/ioport.h>
#include <linux/irq.h>
#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/pci-epc.h>
#include <linux/platform_device.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "epc-lb.h"

static int epc_lb_map_irq(const struct pci_dev *pdev, u8 slot, u8 pin)
{
	return epc_lb->irq;
}

/* INTx reaches the host's handler in hard interrupt context. */
void epc_lb_irq_work(struct irq_work *work)
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
void epc_lb_host_remove(struct epc_lb *lb)
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

void epc_lb_set_link(struct epc_lb *lb, bool up)
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
void epc_lb_link_work(struct work_struct *work)
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
