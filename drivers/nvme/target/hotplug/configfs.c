// SPDX-License-Identifier: GPL-2.0
/*
 * nvmet-hotplug configfs: parses the files of namespaces/<nsid>/hotplug/
 * and hands the request to the core.
 * Copyright (c) 2026 nvmet-hotplug developers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/kernel.h>
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

	spin_lock(&hp->state_lock);
	len = sysfs_emit(page, "%s\n", nvmet_hp_state_name(hp->state));
	if (hp->reason[0])
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
			  "max_quiesce_us %llu\ntimeouts %llu\naens_sent %llu\n",
			  st.attaches, st.detaches, st.last_quiesce_us,
			  st.max_quiesce_us, st.timeouts, st.aens_sent);
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
	}
	return -EINVAL;
}

/*
 * The policy of a quiesce in progress is fixed: refuse to change it rather
 * than wait behind a quiesce that may take long (on_timeout=wait).
 */
static int nvmet_hp_lock_policy(struct nvmet_hp_ns *hp, const char *name)
{
	if (mutex_trylock(&hp->lock))
		return 0;
	pr_err("nsid %u: cannot change %s while the namespace is %s\n",
	       hp->ns->nsid, name, nvmet_hp_state_name(READ_ONCE(hp->state)));
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
	default:
		break;
	}
	pr_err("nsid %u: this hotplug file is read-only\n", ns->nsid);
	return -EPERM;
}
