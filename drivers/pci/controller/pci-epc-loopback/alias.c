// SPDX-License-Identifier: GPL-2.0
/*
 * The alias of RAM: find the ivshmem devices, one window each, and check
 * that they alias RAM.
 */

#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/io.h>
#include <linux/ioport.h>
#include <linux/mutex.h>
#include <linux/pci.h>
#include <linux/random.h>
#include <linux/sizes.h>

#include "epc-lb.h"

/* Host bus address of the alias of physical address @phys, or ~0. */
u64 epc_lb_alias(struct epc_lb *lb, u64 phys)
{
	u64 off = phys;

	if (phys >= SZ_4G)
		off = phys - SZ_4G + lb->lowmem;
	else if (phys >= lb->lowmem)
		return ~0ULL;
	return off < lb->alias_size ? off : ~0ULL;
}

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

void epc_lb_put_aliases(struct epc_lb *lb)
{
	lb->windows_fixed = false;
	pci_unregister_driver(&epc_lb_alias_driver);
	lb->nr_win = 0;
}

int epc_lb_find_alias(struct epc_lb *lb)
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
