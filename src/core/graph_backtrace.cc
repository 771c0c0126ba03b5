// backtrace() and _Unwind_Backtrace() with graph ops hooked on the stack.
// Walkers that run no personality stop at the return handler (its CFI
// cannot name a return address kept on the shadow stack). These
// interposers put the calling thread's real return addresses back into
// the stack slots for the duration of the walk, then hook them again:
// x86_64, the slot is at the shadow frame's key - 8; aarch64, the slot is
// the lr word of the hooked function's frame record, re-signed the way its
// paciasp signed the handler's address. A hooked aarch64 function without
// a frame record cuts the walk there; it is then reported with its real
// caller's address. Exported from libsled (libsled.map);
// they call the next definition (libc's, libgcc's) through dlsym.
#include <dlfcn.h>
#include <unwind.h>

#include <algorithm>

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

#if defined(__aarch64__)
// xpaclri / pacia1716: hint-space PAC instructions (NOPs on CPUs without
// pointer authentication, where return addresses are not signed either).
uintptr_t strip_pac(uintptr_t v) {
  register uintptr_t x30 asm("x30") = v;
  asm("hint #7" : "+r"(x30));  // xpaclri
  return x30;
}
// What the function's paciasp would have made of `v`: key A, modifier =
// the stack pointer at its entry (the shadow frame's key).
uintptr_t sign_like_paciasp(uintptr_t v, uintptr_t entry_sp) {
  register uintptr_t x17 asm("x17") = v;
  register uintptr_t x16 asm("x16") = entry_sp;
  asm("hint #8" : "+r"(x17) : "r"(x16));  // pacia1716
  return x17;
}
#endif

class RealAddressesBack {
 public:
  RealAddressesBack() {
    s_ = current_stack();
    uintptr_t sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
    if (!s_) return;
#if defined(__x86_64__)
    // The return address of a hooked call is the word below its key.
    for (uint32_t i = 0; i < s_->depth && n_ < kMax; i++) {
      const ShadowFrame &f = s_->frames[i];
      auto *slot = reinterpret_cast<uintptr_t *>(f.key - 8);
      if (on_walked_stack(s_, f.key, sp) && *slot == handler()) put(slot, f.orig);
    }
#elif defined(__aarch64__)
    // The hooked return address was spilled by the function's prologue,
    // normally into its frame record {fp, lr}: walk the frame-record chain
    // (innermost first) and pair each record holding the handler with the
    // innermost pending hooked call whose key lies above it. Best effort:
    // a hooked function without a frame record is not found (the walk is
    // then cut there, as without this).
    uintptr_t limit = 0;
    for (uint32_t i = 0; i < s_->depth; i++)
      if (on_walked_stack(s_, s_->frames[i].key, sp)) limit = std::max(limit, s_->frames[i].key);
    uint32_t next = s_->depth;
    for (uintptr_t fp = sp; fp && (fp & 7) == 0 && fp >= sp && fp < limit && n_ < kMax;) {
      auto *record = reinterpret_cast<uintptr_t *>(fp);
      uintptr_t lr = record[1];
      if (strip_pac(lr) == handler()) {
        while (next > 0 && !(s_->frames[next - 1].key > fp &&
                             on_walked_stack(s_, s_->frames[next - 1].key, sp)))
          next--;
        if (next == 0) break;
        const ShadowFrame &f = s_->frames[--next];
        put(&record[1], lr == strip_pac(lr) ? f.orig : sign_like_paciasp(f.orig, f.key));
      }
      if (record[0] <= fp) break;  // the chain must go up the stack
      fp = record[0];
    }
#endif
  }
  ~RealAddressesBack() {
    for (uint32_t i = n_; i-- > 0;)
      if (*saved_[i].slot == saved_[i].written) *saved_[i].slot = saved_[i].old;
  }
  RealAddressesBack(const RealAddressesBack &) = delete;
  RealAddressesBack &operator=(const RealAddressesBack &) = delete;

 private:
  static constexpr uint32_t kMax = 512;
  struct Saved {
    uintptr_t *slot;
    uintptr_t old, written;
  };
  void put(uintptr_t *slot, uintptr_t value) {
    saved_[n_++] = {slot, *slot, value};
    *slot = value;
  }
  ShadowStack *s_ = nullptr;
  Saved saved_[kMax];
  uint32_t n_ = 0;
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
