// SPDX-License-Identifier: GPL-2.0
/*
 * nvmet-hotplug core: namespace lifecycle state machine, bounded quiesce
 * of the per-namespace percpu_ref and change notification to every
 * controller of the subsystem.
 * Copyright (c) 2026 nvmet-hotplug developers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/configfs.h>
#include <linux/module.h>
#include <linux/slab.h>
#include <linux/ktime.h>
#include <linux/percpu-refcount.h>
#include <linux/sched/signal.h>
#include "hotplug.h"

#define CREATE_TRACE_POINTS
#include "trace.h"

static unsigned int quiesce_timeout_ms = 10000;
module_param(quiesce_timeout_ms, uint, 0644);
MODULE_PARM_DESC(quiesce_timeout_ms,
		 "default bound of a namespace quiesce in ms (default 10000)");

static bool on_timeout_wait;
module_param(on_timeout_wait, bool, 0644);
MODULE_PARM_DESC(on_timeout_wait,
		 "default on_timeout policy: wait instead of fail (default N)");

/*
 * Protects nvmet_hp_namespaces, nvmet_hp_subsystems and the hotplug_priv of
 * every namespace and subsystem.  Held only to look up, link and unlink:
 * nothing sleeps for long under it, and no other lock of the module is
 * taken inside it.
 */
static DEFINE_MUTEX(nvmet_hp_lock);
static LIST_HEAD(nvmet_hp_namespaces);
static LIST_HEAD(nvmet_hp_subsystems);

/* Runs the backend-loss and re-attach works. */
struct workqueue_struct *nvmet_hp_wq;

static const char * const nvmet_hp_state_names[] = {
	[NVMET_HP_DETACHED]	= "detached",
	[NVMET_HP_ATTACHING]	= "attaching",
	[NVMET_HP_LIVE]		= "live",
	[NVMET_HP_QUIESCING]	= "quiescing",
	[NVMET_HP_DETACHING]	= "detaching",
	[NVMET_HP_FAILED]	= "failed",
	[NVMET_HP_BACKEND_LOST]	= "backend-lost",
	[NVMET_HP_SWAPPING]	= "swapping",
};

/**
 * nvmet_hp_state_name() - name of a state, as shown in hotplug/state
 * @state: the state
 *
 * Return: a static string.
 */
const char *nvmet_hp_state_name(enum nvmet_hp_state state)
{
	return nvmet_hp_state_names[state];
}

/**
 * nvmet_hp_ns_get() - find or create the hotplug state of a namespace
 * @ns: namespace, kept alive by the configfs operation of the caller
 *
 * A namespace that existed before the module was loaded is adopted here,
 * on first use, with the state nvmet gives it.
 *
 * Return: the state, or NULL if out of memory.
 */
struct nvmet_hp_ns *nvmet_hp_ns_get(struct nvmet_ns *ns)
{
	struct nvmet_hp_ns *hp;

	mutex_lock(&nvmet_hp_lock);
	hp = ns->hotplug_priv;
	if (hp)
		goto out_unlock;

	hp = kzalloc_obj(*hp);
	if (!hp)
		goto out_unlock;
	hp->ns = ns;
	INIT_LIST_HEAD(&hp->reattach_entry);
	mutex_init(&hp->lock);
	spin_lock_init(&hp->state_lock);
	INIT_DELAYED_WORK(&hp->lost_work, nvmet_hp_lost_work);
	hp->quiesce_timeout_ms = clamp(READ_ONCE(quiesce_timeout_ms), 1U,
				       NVMET_HP_QUIESCE_TIMEOUT_MAX_MS);
	hp->on_timeout = READ_ONCE(on_timeout_wait) ?
		NVMET_HP_ON_TIMEOUT_WAIT : NVMET_HP_ON_TIMEOUT_FAIL;
	/* only a record of the module's own operations: nvmet_hp_ns_state() */
	hp->state = NVMET_HP_DETACHED;
	list_add_tail(&hp->entry, &nvmet_hp_namespaces);
	ns->hotplug_priv = hp;
out_unlock:
	mutex_unlock(&nvmet_hp_lock);
	return hp;
}

/*
 * Make the state of a namespace unreachable: from now on only its last
 * user, the one that unlinked it, frees it.
 */
static void nvmet_hp_ns_unlink(struct nvmet_hp_ns *hp)
{
	lockdep_assert_held(&nvmet_hp_lock);

	list_del(&hp->entry);
	hp->ns->hotplug_priv = NULL;
}

/*
 * Free the state of a namespace that is going away (or of every namespace,
 * the module is), without nvmet_hp_lock: its lifetime is that of the
 * namespace's configfs item, which every user holds (a configfs file
 * operation, the re-attach work, a batch) or has pinned (the loss work,
 * with rmdir refused meanwhile), so nothing waits here for long.  Close
 * the backend watch first: once its claim is released no ->mark_dead can
 * queue the loss work any more, so cancelling it afterwards is final.
 */
static void nvmet_hp_ns_free(struct nvmet_hp_ns *hp)
{
	mutex_lock(&hp->lock);
	nvmet_hp_watch_close(hp);
	mutex_unlock(&hp->lock);
	cancel_delayed_work_sync(&hp->lost_work);

	mutex_destroy(&hp->lock);
	kfree(hp->lost_path);
	kfree(hp);
}

/**
 * nvmet_hp_subsys_get() - find or create the hotplug state of a subsystem
 * @subsys: subsystem, kept alive by the configfs operation of the caller
 *
 * Return: the state, or NULL if out of memory.
 */
struct nvmet_hp_subsys *nvmet_hp_subsys_get(struct nvmet_subsys *subsys)
{
	struct nvmet_hp_subsys *hs;

	mutex_lock(&nvmet_hp_lock);
	hs = subsys->hotplug_priv;
	if (hs)
		goto out_unlock;

	hs = kzalloc_obj(*hs);
	if (!hs)
		goto out_unlock;
	hs->subsys = subsys;
	mutex_init(&hs->batch_lock);
	spin_lock_init(&hs->report_lock);
	list_add_tail(&hs->entry, &nvmet_hp_subsystems);
	subsys->hotplug_priv = hs;
out_unlock:
	mutex_unlock(&nvmet_hp_lock);
	return hs;
}

static void nvmet_hp_subsys_free(struct nvmet_hp_subsys *hs)
{
	lockdep_assert_held(&nvmet_hp_lock);

	list_del(&hs->entry);
	hs->subsys->hotplug_priv = NULL;
	mutex_destroy(&hs->batch_lock);
	kfree(hs->last_batch);
	kfree(hs);
}

/**
 * nvmet_hp_collect_lost() - pin the namespaces waiting for their backend
 * @list: gets every backend-lost namespace with auto_reattach, linked
 *	through reattach_entry, each with a reference on its configfs item
 *	(so that it is not freed before the caller's config_item_put())
 *
 * Context: the re-attach work, the only user of reattach_entry.
 */
void nvmet_hp_collect_lost(struct list_head *list)
{
	struct nvmet_hp_ns *hp;

	mutex_lock(&nvmet_hp_lock);
	list_for_each_entry(hp, &nvmet_hp_namespaces, entry) {
		if (nvmet_hp_ns_state(hp) != NVMET_HP_BACKEND_LOST ||
		    !READ_ONCE(hp->auto_reattach))
			continue;
		/* zero: the namespace is being freed, leave it */
		if (!config_item_get_unless_zero(&hp->ns->group.cg_item))
			continue;
		list_add_tail(&hp->reattach_entry, list);
	}
	mutex_unlock(&nvmet_hp_lock);
}

/* Context: hp->state_lock held; every transition goes through here. */
static void __nvmet_hp_set_state(struct nvmet_hp_ns *hp,
				 enum nvmet_hp_state state, int err)
{
	lockdep_assert_held(&hp->state_lock);

	trace_nvmet_hp_state(hp->ns->subsys->subsysnqn, hp->ns->nsid,
			     hp->state, state, err);
	hp->state = state;
}

/**
 * nvmet_hp_set_state() - change the state of a namespace
 * @hp: namespace
 * @state: new state
 * @reason: text for hotplug/state, NULL to clear it
 * @err: error that caused the transition, for the tracepoint
 */
void nvmet_hp_set_state(struct nvmet_hp_ns *hp, enum nvmet_hp_state state,
			const char *reason, int err)
{
	spin_lock(&hp->state_lock);
	__nvmet_hp_set_state(hp, state, err);
	strscpy(hp->reason, reason ? reason : "", sizeof(hp->reason));
	spin_unlock(&hp->state_lock);
}

/**
 * nvmet_hp_notify() - report a change of one namespace to every controller
 * @hp: namespace that changed
 *
 * Controllers that are not live yet are not on subsys->ctrls and see the
 * namespace in their own Identify at start; nvmet_ns_changed() skips
 * controllers that masked the event or were sent one they have not
 * acknowledged by reading the Changed Namespace List log (the NSID is
 * still added to the log).  A batch reports all of its namespaces at once
 * instead (nvmet_hp_batch_notify()).
 */
void nvmet_hp_notify(struct nvmet_hp_ns *hp)
{
	struct nvmet_subsys *subsys = hp->ns->subsys;
	u32 nr;

	mutex_lock(&subsys->lock);
	nr = nvmet_ns_changed(subsys, hp->ns->nsid);
	mutex_unlock(&subsys->lock);
	spin_lock(&hp->state_lock);
	hp->stats.aens_sent += nr;
	spin_unlock(&hp->state_lock);
}

/**
 * __nvmet_hp_ns_attach() - open the backend and make a namespace visible
 * @hp: namespace to attach, not enabled
 * @on_err: state to leave the namespace in if the attach fails
 *
 * Does not notify the controllers, so that a batch can do it once for all
 * of its namespaces.  Starts watching the backend if backend_watch is set.
 *
 * Context: @hp->lock held.
 * Return: 0 on success, a negative errno otherwise.
 */
int __nvmet_hp_ns_attach(struct nvmet_hp_ns *hp, enum nvmet_hp_state on_err)
{
	struct nvmet_ns *ns = hp->ns;
	char reason[NVMET_HP_REASON_LEN];
	int ret;

	lockdep_assert_held(&hp->lock);

	nvmet_hp_set_state(hp, NVMET_HP_ATTACHING, NULL, 0);
	ret = nvmet_ns_attach(ns);
	if (!ret && !ns->enabled)
		ret = -EINVAL;	/* e.g. a passthru subsystem */
	if (ret) {
		/* device_path_store() may replace it: the namespace is off */
		mutex_lock(&ns->subsys->lock);
		snprintf(reason, sizeof(reason), "attach of %s failed: %d",
			 ns->device_path ? ns->device_path : "(no device_path)",
			 ret);
		mutex_unlock(&ns->subsys->lock);
		if (on_err == NVMET_HP_FAILED)
			pr_err("nsid %u: %s\n", ns->nsid, reason);
		nvmet_hp_set_state(hp, on_err, reason, ret);
		return ret;
	}

	spin_lock(&hp->state_lock);
	__nvmet_hp_set_state(hp, NVMET_HP_LIVE, 0);
	hp->reason[0] = '\0';
	hp->stats.attaches++;
	spin_unlock(&hp->state_lock);

	/* a namespace without its watch still serves I/O: only complain */
	nvmet_hp_watch_open(hp);
	return 0;
}

/**
 * nvmet_hp_ns_attach() - hot-add a namespace
 * @hp: namespace to attach
 *
 * Opens the backend, makes the namespace visible (lookup, Identify, Active
 * NS list) and only then notifies every controller.
 *
 * Context: takes @hp->lock.
 * Return: 0 on success or if already live, a negative errno otherwise.
 */
int nvmet_hp_ns_attach(struct nvmet_hp_ns *hp)
{
	struct nvmet_ns *ns = hp->ns;
	int ret;

	/* killable: another write may be in a long quiesce of this ns */
	ret = mutex_lock_killable(&hp->lock);
	if (ret)
		return ret;
	ret = nvmet_hp_lost_busy(hp);
	if (ret || ns->enabled)
		goto out_unlock;

	ret = __nvmet_hp_ns_attach(hp, NVMET_HP_FAILED);
	if (ret)
		goto out_unlock;

	nvmet_hp_notify(hp);
	pr_info("nsid %u of %s attached (%s)\n", ns->nsid,
		ns->subsys->subsysnqn, ns->device_path);
out_unlock:
	mutex_unlock(&hp->lock);
	return ret;
}

/**
 * nvmet_hp_quiesce_begin() - stop new I/O to a live namespace
 * @hp: namespace
 *
 * Context: @hp->lock held.
 * Return: false if nvmet itself is disabling the namespace already.
 */
bool nvmet_hp_quiesce_begin(struct nvmet_hp_ns *hp)
{
	lockdep_assert_held(&hp->lock);

	if (!nvmet_ns_quiesce_start(hp->ns))
		return false;
	nvmet_hp_set_state(hp, NVMET_HP_QUIESCING, NULL, 0);
	return true;
}

/**
 * nvmet_hp_wait_drained() - wait for the I/O in flight of a quiescing ns
 * @hp: namespace after nvmet_hp_quiesce_begin()
 * @start: when the quiesce began; the bound runs from there
 *
 * Waits for ns->disable_done, i.e. for the killed percpu_ref to drop to
 * zero.  With the fail policy the wait is bounded; with the wait policy it
 * is not; with both a fatal signal ends it (and the wait is no hung task).
 * Only @hp->lock (and for a batch, that of the other namespaces of the
 * batch) is held meanwhile, so every other namespace and subsystem stays
 * configurable.
 *
 * Return: 0 once drained, -ETIMEDOUT or -ERESTARTSYS if given up.
 */
int nvmet_hp_wait_drained(struct nvmet_hp_ns *hp, ktime_t start)
{
	struct nvmet_ns *ns = hp->ns;
	long ret;
	s64 left;

	if (READ_ONCE(hp->on_timeout) == NVMET_HP_ON_TIMEOUT_WAIT)
		return wait_for_completion_killable(&ns->disable_done);

	left = READ_ONCE(hp->quiesce_timeout_ms) -
		ktime_ms_delta(ktime_get(), start);
	/* killable: a long bound is no hung task, and a signal gives up */
	left = max(left, 1LL);
	ret = wait_for_completion_killable_timeout(&ns->disable_done,
						   msecs_to_jiffies(left));
	if (ret < 0)
		return -ERESTARTSYS;
	return ret ? 0 : -ETIMEDOUT;
}

/*
 * The quiesce outlived its bound (or was interrupted): make the namespace
 * live again.  Holding a reference proves the count did not reach zero,
 * which percpu_ref_resurrect() needs.  If it did reach zero right at the
 * deadline, the release has run or is about to: consume its completion and
 * let the caller carry on with the detach.
 *
 * The namespace stayed in the Active Namespace ID list, but a controller
 * that connected or scanned meanwhile got the path error for its Identify
 * and left the namespace out: the caller tells the controllers (a batch
 * with its other changes), so that they look at it again.
 *
 * Context: @hp->lock held.
 * Return: true if the namespace is live again, false if it drained.
 */
bool nvmet_hp_quiesce_give_up(struct nvmet_hp_ns *hp, int err, ktime_t start)
{
	struct nvmet_ns *ns = hp->ns;
	char reason[NVMET_HP_REASON_LEN];
	unsigned long inflight;
	s64 ms;

	if (!percpu_ref_tryget(&ns->ref)) {
		wait_for_completion(&ns->disable_done);
		return false;
	}
	inflight = nvmet_hp_ns_inflight(hp) - 1;
	nvmet_ns_quiesce_abort(ns);
	percpu_ref_put(&ns->ref);

	ms = ktime_ms_delta(ktime_get(), start);
	snprintf(reason, sizeof(reason),
		 "detach %s after %lld ms with %lu commands in flight",
		 err == -ETIMEDOUT ? "timed out" : "interrupted", ms, inflight);
	pr_err("nsid %u: %s, namespace stays live\n", ns->nsid, reason);
	trace_nvmet_hp_quiesce(ns->nsid, ms * USEC_PER_MSEC, inflight, err);

	spin_lock(&hp->state_lock);
	__nvmet_hp_set_state(hp, NVMET_HP_LIVE, err);
	strscpy(hp->reason, reason, sizeof(hp->reason));
	hp->stats.timeouts++;
	spin_unlock(&hp->state_lock);
	return true;
}

/**
 * nvmet_hp_set_busy() - make nvmet's set-up files of a namespace refuse
 *	writes, or accept them again
 * @hp: namespace
 * @busy: whether the module is changing its backend (a swap, a re-attach)
 */
void nvmet_hp_set_busy(struct nvmet_hp_ns *hp, bool busy)
{
	struct nvmet_subsys *subsys = hp->ns->subsys;

	mutex_lock(&subsys->lock);
	hp->ns->hotplug_busy = busy;
	mutex_unlock(&subsys->lock);
}

/**
 * nvmet_hp_resume_drained() - make a drained namespace live again
 * @hp: namespace after a nvmet_hp_quiesce() that returned 0
 *
 * The ref is at zero and its release completed ns->disable_done, which
 * the wait consumed: re-arm it and bring the ref back, nothing else
 * changed (the namespace stayed in the Active Namespace ID list).
 *
 * Context: @hp->lock held.
 */
void nvmet_hp_resume_drained(struct nvmet_hp_ns *hp)
{
	struct nvmet_ns *ns = hp->ns;

	lockdep_assert_held(&hp->lock);

	reinit_completion(&ns->disable_done);
	nvmet_ns_quiesce_abort(ns);
	nvmet_hp_set_state(hp, NVMET_HP_LIVE, NULL, 0);
}

/**
 * nvmet_hp_quiesce() - stop new I/O and wait, bounded, for the I/O in flight
 * @hp: live namespace
 * @start: set to when the quiesce began
 *
 * Context: @hp->lock held.
 * Return: 0 once drained; -EBUSY if nvmet itself is disabling the
 * namespace; -ETIMEDOUT or -ERESTARTSYS if the quiesce was given up, in
 * which case the namespace is live again.
 */
int nvmet_hp_quiesce(struct nvmet_hp_ns *hp, ktime_t *start)
{
	int ret;

	lockdep_assert_held(&hp->lock);

	*start = ktime_get();
	ret = nvmet_hp_lost_busy(hp);
	if (ret)
		return ret;
	if (!nvmet_hp_quiesce_begin(hp)) {
		/* enabled but not live: the built-in path is disabling it */
		pr_err("nsid %u is being disabled by nvmet itself\n",
		       hp->ns->nsid);
		return -EBUSY;
	}
	ret = nvmet_hp_wait_drained(hp, *start);
	if (ret && nvmet_hp_quiesce_give_up(hp, ret, *start)) {
		nvmet_hp_notify(hp);
		return ret;
	}
	return 0;
}

/**
 * nvmet_hp_finish_detach() - release the backend of a drained namespace
 * @hp: namespace whose ns->disable_done completed
 * @start: when the quiesce began
 * @state: DETACHED, or BACKEND_LOST when the backend went away
 * @reason: text for hotplug/state, or NULL
 *
 * No synchronize_rcu() here, unlike nvmet_ns_disable(): the ref only
 * reaches zero after percpu_ref_kill() switched it to atomic mode, which
 * happens in an RCU callback, so a grace period has passed since new I/O
 * was refused (NVMET_NS_IO_LIVE cleared) and no lookup that found the
 * namespace under rcu_read_lock() alone is left.  nvmet_ns_detach() takes
 * it out of the Active Namespace ID list under the subsystem lock, which
 * the walks of that list that use the backend hold.  The caller notifies
 * the controllers.
 *
 * Context: @hp->lock held.
 */
void nvmet_hp_finish_detach(struct nvmet_hp_ns *hp, ktime_t start,
			    enum nvmet_hp_state state, const char *reason)
{
	struct nvmet_ns *ns = hp->ns;
	u64 us;

	lockdep_assert_held(&hp->lock);

	nvmet_hp_set_state(hp, NVMET_HP_DETACHING, NULL, 0);
	nvmet_ns_detach(ns);
	nvmet_hp_watch_close(hp);
	us = ktime_us_delta(ktime_get(), start);

	trace_nvmet_hp_quiesce(ns->nsid, us, 0, 0);
	spin_lock(&hp->state_lock);
	__nvmet_hp_set_state(hp, state, 0);
	strscpy(hp->reason, reason ? reason : "", sizeof(hp->reason));
	if (state == NVMET_HP_BACKEND_LOST)
		hp->stats.backend_lost++;
	else
		hp->stats.detaches++;
	hp->stats.last_quiesce_us = us;
	hp->stats.max_quiesce_us = max(hp->stats.max_quiesce_us, us);
	spin_unlock(&hp->state_lock);
}

/**
 * nvmet_hp_ns_detach() - hot-remove a namespace with a bounded quiesce
 * @hp: namespace to detach
 *
 * Stops new I/O (lookups fail with a retryable path error), waits for the
 * I/O in flight within the namespace's bound, releases the backend and
 * notifies every controller.  The NSID can be attached again at once.
 *
 * If the bound passes with the fail policy the namespace is made live
 * again and nothing else changes.
 *
 * Context: takes @hp->lock.
 * Return: 0 on success or if already detached, -ETIMEDOUT or -ERESTARTSYS
 * if the quiesce was given up, -EINTR if killed while another operation
 * on the namespace held it.
 */
int nvmet_hp_ns_detach(struct nvmet_hp_ns *hp)
{
	struct nvmet_ns *ns = hp->ns;
	enum nvmet_hp_state state;
	ktime_t start;
	int ret;

	ret = mutex_lock_killable(&hp->lock);
	if (ret)
		return ret;
	if (!ns->enabled) {
		/*
		 * Disabling a namespace whose attach failed, or whose backend
		 * went away, clears that (and stops any automatic re-attach).
		 */
		state = nvmet_hp_ns_state(hp);
		if (state == NVMET_HP_FAILED || state == NVMET_HP_BACKEND_LOST)
			nvmet_hp_set_state(hp, NVMET_HP_DETACHED, NULL, 0);
		ret = 0;
		goto out_unlock;
	}

	ret = nvmet_hp_quiesce(hp, &start);
	if (ret)
		goto out_unlock;

	nvmet_hp_finish_detach(hp, start, NVMET_HP_DETACHED, NULL);
	nvmet_hp_notify(hp);
	pr_info("nsid %u of %s detached after %llu us\n", ns->nsid,
		ns->subsys->subsysnqn, READ_ONCE(hp->stats.last_quiesce_us));
out_unlock:
	mutex_unlock(&hp->lock);
	return ret;
}

/*
 * percpu_ref keeps this bias in its atomic counter while in percpu mode
 * (lib/percpu-refcount.c); it is not in the header.
 */
#define NVMET_HP_PERCPU_COUNT_BIAS	(1UL << (BITS_PER_LONG - 1))

/**
 * nvmet_hp_ns_inflight() - snapshot of the references on a namespace
 * @hp: namespace
 *
 * Sums the per-CPU and atomic parts of @hp->ns->ref without changing its
 * mode, so the I/O path pays nothing for it.  nvmet sets the ref up and
 * tears it down under the subsystem lock, which is held here: the ref is
 * looked at only while it exists, whoever enables or disables the
 * namespace (the module, or nvmet's built-in path).  While the ref
 * switches mode the sum may be off for a moment; it is a snapshot for
 * humans and tests.
 *
 * Context: may sleep; no spinlock held.
 * Return: commands holding the namespace (plus one if the caller holds a
 * reference itself), 0 if it is not enabled.
 */
unsigned long nvmet_hp_ns_inflight(struct nvmet_hp_ns *hp)
{
	struct nvmet_subsys *subsys = hp->ns->subsys;
	struct percpu_ref *ref = &hp->ns->ref;
	unsigned long __percpu *pcpu;
	unsigned long ptr, count = 0;
	int cpu;

	mutex_lock(&subsys->lock);
	if (!hp->ns->enabled || !ref->data)
		goto out_unlock;

	rcu_read_lock();
	ptr = READ_ONCE(ref->percpu_count_ptr);
	count = atomic_long_read(&ref->data->count);
	if (count >= NVMET_HP_PERCPU_COUNT_BIAS) {
		count -= NVMET_HP_PERCPU_COUNT_BIAS;
		pcpu = (unsigned long __percpu *)
			(ptr & ~(unsigned long)__PERCPU_REF_ATOMIC_DEAD);
		for_each_possible_cpu(cpu)
			count += READ_ONCE(*per_cpu_ptr(pcpu, cpu));
	}
	rcu_read_unlock();
	/* the initial reference, dropped by percpu_ref_kill() */
	if (!(ptr & __PERCPU_REF_DEAD) && count)
		count--;
out_unlock:
	mutex_unlock(&subsys->lock);

	return (long)count < 0 ? 0 : count;
}

/**
 * nvmet_hp_ns_state() - lifecycle state of a namespace, as reported
 * @hp: namespace
 *
 * nvmet's own state of the namespace is the source of truth: enabled and
 * taking I/O is live, enabled with new I/O refused is quiescing (whoever
 * quiesces it: the module, or nvmet's built-in disable that was running
 * when the module was loaded), not enabled is detached.  The module's
 * record only adds what nvmet does not know: which step of the module's
 * own operation is running (attaching, detaching, swapping), and why a
 * namespace that is not enabled is so (failed, backend-lost).
 *
 * Return: the state; a snapshot unless @hp->lock is held.
 */
enum nvmet_hp_state nvmet_hp_ns_state(struct nvmet_hp_ns *hp)
{
	enum nvmet_hp_state mine = READ_ONCE(hp->state);
	struct nvmet_ns *ns = hp->ns;

	switch (mine) {
	case NVMET_HP_ATTACHING:
	case NVMET_HP_DETACHING:
	case NVMET_HP_SWAPPING:
		return mine;
	default:
		break;
	}
	if (READ_ONCE(ns->enabled))
		return test_bit(NVMET_NS_IO_LIVE, &ns->flags) ?
			NVMET_HP_LIVE : NVMET_HP_QUIESCING;
	if (mine == NVMET_HP_FAILED || mine == NVMET_HP_BACKEND_LOST)
		return mine;
	return NVMET_HP_DETACHED;
}

static int nvmet_hp_ns_enable(struct nvmet_ns *ns, bool enable)
{
	struct nvmet_hp_ns *hp = nvmet_hp_ns_get(ns);

	if (!hp)
		return -ENOMEM;
	return enable ? nvmet_hp_ns_attach(hp) : nvmet_hp_ns_detach(hp);
}

static void nvmet_hp_ns_release(struct nvmet_ns *ns)
{
	struct nvmet_hp_ns *hp;

	mutex_lock(&nvmet_hp_lock);
	hp = ns->hotplug_priv;
	if (hp)
		nvmet_hp_ns_unlink(hp);
	mutex_unlock(&nvmet_hp_lock);
	if (hp)
		nvmet_hp_ns_free(hp);
}

static void nvmet_hp_subsys_release(struct nvmet_subsys *subsys)
{
	mutex_lock(&nvmet_hp_lock);
	if (subsys->hotplug_priv)
		nvmet_hp_subsys_free(subsys->hotplug_priv);
	mutex_unlock(&nvmet_hp_lock);
}

static void nvmet_hp_cleanup(void)
{
	struct nvmet_hp_subsys *hs, *htmp;
	struct nvmet_hp_ns *hp, *tmp;

	LIST_HEAD(namespaces);

	mutex_lock(&nvmet_hp_lock);
	list_for_each_entry_safe(hp, tmp, &nvmet_hp_namespaces, entry) {
		nvmet_hp_ns_unlink(hp);
		list_add_tail(&hp->entry, &namespaces);
	}
	list_for_each_entry_safe(hs, htmp, &nvmet_hp_subsystems, entry)
		nvmet_hp_subsys_free(hs);
	mutex_unlock(&nvmet_hp_lock);

	list_for_each_entry_safe(hp, tmp, &namespaces, entry)
		nvmet_hp_ns_free(hp);
}

static const struct nvmet_hotplug_ops nvmet_hp_ops = {
	.owner		= THIS_MODULE,
	.ns_enable	= nvmet_hp_ns_enable,
	.ns_show	= nvmet_hp_ns_show,
	.ns_store	= nvmet_hp_ns_store,
	.ns_free	= nvmet_hp_ns_release,
	.subsys_show	= nvmet_hp_subsys_show,
	.subsys_store	= nvmet_hp_subsys_store,
	.subsys_free	= nvmet_hp_subsys_release,
	.cleanup	= nvmet_hp_cleanup,
};

static int __init nvmet_hp_init(void)
{
	int ret;

	nvmet_hp_wq = alloc_workqueue("nvmet-hotplug", WQ_UNBOUND, 0);
	if (!nvmet_hp_wq)
		return -ENOMEM;

	ret = nvmet_register_hotplug_ops(&nvmet_hp_ops);
	if (ret) {
		pr_err("cannot register with nvmet: %d\n", ret);
		goto out_destroy_wq;
	}
	pr_info("namespace hotplug enabled\n");
	return 0;

out_destroy_wq:
	destroy_workqueue(nvmet_hp_wq);
	return ret;
}

/*
 * Stop the re-attach machinery first (its work takes nvmet_hp_lock, which
 * the cleanup holds), then let nvmet drop every namespace's state: that
 * closes the backend watches and cancels their loss works.
 */
static void __exit nvmet_hp_exit(void)
{
	nvmet_hp_backend_exit();
	nvmet_unregister_hotplug_ops(&nvmet_hp_ops);
	destroy_workqueue(nvmet_hp_wq);
	pr_info("namespace hotplug disabled, namespaces keep their state\n");
}

module_init(nvmet_hp_init);
module_exit(nvmet_hp_exit);

MODULE_DESCRIPTION("NVMe target hotplug-aware namespace lifecycle");
MODULE_AUTHOR("nvmet-hotplug developers");
MODULE_LICENSE("GPL");
