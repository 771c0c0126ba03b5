// Fault injection (sled_inject_add / sled_inject_clear, trace.h): each spec
// becomes one plain sled ops on the functions its pattern selects. Owns the
// injections, their return stubs and their per-thread random state; writes
// nothing but a marker event per injection when a recording session is
// open. Must not lock or allocate in the callback.
//
// return=VALUE: the ops is IPMODIFY and redirects the call to a stub, a
// function that takes any arguments, ignores them and returns the value in
// the integer return register (rax / x0): the traced function's body never
// runs, its caller sees VALUE as the result of an integer- or
// pointer-returning function. There is one stub per injection slot (a
// template instance reading its slot's value), rather than one stub reading
// a thread_local set by the callback: a signal handler that runs between the
// callback and the stub, and hits another injection, cannot swap the value.
// At most kMaxInjections injections exist at once; a function takes at most
// one return= injection (sled allows one IPMODIFY ops per function: -EBUSY).
//
// every=N counts calls per injection with one atomic counter; prob=P draws
// from a per-thread, per-injection xorshift64* generator seeded from the
// spec's seed=N (else SLED_INJECT_SEED, else a fixed default) mixed with the
// thread's ordinal (1 for the first thread that hits any injection, 2 for
// the next, ...): a single-threaded run is reproducible.
//
// The per-thread generators sit in a small direct-mapped cache (slot mod
// kRandomWays), not one per slot: the thread-local block of
// libsled-trace.so must stay small, because a library with initial-exec
// TLS loaded by dlopen (`sled attach` loads the agent into a running
// process) takes its whole TLS block from glibc's static TLS surplus,
// about 1.6 KiB by default. Two prob= injections whose slots share an
// entry, drawn in turn by one thread, each reseed on their turn (with 16
// entries, only when more than 16 injections exist); the reseed mixes in
// the thread's count of reseeds, so their draws stay distinct and a
// single-threaded run stays reproducible.
#include <time.h>

#include <array>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <new>
#include <string>
#include <utility>
#include <vector>

#include "sled/sled.h"
#include "sled/trace.h"
#include "tracers/c_boundary.h"
#include "tracers/inject_spec.h"
#include "tracers/record/recorder.h"
#include "tracers/tracer.h"

namespace sled::tracers::inject {
namespace {

constexpr unsigned kMaxInjections = 64;

// The value each slot's stub returns. Written by sled_inject_add before the
// injection's ops is registered; sled's registration (patching, membarrier)
// orders that write before any call that can reach the stub, so relaxed
// loads are enough.
std::array<std::atomic<uintptr_t>, kMaxInjections> g_values{};

template <unsigned I>
__attribute__((noinline)) uintptr_t return_stub() {
  return g_values[I].load(std::memory_order_relaxed);
}

template <unsigned... I>
constexpr std::array<uintptr_t (*)(), kMaxInjections> make_stubs(
    std::integer_sequence<unsigned, I...>) {
  return {&return_stub<I>...};
}
const std::array<uintptr_t (*)(), kMaxInjections> g_stubs =
    make_stubs(std::make_integer_sequence<unsigned, kMaxInjections>{});

struct Injection {
  sled_ops ops{};
  Spec spec;
  unsigned slot = 0;
  uint64_t id = 0;         // unique over the process's life (per-thread PRNG reseeding)
  uint64_t threshold = 0;  // prob: fire when the draw is below it
  bool always = true;      // prob == 1 (or no prob)
  // every=N: calls seen. Only the increment's atomicity matters (each call
  // gets its own number); nothing is published through it: relaxed.
  std::atomic<uint64_t> calls{0};
};

std::mutex g_mutex;  // add / clear; never taken in a callback
// Never destroyed, like the triggers: the agent's control thread and its
// exit path may still use it while static destructors run.
std::vector<std::unique_ptr<Injection>> &g_injections = *new std::vector<std::unique_ptr<Injection>>;
std::array<bool, kMaxInjections> g_slot_used{};
std::atomic<uint64_t> g_next_id{1};          // relaxed: a unique number, nothing published
std::atomic<uint64_t> g_thread_ordinals{0};  // relaxed: same

constexpr unsigned kRandomWays = 16;
struct ThreadRandom {
  uint64_t ordinal = 0;
  uint64_t reseeds = 0;
  std::array<uint64_t, kRandomWays> owner{};  // Injection::id the state belongs to
  std::array<uint64_t, kRandomWays> state{};
  std::array<uint8_t, kRandomWays> owner_slot{};  // the slot of that injection
};
thread_local ThreadRandom t_random;

uint64_t splitmix64(uint64_t x) {
  x += 0x9E3779B97F4A7C15ull;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
  return x ^ (x >> 31);
}

uint64_t draw(const Injection &inj) {
  ThreadRandom &t = t_random;
  if (!t.ordinal) t.ordinal = g_thread_ordinals.fetch_add(1, std::memory_order_relaxed) + 1;
  const unsigned way = inj.slot % kRandomWays;
  uint64_t &s = t.state[way];
  if (t.owner[way] != inj.id) {
    // The documented seeding, unless this entry holds another slot's
    // generator (an eviction: an injection of the same slot before this
    // one is gone, as one slot holds one live injection).
    uint64_t evicted = t.owner[way] && t.owner_slot[way] != inj.slot ? ++t.reseeds : 0;
    t.owner[way] = inj.id;
    t.owner_slot[way] = static_cast<uint8_t>(inj.slot);
    s = splitmix64(inj.spec.seed ^ splitmix64(t.ordinal) ^ splitmix64(evicted) * (evicted != 0));
    if (!s) s = 1;  // xorshift's one fixed point
  }
  s ^= s >> 12;
  s ^= s << 25;
  s ^= s >> 27;
  return s * 0x2545F4914F6CDD1Dull;
}

bool should_fire(Injection &inj) {
  if (inj.spec.every > 1 &&
      (inj.calls.fetch_add(1, std::memory_order_relaxed) + 1) % inj.spec.every != 0)
    return false;
  return inj.always || draw(inj) < inj.threshold;
}

void wait_us(uint64_t us) {
  timespec start, now;
  clock_gettime(CLOCK_MONOTONIC, &start);
  uint64_t ns = us * 1000;
  if (us < 50) {  // a sleep would overshoot by more than the delay itself
    do {
      clock_gettime(CLOCK_MONOTONIC, &now);
    } while (static_cast<uint64_t>((now.tv_sec - start.tv_sec) * 1000000000ll +
                                   (now.tv_nsec - start.tv_nsec)) < ns);
    return;
  }
  timespec until = start;
  until.tv_sec += static_cast<time_t>(ns / 1000000000);
  until.tv_nsec += static_cast<long>(ns % 1000000000);
  if (until.tv_nsec >= 1000000000) {
    until.tv_sec++;
    until.tv_nsec -= 1000000000;
  }
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, nullptr) == EINTR) {
  }
}

void mark(uintptr_t ip, rec::Marker kind, uint64_t arg) {
  if (!rec::active()) return;
  if (rec::Writer *w = rec::thread_writer()) rec::marker(w, rec::now(), ip, kind, arg);
}

void on_call(uintptr_t ip, uintptr_t, sled_ops *ops, sled_regs *regs) {
  Injection &inj = *static_cast<Injection *>(ops->private_data);
  if (!should_fire(inj)) return;
  if (inj.spec.action == Action::delay) {
    mark(ip, rec::Marker::inject_delay, inj.spec.delay_us);
    wait_us(inj.spec.delay_us);
  } else {
    mark(ip, rec::Marker::inject_return, inj.spec.value);
    sled_regs_set_ip(regs, reinterpret_cast<uintptr_t>(g_stubs[inj.slot]));
  }
}

uint64_t default_seed() {
  if (const char *env = getenv("SLED_INJECT_SEED"); env && *env) {
    char *end = nullptr;
    unsigned long long v = strtoull(env, &end, 0);
    if (!*end) return v;
  }
  return 0x5eed;
}

// sled answers -EDEADLK to most calls from inside a callback without
// waiting; use that to refuse before taking g_mutex (a thread holding it may
// be waiting for this callback's grace period).
bool in_callback() {
  sled_stats s;
  return sled_get_stats(&s) == -EDEADLK;
}

int fail(int err, const std::string &spec, const std::string &why) {
  set_error("inject '" + spec + "': " + why);
  return err;
}

int add(const char *text) {
  if (!text) return fail(-EINVAL, "", "NULL spec");
  std::string error;
  Spec spec;
  if (!parse_spec(text, &spec, &error)) return fail(-EINVAL, text, error);
  if (in_callback()) return fail(-EDEADLK, text, "called from a sled callback");
  std::lock_guard lock(g_mutex);
  unsigned slot = 0;
  while (slot < kMaxInjections && g_slot_used[slot]) slot++;
  if (slot == kMaxInjections)
    return fail(-ENOSPC, text, "too many injections (" + std::to_string(kMaxInjections) + ")");
  auto inj = std::make_unique<Injection>();
  inj->spec = spec;
  if (!spec.has_seed) inj->spec.seed = default_seed();
  inj->slot = slot;
  inj->id = g_next_id.fetch_add(1, std::memory_order_relaxed);
  inj->always = !spec.has_prob || spec.prob >= 1.0;
  // P * 2^64, below 2^64 since P < 1 here.
  inj->threshold = inj->always ? 0 : static_cast<uint64_t>(spec.prob * 18446744073709551616.0);
  inj->ops.func = on_call;
  inj->ops.private_data = inj.get();
  if (spec.action == Action::ret) inj->ops.flags = SLED_OPS_FL_IPMODIFY;
  g_values[slot].store(static_cast<uintptr_t>(spec.value), std::memory_order_relaxed);
  g_injections.reserve(g_injections.size() + 1);  // no failure after registering
  int err = sled_set_filter(&inj->ops, spec.pattern.c_str(), 1);
  if (err) {
    std::string why = err == -ENOENT ? "no function matches '" + spec.pattern + "'"
                                     : std::string(sled_strerror(err)) + ": " + sled_last_error();
    sled_unregister_ops(&inj->ops);  // forgets the filter of an ops never registered
    return fail(err, text, why);
  }
  err = sled_register_ops(&inj->ops);
  if (err) {
    std::string why = err == -EBUSY ? "a function it selects already has a return= injection "
                                      "(or another IPMODIFY ops)"
                                    : std::string(sled_strerror(err)) + ": " + sled_last_error();
    sled_unregister_ops(&inj->ops);
    return fail(err, text, why);
  }
  g_slot_used[slot] = true;
  g_injections.push_back(std::move(inj));
  return 0;
}

int clear() {
  if (in_callback()) return fail(-EDEADLK, "", "called from a sled callback");
  std::lock_guard lock(g_mutex);
  int result = 0;
  while (!g_injections.empty()) {
    Injection &inj = *g_injections.back();
    if (int err = sled_unregister_ops(&inj.ops); err && err != -ENOENT) {
      // Still registered: keep it (its memory must outlive its callbacks).
      result = fail(err, "", std::string("cannot remove an injection: ") + sled_last_error());
      break;
    }
    g_slot_used[inj.slot] = false;
    g_injections.pop_back();
  }
  return result;
}

}  // namespace
}  // namespace sled::tracers::inject

extern "C" int sled_inject_add(const char *spec) try { return sled::tracers::inject::add(spec); }
SLED_TRACE_CATCH(-ENOMEM)

extern "C" int sled_inject_clear(void) try { return sled::tracers::inject::clear(); }
SLED_TRACE_CATCH(-ENOMEM)
