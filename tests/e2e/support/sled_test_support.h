// sled_test_support.h — helpers shared by the end-to-end test drivers: a
// recording ops (Tracer), site and patch-byte inspection, the W^X check of
// /proc/self/maps, and real addresses of shared-library functions. Built
// without sled's instrumentation flags, like every driver.
#ifndef SLED_TESTS_SLED_TEST_SUPPORT_H
#define SLED_TESTS_SLED_TEST_SUPPORT_H

#include <sled/sled.h>

#include <cstdint>
#include <functional>
#include <mutex>
#include <set>
#include <string>
#include <vector>

namespace sled_test {

// What a callback saw on one call.
struct Hit {
  uintptr_t ip = 0;
  uintptr_t parent_ip = 0;
  uintptr_t regs_ip = 0;          // sled_regs_ip
  uintptr_t regs_return = 0;      // sled_regs_return_address
  uintptr_t word_at_sp = 0;       // *(uintptr_t *)sled_regs_stack_pointer
  uintptr_t args[6] = {};         // sled_regs_arg(0..5): registers on both archs
  const sled_ops *ops = nullptr;  // the ops passed to the callback
};

// A registered client that records every call it sees. The sled_ops lives
// inside the object, so a Tracer must not move; the destructor unregisters.
class Tracer {
 public:
  // Runs inside the callback after the hit is recorded (no lock held).
  using Hook = std::function<void(Tracer &, const Hit &, sled_regs *)>;

  explicit Tracer(uint32_t flags = 0);
  ~Tracer();
  Tracer(const Tracer &) = delete;
  Tracer &operator=(const Tracer &) = delete;

  sled_ops *ops() { return &ops_; }
  int Register() { return sled_register_ops(&ops_); }
  int Unregister() { return sled_unregister_ops(&ops_); }
  int SetFilter(const char *patterns, int reset = 1) {
    return sled_set_filter(&ops_, patterns, reset);
  }
  int SetNotrace(const char *patterns, int reset = 1) {
    return sled_set_notrace(&ops_, patterns, reset);
  }
  void SetHook(Hook hook) { hook_ = std::move(hook); }

  size_t Count(uintptr_t ip) const;  // calls seen of the function at ip
  size_t Total() const;              // calls seen in all
  std::vector<Hit> Hits() const;
  void Clear();

 private:
  static void Callback(uintptr_t ip, uintptr_t parent_ip, sled_ops *ops, sled_regs *regs);
  sled_ops ops_{};
  mutable std::mutex mu_;
  std::vector<Hit> hits_;
  Hook hook_;
};

template <class F>
uintptr_t Addr(F *f) {
  return reinterpret_cast<uintptr_t>(f);
}

// The live-toggled instruction of the function at ip: x86 its 5 bytes
// (after endbr64 if present), aarch64 the word after `[bti c;] mov x9, x30`.
const uint8_t *PatchBytes(uintptr_t ip);
// endbr64 (x86) / bti c (aarch64) at the entry.
bool HasLandingPad(uintptr_t ip);
// Disabled site: the 5-byte NOP 0f 1f 44 00 xx (x86), `nop` (aarch64).
bool IsSiteNop(const uint8_t *p);
// Enabled site: `call rel32` (x86) / `bl` (aarch64) at p, and its target
// (0 when p holds no such call).
bool IsSiteCall(const uint8_t *p);
uintptr_t SiteCallTarget(const uint8_t *p);
// Target of the direct call whose return address is given, or 0.
uintptr_t CallTargetBefore(uintptr_t return_address);
// Every dispatch strategy, by its sled_set_strategy name.
inline constexpr const char *kStrategies[] = {"callops", "list", "dyntramp"};

// Where the near stub (veneer) at `at` jumps: x86 `jmp *0(%rip); .quad`,
// aarch64 `ldr x16, #8; br x16; .quad`; 0 when `at` holds no stub.
uintptr_t NearStubTarget(uintptr_t at);
// A site's direct call at `from` can reach `to` (x86 rel32: +-2 GiB;
// aarch64 bl: +-128 MiB).
bool DirectCallReaches(uintptr_t from, uintptr_t to);
// Basename of the loaded module that holds addr, or "".
std::string ModuleOf(uintptr_t addr);
// Size of a site's patch instruction.
#if defined(__aarch64__)
inline constexpr size_t kPatchInsnSize = 4;
#else
inline constexpr size_t kPatchInsnSize = 5;
#endif
// The 8-byte literal before the entry, read as an ops pointer.
const sled_ops *LiteralAt(uintptr_t ip);

// sled_site_lookup that fails the current test when the site is missing.
sled_site_info SiteInfo(uintptr_t ip);
sled_stats Stats();

// Names of the sites some ops traces now (nr_ops > 0).
std::set<std::string> TracedSiteNames();

// A line of /proc/self/maps that is writable and executable, or "".
std::string WritableExecutableMapping();

// Basename of /proc/self/exe.
std::string ExeBasename();

// The real address of symbol in an already loaded library (its own
// definition, not the executable's canonical PLT entry); 0 if not found.
uintptr_t LibrarySymbol(const char *library, const char *symbol);

}  // namespace sled_test

#endif
