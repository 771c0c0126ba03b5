/* sled — exit hooks (the analogue of ftrace's function_graph, fgraph_ops).
 *
 * A graph ops has an entry callback, which runs on entry like any ops and
 * may ask for the function's return to be hooked, and a return callback,
 * which runs when the function returns (or is left by an exception, a
 * longjmp or the thread's exit: `unwound` says so). Several graph ops and
 * plain ops may trace one function; a call whose return is hooked by several
 * graph ops runs each one's return callback, last registered first.
 *
 * How: the entry path replaces the function's return address with sled's
 * return handler and pushes the original on a per-thread shadow stack; the
 * handler calls the return callbacks and jumps to the original. Expect one
 * mispredicted return per hooked call. Unwinders (C++ exceptions,
 * pthread_exit, pthread_cancel) find the real caller through the handler's
 * unwind information; backtrace() and _Unwind_Backtrace() are interposed on
 * x86_64 to show real return addresses (see docs/graph.md for aarch64).
 *
 * Same rules as sled.h: every call returns 0 or a negative errno code and
 * never aborts; callbacks may call what sled.h allows callbacks to call. */
#ifndef SLED_GRAPH_H
#define SLED_GRAPH_H

#include "sled/sled.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct sled_graph_ops sled_graph_ops;

/* What the return callback is told about the call. */
typedef struct sled_graph_ret {
  uintptr_t ip;                /* the function's entry */
  uintptr_t parent_ip;         /* the real return address */
  uint64_t data;               /* what this ops' entry callback stored in *data */
  unsigned depth;              /* hooked calls below this one on the thread's shadow stack */
  int unwound;                 /* 1: left without returning (exception, longjmp, thread
                                  exit); the return values below are then 0 */
  uintptr_t retval[2];         /* rax, rdx (x86_64); x0, x1 (aarch64) */
  unsigned char fp_retval[16]; /* xmm0 (x86_64); q0 (aarch64) */
} sled_graph_ret;

/* Runs on entry, like a sled_func_t. Return non-zero to hook this call's
 * return, 0 to let it return untouched (ftrace's entryfunc). `data` is this
 * call's slot for this ops (e.g. a timestamp), handed back in the return
 * callback's ret->data; it is 0 on entry. */
typedef int (*sled_graph_entry_t)(uintptr_t ip, uintptr_t parent_ip, sled_graph_ops *gops,
                                  sled_regs *regs, uint64_t *data);
/* Runs at the return (or unwinding) of a hooked call. Must not throw or
 * longjmp. */
typedef void (*sled_graph_return_t)(const sled_graph_ret *ret, sled_graph_ops *gops);

/* Zero-initialise, set entry (NULL: hook every call) and ret, then
 * register. Choose functions with sled_set_filter(&gops->ops, ...) and
 * sled_set_notrace(&gops->ops, ...): `ops` is an ordinary sled_ops that
 * sled fills in; do not register it yourself. Storage: as for sled_ops. */
struct sled_graph_ops {
  sled_graph_entry_t entry;
  sled_graph_return_t ret;
  void *private_data;
  sled_ops ops;
  /* sled's own bookkeeping; leave it zeroed */
  uint32_t internal_slot_;
  uint32_t internal_gen_;
};

/* At most this many graph ops are registered at once (-EBUSY past it). */
#define SLED_GRAPH_MAX_OPS 16
/* Hooked calls a thread may have pending at once unless
 * sled_graph_set_depth says otherwise: deeper calls run neither callback
 * (counted in sled_graph_stats.missed_depth). */
#define SLED_GRAPH_DEFAULT_DEPTH 1024

/* -EINVAL for NULL gops or ret; -EEXIST if registered; -EBUSY if
 * SLED_GRAPH_MAX_OPS are; -EOPNOTSUPP when return addresses cannot be
 * rewritten in this process (a CET user shadow stack is active:
 * sled_last_error says so): plain ops keep working. Otherwise as
 * sled_register_ops. */
SLED_API int sled_register_graph_ops(sled_graph_ops *gops);

/* Stops hooking and returns after a grace period. Calls already hooked by
 * this ops on any thread still return normally through sled, but their
 * return callback is never called once this returns: the ops may then be
 * freed. -ENOENT if not registered. */
SLED_API int sled_unregister_graph_ops(sled_graph_ops *gops);

/* 0 when graph ops can be registered; -EOPNOTSUPP (with sled_last_error)
 * when they cannot. */
SLED_API int sled_graph_supported(void);

/* Depth of the shadow stack of threads that make their first hooked call
 * from now on (1..65536; -EINVAL otherwise). */
SLED_API int sled_graph_set_depth(unsigned depth);

typedef struct sled_graph_stats {
  uint64_t hooked;       /* returns hooked, all threads */
  uint64_t unwound;      /* of those, left by exception, longjmp or thread exit */
  uint64_t missed_depth; /* calls not hooked: the shadow stack was full */
  uint64_t missed_nomem; /* calls not hooked: no memory for a shadow stack */
  uint64_t threads;      /* threads that ever had a shadow stack */
} sled_graph_stats;
SLED_API int sled_graph_get_stats(sled_graph_stats *out);

#ifdef __cplusplus
}
#endif
#endif /* SLED_GRAPH_H */
