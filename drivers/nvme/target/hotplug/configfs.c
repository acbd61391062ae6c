// SPDX-License-Identifier: GPL-2.0
/*
 * nvmet-hotplug configfs: parses the files of namespaces/<nsid>/hotplug/
 * and subsystems/<nqn>/hotplug/ and hands the request to the core.
 * Copyright (c) 2026 nvmet-hotplug developers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/slab.h>
#include <linux/string.h>
#include <linux/sysfs.h>
#include "hotplug.h"

static const char * const nvmet_hp_on_timeout_names[] = {
	[NVMET_HP_ON_TIMEOUT_FAIL]	= "fail",
	[NVMET_HP_ON_TIMEOUT_WAIT]	= "wait",
};

static ssize_t nvmet_hp_state_show(struct nvmet_hp_ns *hp, char *page)
{
	ssize_t len;

	enum nvmet_hp_state state = nvmet_hp_ns_state(hp);

	spin_lock(&hp->state_lock);
	len = sysfs_emit(page, "%s\n", nvmet_hp_state_name(state));
	/* the reason belongs to the module's record, if that is the state */
	if (hp->reason[0] && state == hp->state)
		len += sysfs_emit_at(page, len, "reason: %s\n", hp->reason);
	spin_unlock(&hp->state_lock);
	return len;
}

static ssize_t nvmet_hp_stats_show(struct nvmet_hp_ns *hp, char *page)
{
	struct nvmet_hp_stats st;

	spin_lock(&hp->state_lock);
	st = hp->stats;
	spin_unlock(&hp->state_lock);

	return sysfs_emit(page,
			  "attaches %llu\ndetaches %llu\nlast_quiesce_us %llu\n"
			  "max_quiesce_us %llu\ntimeouts %llu\naens_sent %llu\n"
			  "backend_lost %llu\nreattaches %llu\nswaps %llu\n"
			  "batch_ops %llu\n",
			  st.attaches, st.detaches, st.last_quiesce_us,
			  st.max_quiesce_us, st.timeouts, st.aens_sent,
			  st.backend_lost, st.reattaches, st.swaps,
			  st.batch_ops);
}

/**
 * nvmet_hp_ns_show() - show a file of namespaces/<nsid>/hotplug/
 * @ns: namespace
 * @attr: which file
 * @page: buffer of PAGE_SIZE
 *
 * Return: bytes written, or a negative errno.
 */
ssize_t nvmet_hp_ns_show(struct nvmet_ns *ns, enum nvmet_hotplug_ns_attr attr,
			 char *page)
{
	struct nvmet_hp_ns *hp = nvmet_hp_ns_get(ns);
	enum nvmet_hp_on_timeout policy;

	if (!hp)
		return -ENOMEM;

	switch (attr) {
	case NVMET_HOTPLUG_NS_STATE:
		return nvmet_hp_state_show(hp, page);
	case NVMET_HOTPLUG_NS_INFLIGHT:
		return sysfs_emit(page, "%lu\n", nvmet_hp_ns_inflight(hp));
	case NVMET_HOTPLUG_NS_QUIESCE_TIMEOUT_MS:
		return sysfs_emit(page, "%u\n",
				  READ_ONCE(hp->quiesce_timeout_ms));
	case NVMET_HOTPLUG_NS_ON_TIMEOUT:
		policy = READ_ONCE(hp->on_timeout);
		return sysfs_emit(page, "%s\n",
				  nvmet_hp_on_timeout_names[policy]);
	case NVMET_HOTPLUG_NS_STATS:
		return nvmet_hp_stats_show(hp, page);
	case NVMET_HOTPLUG_NS_BACKEND_WATCH:
		return sysfs_emit(page, "%d\n", READ_ONCE(hp->backend_watch));
	case NVMET_HOTPLUG_NS_AUTO_REATTACH:
		return sysfs_emit(page, "%d\n", READ_ONCE(hp->auto_reattach));
	case NVMET_HOTPLUG_NS_KEEP_IDENTITY:
		return sysfs_emit(page, "%d\n", READ_ONCE(hp->keep_identity));
	case NVMET_HOTPLUG_NS_SWAP:
		break;
	}
	return -EINVAL;
}

/*
 * The policy of a quiesce in progress is fixed: refuse to change it rather
 * than wait behind a quiesce that may take long (on_timeout=wait).
 */
static int nvmet_hp_lock_policy(struct nvmet_hp_ns *hp, const char *name)
{
	if (mutex_trylock(&hp->lock)) {
		/* the loss work drains without the lock: it is a quiesce too */
		if (!hp->lost_draining)
			return 0;
		mutex_unlock(&hp->lock);
	}
	pr_err("nsid %u: cannot change %s while the namespace is %s\n",
	       hp->ns->nsid, name, nvmet_hp_state_name(nvmet_hp_ns_state(hp)));
	return -EBUSY;
}

static ssize_t nvmet_hp_quiesce_timeout_store(struct nvmet_hp_ns *hp,
					      const char *page, size_t count)
{
	u32 ms;
	int ret;

	if (kstrtou32(page, 0, &ms) || !ms ||
	    ms > NVMET_HP_QUIESCE_TIMEOUT_MAX_MS) {
		pr_err("nsid %u: quiesce_timeout_ms must be 1..%u\n",
		       hp->ns->nsid, NVMET_HP_QUIESCE_TIMEOUT_MAX_MS);
		return -EINVAL;
	}

	ret = nvmet_hp_lock_policy(hp, "quiesce_timeout_ms");
	if (ret)
		return ret;
	WRITE_ONCE(hp->quiesce_timeout_ms, ms);
	mutex_unlock(&hp->lock);
	return count;
}

static ssize_t nvmet_hp_on_timeout_store(struct nvmet_hp_ns *hp,
					 const char *page, size_t count)
{
	int policy, ret;

	policy = sysfs_match_string(nvmet_hp_on_timeout_names, page);
	if (policy < 0) {
		pr_err("nsid %u: on_timeout must be \"fail\" or \"wait\"\n",
		       hp->ns->nsid);
		return -EINVAL;
	}

	ret = nvmet_hp_lock_policy(hp, "on_timeout");
	if (ret)
		return ret;
	WRITE_ONCE(hp->on_timeout, policy);
	mutex_unlock(&hp->lock);
	return count;
}

enum nvmet_hp_bool_knob {
	NVMET_HP_KNOB_BACKEND_WATCH,
	NVMET_HP_KNOB_AUTO_REATTACH,
	NVMET_HP_KNOB_KEEP_IDENTITY,
};

static const char * const nvmet_hp_knob_names[] = {
	[NVMET_HP_KNOB_BACKEND_WATCH]	= "backend_watch",
	[NVMET_HP_KNOB_AUTO_REATTACH]	= "auto_reattach",
	[NVMET_HP_KNOB_KEEP_IDENTITY]	= "keep_identity",
};

static ssize_t nvmet_hp_bool_store(struct nvmet_hp_ns *hp,
				   enum nvmet_hp_bool_knob knob,
				   const char *page, size_t count)
{
	const char *name = nvmet_hp_knob_names[knob];
	bool val;
	int ret;

	if (kstrtobool(page, &val)) {
		pr_err("nsid %u: %s must be 0 or 1\n", hp->ns->nsid, name);
		return -EINVAL;
	}

	ret = nvmet_hp_lock_policy(hp, name);
	if (ret)
		return ret;
	switch (knob) {
	case NVMET_HP_KNOB_BACKEND_WATCH:
		ret = nvmet_hp_set_backend_watch(hp, val);
		break;
	case NVMET_HP_KNOB_AUTO_REATTACH:
		ret = nvmet_hp_set_auto_reattach(hp, val);
		break;
	case NVMET_HP_KNOB_KEEP_IDENTITY:
		WRITE_ONCE(hp->keep_identity, val);
		break;
	}
	mutex_unlock(&hp->lock);
	return ret ? ret : count;
}

static ssize_t nvmet_hp_swap_store(struct nvmet_hp_ns *hp, const char *page,
				   size_t count)
{
	size_t len = strcspn(page, "\n");
	char *path;
	int ret;

	if (!len || len >= PATH_MAX || page[len + (page[len] == '\n')]) {
		pr_err("nsid %u: swap needs the path of a block device\n",
		       hp->ns->nsid);
		return -EINVAL;
	}
	path = kmemdup_nul(page, len, GFP_KERNEL);
	if (!path)
		return -ENOMEM;
	ret = nvmet_hp_ns_swap(hp, path);
	kfree(path);
	return ret ? ret : count;
}

/**
 * nvmet_hp_ns_store() - store into a file of namespaces/<nsid>/hotplug/
 * @ns: namespace
 * @attr: which file
 * @page: what the user wrote
 * @count: its length
 *
 * Return: @count, or a negative errno with nothing changed.
 */
ssize_t nvmet_hp_ns_store(struct nvmet_ns *ns, enum nvmet_hotplug_ns_attr attr,
			  const char *page, size_t count)
{
	struct nvmet_hp_ns *hp = nvmet_hp_ns_get(ns);

	if (!hp)
		return -ENOMEM;

	switch (attr) {
	case NVMET_HOTPLUG_NS_QUIESCE_TIMEOUT_MS:
		return nvmet_hp_quiesce_timeout_store(hp, page, count);
	case NVMET_HOTPLUG_NS_ON_TIMEOUT:
		return nvmet_hp_on_timeout_store(hp, page, count);
	case NVMET_HOTPLUG_NS_BACKEND_WATCH:
		return nvmet_hp_bool_store(hp, NVMET_HP_KNOB_BACKEND_WATCH,
					   page, count);
	case NVMET_HOTPLUG_NS_AUTO_REATTACH:
		return nvmet_hp_bool_store(hp, NVMET_HP_KNOB_AUTO_REATTACH,
					   page, count);
	case NVMET_HOTPLUG_NS_KEEP_IDENTITY:
		return nvmet_hp_bool_store(hp, NVMET_HP_KNOB_KEEP_IDENTITY,
					   page, count);
	case NVMET_HOTPLUG_NS_SWAP:
		return nvmet_hp_swap_store(hp, page, count);
	default:
		break;
	}
	pr_err("nsid %u: this hotplug file is read-only\n", ns->nsid);
	return -EPERM;
}

static ssize_t nvmet_hp_last_batch_show(struct nvmet_hp_subsys *hs,
					char *page)
{
	ssize_t len;

	spin_lock(&hs->report_lock);
	if (hs->last_batch)
		len = sysfs_emit(page, "%s", hs->last_batch);
	else
		len = sysfs_emit(page, "none\n");
	spin_unlock(&hs->report_lock);
	return len;
}

static ssize_t nvmet_hp_subsys_stats_show(struct nvmet_hp_subsys *hs,
					  char *page)
{
	struct nvmet_hp_subsys_stats st;

	spin_lock(&hs->report_lock);
	st = hs->stats;
	spin_unlock(&hs->report_lock);

	return sysfs_emit(page,
			  "batch_attaches %llu\nbatch_detaches %llu\n"
			  "batch_failures %llu\nbatch_rejected %llu\n"
			  "last_batch_us %llu\n",
			  st.batch_attaches, st.batch_detaches,
			  st.batch_failures, st.batch_rejected,
			  st.last_batch_us);
}

/**
 * nvmet_hp_subsys_show() - show a file of subsystems/<nqn>/hotplug/
 * @subsys: subsystem
 * @attr: which file
 * @page: buffer of PAGE_SIZE
 *
 * Return: bytes written, or a negative errno.
 */
ssize_t nvmet_hp_subsys_show(struct nvmet_subsys *subsys,
			     enum nvmet_hotplug_subsys_attr attr, char *page)
{
	struct nvmet_hp_subsys *hs = nvmet_hp_subsys_get(subsys);

	if (!hs)
		return -ENOMEM;

	switch (attr) {
	case NVMET_HOTPLUG_SUBSYS_LAST_BATCH:
		return nvmet_hp_last_batch_show(hs, page);
	case NVMET_HOTPLUG_SUBSYS_STATS:
		return nvmet_hp_subsys_stats_show(hs, page);
	default:
		break;
	}
	return -EINVAL;
}

/**
 * nvmet_hp_subsys_store() - store into a file of subsystems/<nqn>/hotplug/
 * @subsys: subsystem
 * @attr: which file
 * @page: what the user wrote
 * @count: its length
 *
 * Return: @count, or a negative errno (see nvmet_hp_batch() for what a
 * failed batch leaves behind).
 */
ssize_t nvmet_hp_subsys_store(struct nvmet_subsys *subsys,
			      enum nvmet_hotplug_subsys_attr attr,
			      const char *page, size_t count)
{
	struct nvmet_hp_subsys *hs;
	u32 *nsids, nr;
	int ret;

	if (attr != NVMET_HOTPLUG_SUBSYS_ATTACH &&
	    attr != NVMET_HOTPLUG_SUBSYS_DETACH) {
		pr_err("%s: this hotplug file is read-only\n",
		       subsys->subsysnqn);
		return -EPERM;
	}

	hs = nvmet_hp_subsys_get(subsys);
	if (!hs)
		return -ENOMEM;
	ret = nvmet_hp_parse_nsids(page, &nsids, &nr);
	if (ret) {
		spin_lock(&hs->report_lock);
		hs->stats.batch_rejected++;
		spin_unlock(&hs->report_lock);
		return ret;
	}
	ret = nvmet_hp_batch(hs, attr == NVMET_HOTPLUG_SUBSYS_ATTACH, nsids,
			     nr);
	kfree(nsids);
	return ret ? ret : count;
}
