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
#include <linux/module.h>
#include <linux/ratelimit.h>
#include <linux/slab.h>
#include "hotplug.h"

/* Gap between two tries of the loss work while the namespace is rmdir'ed. */
#define NVMET_HP_LOST_RETRY_MS		100

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
	mod_delayed_work(nvmet_hp_wq, &hp->lost_work, 0);
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

/*
 * The designator types a disk may report, most specific first: NVMe
 * returns its NGUID or EUI-64 as EUI64, SCSI its NAA or EUI-64 or T10
 * designator, dm passes its single underlying device's through.
 */
static const enum blk_unique_id nvmet_hp_uid_types[] = {
	BLK_UID_NAA, BLK_UID_EUI64, BLK_UID_T10,
};

/*
 * Read what identifies the medium behind @bdev.  The disk's unique
 * identifier names the disk, start and size name the range of it (a
 * partition); block devices without ->get_unique_id() (null_blk, loop,
 * nbd, brd) get uid_len 0.  Context: @bdev is open.
 */
static void nvmet_hp_read_dev_id(struct block_device *bdev,
				 struct nvmet_hp_dev_id *id)
{
	const struct block_device_operations *fops = bdev->bd_disk->fops;
	int i, len;

	memset(id, 0, sizeof(*id));
	snprintf(id->name, sizeof(id->name), "%pg", bdev);
	id->blksize_shift = blksize_bits(bdev_logical_block_size(bdev));
	id->start_sect = get_start_sect(bdev);
	id->nr_sects = bdev_nr_sectors(bdev);
	if (!fops->get_unique_id)
		return;
	for (i = 0; i < ARRAY_SIZE(nvmet_hp_uid_types); i++) {
		len = fops->get_unique_id(bdev->bd_disk, id->uid,
					  nvmet_hp_uid_types[i]);
		if (len > 0 && len <= sizeof(id->uid)) {
			id->uid_len = len;
			id->uid_type = nvmet_hp_uid_types[i];
			return;
		}
	}
	memset(id->uid, 0, sizeof(id->uid));
}

/* The same medium: same disk identifier, same range, same block size. */
static bool nvmet_hp_same_dev(const struct nvmet_hp_dev_id *a,
			      const struct nvmet_hp_dev_id *b)
{
	return a->uid_len && a->uid_len == b->uid_len &&
		a->uid_type == b->uid_type &&
		!memcmp(a->uid, b->uid, a->uid_len) &&
		a->start_sect == b->start_sect && a->nr_sects == b->nr_sects &&
		a->blksize_shift == b->blksize_shift;
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
	nvmet_hp_read_dev_id(file_bdev(file), &hp->watch_id);
	if (READ_ONCE(hp->auto_reattach) && !hp->watch_id.uid_len)
		pr_warn("nsid %u: %s has no unique identifier: if it goes away, it will not be re-attached by itself\n",
			ns->nsid, ns->device_path);
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

/*
 * Identity of the backend that auto_reattach would have to recognise: the
 * disk of a live namespace, the lost one, or the one device_path names.
 * Context: @hp->lock held.  Return: 0 with @id filled, or an errno.
 */
static int nvmet_hp_backend_id(struct nvmet_hp_ns *hp,
			       struct nvmet_hp_dev_id *id)
{
	struct nvmet_ns *ns = hp->ns;
	struct file *file;
	char *path = NULL;
	dev_t devt;
	int ret;

	if (ns->enabled) {
		/* @hp->lock keeps the backend: every detach takes it */
		if (!ns->bdev)
			return -ENOTBLK;
		nvmet_hp_read_dev_id(ns->bdev, id);
		return 0;
	}
	if (nvmet_hp_ns_state(hp) == NVMET_HP_BACKEND_LOST) {
		*id = hp->lost_id;
		return 0;
	}

	mutex_lock(&ns->subsys->lock);
	if (ns->device_path)
		path = kstrdup(ns->device_path, GFP_KERNEL);
	mutex_unlock(&ns->subsys->lock);
	if (!path)
		return -ENOENT;
	ret = lookup_bdev(path, &devt);
	kfree(path);
	if (ret)
		return ret;
	file = bdev_file_open_by_dev(devt, BLK_OPEN_READ, NULL, NULL);
	if (IS_ERR(file))
		return PTR_ERR(file);
	nvmet_hp_read_dev_id(file_bdev(file), id);
	fput(file);
	return 0;
}

/**
 * nvmet_hp_set_auto_reattach() - turn auto_reattach on or off
 * @hp: namespace
 * @reattach: the new value
 *
 * A returning disk is only attached again if it proves to be the lost
 * medium, by the disk's unique identifier: a backend without one (null_blk,
 * loop, nbd, brd) cannot have auto_reattach.  Turning it on for a namespace
 * whose backend is lost looks for the device at once.
 *
 * Context: @hp->lock held.
 * Return: 0, -EOPNOTSUPP for a backend without a unique identifier, or the
 * error of looking at the backend.
 */
int nvmet_hp_set_auto_reattach(struct nvmet_hp_ns *hp, bool reattach)
{
	struct nvmet_hp_dev_id id;
	int ret;

	lockdep_assert_held(&hp->lock);

	if (!reattach) {
		WRITE_ONCE(hp->auto_reattach, false);
		return 0;
	}

	ret = nvmet_hp_backend_id(hp, &id);
	if (ret == -ENOTBLK) {
		pr_err("nsid %u: auto_reattach needs a block device backend, this one is a file (or buffered_io is set)\n",
		       hp->ns->nsid);
		return -EOPNOTSUPP;
	}
	if (ret) {
		pr_err("nsid %u: auto_reattach needs a block device in device_path to identify: %d\n",
		       hp->ns->nsid, ret);
		return -EINVAL;
	}
	if (!id.uid_len) {
		pr_err("nsid %u: auto_reattach needs a backend with a unique identifier (NVMe NGUID or EUI-64, SCSI designator), %s has none and could not be told from another disk under its name\n",
		       hp->ns->nsid, id.name);
		return -EOPNOTSUPP;
	}

	WRITE_ONCE(hp->auto_reattach, true);
	if (nvmet_hp_ns_state(hp) == NVMET_HP_BACKEND_LOST)
		nvmet_hp_reattach_kick();
	return 0;
}

/**
 * nvmet_hp_lost_busy() - refuse a change while the loss work drains
 * @hp: namespace
 *
 * Context: @hp->lock held.
 * Return: -EBUSY, with the reason logged, while the commands in flight on a
 * lost backend drain; 0 otherwise.
 */
int nvmet_hp_lost_busy(struct nvmet_hp_ns *hp)
{
	lockdep_assert_held(&hp->lock);

	if (!hp->lost_draining)
		return 0;
	pr_err_ratelimited("nsid %u: its backend went away and %lu commands are still in flight on it; the namespace detaches by itself once they complete\n",
			   hp->ns->nsid, nvmet_hp_ns_inflight(hp));
	return -EBUSY;
}

/* Complain about a drain that outlives the bound, less and less often. */
static DEFINE_RATELIMIT_STATE(nvmet_hp_lost_rs, 60 * HZ, 10);

/*
 * Wait for the commands in flight on a lost backend, holding no lock: the
 * namespace and the module are pinned, so rmdir of this namespace and
 * rmmod fail with -EBUSY meanwhile, and everything else goes on.  A dead
 * disk fails its commands soon; one whose I/O is held (a suspended dm
 * table below it, a hung transport) keeps them until it lets them go, and
 * the namespace cannot go live on it again whatever the policy says, so
 * the bound only decides when to complain: at the bound, then at every
 * doubling of the time waited.
 */
static void nvmet_hp_lost_drain(struct nvmet_hp_ns *hp)
{
	struct nvmet_ns *ns = hp->ns;
	unsigned long step, waited = 0;

	step = msecs_to_jiffies(READ_ONCE(hp->quiesce_timeout_ms));
	/* killable: not a hung task, a kworker gets no signal */
	while (wait_for_completion_killable_timeout(&ns->disable_done,
						    step) <= 0) {
		waited += step;
		step = waited;
		if (!__ratelimit(&nvmet_hp_lost_rs))
			continue;
		pr_warn("nsid %u of %s: %lu commands still in flight on the lost backend after %u ms; rmdir of the namespace and rmmod of the module are refused until they complete\n",
			ns->nsid, ns->subsys->subsysnqn,
			nvmet_hp_ns_inflight(hp), jiffies_to_msecs(waited));
	}
}

/**
 * nvmet_hp_lost_work() - hot-remove a namespace whose backend went away
 * @work: the namespace's lost_work
 *
 * Quiesces and detaches the namespace, notifies every controller and
 * leaves it in state backend-lost.  The drain is waited for without
 * @hp->lock (nvmet_hp_lost_drain()), with the namespace directory and the
 * module pinned instead, so that no lock another namespace, subsystem,
 * rmdir or rmmod needs is held while commands may be stuck.  A stale
 * event (the namespace was detached, or swapped to another device, since)
 * is ignored.  A media change (nbd disconnect, loop) also counts as a
 * loss: the data behind the namespace is not what it was.
 */
void nvmet_hp_lost_work(struct work_struct *work)
{
	struct nvmet_hp_ns *hp = container_of(to_delayed_work(work),
					      struct nvmet_hp_ns, lost_work);
	struct nvmet_ns *ns = hp->ns;
	char reason[NVMET_HP_REASON_LEN];
	bool reattach;
	ktime_t start;
	char *path;

	/* the module is going away: its exit cancels this work */
	if (!try_module_get(THIS_MODULE))
		return;
	/*
	 * An rmdir of the namespace is in progress: it either frees the
	 * namespace (nvmet_ns_free() disables it, and cancels this work) or
	 * fails and leaves it; look again in a moment.
	 */
	if (nvmet_ns_pin(ns)) {
		mod_delayed_work(nvmet_hp_wq, &hp->lost_work,
				 msecs_to_jiffies(NVMET_HP_LOST_RETRY_MS));
		goto out_put;
	}

	/*
	 * A write may hold the lock through a long quiesce of its own
	 * (on_timeout=wait): do not wait behind it holding the pin, look
	 * again in a moment.
	 */
	if (!mutex_trylock(&hp->lock)) {
		nvmet_ns_unpin(ns);
		mod_delayed_work(nvmet_hp_wq, &hp->lost_work,
				 msecs_to_jiffies(NVMET_HP_LOST_RETRY_MS));
		goto out_put;
	}
	if (!hp->watch_file || READ_ONCE(hp->lost_gen) != hp->watch_gen ||
	    nvmet_hp_ns_state(hp) != NVMET_HP_LIVE)
		goto out_unlock;

	start = ktime_get();
	if (!nvmet_hp_quiesce_begin(hp))
		goto out_unlock;

	/* device_path cannot change while the namespace is enabled */
	mutex_lock(&ns->subsys->lock);
	path = kstrdup(ns->device_path, GFP_KERNEL);
	mutex_unlock(&ns->subsys->lock);
	kfree(hp->lost_path);
	hp->lost_path = path;
	hp->lost_id = hp->watch_id;
	/*
	 * The size as nvmet last saw it (the backend may have been resized
	 * since the watch opened), unless an Identify revalidated it after
	 * the disk died, which sets its capacity to 0 first.
	 */
	if (ns->size)
		hp->lost_id.nr_sects = ns->size >> SECTOR_SHIFT;
	hp->rejected_seq = 0;
	hp->lost_path_told = false;
	snprintf(reason, sizeof(reason), "backend %s went away",
		 path ? path : hp->lost_id.name);
	spin_lock(&hp->state_lock);
	strscpy(hp->reason, reason, sizeof(hp->reason));
	spin_unlock(&hp->state_lock);

	hp->lost_draining = true;
	mutex_unlock(&hp->lock);
	nvmet_hp_lost_drain(hp);
	mutex_lock(&hp->lock);
	hp->lost_draining = false;

	nvmet_hp_finish_detach(hp, start, NVMET_HP_BACKEND_LOST, reason);
	nvmet_hp_notify(hp);
	reattach = READ_ONCE(hp->auto_reattach) && hp->lost_id.uid_len;
	if (READ_ONCE(hp->auto_reattach) && !hp->lost_id.uid_len)
		pr_err("nsid %u: %s has no unique identifier, it will not be re-attached by itself\n",
		       ns->nsid, hp->lost_id.name);
	pr_info("nsid %u of %s: %s, namespace detached%s\n", ns->nsid,
		ns->subsys->subsysnqn, reason,
		reattach ? ", waiting for it to return" : "");
	if (reattach)
		nvmet_hp_reattach_kick();
out_unlock:
	mutex_unlock(&hp->lock);
	nvmet_ns_unpin(ns);
out_put:
	module_put(THIS_MODULE);
}

/*
 * Attach a backend-lost namespace again once the lost medium is back: a
 * disk under the kernel name of the lost one whose unique identifier,
 * start, capacity and logical block size are those recorded when the
 * watch was opened (nvmet_hp_same_dev()).  A disk that only has the name
 * is refused, reported once, and the namespace stays backend-lost.  Same
 * NSID, UUID and NGUID.  If the admin wrote another device_path since the
 * loss, the namespace waits for "enable".  The disk is found and opened
 * by number and handed to nvmet: a worker cannot resolve device_path,
 * kernel threads look paths up in the initial mount namespace.
 *
 * Return: 0 if done or nothing to do, -EAGAIN to try again later.
 */
static int nvmet_hp_ns_reattach(struct nvmet_hp_ns *hp)
{
	const struct class *cls = READ_ONCE(nvmet_hp_block_intf.class);
	const struct nvmet_hp_dev_id *lost = &hp->lost_id;
	struct nvmet_ns *ns = hp->ns;
	struct nvmet_hp_dev_id id;
	struct block_device *bdev;
	struct device *dev;
	struct file *file;
	bool same_path;
	dev_t devt;
	int ret = 0;

	/* busy with a long operation: the retries come back to it */
	if (!mutex_trylock(&hp->lock))
		return -EAGAIN;
	if (nvmet_hp_ns_state(hp) != NVMET_HP_BACKEND_LOST ||
	    !READ_ONCE(hp->auto_reattach) || !cls ||
	    !lost->uid_len)
		goto out_unlock;

	/*
	 * From here to the end the set-up files refuse writes, so that the
	 * path checked is the one attached; buffered_io would have nvmet
	 * open device_path itself, from this worker.
	 */
	mutex_lock(&ns->subsys->lock);
	same_path = hp->lost_path && ns->device_path &&
		!strcmp(hp->lost_path, ns->device_path) && !ns->buffered_io;
	if (same_path)
		ns->hotplug_busy = true;
	mutex_unlock(&ns->subsys->lock);
	if (!same_path) {
		/* the admin's new path is for "enable" to attach */
		if (!hp->lost_path_told)
			pr_info("nsid %u: device_path or buffered_io changed since %s went away, waiting for enable\n",
				ns->nsid, lost->name);
		hp->lost_path_told = true;
		goto out_unlock;
	}

	dev = class_find_device_by_name(cls, lost->name);
	if (!dev)
		goto out_busy;	/* not there: wait for the next disk */
	devt = dev->devt;
	put_device(dev);

	/* the disk may be visible before it can be opened: retry */
	file = bdev_file_open_by_dev(devt, BLK_OPEN_READ | BLK_OPEN_WRITE,
				     NULL, NULL);
	if (IS_ERR(file)) {
		ret = -EAGAIN;
		goto out_busy;
	}
	bdev = file_bdev(file);
	nvmet_hp_read_dev_id(bdev, &id);
	if (!nvmet_hp_same_dev(lost, &id)) {
		if (hp->rejected_seq != bdev->bd_disk->diskseq) {
			hp->rejected_seq = bdev->bd_disk->diskseq;
			pr_err("nsid %u: %s is back but is not the lost disk (unique id %*phN, %llu sectors of %u bytes at %llu; the lost one had %*phN, %llu sectors of %u bytes at %llu), not re-attaching it\n",
			       ns->nsid, lost->name, id.uid_len, id.uid,
			       (u64)id.nr_sects, 1U << id.blksize_shift,
			       (u64)id.start_sect, lost->uid_len, lost->uid,
			       (u64)lost->nr_sects, 1U << lost->blksize_shift,
			       (u64)lost->start_sect);
		}
		fput(file);
		goto out_busy;
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
		goto out_busy;
	}
	spin_lock(&hp->state_lock);
	hp->stats.reattaches++;
	spin_unlock(&hp->state_lock);
	nvmet_hp_notify(hp);
	pr_info("nsid %u of %s: backend %s is back, namespace re-attached\n",
		ns->nsid, ns->subsys->subsysnqn, lost->name);
out_busy:
	nvmet_hp_set_busy(hp, false);
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
