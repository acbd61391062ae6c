// SPDX-License-Identifier: GPL-2.0
/*
 * nvmet-hotplug hot-swap: replace the backing block device of a live
 * namespace, either as a new namespace (new UUID and NGUID: the hosts
 * remove the old one and add the new one) or keeping its identity (the
 * hosts keep their block device; their I/O pauses and resumes).
 * Copyright (c) 2026 nvmet-hotplug developers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/blkdev.h>
#include <linux/blk-integrity.h>
#include <linux/delay.h>
#include <linux/file.h>
#include <linux/fs.h>
#include <linux/random.h>
#include <linux/slab.h>
#include <linux/uuid.h>
#include "hotplug.h"

/* Upper bound of the wait for the hosts to read the log between the two
 * halves of a new-identity swap.
 */
#define NVMET_HP_LOG_WAIT_MAX_MS	10000U

/* Protection information and metadata format of a block device. */
struct nvmet_hp_format {
	enum blk_integrity_checksum	csum_type;
	unsigned char			metadata_size;
	bool				ref_tag;
};

/* What the swap needs to know about the new device, probed before. */
struct nvmet_hp_swap_target {
	dev_t			devt;
	unsigned int		blksize_shift;
	bool			zoned;
	struct nvmet_hp_format	format;
};

static void nvmet_hp_read_format(struct block_device *bdev,
				 struct nvmet_hp_format *f)
{
	struct blk_integrity *bi = bdev_get_integrity(bdev);

	memset(f, 0, sizeof(*f));
	if (!bi)
		return;
	f->csum_type = bi->csum_type;
	f->metadata_size = bi->metadata_size;
	f->ref_tag = bi->flags & BLK_INTEGRITY_REF_TAG;
}

static int nvmet_hp_swap_probe(struct nvmet_hp_ns *hp, const char *path,
			       struct nvmet_hp_swap_target *t)
{
	struct block_device *bdev;
	struct file *file;
	int ret;

	file = bdev_file_open_by_path(path, BLK_OPEN_READ, NULL, NULL);
	if (IS_ERR(file)) {
		ret = PTR_ERR(file);
		if (ret == -ENOTBLK) {
			pr_err("nsid %u: cannot swap to %s: not a block device\n",
			       hp->ns->nsid, path);
			return -EINVAL;
		}
		pr_err("nsid %u: cannot swap to %s: %d\n", hp->ns->nsid, path,
		       ret);
		return ret;
	}
	bdev = file_bdev(file);
	t->devt = bdev->bd_dev;
	t->blksize_shift = blksize_bits(bdev_logical_block_size(bdev));
	t->zoned = bdev_is_zoned(bdev);
	nvmet_hp_read_format(bdev, &t->format);
	fput(file);
	return 0;
}

/*
 * A keep-identity swap detaches and attaches the namespace, which drops its
 * reservation state (nvmet_pr_exit_ns()): the hosts would keep their
 * namespace and silently lose their registrations and reservation.  Refuse
 * it while any host is registered.  Checked before the quiesce, and again
 * once the namespace is quiesced, when no reservation command can run.
 */
static int nvmet_hp_swap_check_pr(struct nvmet_hp_ns *hp)
{
	struct nvmet_ns *ns = hp->ns;

	if (!ns->pr.enable || list_empty(&ns->pr.registrant_list))
		return 0;
	pr_err("nsid %u: cannot swap keeping the identity while hosts hold reservation registrations: they would be lost\n",
	       ns->nsid);
	return -EBUSY;
}

/* Context: @hp->lock held.  Return: 0 if the swap may go on. */
static int nvmet_hp_swap_check(struct nvmet_hp_ns *hp, const char *path,
			       const struct nvmet_hp_swap_target *t)
{
	struct nvmet_ns *ns = hp->ns;
	struct nvmet_hp_format cur;

	lockdep_assert_held(&hp->lock);

	if (nvmet_hp_lost_busy(hp))
		return -EBUSY;
	if (nvmet_hp_ns_state(hp) != NVMET_HP_LIVE) {
		pr_err("nsid %u: swap needs a live namespace, it is %s (write device_path and enable instead)\n",
		       ns->nsid, nvmet_hp_state_name(nvmet_hp_ns_state(hp)));
		return -EBUSY;
	}
	if (!ns->bdev) {
		pr_err("nsid %u: swap needs a block device backend, %s is a file (or buffered_io is set)\n",
		       ns->nsid, ns->device_path);
		return -EINVAL;
	}
	if (t->devt == ns->bdev->bd_dev) {
		pr_err("nsid %u: %s is the current backend already\n",
		       ns->nsid, path);
		return -EINVAL;
	}
	if (t->blksize_shift != ns->blksize_shift) {
		pr_err("nsid %u: cannot swap to %s: logical block size %u, the namespace has %u\n",
		       ns->nsid, path, 1U << t->blksize_shift,
		       1U << ns->blksize_shift);
		return -EINVAL;
	}
	if (t->zoned != bdev_is_zoned(ns->bdev)) {
		pr_err("nsid %u: cannot swap to %s: zoned and regular devices do not mix\n",
		       ns->nsid, path);
		return -EINVAL;
	}
	if (!READ_ONCE(hp->keep_identity))
		return 0;
	/* the hosts keep their namespace: it must keep its format */
	nvmet_hp_read_format(ns->bdev, &cur);
	if (memcmp(&cur, &t->format, sizeof(cur))) {
		pr_err("nsid %u: cannot swap to %s keeping the identity: protection information or metadata differ (%u bytes of metadata, checksum %d, ref tag %d; the namespace has %u, %d, %d)\n",
		       ns->nsid, path, t->format.metadata_size,
		       t->format.csum_type, t->format.ref_tag,
		       cur.metadata_size, cur.csum_type, cur.ref_tag);
		return -EINVAL;
	}
	return nvmet_hp_swap_check_pr(hp);
}

/*
 * A controller still has to read the Changed Namespace List: the AEN bit
 * stays masked until it does, and nvmet sends it no other AEN meanwhile.
 */
static bool nvmet_hp_log_unread(struct nvmet_subsys *subsys)
{
	struct nvmet_ctrl *ctrl;

	lockdep_assert_held(&subsys->lock);

	list_for_each_entry(ctrl, &subsys->ctrls, subsys_entry) {
		if (!(READ_ONCE(ctrl->aen_enabled) &
		      (1 << NVME_AEN_BIT_NS_ATTR)))
			continue;
		if (test_bit(NVME_AEN_BIT_NS_ATTR, &ctrl->aen_masked))
			return true;
	}
	return false;
}

/*
 * Between the detach and the attach of a new-identity swap, give the hosts
 * the time to read the log of the detach.  Otherwise the AEN of the attach
 * is masked, a host reads the log once, finds the NSID with new
 * identifiers, drops its namespace ("identifiers changed") and, with no
 * further AEN, never adds the new one.  Bounded: a host that does not read
 * its log must not block the target.
 */
static void nvmet_hp_wait_log_read(struct nvmet_hp_ns *hp)
{
	struct nvmet_subsys *subsys = hp->ns->subsys;
	unsigned int ms = min(READ_ONCE(hp->quiesce_timeout_ms),
			      NVMET_HP_LOG_WAIT_MAX_MS);
	unsigned long deadline = jiffies + msecs_to_jiffies(ms);
	bool unread;

	for (;;) {
		mutex_lock(&subsys->lock);
		unread = nvmet_hp_log_unread(subsys);
		mutex_unlock(&subsys->lock);
		if (!unread)
			return;
		if (time_after(jiffies, deadline)) {
			pr_warn("nsid %u: a host did not read the changed namespace log within %u ms\n",
				hp->ns->nsid, ms);
			return;
		}
		msleep(20);
	}
}

/* Identity and path of the namespace before the swap, to roll back to. */
struct nvmet_hp_swap_undo {
	const char	*path;
	uuid_t		uuid;
	u8		nguid[16];
};

/* Context: @hp->lock held, the namespace detached. */
static void nvmet_hp_swap_switch(struct nvmet_hp_ns *hp, char *path,
				 bool keep, struct nvmet_hp_swap_undo *undo)
{
	struct nvmet_ns *ns = hp->ns;

	mutex_lock(&ns->subsys->lock);
	undo->path = ns->device_path;
	undo->uuid = ns->uuid;
	memcpy(undo->nguid, ns->nguid, sizeof(undo->nguid));
	ns->device_path = path;
	if (!keep) {
		uuid_gen(&ns->uuid);
		get_random_bytes(ns->nguid, sizeof(ns->nguid));
	}
	mutex_unlock(&ns->subsys->lock);
}

/* Context: @hp->lock held, the namespace detached.  Frees the new path. */
static void nvmet_hp_swap_undo(struct nvmet_hp_ns *hp,
			       struct nvmet_hp_swap_undo *undo)
{
	struct nvmet_ns *ns = hp->ns;
	const char *path;

	mutex_lock(&ns->subsys->lock);
	path = ns->device_path;
	ns->device_path = undo->path;
	ns->uuid = undo->uuid;
	memcpy(ns->nguid, undo->nguid, sizeof(ns->nguid));
	mutex_unlock(&ns->subsys->lock);
	kfree(path);
}

/**
 * nvmet_hp_ns_swap() - replace the backing block device of a live namespace
 * @hp: namespace
 * @path: path of the new block device
 *
 * The new device must have the logical block size of the old one; a
 * different size is fine and reported.  The quiesce is bounded as for a
 * detach; if it gives up, nothing changed.
 *
 * With keep_identity the namespace keeps NSID, UUID and NGUID: it is
 * quiesced (host I/O gets the retryable path error meanwhile), switched to
 * the new device and resumed, and the controllers get one AEN so that the
 * hosts revalidate it.  Without, it is detached and notified, then
 * attached with a new UUID and NGUID and notified again.
 *
 * If the new device cannot be attached the old one is attached again.
 *
 * Context: takes @hp->lock.
 * Return: 0, or a negative errno.
 */
int nvmet_hp_ns_swap(struct nvmet_hp_ns *hp, const char *path)
{
	struct nvmet_ns *ns = hp->ns;
	struct nvmet_hp_swap_target target;
	struct nvmet_hp_swap_undo undo;
	char reason[NVMET_HP_REASON_LEN];
	char *new_path;
	u64 old_size;
	ktime_t start;
	bool keep;
	int ret;

	ret = nvmet_hp_swap_probe(hp, path, &target);
	if (ret)
		return ret;
	new_path = kstrdup(path, GFP_KERNEL);
	if (!new_path)
		return -ENOMEM;

	ret = mutex_lock_killable(&hp->lock);
	if (ret) {
		kfree(new_path);
		return ret;
	}
	ret = nvmet_hp_swap_check(hp, path, &target);
	if (ret)
		goto out_free;

	nvmet_hp_set_busy(hp, true);
	keep = READ_ONCE(hp->keep_identity);
	ret = nvmet_hp_quiesce(hp, &start);
	if (ret)
		goto out_free;
	if (keep) {
		ret = nvmet_hp_swap_check_pr(hp);
		if (ret) {
			/*
			 * A host registered meanwhile: nothing changed, but a
			 * host that scanned during the quiesce found the
			 * namespace not ready, and waits for an event.
			 */
			nvmet_hp_resume_drained(hp);
			nvmet_hp_notify(hp);
			goto out_free;
		}
	}

	old_size = ns->size;
	if (keep) {
		/* no AEN now: the hosts only see one, after the resume */
		nvmet_hp_set_state(hp, NVMET_HP_SWAPPING, NULL, 0);
		nvmet_ns_detach(ns);
		nvmet_hp_watch_close(hp);
	} else {
		nvmet_hp_finish_detach(hp, start, NVMET_HP_DETACHED, NULL);
	}
	nvmet_hp_swap_switch(hp, new_path, keep, &undo);
	if (!keep) {
		nvmet_hp_notify(hp);
		nvmet_hp_wait_log_read(hp);
	}

	ret = __nvmet_hp_ns_attach(hp, NVMET_HP_FAILED);
	if (ret) {
		pr_err("nsid %u: swap to %s failed (%d), going back to %s\n",
		       ns->nsid, path, ret, undo.path);
		nvmet_hp_swap_undo(hp, &undo);
		if (!__nvmet_hp_ns_attach(hp, NVMET_HP_FAILED)) {
			snprintf(reason, sizeof(reason),
				 "swap to %s failed: %d", path, ret);
			nvmet_hp_set_state(hp, NVMET_HP_LIVE, reason, ret);
		}
		nvmet_hp_notify(hp);
		goto out_unlock;
	}

	spin_lock(&hp->state_lock);
	hp->stats.swaps++;
	if (keep)
		hp->stats.attaches--;	/* a swap, not a detach + attach */
	spin_unlock(&hp->state_lock);
	nvmet_hp_notify(hp);
	if (ns->size != old_size)
		pr_info("nsid %u: size changed from %llu to %llu bytes\n",
			ns->nsid, old_size, ns->size);
	pr_info("nsid %u of %s swapped from %s to %s (%s identity) in %lld us\n",
		ns->nsid, ns->subsys->subsysnqn, undo.path, path,
		keep ? "same" : "new", ktime_us_delta(ktime_get(), start));
	kfree(undo.path);
	goto out_unlock;

out_free:
	kfree(new_path);
out_unlock:
	nvmet_hp_set_busy(hp, false);
	mutex_unlock(&hp->lock);
	return ret;
}
