/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nvmet-hotplug: hotplug-aware namespace lifecycle for the NVMe target.
 * Copyright (c) 2026 nvmet-hotplug developers.
 */
#ifndef _NVMET_HOTPLUG_H
#define _NVMET_HOTPLUG_H

#include <linux/blkdev.h>
#include <linux/mutex.h>
#include <linux/spinlock.h>
#include <linux/list.h>
#include <linux/ktime.h>
#include <linux/workqueue.h>
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
	/* the backing device went away: detached, waiting for it to return */
	NVMET_HP_BACKEND_LOST,
	/* drained, switching to another backend with the same identity */
	NVMET_HP_SWAPPING,
};

/* What a detach does when the I/O in flight outlives the bound. */
enum nvmet_hp_on_timeout {
	/* resume I/O, the namespace stays live, the write gets -ETIMEDOUT */
	NVMET_HP_ON_TIMEOUT_FAIL,
	/* keep waiting (killable), holding only this namespace's lock */
	NVMET_HP_ON_TIMEOUT_WAIT,
};

#define NVMET_HP_QUIESCE_TIMEOUT_MAX_MS	3600000U
#define NVMET_HP_REASON_LEN		128

/**
 * struct nvmet_hp_stats - counters shown in hotplug/stats
 * @attaches: successful attaches
 * @detaches: successful detaches
 * @timeouts: quiesces that outlived the bound
 * @aens_sent: Namespace Attribute Changed events queued, all controllers
 * @last_quiesce_us: duration of the last completed quiesce
 * @max_quiesce_us: longest completed quiesce
 * @backend_lost: hot-removes because the backing device went away
 * @reattaches: automatic re-attaches once the backing device came back
 * @swaps: completed hot-swaps (both kinds)
 * @batch_ops: attaches and detaches done as part of a batch
 */
struct nvmet_hp_stats {
	u64	attaches;
	u64	detaches;
	u64	timeouts;
	u64	aens_sent;
	u64	last_quiesce_us;
	u64	max_quiesce_us;
	u64	backend_lost;
	u64	reattaches;
	u64	swaps;
	u64	batch_ops;
};

/**
 * struct nvmet_hp_dev_id - what proves that a block device is a given medium
 * @name: kernel name (e.g. "nvme1n1"), where a returning device is looked for
 * @uid: unique identifier of the disk (->get_unique_id()), @uid_len bytes
 * @uid_len: length of @uid, 0 if the disk has none
 * @uid_type: designator type of @uid (enum blk_unique_id)
 * @blksize_shift: logical block size
 * @start_sect: first sector within the disk (a partition's offset)
 * @nr_sects: capacity in sectors
 */
struct nvmet_hp_dev_id {
	char		name[BDEVNAME_SIZE];
	u8		uid[16];
	u8		uid_len;
	u8		uid_type;
	u8		blksize_shift;
	sector_t	start_sect;
	sector_t	nr_sects;
};

/**
 * struct nvmet_hp_ns - hotplug state of one nvmet namespace
 * @ns: the namespace; @ns->hotplug_priv points back here
 * @entry: in nvmet_hp_namespaces
 * @reattach_entry: on the private list of the re-attach work while it
 *	holds a reference on @ns (only that work uses it)
 * @lock: serializes lifecycle changes (attach, detach, swap, backend loss)
 *	of @ns, the policy knobs and @watch_file.  A batch takes the @lock
 *	of many namespaces, nested in its subsystem's batch_lock.
 * @state_lock: protects @state, @reason and @stats
 * @state: the module's record of its own operations on @ns; what is
 *	reported and decided on is nvmet_hp_ns_state(), which derives the
 *	state from nvmet's and adds only what nvmet does not know
 * @reason: why the last operation failed, empty if it did not
 * @quiesce_timeout_ms: bound of a quiesce (READ_ONCE, changed under @lock)
 * @on_timeout: policy when the bound passes (READ_ONCE, changed under @lock)
 * @backend_watch: hot-remove when the backing device goes away (READ_ONCE,
 *	changed under @lock)
 * @auto_reattach: re-attach when it comes back (READ_ONCE, changed under
 *	@lock)
 * @keep_identity: a swap keeps UUID and NGUID (READ_ONCE, changed under
 *	@lock)
 * @watch_file: exclusive claim on the backing device whose holder ops
 *	report its removal, NULL when not watching (under @lock)
 * @watch_gen: counts the claims taken, bumped under @lock before each
 * @lost_gen: @watch_gen of the claim whose device went away, written by
 *	->mark_dead while that claim is held, so that the loss work can
 *	tell a stale event (the claim was dropped or replaced since)
 * @watch_id: identity of the watched device, read when the watch opens
 * @lost_draining: the loss work is waiting, without @lock, for the
 *	commands in flight on the lost backend; the namespace is pinned
 *	(rmdir fails with -EBUSY) and so is the module (under @lock)
 * @lost_id: identity of the lost backend, which a returning device must
 *	match exactly to be re-attached (under @lock)
 * @lost_path: device_path when the backend was lost; if the admin writes
 *	another one, only "enable" attaches the namespace (under @lock)
 * @rejected_seq: diskseq of the last returning disk refused as not the
 *	lost one, so that each is reported once (under @lock)
 * @lost_path_told: the re-attach work reported that device_path changed
 *	since the loss (under @lock)
 * @lost_work: hot-remove after the backing device went away (delayed:
 *	it retries while an rmdir of the namespace is in progress)
 * @stats: counters
 */
struct nvmet_hp_ns {
	struct nvmet_ns			*ns;
	struct list_head		entry;
	struct list_head		reattach_entry;
	struct mutex			lock;		/* see above */
	spinlock_t			state_lock;	/* see above */
	enum nvmet_hp_state		state;
	char				reason[NVMET_HP_REASON_LEN];
	u32				quiesce_timeout_ms;
	enum nvmet_hp_on_timeout	on_timeout;
	bool				backend_watch;
	bool				auto_reattach;
	bool				keep_identity;
	struct file			*watch_file;
	u32				watch_gen;
	u32				lost_gen;
	struct nvmet_hp_dev_id		watch_id;
	bool				lost_draining;
	struct nvmet_hp_dev_id		lost_id;
	char				*lost_path;
	u64				rejected_seq;
	bool				lost_path_told;
	struct delayed_work		lost_work;
	struct nvmet_hp_stats		stats;
};

/**
 * struct nvmet_hp_subsys_stats - counters shown in the subsystem's
 *	hotplug/stats
 * @batch_attaches: attach batches that completed without error
 * @batch_detaches: detach batches that completed without error
 * @batch_failures: batches that failed part-way (some NSIDs unchanged)
 * @batch_rejected: batches refused before any change (bad list, busy)
 * @last_batch_us: duration of the last batch that ran
 */
struct nvmet_hp_subsys_stats {
	u64	batch_attaches;
	u64	batch_detaches;
	u64	batch_failures;
	u64	batch_rejected;
	u64	last_batch_us;
};

/**
 * struct nvmet_hp_subsys - hotplug state of one nvmet subsystem
 * @subsys: the subsystem; @subsys->hotplug_priv points back here
 * @entry: in nvmet_hp_subsystems
 * @batch_lock: serializes the batches of @subsys; the @lock of every
 *	namespace of a batch is taken nested in it
 * @report_lock: protects @last_batch and @stats
 * @last_batch: report of the last batch (kmalloc'ed page), or NULL
 * @stats: counters
 */
struct nvmet_hp_subsys {
	struct nvmet_subsys		*subsys;
	struct list_head		entry;
	struct mutex			batch_lock;	/* see above */
	spinlock_t			report_lock;	/* see above */
	char				*last_batch;
	struct nvmet_hp_subsys_stats	stats;
};

extern struct workqueue_struct *nvmet_hp_wq;

/* core.c: objects and the lifecycle state machine */
struct nvmet_hp_ns *nvmet_hp_ns_get(struct nvmet_ns *ns);
struct nvmet_hp_subsys *nvmet_hp_subsys_get(struct nvmet_subsys *subsys);
void nvmet_hp_collect_lost(struct list_head *list);
int nvmet_hp_ns_attach(struct nvmet_hp_ns *hp);
int nvmet_hp_ns_detach(struct nvmet_hp_ns *hp);
int __nvmet_hp_ns_attach(struct nvmet_hp_ns *hp, enum nvmet_hp_state on_err);
bool nvmet_hp_quiesce_begin(struct nvmet_hp_ns *hp);
int nvmet_hp_wait_drained(struct nvmet_hp_ns *hp, ktime_t start);
bool nvmet_hp_quiesce_give_up(struct nvmet_hp_ns *hp, int err, ktime_t start);
int nvmet_hp_quiesce(struct nvmet_hp_ns *hp, ktime_t *start);
void nvmet_hp_resume_drained(struct nvmet_hp_ns *hp);
void nvmet_hp_set_busy(struct nvmet_hp_ns *hp, bool busy);
void nvmet_hp_finish_detach(struct nvmet_hp_ns *hp, ktime_t start,
			    enum nvmet_hp_state state, const char *reason);
void nvmet_hp_set_state(struct nvmet_hp_ns *hp, enum nvmet_hp_state state,
			const char *reason, int err);
void nvmet_hp_notify(struct nvmet_hp_ns *hp);
const char *nvmet_hp_state_name(enum nvmet_hp_state state);
unsigned long nvmet_hp_ns_inflight(struct nvmet_hp_ns *hp);
enum nvmet_hp_state nvmet_hp_ns_state(struct nvmet_hp_ns *hp);

/* backend.c: backend watch and automatic re-attach */
int nvmet_hp_watch_open(struct nvmet_hp_ns *hp);
void nvmet_hp_watch_close(struct nvmet_hp_ns *hp);
int nvmet_hp_set_backend_watch(struct nvmet_hp_ns *hp, bool watch);
int nvmet_hp_set_auto_reattach(struct nvmet_hp_ns *hp, bool reattach);
int nvmet_hp_lost_busy(struct nvmet_hp_ns *hp);
void nvmet_hp_lost_work(struct work_struct *work);
void nvmet_hp_reattach_kick(void);
void nvmet_hp_backend_exit(void);

/* swap.c: hot-swap of the backing device */
int nvmet_hp_ns_swap(struct nvmet_hp_ns *hp, const char *path);

/* batch.c: NSID lists and batch attach/detach */
int nvmet_hp_parse_nsids(const char *page, u32 **nsids, u32 *nr);
int nvmet_hp_batch(struct nvmet_hp_subsys *hs, bool attach, const u32 *nsids,
		   u32 nr);
ssize_t nvmet_hp_subsys_show(struct nvmet_subsys *subsys,
			     enum nvmet_hotplug_subsys_attr attr, char *page);
ssize_t nvmet_hp_subsys_store(struct nvmet_subsys *subsys,
			      enum nvmet_hotplug_subsys_attr attr,
			      const char *page, size_t count);

ssize_t nvmet_hp_ns_show(struct nvmet_ns *ns, enum nvmet_hotplug_ns_attr attr,
			 char *page);
ssize_t nvmet_hp_ns_store(struct nvmet_ns *ns, enum nvmet_hotplug_ns_attr attr,
			  const char *page, size_t count);

#endif /* _NVMET_HOTPLUG_H */
