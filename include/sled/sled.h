/* sled — live function tracing for C and C++ programs (public C API).
 *
 * This header is the whole contract between sled and its clients: it
 * compiles on its own, in C and C++, and exposes no internal type. Every
 * function returns 0 (or a count) on success and a negative errno-style code
 * on failure; none of them aborts the host program or throws. Two codes any
 * call may return, with sled_last_error() saying more:
 *   -ENOMEM   out of memory; the call changed nothing (if sled itself could
 *             not start for want of memory, every call returns it)
 *   -EACCES   a W^X policy (SELinux deny_execmem, PaX MPROTECT, a seccomp
 *             filter) refused mprotect(PROT_WRITE|PROT_EXEC); nothing changed
 */
#ifndef SLED_SLED_H
#define SLED_SLED_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SLED_API __attribute__((visibility("default")))

#define SLED_VERSION_MAJOR 0
#define SLED_VERSION_MINOR 1

/* Functions of the tracer itself must never be traced: mark such functions
 * in instrumented code with SLED_NOTRACE (no_instrument_function is not
 * enough: it leaves the NOPs in place). */
#define SLED_NOTRACE __attribute__((patchable_function_entry(0, 0)))

typedef struct sled_ops sled_ops;
typedef struct sled_regs sled_regs; /* opaque: use the accessors below */

/* Called on entry to every function the ops traces.
 *   ip        the function's entry address (the value of its symbol)
 *   parent_ip the address the function will return to
 *   ops       the registered ops (use ops->private_data for state)
 *   regs      the function's argument registers; valid during the call only
 *
 * What a callback may call: the sled_regs_* accessors, sled_site_lookup
 * (lock-free: name, module and state of any site; `bytes` is left zero),
 * sled_site_count (the modules known so far), sled_get_strategy,
 * sled_strerror and sled_last_error. Every other sled call returns -EDEADLK
 * without waiting (sled_get_stats zeroes *out): a thread changing tracing
 * may hold sled's lock while it waits for this callback to end.
 *
 * Leaving a callback by longjmp, siglongjmp or a C++ exception is
 * supported: the traced function's body is skipped (as the jump says), and
 * sled notices the abandoned frame at the thread's next traced call or sled
 * call, or when a grace period finds the frame gone (overwritten, or the
 * thread blocked above it); no sled call waits for it forever. A thread
 * that jumps out and then runs for long without a system call or a traced
 * call delays sled_unregister_ops until it does (under qemu-user, until its
 * next traced or sled call). Switching to another fiber or coroutine stack
 * (swapcontext, boost.context) from inside a callback is not supported, on
 * the same thread or another: sled's per-thread state records where the
 * callback's frame is and which thread runs it, and would be wrong.
 *
 * fork() from a callback works; if another thread was in the middle of a
 * change (holding sled's lock), the child refuses every sled call with
 * -ENOTRECOVERABLE and keeps the callbacks already in place. fork() from
 * outside a callback waits for a change in progress, which may itself be
 * waiting for a long callback on another thread to end. */
typedef void (*sled_func_t)(uintptr_t ip, uintptr_t parent_ip, sled_ops *ops, sled_regs *regs);

/* The callback guards itself against recursion. The guard is per thread,
 * like the kernel's: while any sled callback runs on a thread (including
 * from a signal handler that interrupted it), traced functions that thread
 * calls run the callbacks of RECURSION_SAFE ops only. */
#define SLED_OPS_FL_RECURSION_SAFE (1u << 0)
/* The callback may redirect the call with sled_regs_set_ip(); at most one
 * such ops may trace a function (-EBUSY). */
#define SLED_OPS_FL_IPMODIFY (1u << 1)
/* The callback preserves every register itself, vector registers included:
 * declare it SLED_SAVES_REGS (clang's preserve_all calling convention) and
 * cast it to sled_func_t. The trampoline then skips saving xmm0-7, the
 * largest part of its cost. Lying about it corrupts the traced program's
 * floating-point arguments. */
#define SLED_OPS_FL_SAVES_REGS (1u << 2)
#if defined(__clang__) && defined(__x86_64__)
#define SLED_SAVES_REGS __attribute__((preserve_all))
#endif

/* Zero-initialise, set func (and optionally private_data and flags), then
 * register. The storage must stay valid until sled_unregister_ops returns.
 * sled keeps a cookie in the private area: a zero-initialised ops at the
 * address of one that was never registered (only given a filter) is a new
 * ops, with empty filter and notrace sets. */
struct sled_ops {
  sled_func_t func;
  void *private_data;
  uint32_t flags;
  /* sled's own bookkeeping; leave it zeroed */
  uint32_t internal_flags_;
  void *internal_[6];
};

/* Direct calls (ftrace's register_ftrace_direct, arm64 CALL_OPS's
 * ops->direct_call). Before registering, an ops may name its own
 * trampoline: `tramp` is its first instruction and [tramp, tramp + size)
 * holds every instruction a thread runs between a site's call of it and its
 * return into the function's body (it must not call out of that range).
 * Such an ops has no callback (`func` may be NULL and is never called).
 * A site traced by the direct ops alone calls `tramp` itself (through a
 * near stub when out of reach), whatever the strategy; a site it shares
 * with other ops calls sled's direct-list trampoline, which runs the other
 * ops' callbacks and then continues into `tramp` exactly as if the site had
 * called it. At most one direct ops per function (-EBUSY). A call racing
 * with a change of the site's ops may skip the direct trampoline (as it may
 * skip a callback being registered); it never runs it twice.
 *
 * The contract of `tramp` (docs/direct.md; examples/direct_*.S):
 *   x86_64: entered by a `call` (or a `jmp` with the same stack): 0(%rsp) is
 *     the address of the function's body, 8(%rsp) the function's own return
 *     address; every argument register (rdi rsi rdx rcx r8 r9, rax, r10,
 *     xmm0-7) and rbx rbp r12-r15 hold the caller's values and must be
 *     preserved; r11 and the flags are scratch. It resumes the function
 *     with `ret` (rsp back where it found it), or by a jump to a body
 *     address it popped. No endbr64 needed, but harmless.
 *   aarch64: entered by `bl` from the site or `br x16` (so start it with
 *     `bti c` when BTI is on): x30 is the address of the function's body,
 *     x9 the function's own return address (its LR); x0-x8, q0-q7, x19-x29
 *     and sp hold the caller's values and must be preserved; x10-x17 are
 *     scratch. It resumes with x30 = x9 and a `ret` to the body, e.g.
 *     `mov x16, x30; mov x30, x9; ret x16` (not `br`: the body has no BTI
 *     landing pad, and `ret` is not BTI-checked).
 *   Both: signals may arrive inside it; the stack below sp is free.
 *
 * Lifetime: when sled_unregister_ops returns, no site calls `tramp` any
 * more and no thread's program counter is in [tramp, tramp + size): sled
 * asks each thread where it is with a signal (SLED_DIRECT_SIGNAL, a
 * handler installed on first use, chaining to any earlier one) and waits
 * until none is inside. The memory may then be unmapped.
 * sled_unregister_ops_async of a direct ops is -EOPNOTSUPP.
 * 0; -EINVAL for a NULL ops or tramp or a zero size; -EBUSY while the ops
 * is registered; tramp NULL with size 0 turns a direct ops back into an
 * ordinary one (it then needs a func). */
SLED_API int sled_ops_set_direct(sled_ops *ops, void *tramp, size_t size);
/* The signal sled's direct-call grace period uses (see above). */
#define SLED_DIRECT_SIGNAL_OFFSET 6 /* SIGRTMIN + 6 */

/* At most this many ops may trace one function (the list of ops is walked
 * on every call of it): a register or filter change that would go past it
 * fails with -E2BIG and changes nothing. */
#define SLED_MAX_OPS_PER_SITE 1024

/* Starts tracing every site the ops' filter selects (all sites when the
 * filter is empty). The filter and notrace sets may be set before or after.
 * -EEXIST if already registered, -EINVAL for a NULL ops, or a NULL func
 * on an ops without a direct trampoline. A failed
 * register leaves no site naming the ops and no thread running its
 * callback: the caller may free it at once. If the kernel starts refusing
 * membarrier (a seccomp sandbox entered after start-up) it fails with that
 * error (-EPERM) and sled stops patching: only removals work from then on. */
SLED_API int sled_register_ops(sled_ops *ops);

/* Stops tracing and returns only after a grace period: no thread is running
 * or will run the ops' callback, so the caller may free the ops at once.
 * sled forgets the ops' filter and notrace sets (the memory may be reused
 * for another ops). -ENOENT if the ops is not registered (its filter and
 * notrace sets, if any, are forgotten too). -EDEADLK from a callback. On
 * any other failure the ops stays registered: do not free it. */
SLED_API int sled_unregister_ops(sled_ops *ops);

/* Stops tracing like sled_unregister_ops but returns at once, without
 * waiting for the grace period (liburcu's call_rcu): `done(ops, arg)` is
 * called later, from a sled thread ("sled-reclaim", every signal blocked),
 * once no thread is running or will run the ops' callback. Until then the
 * ops must stay valid and must not be registered again. The grace periods
 * of many pending unregisters are batched into one (the reclaim thread
 * gathers them for 200 us after it wakes). `done` may be NULL and
 * may call sled. Errors as sled_unregister_ops (done is then never
 * called); a process that exits first never sees the pending calls. When
 * no thread can be created (thread limit), the call waits for the grace
 * period itself and calls `done` on the calling thread before returning. */
SLED_API int sled_unregister_ops_async(sled_ops *ops, void (*done)(sled_ops *ops, void *arg),
                                       void *arg);

/* Patterns are ftrace-style globs separated by spaces or commas:
 *   foo  foo*  *foo  *foo*  a*b    match a function's symbol name, its
 *                                  demangled name, or the demangled name
 *                                  without its parameter list;
 *   !pattern                       removes the matching functions;
 *   pattern@module                 restricts to modules whose file's
 *                                  basename matches (globs allowed).
 * With reset != 0 the set is cleared first; patterns NULL or "" with reset
 * clears it (an empty filter means every site). A pattern that matches no
 * function is -ENOENT and leaves the set unchanged; a malformed one -EINVAL.
 * Works while the ops is registered: the change is live when it returns. */
SLED_API int sled_set_filter(sled_ops *ops, const char *patterns, int reset);
SLED_API int sled_set_notrace(sled_ops *ops, const char *patterns, int reset);

/* "callops" (default) | "list" | "dyntramp". sled_get_strategy works from
 * a callback; sled_set_strategy returns -EDEADLK there. */
SLED_API int sled_set_strategy(const char *name);
SLED_API const char *sled_get_strategy(void);

/* Register accessors, valid inside a callback only. */
#define SLED_REGS_MAX_ARGS 64
/* Integer argument n, 0-based. Past the argument registers (6 on x86-64,
 * 8 on aarch64) it is read from the stack, which is right when all earlier
 * arguments are integers and the function has that many arguments (beyond
 * them the words are the caller's frame). 0 for n >= SLED_REGS_MAX_ARGS. */
SLED_API uintptr_t sled_regs_arg(const sled_regs *regs, unsigned n);
SLED_API uintptr_t sled_regs_return_address(const sled_regs *regs); /* = parent_ip */
SLED_API uintptr_t sled_regs_stack_pointer(const sled_regs *regs);  /* sp at the function's entry */
SLED_API uintptr_t sled_regs_ip(const sled_regs *regs);             /* the function's entry */
/* Only for ops with SLED_OPS_FL_IPMODIFY (-EPERM otherwise): continue at
 * new_ip (the entry of a function with the same signature) instead of the
 * traced function's body. */
SLED_API int sled_regs_set_ip(sled_regs *regs, uintptr_t new_ip);

/* Number of patchable sites found in all loaded modules (refused ones too).
 * From a callback: those of the modules sled has seen so far. */
SLED_API size_t sled_site_count(void);

/* Why a site cannot be traced. */
enum sled_refusal {
  SLED_SITE_OK = 0,
  SLED_SITE_BAD_BYTES = 1,      /* entry bytes are not a known NOP form */
  SLED_SITE_BAD_LITERAL = 2,    /* the 8 bytes before the entry are not NOPs */
  SLED_SITE_MISALIGNED = 3,     /* the literal is not 8-byte aligned */
  SLED_SITE_UNSAFE_NOPS = 4,    /* GCC's 5 one-byte NOPs seen while threads ran */
  SLED_SITE_OUT_OF_SEGMENT = 5, /* the address is not in executable text */
  SLED_SITE_NO_STUB = 6,        /* no near stub could be mapped within reach */
  SLED_SITE_TEXT_LOCKED = 7,    /* its text (or its near stub page) could not be
                                   made writable: a W^X policy (SELinux
                                   deny_execmem, PaX MPROTECT, seccomp) refused
                                   mprotect(PROT_WRITE|PROT_EXEC) */
};

enum sled_dispatch {
  SLED_DISPATCH_NONE = 0,   /* disabled: literal names the nop ops */
  SLED_DISPATCH_DIRECT = 1, /* one ops: the literal names it */
  SLED_DISPATCH_LIST = 2,   /* several: the literal names a list ops */
  SLED_DISPATCH_TRAMP = 3,  /* a direct ops' trampoline, called by the site
                               itself (alone) or after the other ops (shared) */
};

typedef struct sled_site_info {
  uintptr_t ip;            /* function entry */
  const char *name;        /* symbol name (mangled for C++) */
  const char *module;      /* basename of the module's file */
  int refusal;             /* enum sled_refusal */
  unsigned nr_ops;         /* ops tracing it now */
  int enabled;             /* its call instruction is in place */
  int dispatch;            /* enum sled_dispatch: what the literal names */
  const sled_ops *literal; /* the ops pointer in the site's literal now */
  unsigned char bytes[16]; /* bytes found at literal..entry+8 when refused */
} sled_site_info;

/* name and module stay valid while the module is loaded.
 * Calls fn for every site, under sled's lock (fn must not call sled). Stops
 * and returns fn's value when it is non-zero; returns 0 otherwise. If fn
 * loads or unloads a library (dlopen, dlclose), the walk stops after that
 * call of fn with -EAGAIN (the module list changed under it). -EDEADLK from
 * a callback. */
SLED_API int sled_for_each_site(int (*fn)(const sled_site_info *info, void *arg), void *arg);

/* The site whose function starts at ip: 0, or -ENOENT. Works from a
 * callback without sled's lock (the natural way for a callback to name its
 * function); there `bytes` is left zero and modules loaded since sled last
 * looked are not found yet. */
SLED_API int sled_site_lookup(uintptr_t ip, sled_site_info *out);

typedef struct sled_stats {
  uint64_t modules; /* modules with sites */
  uint64_t sites_found;
  uint64_t sites_refused;        /* sum of refused_by_reason */
  uint64_t refused_by_reason[8]; /* index: enum sled_refusal */
  uint64_t sites_enabled;        /* sites whose call is in place now */
  uint64_t sites_normalized;     /* GCC 5x1-byte NOPs rewritten to one NOP */
  uint64_t patch_batches;        /* text patch sessions run */
  uint64_t sites_patched;        /* code writes (enable/disable) done, in total */
  uint64_t literal_writes;
  uint64_t patch_failures; /* changes refused because bytes differed */
  uint64_t grace_periods;
  int killed; /* patching stopped after an anomaly */
} sled_stats;

/* -EDEADLK from a callback (*out zeroed). */
SLED_API int sled_get_stats(sled_stats *out);

/* Text of a code; sled_last_error() gives the detail of the calling
 * thread's most recent failure (function, module, bytes found). */
SLED_API const char *sled_strerror(int err);
SLED_API const char *sled_last_error(void);

#ifdef __cplusplus
}
#endif
#endif /* SLED_SLED_H */
