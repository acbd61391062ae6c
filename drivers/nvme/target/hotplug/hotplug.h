/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nvmet-hotplug: hotplug-aware namespace lifecycle for the NVMe target.
 * Copyright (c) 2026 nvmet-hotplug developers.
 */
#ifndef _NVMET_HOTPLUG_H
#define _NVMET_HOTPLUG_H

#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/list.h>
#include "../nvmet.h"

/* Lifecycle state of a namespace, as shown in hotplug/state. */
enum nvmet_hp_state {
	/* no backend open, invisible to the hosts */
	NVMET_HP_DETACHED,
	/* opening the backend, not yet visible */
	NVMET_HP_ATTACHING,
	/* visible to the hosts and serving I/O */
	NVMET_HP_LIVE,
	/* new I/O refused, waiting for the I/O in flight to drain */
	NVMET_HP_QUIESCING,
	/* drained, releasing the backend */
	NVMET_HP_DETACHING,
	/* the last operation failed and left the namespace detached */
	NVMET_HP_FAILED,
};

/* What a detach does when the I/O in flight outlives the bound. */
enum nvmet_hp_on_timeout {
	/* resume I/O, the namespace stays live, the write gets -ETIMEDOUT */
	NVMET_HP_ON_TIMEOUT_FAIL,
	/* keep waiting (killable), holding only this namespace's lock */
	NVMET_HP_ON_TIMEOUT_WAIT,
};

#define NVMET_HP_QUIESCE_TIMEOUT_MAX_MS	3600000U
#define NVMET_HP_REASON_LEN		96

/**
 * struct nvmet_hp_stats - counters shown in hotplug/stats
 * @attaches: successful attaches
 * @detaches: successful detaches
 * @timeouts: quiesces that outlived the bound
 * @aens_sent: Namespace Attribute Changed events queued, all controllers
 * @last_quiesce_us: duration of the last completed quiesce
 * @max_quiesce_us: longest completed quiesce
 */
struct nvmet_hp_stats {
	u64	attaches;
	u64	detaches;
	u64	timeouts;
	u64	aens_sent;
	u64	last_quiesce_us;
	u64	max_quiesce_us;
};

/**
 * struct nvmet_hp_ns - hotplug state of one nvmet namespace
 * @ns: the namespace; @ns->hotplug_priv points back here
 * @entry: in nvmet_hp_namespaces
 * @lock: serializes lifecycle changes (attach, detach) of @ns
 * @state_lock: protects @state, @reason and @stats, and keeps @ns->ref
 *	initialized while @state is LIVE or QUIESCING
 * @state: lifecycle state
 * @reason: why the last operation failed, empty if it did not
 * @quiesce_timeout_ms: bound of a quiesce (READ_ONCE, changed under @lock)
 * @on_timeout: policy when the bound passes (READ_ONCE, changed under @lock)
 * @stats: counters
 */
struct nvmet_hp_ns {
	struct nvmet_ns			*ns;
	struct list_head		entry;
	struct mutex			lock;		/* see above */
	spinlock_t			state_lock;	/* see above */
	enum nvmet_hp_state		state;
	char				reason[NVMET_HP_REASON_LEN];
	u32				quiesce_timeout_ms;
	enum nvmet_hp_on_timeout	on_timeout;
	struct nvmet_hp_stats		stats;
};

struct nvmet_hp_ns *nvmet_hp_ns_get(struct nvmet_ns *ns);
int nvmet_hp_ns_attach(struct nvmet_hp_ns *hp);
int nvmet_hp_ns_detach(struct nvmet_hp_ns *hp);
const char *nvmet_hp_state_name(enum nvmet_hp_state state);
unsigned long nvmet_hp_ns_inflight(struct nvmet_hp_ns *hp);

ssize_t nvmet_hp_ns_show(struct nvmet_ns *ns, enum nvmet_hotplug_ns_attr attr,
			 char *page);
ssize_t nvmet_hp_ns_store(struct nvmet_ns *ns, enum nvmet_hotplug_ns_attr attr,
			  const char *page, size_t count);

#endif /* _NVMET_HOTPLUG_H */
