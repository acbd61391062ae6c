/* SPDX-License-Identifier: GPL-2.0 */
/*
 * nvmet-hotplug tracepoints.
 * Copyright (c) 2026 nvmet-hotplug developers.
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM nvmet_hotplug

#if !defined(_NVMET_HOTPLUG_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _NVMET_HOTPLUG_TRACE_H

#include <linux/tracepoint.h>

#define show_hp_state(state)					\
	__print_symbolic(state,					\
			 { NVMET_HP_DETACHED,	"detached" },	\
			 { NVMET_HP_ATTACHING,	"attaching" },	\
			 { NVMET_HP_LIVE,	"live" },	\
			 { NVMET_HP_QUIESCING,	"quiescing" },	\
			 { NVMET_HP_DETACHING,	"detaching" },	\
			 { NVMET_HP_FAILED,	"failed" },		\
			 { NVMET_HP_BACKEND_LOST, "backend-lost" },	\
			 { NVMET_HP_SWAPPING,	"swapping" })

TRACE_EVENT(nvmet_hp_state,
	    TP_PROTO(const char *subsysnqn, u32 nsid, int old, int new,
		     int err),
	    TP_ARGS(subsysnqn, nsid, old, new, err),
	    TP_STRUCT__entry(__string(subsysnqn, subsysnqn)
			     __field(u32, nsid)
			     __field(int, old)
			     __field(int, new)
			     __field(int, err)),
	    TP_fast_assign(__assign_str(subsysnqn);
			   __entry->nsid = nsid;
			   __entry->old = old;
			   __entry->new = new;
			   __entry->err = err;),
	    TP_printk("%s nsid=%u %s -> %s err=%d", __get_str(subsysnqn),
		      __entry->nsid, show_hp_state(__entry->old),
		      show_hp_state(__entry->new), __entry->err)
);

TRACE_EVENT(nvmet_hp_quiesce,
	    TP_PROTO(u32 nsid, u64 us, unsigned long inflight, int err),
	    TP_ARGS(nsid, us, inflight, err),
	    TP_STRUCT__entry(__field(u32, nsid)
			     __field(u64, us)
			     __field(unsigned long, inflight)
			     __field(int, err)),
	    TP_fast_assign(__entry->nsid = nsid;
			   __entry->us = us;
			   __entry->inflight = inflight;
			   __entry->err = err;),
	    TP_printk("nsid=%u quiesce_us=%llu inflight=%lu err=%d",
		      __entry->nsid, __entry->us, __entry->inflight,
		      __entry->err)
);

TRACE_EVENT(nvmet_hp_batch,
	    TP_PROTO(const char *subsysnqn, bool attach, u32 nr, int err,
		     u64 us),
	    TP_ARGS(subsysnqn, attach, nr, err, us),
	    TP_STRUCT__entry(__string(subsysnqn, subsysnqn)
			     __field(bool, attach)
			     __field(u32, nr)
			     __field(int, err)
			     __field(u64, us)),
	    TP_fast_assign(__assign_str(subsysnqn);
			   __entry->attach = attach;
			   __entry->nr = nr;
			   __entry->err = err;
			   __entry->us = us;),
	    TP_printk("%s %s nr=%u err=%d us=%llu", __get_str(subsysnqn),
		      __entry->attach ? "attach" : "detach", __entry->nr,
		      __entry->err, __entry->us)
);

#endif /* _NVMET_HOTPLUG_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE trace
#include <trace/define_trace.h>
