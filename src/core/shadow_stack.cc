// Claiming, sizing and recycling per-thread shadow stacks (shadow_stack.h).
// Everything here may run from a traced call inside a signal handler: raw
// system calls, mmap and lock-free lists only (no malloc, no stdio).
#include "core/shadow_stack.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <new>

namespace sled::graph {
namespace {

std::atomic<ShadowStack *> g_stacks{nullptr};
std::atomic<unsigned> g_default_depth{1024};

// The owner thread's pointer: null before its first hooked call, kExited
// after its exit hook (calls made by later TLS destructors are not hooked,
// so nothing is left pending on a stack about to be recycled).
ShadowStack *const kExited = reinterpret_cast<ShadowStack *>(1);
__thread ShadowStack *t_stack __attribute__((tls_model("initial-exec"))) = nullptr;

int gettid_raw() { return static_cast<int>(syscall(SYS_gettid)); }

uintptr_t hex(const char *&p) {
  uintptr_t v = 0;
  for (;; p++) {
    char c = *p;
    if (c >= '0' && c <= '9')
      v = v * 16 + (c - '0');
    else if (c >= 'a' && c <= 'f')
      v = v * 16 + (c - 'a' + 10);
    else
      return v;
  }
}

// The mapping of /proc/self/maps that holds `sp`, read with raw system
// calls into a stack buffer. The main thread's stack grows down to its
// rlimit: extend lo by it.
void find_home(uintptr_t sp, uintptr_t *lo, uintptr_t *hi) {
  *lo = *hi = 0;
  int fd = static_cast<int>(syscall(SYS_openat, AT_FDCWD, "/proc/self/maps", O_RDONLY | O_CLOEXEC));
  if (fd < 0) return;
  char buf[4096];
  size_t have = 0;
  bool done = false;
  while (!done) {
    ssize_t n = syscall(SYS_read, fd, buf + have, sizeof buf - have);
    if (n <= 0)
      done = true;
    else
      have += static_cast<size_t>(n);
    size_t line = 0;
    for (size_t i = 0; i < have; i++) {
      if (buf[i] != '\n') continue;
      buf[i] = 0;
      const char *p = buf + line;
      uintptr_t a = hex(p);
      if (*p == '-') {
        p++;
        uintptr_t b = hex(p);
        if (sp >= a && sp < b) {
          *lo = a;
          *hi = b;
          bool main_stack = false;
          for (const char *q = p; *q; q++)
            if (q[0] == '[' && q[1] == 's' && q[2] == 't') main_stack = true;
          if (main_stack) {
            rlimit rl{};
            uintptr_t grow = 8u << 20;
            if (syscall(SYS_getrlimit, RLIMIT_STACK, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
              grow = rl.rlim_cur;
            *lo = b - grow < b ? b - grow : 0;
          }
          syscall(SYS_close, fd);
          return;
        }
      }
      line = i + 1;
    }
    if (line == 0 && have == sizeof buf)
      have = 0;  // a line longer than the buffer: skip it
    else {
      for (size_t i = line; i < have; i++) buf[i - line] = buf[i];
      have -= line;
    }
  }
  syscall(SYS_close, fd);
}

ShadowStack *make_stack(int tid) {
  unsigned depth = g_default_depth.load(std::memory_order_relaxed);
  // Two hooks per frame on average before the data runs out first.
  size_t bytes = sizeof(ShadowStack) + depth * sizeof(ShadowFrame) + 2 * depth * sizeof(Hook);
  bytes = (bytes + 4095) & ~size_t{4095};
  void *mem = mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (mem == MAP_FAILED) return nullptr;
  auto *s = new (mem) ShadowStack();
  s->map_bytes = bytes;
  s->cap = depth;
  s->data_cap = 2 * depth;
  s->frames = reinterpret_cast<ShadowFrame *>(s + 1);
  s->data = reinterpret_cast<Hook *>(s->frames + depth);
  s->owner.store(tid, std::memory_order_relaxed);
  ShadowStack *head = g_stacks.load(std::memory_order_relaxed);
  // Release: a stats reader that acquires the head sees the fields above.
  do {
    s->next = head;
  } while (!g_stacks.compare_exchange_weak(head, s, std::memory_order_release,
                                           std::memory_order_relaxed));
  return s;
}

ShadowStack *claim(int tid) {
  unsigned depth = g_default_depth.load(std::memory_order_relaxed);
  for (ShadowStack *s = g_stacks.load(std::memory_order_acquire); s; s = s->next) {
    int expected = 0;
    // acq_rel: take over a stack its last owner released (its depth reset).
    if (s->cap == depth && s->owner.load(std::memory_order_relaxed) == 0 &&
        s->owner.compare_exchange_strong(expected, tid, std::memory_order_acq_rel))
      return s;
  }
  return make_stack(tid);
}

}  // namespace

ShadowStack *existing_stack() {
  ShadowStack *s = t_stack;
  return s == kExited ? nullptr : s;
}

void release_current_stack() {
  ShadowStack *s = existing_stack();
  t_stack = kExited;
  if (!s) return;
  // Frames still pending would be lost with a reused stack: keep such a
  // stack out of reuse (the flush before this leaves none).
  if (s->depth != 0) return;
  s->data_top = 0;
  // Release: the next owner sees depth 0 and data_top 0.
  s->owner.store(0, std::memory_order_release);
}

ShadowStack *current_stack() {
  ShadowStack *s = t_stack;
  if (__builtin_expect(s != nullptr, 1)) return s == kExited ? nullptr : s;
  int tid = gettid_raw();
  s = claim(tid);
  if (!s) return nullptr;
  uintptr_t here = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  find_home(here, &s->home_lo, &s->home_hi);
  t_stack = s;
  return s;
}

ShadowStack *all_stacks() { return g_stacks.load(std::memory_order_acquire); }

void set_default_depth(unsigned depth) { g_default_depth.store(depth, std::memory_order_relaxed); }

}  // namespace sled::graph
