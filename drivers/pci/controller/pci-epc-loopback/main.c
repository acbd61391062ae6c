// SPDX-License-Identifier: GPL-2.0
/*
 * Load and unload: module parameters, the controller's platform device and
 * driver, and its sysfs attributes.
 *
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
#include <linux/io.h>
#include <linux/irq.h>
#include <linux/irq_work.h>
#include <linux/module.h>
#include <linux/mutex.h>
#include <linux/pci-epc.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/workqueue.h>

#include "epc-lb.h"

unsigned long lowmem_mb;
module_param(lowmem_mb, ulong, 0444);
MODULE_PARM_DESC(lowmem_mb,
		 "RAM below 4 GiB as the machine lays it out, in MiB (0: from the memory map)");

static bool dma = true;
module_param(dma, bool, 0444);
MODULE_PARM_DESC(dma,
		 "offer the endpoint function DMA channels (else it copies through windows)");

struct epc_lb *epc_lb;

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
