// SPDX-License-Identifier: GPL-2.0
/*
 * nvmet-hotplug backend hotplug: hot-remove a namespace whose backing block
 * device goes away, and attach it again when the device comes back.
 * Copyright (c) 2026 nvmet-hotplug developers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/configfs.h>
#include <linux/device.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/slab.h>
#include "hotplug.h"

/* Retries of the re-attach after a block device appeared, and their gap. */
#define NVMET_HP_REATTACH_TRIES		25
#define NVMET_HP_REATTACH_DELAY_MS	200

static void nvmet_hp_reattach_fn(struct work_struct *work);
static int nvmet_hp_block_add_dev(struct device *dev);

static DECLARE_DELAYED_WORK(nvmet_hp_reattach_work, nvmet_hp_reattach_fn);
static atomic_t nvmet_hp_reattach_tries = ATOMIC_INIT(0);

/*
 * Protects the registration of nvmet_hp_block_intf, which happens the
 * first time a namespace is watched: the block class is not exported, so
 * its address comes from a disk we hold.
 */
static DEFINE_MUTEX(nvmet_hp_intf_lock);
static bool nvmet_hp_intf_registered;
static struct class_interface nvmet_hp_block_intf = {
	.add_dev	= nvmet_hp_block_add_dev,
};

/*
 * The backing device is going away (surprise removal, or orderly removal
 * through del_gendisk()).  Called with bdev->bd_holder_lock held, which we
 * must release; queue the work before that: the watch is closed with
 * bdev_fput(), which ends the claim under the same lock, so once it
 * returns no callback is running or can still touch @hp.  Never wait for
 * I/O here, the work does the quiesce.
 */
static void nvmet_hp_mark_dead(struct block_device *bdev, bool surprise)
	__releases(&bdev->bd_holder_lock)
{
	struct nvmet_hp_ns *hp = bdev->bd_holder;

	lockdep_assert_held(&bdev->bd_holder_lock);

	/* our claim is held: @hp->watch_gen is that of this claim */
	WRITE_ONCE(hp->lost_gen, READ_ONCE(hp->watch_gen));
	pr_info("nsid %u: backing device %pg is going away%s\n", hp->ns->nsid,
		bdev, surprise ? " (surprise removal)" : "");
	queue_work(nvmet_hp_wq, &hp->lost_work);
	mutex_unlock(&bdev->bd_holder_lock);
}

static const struct blk_holder_ops nvmet_hp_holder_ops = {
	.mark_dead	= nvmet_hp_mark_dead,
};

static void nvmet_hp_intf_register(struct block_device *bdev)
{
	int ret;

	mutex_lock(&nvmet_hp_intf_lock);
	if (nvmet_hp_intf_registered)
		goto out_unlock;
	/* block_class is static data of the block layer: it never goes away */
	nvmet_hp_block_intf.class = disk_to_dev(bdev->bd_disk)->class;
	ret = class_interface_register(&nvmet_hp_block_intf);
	if (ret) {
		pr_err("cannot watch for new block devices: %d\n", ret);
		goto out_unlock;
	}
	nvmet_hp_intf_registered = true;
out_unlock:
	mutex_unlock(&nvmet_hp_intf_lock);
}

/**
 * nvmet_hp_watch_open() - start watching the backend of a live namespace
 * @hp: namespace, attached with a block device backend
 *
 * Claims the block device nvmet opened (by device number, so a path that
 * now names another device does not matter) exclusively, with @hp as the
 * holder; nvmet's own open has no holder, so both coexist.  Does nothing
 * if backend_watch is off or the watch is open already.
 *
 * Context: @hp->lock held.
 * Return: 0, -EINVAL for a file-backed namespace, or the open's error.
 */
int nvmet_hp_watch_open(struct nvmet_hp_ns *hp)
{
	struct nvmet_ns *ns = hp->ns;
	struct file *file;

	lockdep_assert_held(&hp->lock);

	if (hp->watch_file || !hp->backend_watch || !ns->enabled)
		return 0;
	if (!ns->bdev) {
		pr_err("nsid %u: %s is not a block device, cannot watch it\n",
		       ns->nsid, ns->device_path);
		return -EINVAL;
	}

	/* before the claim exists, so that its ->mark_dead sees the new one */
	WRITE_ONCE(hp->watch_gen, hp->watch_gen + 1);
	file = bdev_file_open_by_dev(ns->bdev->bd_dev, BLK_OPEN_READ, hp,
				     &nvmet_hp_holder_ops);
	if (IS_ERR(file)) {
		pr_err("nsid %u: cannot watch %s: %ld\n", ns->nsid,
		       ns->device_path, PTR_ERR(file));
		return PTR_ERR(file);
	}
	hp->watch_file = file;
	nvmet_hp_intf_register(file_bdev(file));
	return 0;
}

/**
 * nvmet_hp_watch_close() - stop watching the backend of a namespace
 * @hp: namespace
 *
 * bdev_fput() gives the claim up before it returns (a plain fput() may
 * defer that), so no ->mark_dead callback can start afterwards.
 *
 * Context: @hp->lock held.
 */
void nvmet_hp_watch_close(struct nvmet_hp_ns *hp)
{
	lockdep_assert_held(&hp->lock);

	if (!hp->watch_file)
		return;
	bdev_fput(hp->watch_file);
	hp->watch_file = NULL;
}

/**
 * nvmet_hp_set_backend_watch() - turn backend_watch on or off
 * @hp: namespace
 * @watch: the new value
 *
 * A live namespace starts or stops being watched at once.  A namespace
 * backed by a regular file cannot be watched: there is no device to lose.
 *
 * Context: @hp->lock held.
 * Return: 0, -EINVAL for a file-backed namespace, or the open's error.
 */
int nvmet_hp_set_backend_watch(struct nvmet_hp_ns *hp, bool watch)
{
	struct nvmet_ns *ns = hp->ns;
	char *path = NULL;
	dev_t devt;
	int ret = 0;

	lockdep_assert_held(&hp->lock);

	if (!watch) {
		WRITE_ONCE(hp->backend_watch, false);
		nvmet_hp_watch_close(hp);
		return 0;
	}

	mutex_lock(&ns->subsys->lock);
	if (ns->device_path)
		path = kstrdup(ns->device_path, GFP_KERNEL);
	if (ns->buffered_io || (ns->enabled && !ns->bdev))
		ret = -ENOTBLK;
	mutex_unlock(&ns->subsys->lock);

	/* a detached namespace: refuse a path that names a regular file */
	if (!ret && path && !ns->enabled &&
	    lookup_bdev(path, &devt) == -ENOTBLK)
		ret = -ENOTBLK;
	if (ret) {
		pr_err("nsid %u: backend_watch needs a block device backend, %s is a file (or buffered_io is set)\n",
		       ns->nsid, path ? path : "(none)");
		ret = -EINVAL;
		goto out_free;
	}

	WRITE_ONCE(hp->backend_watch, true);
	ret = nvmet_hp_watch_open(hp);
	if (ret)
		WRITE_ONCE(hp->backend_watch, false);
out_free:
	kfree(path);
	return ret;
}

/**
 * nvmet_hp_set_auto_reattach() - turn auto_reattach on or off
 * @hp: namespace
 * @reattach: the new value
 *
 * Turning it on for a namespace whose backend is lost looks for the
 * device at once.
 *
 * Context: @hp->lock held.
 */
void nvmet_hp_set_auto_reattach(struct nvmet_hp_ns *hp, bool reattach)
{
	lockdep_assert_held(&hp->lock);

	WRITE_ONCE(hp->auto_reattach, reattach);
	if (reattach && READ_ONCE(hp->state) == NVMET_HP_BACKEND_LOST)
		nvmet_hp_reattach_kick();
}

/**
 * nvmet_hp_lost_work() - hot-remove a namespace whose backend went away
 * @work: the namespace's lost_work
 *
 * Quiesces and detaches the namespace, notifies every controller and
 * leaves it in state backend-lost.  The commands in flight on a dead disk
 * complete with errors soon, and the namespace cannot stay live on it
 * whatever the policy says, so the bound only decides when to complain.
 * A stale event (the namespace was detached, or swapped to another
 * device, since) is ignored.  A media change (nbd disconnect, loop) also
 * counts as a loss: the data behind the namespace is not what it was.
 */
void nvmet_hp_lost_work(struct work_struct *work)
{
	struct nvmet_hp_ns *hp = container_of(work, struct nvmet_hp_ns,
					      lost_work);
	struct nvmet_ns *ns = hp->ns;
	char reason[NVMET_HP_REASON_LEN];
	unsigned long bound;
	bool reattach;
	ktime_t start;

	mutex_lock(&hp->lock);
	if (!hp->watch_file || READ_ONCE(hp->lost_gen) != hp->watch_gen ||
	    !ns->enabled || READ_ONCE(hp->state) != NVMET_HP_LIVE)
		goto out_unlock;

	start = ktime_get();
	if (!nvmet_hp_quiesce_begin(hp))
		goto out_unlock;

	bound = msecs_to_jiffies(READ_ONCE(hp->quiesce_timeout_ms));
	while (!wait_for_completion_timeout(&ns->disable_done, bound))
		pr_warn("nsid %u: %lu commands still in flight on the lost backend\n",
			ns->nsid, nvmet_hp_ns_inflight(hp));

	hp->lost_blksize_shift = ns->blksize_shift;
	snprintf(hp->lost_name, sizeof(hp->lost_name), "%pg", ns->bdev);
	snprintf(reason, sizeof(reason), "backend %s went away",
		 ns->device_path);
	nvmet_hp_finish_detach(hp, start, NVMET_HP_BACKEND_LOST, reason);
	nvmet_hp_notify(hp);
	reattach = READ_ONCE(hp->auto_reattach);
	pr_info("nsid %u of %s: %s, namespace detached%s\n", ns->nsid,
		ns->subsys->subsysnqn, reason,
		reattach ? ", waiting for it to return" : "");
	if (reattach)
		nvmet_hp_reattach_kick();
out_unlock:
	mutex_unlock(&hp->lock);
}

/*
 * Attach a backend-lost namespace again once a disk with the kernel name
 * of the lost one (the device its device_path named) and the same logical
 * block size is there.  Same NSID, UUID and NGUID.  The disk is found and
 * opened by number and handed to nvmet: a worker cannot resolve
 * device_path, kernel threads look paths up in the initial mount
 * namespace.
 *
 * Return: 0 if done or nothing to do, -EAGAIN to try again later.
 */
static int nvmet_hp_ns_reattach(struct nvmet_hp_ns *hp)
{
	const struct class *cls = READ_ONCE(nvmet_hp_block_intf.class);
	struct nvmet_ns *ns = hp->ns;
	struct device *dev;
	struct file *file;
	unsigned int shift;
	dev_t devt;
	int ret = 0;

	mutex_lock(&hp->lock);
	if (READ_ONCE(hp->state) != NVMET_HP_BACKEND_LOST ||
	    !READ_ONCE(hp->auto_reattach) || ns->enabled || !cls)
		goto out_unlock;

	dev = class_find_device_by_name(cls, hp->lost_name);
	if (!dev)
		goto out_unlock;	/* not there: wait for the next disk */
	devt = dev->devt;
	put_device(dev);

	/* the disk may be visible before it can be opened: retry */
	file = bdev_file_open_by_dev(devt, BLK_OPEN_READ | BLK_OPEN_WRITE,
				     NULL, NULL);
	if (IS_ERR(file)) {
		ret = -EAGAIN;
		goto out_unlock;
	}
	shift = blksize_bits(bdev_logical_block_size(file_bdev(file)));
	if (shift != hp->lost_blksize_shift) {
		pr_err("nsid %u: %s is back with a logical block size of %u instead of %u, not re-attaching it\n",
		       ns->nsid, hp->lost_name, 1U << shift,
		       1U << hp->lost_blksize_shift);
		fput(file);
		goto out_unlock;
	}

	/* nvmet takes the file over, and drops it if the attach fails */
	mutex_lock(&ns->subsys->lock);
	ns->bdev_file = file;
	mutex_unlock(&ns->subsys->lock);
	ret = __nvmet_hp_ns_attach(hp, NVMET_HP_BACKEND_LOST);
	if (ret) {
		/* failed before nvmet looked at the file: drop it here */
		mutex_lock(&ns->subsys->lock);
		if (!ns->enabled && ns->bdev_file) {
			fput(ns->bdev_file);
			ns->bdev_file = NULL;
		}
		mutex_unlock(&ns->subsys->lock);
		ret = -EAGAIN;
		goto out_unlock;
	}
	spin_lock(&hp->state_lock);
	hp->stats.reattaches++;
	spin_unlock(&hp->state_lock);
	nvmet_hp_notify(hp);
	pr_info("nsid %u of %s: backend %s is back, namespace re-attached\n",
		ns->nsid, ns->subsys->subsysnqn, hp->lost_name);
out_unlock:
	mutex_unlock(&hp->lock);
	return ret;
}

/*
 * Look at every backend-lost namespace with auto_reattach.  Each is pinned
 * through its configfs item while nvmet_hp_lock is dropped, so that a
 * namespace removed meanwhile is only freed by our config_item_put().
 */
static void nvmet_hp_reattach_fn(struct work_struct *work)
{
	struct nvmet_hp_ns *hp, *tmp;
	LIST_HEAD(candidates);
	bool again = false;

	nvmet_hp_collect_lost(&candidates);
	list_for_each_entry_safe(hp, tmp, &candidates, reattach_entry) {
		struct config_item *item = &hp->ns->group.cg_item;

		list_del_init(&hp->reattach_entry);
		if (nvmet_hp_ns_reattach(hp) == -EAGAIN)
			again = true;
		config_item_put(item);	/* may free hp */
	}

	if (!again || atomic_dec_return(&nvmet_hp_reattach_tries) <= 0)
		return;
	queue_delayed_work(nvmet_hp_wq, &nvmet_hp_reattach_work,
			   msecs_to_jiffies(NVMET_HP_REATTACH_DELAY_MS));
}

/**
 * nvmet_hp_reattach_kick() - look for returning backends soon
 *
 * Called when a block device appears and when a namespace loses its
 * backend; restarts the retry budget.  Does nothing once the module is
 * going away.
 */
void nvmet_hp_reattach_kick(void)
{
	atomic_set(&nvmet_hp_reattach_tries, NVMET_HP_REATTACH_TRIES);
	mod_delayed_work(nvmet_hp_wq, &nvmet_hp_reattach_work,
			 msecs_to_jiffies(NVMET_HP_REATTACH_DELAY_MS));
}

/* Called with the block class's mutex held: only queue the work. */
static int nvmet_hp_block_add_dev(struct device *dev)
{
	nvmet_hp_reattach_kick();
	return 0;
}

/**
 * nvmet_hp_backend_exit() - stop the re-attach machinery for good
 *
 * Context: module exit, before the namespaces' state is dropped.
 */
void nvmet_hp_backend_exit(void)
{
	mutex_lock(&nvmet_hp_intf_lock);
	if (nvmet_hp_intf_registered)
		class_interface_unregister(&nvmet_hp_block_intf);
	nvmet_hp_intf_registered = false;
	mutex_unlock(&nvmet_hp_intf_lock);
	disable_delayed_work_sync(&nvmet_hp_reattach_work);
}
