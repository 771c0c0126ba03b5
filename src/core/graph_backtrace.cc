// backtrace() and _Unwind_Backtrace() with graph ops hooked on the stack.
// Walkers that run no personality stop at the return handler (its CFI
// cannot name a return address kept on the shadow stack). These
// interposers put the calling thread's real return addresses back into
// the stack slots for the duration of the walk (x86_64, where the slot is
// at the shadow frame's key - 8), then hook them again. On aarch64 the
// hooked return address was spilled wherever the function's prologue put
// it, signed: the walk stops at the first hooked call, which is reported
// with its real caller's address. Exported from libsled (libsled.map);
// they call the next definition (libc's, libgcc's) through dlsym.
#include <dlfcn.h>
#include <unwind.h>

#include "core/graph_internal.h"
#include "core/shadow_stack.h"

extern "C" char sled_graph_return_handler[];

namespace sled::graph {
namespace {

uintptr_t handler() { return reinterpret_cast<uintptr_t>(sled_graph_return_handler); }

// Frames of the current stack above `sp`: the slots a walk from here reads.
bool on_walked_stack(const ShadowStack *s, uintptr_t key, uintptr_t sp) {
  return key > sp && (s->same_home(key, sp) || key - sp < (uintptr_t{1} << 20));
}

class RealAddressesBack {
 public:
  RealAddressesBack() {
#if defined(__x86_64__)
    s_ = current_stack();
    sp_ = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    if (!s_) return;
    for (uint32_t i = 0; i < s_->depth; i++) {
      const ShadowFrame &f = s_->frames[i];
      auto *slot = reinterpret_cast<uintptr_t *>(f.key - 8);
      if (on_walked_stack(s_, f.key, sp_) && *slot == handler()) *slot = f.orig;
    }
#endif
  }
  ~RealAddressesBack() {
#if defined(__x86_64__)
    if (!s_) return;
    for (uint32_t i = 0; i < s_->depth; i++) {
      const ShadowFrame &f = s_->frames[i];
      auto *slot = reinterpret_cast<uintptr_t *>(f.key - 8);
      if (on_walked_stack(s_, f.key, sp_) && *slot == f.orig) *slot = handler();
    }
#endif
  }
  RealAddressesBack(const RealAddressesBack &) = delete;
  RealAddressesBack &operator=(const RealAddressesBack &) = delete;

 private:
  ShadowStack *s_ = nullptr;
  uintptr_t sp_ = 0;
};

// Replaces the handler's address in a finished walk by the real return
// address of the matching hooked call, innermost first.
void translate(void **buf, int n) {
  ShadowStack *s = current_stack();
  if (!s) return;
  uint32_t next = s->depth;
  for (int k = 0; k < n; k++) {
    if (reinterpret_cast<uintptr_t>(buf[k]) != handler() || next == 0) continue;
    buf[k] = reinterpret_cast<void *>(s->frames[--next].orig);
  }
}

template <class F>
F next_definition(const char *name) {
  return reinterpret_cast<F>(dlsym(RTLD_NEXT, name));
}

}  // namespace
}  // namespace sled::graph

using namespace sled::graph;

extern "C" {

__attribute__((visibility("default"))) int backtrace(void **buf, int size) {
  static auto real = next_definition<int (*)(void **, int)>("backtrace");
  if (!real) return 0;
  int n;
  {
    RealAddressesBack back;
    n = real(buf, size);
  }
  if (n > 0) translate(buf, n);
  return n;
}

__attribute__((visibility("default"))) _Unwind_Reason_Code _Unwind_Backtrace(_Unwind_Trace_Fn fn,
                                                                             void *arg) {
  static auto real =
      next_definition<_Unwind_Reason_Code (*)(_Unwind_Trace_Fn, void *)>("_Unwind_Backtrace");
  if (!real) return _URC_FATAL_PHASE1_ERROR;
  RealAddressesBack back;
  return real(fn, arg);
}

}  // extern "C"
