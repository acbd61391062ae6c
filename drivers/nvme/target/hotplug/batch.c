// SPDX-License-Identifier: GPL-2.0
/*
 * nvmet-hotplug batches: attach or detach a list of namespaces of one
 * subsystem together, in one RCU grace period and with one AEN per
 * controller, and report which NSIDs changed.
 * Copyright (c) 2026 nvmet-hotplug developers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/configfs.h>
#include <linux/kernel.h>
#include <linux/slab.h>
#include <linux/sort.h>
#include <linux/string.h>
#include "hotplug.h"
#include "trace.h"

/* Outcome of one namespace of a batch. */
enum nvmet_hp_batch_res {
	/* in the requested state already, nothing done */
	NVMET_HP_BATCH_SKIPPED,
	/* quiescing, not decided yet */
	NVMET_HP_BATCH_PENDING,
	/* attached or detached by the batch */
	NVMET_HP_BATCH_CHANGED,
	/* the operation failed, the namespace is as it was */
	NVMET_HP_BATCH_FAILED,
};

/**
 * struct nvmet_hp_batch - one batch in progress
 * @hs: subsystem
 * @attach: attach (true) or detach
 * @nr: number of namespaces
 * @nsids: their NSIDs, ascending
 * @ns: the namespaces, each pinned through its configfs item
 * @hp: their hotplug state
 * @res: outcome of each
 * @err: errno of each failure
 * @changed: room for the NSIDs to report to the controllers
 */
struct nvmet_hp_batch {
	struct nvmet_hp_subsys	*hs;
	bool			attach;
	u32			nr;
	const u32		*nsids;
	struct nvmet_ns		**ns;
	struct nvmet_hp_ns	**hp;
	u8			*res;
	int			*err;
	u32			*changed;
};

static int nvmet_hp_cmp_u32(const void *a, const void *b)
{
	u32 x = *(const u32 *)a, y = *(const u32 *)b;

	return x < y ? -1 : x > y;
}

/* Parse "A" or "A-B" into [*first, *last]; @tok is left as it was. */
static int nvmet_hp_parse_range(char *tok, u32 *first, u32 *last)
{
	char *dash = strchr(tok, '-');
	int ret;

	if (!dash)
		return kstrtou32(tok, 10, first) ?:
			kstrtou32(tok, 10, last);
	*dash = '\0';
	ret = kstrtou32(tok, 10, first);
	*dash = '-';
	return ret ?: kstrtou32(dash + 1, 10, last);
}

/**
 * nvmet_hp_parse_nsids() - parse a list of NSIDs such as "1-64,70"
 * @page: the text, with an optional trailing newline
 * @nsids: gets a kmalloc'ed array of the NSIDs, ascending
 * @nr: gets their number
 *
 * Rejects, with a pr_err saying why: garbage, empty items, NSID 0,
 * reversed ranges, NSIDs above the largest valid one, more NSIDs than a
 * subsystem can have, and duplicates.
 *
 * Return: 0, -EINVAL or -ENOMEM.
 */
int nvmet_hp_parse_nsids(const char *page, u32 **nsids, u32 *nr)
{
	char *buf, *p, *tok;
	u32 *ids, n = 0, first, last, id, i;
	int ret = -EINVAL;

	buf = kstrdup(page, GFP_KERNEL);
	ids = kmalloc_array(NVMET_MAX_NAMESPACES, sizeof(*ids), GFP_KERNEL);
	if (!buf || !ids) {
		ret = -ENOMEM;
		goto out_free;
	}

	p = strim(buf);
	if (!*p) {
		pr_err("empty NSID list\n");
		goto out_free;
	}
	while ((tok = strsep(&p, ","))) {
		if (nvmet_hp_parse_range(tok, &first, &last)) {
			pr_err("bad NSID list item \"%s\": expected N or N-M\n",
			       tok);
			goto out_free;
		}
		if (!first || first > last || last >= NVME_NSID_ALL) {
			pr_err("bad NSID range %u-%u: NSIDs are 1..%u, ranges ascending\n",
			       first, last, NVME_NSID_ALL - 1);
			goto out_free;
		}
		if (last - first >= NVMET_MAX_NAMESPACES - n) {
			pr_err("NSID list names more than %u namespaces\n",
			       NVMET_MAX_NAMESPACES);
			goto out_free;
		}
		for (id = first; ; id++) {
			ids[n++] = id;
			if (id == last)
				break;
		}
	}

	sort(ids, n, sizeof(*ids), nvmet_hp_cmp_u32, NULL);
	for (i = 1; i < n; i++) {
		if (ids[i] == ids[i - 1]) {
			pr_err("NSID %u is listed twice\n", ids[i]);
			goto out_free;
		}
	}

	*nsids = ids;
	*nr = n;
	ids = NULL;
	ret = 0;
out_free:
	kfree(ids);
	kfree(buf);
	return ret;
}

/*
 * Append the NSIDs whose outcome is in @mask to @buf as a compact list
 * ("1-3,7"), "-" if none.
 */
static int nvmet_hp_format_nsids(char *buf, size_t size,
				 const struct nvmet_hp_batch *b, u32 mask)
{
	int len = 0;
	u32 i, j;

	for (i = 0; i < b->nr; i = j) {
		j = i + 1;
		if (!(mask & BIT(b->res[i])))
			continue;
		while (j < b->nr && (mask & BIT(b->res[j])) &&
		       b->nsids[j] == b->nsids[j - 1] + 1)
			j++;
		len += scnprintf(buf + len, size - len, "%s%u", len ? "," : "",
				 b->nsids[i]);
		if (j - 1 > i)
			len += scnprintf(buf + len, size - len, "-%u",
					 b->nsids[j - 1]);
	}
	if (!len)
		len = scnprintf(buf, size, "-");
	return len;
}

static void nvmet_hp_batch_unpin(struct nvmet_hp_batch *b, u32 nr)
{
	u32 i;

	for (i = 0; i < nr; i++)
		config_item_put(&b->ns[i]->group.cg_item);
}

/*
 * Find and pin every namespace of the list, or none.  Pinning the configfs
 * item keeps the namespace (and its hotplug state) from being freed by an
 * rmdir until our config_item_put().
 */
static int nvmet_hp_batch_pin(struct nvmet_hp_batch *b)
{
	struct nvmet_subsys *subsys = b->hs->subsys;
	struct nvmet_ns *ns;
	u32 i;

	mutex_lock(&subsys->lock);
	for (i = 0; i < b->nr; i++) {
		ns = xa_load(&subsys->namespaces, b->nsids[i]);
		if (!ns || !config_item_get_unless_zero(&ns->group.cg_item))
			break;
		b->ns[i] = ns;
	}
	mutex_unlock(&subsys->lock);
	if (i == b->nr)
		return 0;

	pr_err("batch on %s: nsid %u does not exist\n", subsys->subsysnqn,
	       b->nsids[i]);
	nvmet_hp_batch_unpin(b, i);
	return -EINVAL;
}

static void nvmet_hp_batch_unlock(struct nvmet_hp_batch *b, u32 nr)
{
	u32 i;

	for (i = 0; i < nr; i++)
		mutex_unlock(&b->hp[i]->lock);
}

/*
 * Take the lock of every namespace, in ascending NSID order, nested in the
 * subsystem's batch_lock: lockdep then counts them as one lock (a batch may
 * hold more locks than a task may hold otherwise) and knows that two
 * batches cannot interleave.  A namespace in the middle of another
 * operation (a long quiesce, say) makes the batch fail with -EBUSY rather
 * than wait with the others locked.
 */
static int nvmet_hp_batch_lock(struct nvmet_hp_batch *b)
{
	u32 i;

	lockdep_assert_held(&b->hs->batch_lock);

	for (i = 0; i < b->nr; i++) {
		if (!mutex_trylock_nest_lock(&b->hp[i]->lock,
					     &b->hs->batch_lock))
			break;
		if (nvmet_hp_lost_busy(b->hp[i])) {
			/* logged why: a lost backend is draining */
			nvmet_hp_batch_unlock(b, i + 1);
			return -EBUSY;
		}
	}
	if (i == b->nr)
		return 0;

	pr_err("batch on %s: nsid %u is busy (%s), nothing changed\n",
	       b->hs->subsys->subsysnqn, b->nsids[i],
	       nvmet_hp_state_name(nvmet_hp_ns_state(b->hp[i])));
	nvmet_hp_batch_unlock(b, i);
	return -EBUSY;
}

/*
 * Kill the percpu_ref of every live namespace first, then wait for each:
 * the refs switch to atomic mode in RCU callbacks queued together, so the
 * whole batch waits for about one grace period instead of one each.
 */
static int nvmet_hp_batch_detach(struct nvmet_hp_batch *b, ktime_t start)
{
	struct nvmet_hp_ns *hp;
	int ret = 0, err;
	u32 i;

	for (i = 0; i < b->nr; i++) {
		hp = b->hp[i];
		if (!b->ns[i]->enabled) {
			b->res[i] = NVMET_HP_BATCH_SKIPPED;
		} else if (nvmet_hp_quiesce_begin(hp)) {
			b->res[i] = NVMET_HP_BATCH_PENDING;
		} else {
			b->res[i] = NVMET_HP_BATCH_FAILED;
			b->err[i] = -EBUSY;
		}
	}

	for (i = 0; i < b->nr; i++) {
		if (b->res[i] != NVMET_HP_BATCH_PENDING)
			continue;
		hp = b->hp[i];
		err = nvmet_hp_wait_drained(hp, start);
		if (err && nvmet_hp_quiesce_give_up(hp, err, start)) {
			b->res[i] = NVMET_HP_BATCH_FAILED;
			b->err[i] = err;
			continue;
		}
		nvmet_hp_finish_detach(hp, start, NVMET_HP_DETACHED, NULL);
		b->res[i] = NVMET_HP_BATCH_CHANGED;
	}

	for (i = 0; i < b->nr; i++) {
		if (b->res[i] == NVMET_HP_BATCH_FAILED && !ret)
			ret = b->err[i];
	}
	return ret;
}

static int nvmet_hp_batch_attach(struct nvmet_hp_batch *b)
{
	int ret = 0, err;
	u32 i;

	for (i = 0; i < b->nr; i++) {
		if (b->ns[i]->enabled) {
			b->res[i] = NVMET_HP_BATCH_SKIPPED;
			continue;
		}
		err = __nvmet_hp_ns_attach(b->hp[i], NVMET_HP_FAILED);
		if (err) {
			b->res[i] = NVMET_HP_BATCH_FAILED;
			b->err[i] = err;
			if (!ret)
				ret = err;
			continue;
		}
		b->res[i] = NVMET_HP_BATCH_CHANGED;
	}
	return ret;
}

/*
 * All the NSIDs in one report: each controller's Changed NS List gets every
 * one of them before its one AEN is queued (nvmet_ns_list_changed()), so a
 * host that answers the AEN at once reads the whole list and gets no second
 * AEN for the batch.  The AENs are counted on the first namespace reported.
 * A namespace whose quiesce was given up (-ETIMEDOUT, -ERESTARTSYS) is
 * reported too: a controller that scanned meanwhile may have left it out
 * (nvmet_hp_quiesce_give_up()).
 */
static void nvmet_hp_batch_notify(struct nvmet_hp_batch *b)
{
	struct nvmet_subsys *subsys = b->hs->subsys;
	struct nvmet_hp_ns *hp, *first = NULL;
	u32 i, n = 0, aens;

	for (i = 0; i < b->nr; i++) {
		hp = b->hp[i];
		if (b->res[i] == NVMET_HP_BATCH_FAILED && !b->attach &&
		    (b->err[i] == -ETIMEDOUT || b->err[i] == -ERESTARTSYS)) {
			b->changed[n++] = b->nsids[i];
			first = first ?: hp;
		}
		if (b->res[i] != NVMET_HP_BATCH_CHANGED)
			continue;
		b->changed[n++] = b->nsids[i];
		first = first ?: hp;
		spin_lock(&hp->state_lock);
		hp->stats.batch_ops++;
		spin_unlock(&hp->state_lock);
	}
	if (!n)
		return;

	mutex_lock(&subsys->lock);
	aens = nvmet_ns_list_changed(subsys, b->changed, n);
	mutex_unlock(&subsys->lock);
	spin_lock(&first->state_lock);
	first->stats.aens_sent += aens;
	spin_unlock(&first->state_lock);
}

static void nvmet_hp_batch_log_failure(struct nvmet_hp_batch *b, int ret,
				       const char *report)
{
	char *line = kstrdup(report, GFP_KERNEL);

	if (!line)
		return;
	strreplace(strim(line), '\n', ' ');
	pr_err("batch %s on %s failed (%d): %s\n",
	       b->attach ? "attach" : "detach", b->hs->subsys->subsysnqn, ret,
	       line);
	kfree(line);
}

/* Write the report of hotplug/last_batch and log a failure. */
static void nvmet_hp_batch_report(struct nvmet_hp_batch *b, int ret, u64 us)
{
	const u32 changed = BIT(NVMET_HP_BATCH_CHANGED);
	const u32 unchanged = BIT(NVMET_HP_BATCH_SKIPPED) |
			      BIT(NVMET_HP_BATCH_FAILED);
	const u32 failed = BIT(NVMET_HP_BATCH_FAILED);
	struct nvmet_hp_subsys *hs = b->hs;
	char *page, *old;
	int len;

	page = kmalloc(PAGE_SIZE, GFP_KERNEL);
	if (page) {
		len = scnprintf(page, PAGE_SIZE, "op %s\nresult %d\nchanged ",
				b->attach ? "attach" : "detach", ret);
		len += nvmet_hp_format_nsids(page + len, PAGE_SIZE - len, b,
					     changed);
		len += scnprintf(page + len, PAGE_SIZE - len, "\nunchanged ");
		len += nvmet_hp_format_nsids(page + len, PAGE_SIZE - len, b,
					     unchanged);
		len += scnprintf(page + len, PAGE_SIZE - len, "\nfailed ");
		len += nvmet_hp_format_nsids(page + len, PAGE_SIZE - len, b,
					     failed);
		scnprintf(page + len, PAGE_SIZE - len, "\nduration_us %llu\n",
			  us);
		if (ret)
			nvmet_hp_batch_log_failure(b, ret, page);
	}

	spin_lock(&hs->report_lock);
	if (ret)
		hs->stats.batch_failures++;
	else if (b->attach)
		hs->stats.batch_attaches++;
	else
		hs->stats.batch_detaches++;
	hs->stats.last_batch_us = us;
	old = hs->last_batch;
	if (page)
		hs->last_batch = page;
	spin_unlock(&hs->report_lock);
	if (page)
		kfree(old);
}

/**
 * nvmet_hp_batch() - attach or detach a list of namespaces together
 * @hs: subsystem
 * @attach: attach (true) or detach
 * @nsids: NSIDs, ascending and distinct, as nvmet_hp_parse_nsids() gives
 * @nr: their number
 *
 * Every namespace must exist and none may be in the middle of another
 * operation; otherwise nothing changes.  Namespaces in the requested state
 * already are left alone.  Each quiesce is bounded by its namespace's
 * quiesce_timeout_ms and on_timeout.  A failure part-way does not undo
 * what succeeded: hotplug/last_batch (and a pr_err) say which NSIDs
 * changed and which did not.
 *
 * Return: 0, or the first error.
 */
int nvmet_hp_batch(struct nvmet_hp_subsys *hs, bool attach, const u32 *nsids,
		   u32 nr)
{
	struct nvmet_hp_batch b = {
		.hs = hs, .attach = attach, .nr = nr, .nsids = nsids,
	};
	ktime_t start;
	u64 us;
	u32 i;
	int ret = -ENOMEM;

	b.ns = kcalloc(nr, sizeof(*b.ns), GFP_KERNEL);
	b.hp = kcalloc(nr, sizeof(*b.hp), GFP_KERNEL);
	b.res = kcalloc(nr, sizeof(*b.res), GFP_KERNEL);
	b.err = kcalloc(nr, sizeof(*b.err), GFP_KERNEL);
	b.changed = kcalloc(nr, sizeof(*b.changed), GFP_KERNEL);
	if (!b.ns || !b.hp || !b.res || !b.err || !b.changed)
		goto out_free;

	ret = nvmet_hp_batch_pin(&b);
	if (ret)
		goto out_rejected;
	for (i = 0; i < nr; i++) {
		b.hp[i] = nvmet_hp_ns_get(b.ns[i]);
		if (!b.hp[i]) {
			ret = -ENOMEM;
			goto out_unpin;
		}
	}

	ret = mutex_lock_killable(&hs->batch_lock);
	if (ret)
		goto out_unpin;
	ret = nvmet_hp_batch_lock(&b);
	if (ret) {
		mutex_unlock(&hs->batch_lock);
		goto out_unpin;
	}

	start = ktime_get();
	if (attach)
		ret = nvmet_hp_batch_attach(&b);
	else
		ret = nvmet_hp_batch_detach(&b, start);
	nvmet_hp_batch_notify(&b);
	us = ktime_us_delta(ktime_get(), start);
	nvmet_hp_batch_unlock(&b, nr);
	nvmet_hp_batch_report(&b, ret, us);
	mutex_unlock(&hs->batch_lock);

	trace_nvmet_hp_batch(hs->subsys->subsysnqn, attach, nr, ret, us);
	pr_info("batch %s of %u namespaces on %s: %d after %llu us\n",
		attach ? "attach" : "detach", nr, hs->subsys->subsysnqn, ret,
		us);
	nvmet_hp_batch_unpin(&b, nr);
	goto out_free;

out_unpin:
	nvmet_hp_batch_unpin(&b, nr);
out_rejected:
	spin_lock(&hs->report_lock);
	hs->stats.batch_rejected++;
	spin_unlock(&hs->report_lock);
out_free:
	kfree(b.changed);
	kfree(b.err);
	kfree(b.res);
	kfree(b.hp);
	kfree(b.ns);
	return ret;
}
