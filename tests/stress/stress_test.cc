// stress_test.cc — live patching under load. Worker threads call the
// instrumented st_f* functions in a loop while the control thread (the test
// thread) registers, unregisters, re-filters and toggles notrace on three
// heap-allocated ops, thousands of times, under each dispatch strategy
// (Stress.ExactCountsWhileOpsComeAndGo), and while it also switches the
// dispatch strategy live, callops -> list -> dyntramp -> callops ..., between
// those steps (LiveStrategySwitch.ExactCountsWhileTheStrategyChanges).
//
// Exactness: the control thread publishes the traced set (which ops slot
// traces which function) with a sequence number after every API call has
// returned, and marks the word busy (naming the slot it is about to change)
// before it calls. A worker reads the word before and after each call and
// counts, through thread-local counters bumped by the callbacks, how often
// each ops saw the call:
//   - same published state before and after: exactly once for each ops
//     tracing the function in that state, zero for the others;
//   - a transition in between: ops untouched by that one step must still be
//     exact (every intermediate state is correct); the slot being changed
//     sees the call at most once;
//   - a strategy switch in between (the step is marked as one in the word):
//     at most once for every ops: a thread that reaches a site while its
//     call is being moved to another trampoline may skip the callbacks
//     (documented); it never runs one twice or for the wrong function;
//   - anything else: at most once, with the right ip and argument.
// Lifetime: an ops is freed right after sled_unregister_ops returns, with its
// private_data poisoned first; a callback that still runs for it is counted
// (and is a use-after-free under ASan).
#include <gtest/gtest.h>
#include <linux/futex.h>
#include <sled/sled.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <random>
#include <string>
#include <thread>
#include <vector>

extern "C" {
long st_f0(long x);
long st_f1(long x, long y);
double st_f2(long x, double d);
}

#ifndef SLED_STRESS_STEPS
#define SLED_STRESS_STEPS 800  // control steps per strategy
#endif
#ifndef SLED_STRESS_SWITCHES
#define SLED_STRESS_SWITCHES 300  // live strategy switches
#endif

namespace {

constexpr int kFunctions = 3;
constexpr int kOps = 3;
constexpr int kWorkers = 2;
const char *const kFunctionNames[kFunctions] = {"st_f0", "st_f1", "st_f2"};

uintptr_t FunctionAddress(int f) {
  switch (f) {
    case 0:
      return reinterpret_cast<uintptr_t>(&st_f0);
    case 1:
      return reinterpret_cast<uintptr_t>(&st_f1);
    default:
      return reinterpret_cast<uintptr_t>(&st_f2);
  }
}

// ---- the published state word -----------------------------------------------
// bits 0..8   traced: bit f * kOps + o set when ops slot o traces function f
// bits 9..10  the slot being changed (valid when busy)
// bit  11     busy: an API call is in progress
// bit  12     the step in progress (busy) or just completed (published) is
//             a strategy switch: the traced bits do not change
// bits 16..63 sequence number of the last completed step
struct State {
  uint32_t traced;
  int changing;
  bool busy;
  uint64_t seq;
  bool switching = false;

  static State Decode(uint64_t w) {
    return {uint32_t(w & 0x1ff), int((w >> 9) & 3), ((w >> 11) & 1) != 0, w >> 16,
            ((w >> 12) & 1) != 0};
  }
  uint64_t Encode() const {
    return traced | uint64_t(changing) << 9 | uint64_t(busy) << 11 | uint64_t(switching) << 12 |
           seq << 16;
  }
  bool Traces(int f, int o) const { return (traced >> (f * kOps + o)) & 1; }
};

std::atomic<uint64_t> g_state{0};
std::atomic<bool> g_stop{false};
std::atomic<uint64_t> g_stale_callbacks{0};

// ---- the callback -------------------------------------------------------------
constexpr intptr_t kPoisonedSlot = -1;

thread_local uint32_t t_hits[kOps];
thread_local uintptr_t t_ip[kOps];
thread_local long t_arg0[kOps];

void Callback(uintptr_t ip, uintptr_t, sled_ops *ops, sled_regs *regs) {
  intptr_t slot = reinterpret_cast<intptr_t>(ops->private_data);
  if (slot < 0 || slot >= kOps) {
    g_stale_callbacks.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  t_hits[slot]++;
  t_ip[slot] = ip;
  t_arg0[slot] = long(sled_regs_arg(regs, 0));
}

// ---- workers ------------------------------------------------------------------
// The control thread sleeps on a futex until each worker has made two calls
// in the state it just published: blocking (not yielding) lets the workers
// run on this 2-core machine, and the wake-up is immediate.
void FutexWait(std::atomic<uint32_t> *word, uint32_t value) {
  timespec timeout{0, 100 * 1000 * 1000};
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAIT_PRIVATE, value, &timeout,
          nullptr, 0);
}
void FutexWake(std::atomic<uint32_t> *word) {
  syscall(SYS_futex, reinterpret_cast<uint32_t *>(word), FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr,
          0);
}

struct WorkerReport {
  std::atomic<uint32_t> acked_seq{0};     // last state seen in 2 exact calls
  std::atomic<uint64_t> stable_calls{0};  // checked exactly, in one state
  uint64_t calls = 0;
  uint64_t transition_calls = 0;
  uint64_t switch_calls = 0;    // calls that overlapped a strategy switch
  uint64_t switch_skipped = 0;  // ... and missed a callback (allowed)
  uint64_t errors = 0;
  std::vector<std::string> messages;  // the first few errors

  void Error(const std::string &what) {
    if (errors++ < 10) messages.push_back(what);
  }
};

// Calls function f with x; false if the result is wrong.
bool CallFunction(int f, long x) {
  switch (f) {
    case 0:
      return st_f0(x) == x * 3 + 1;
    case 1:
      return st_f1(x, 7) == x * 7 - 5;
    default:
      return st_f2(x, 0.25) == double(x) * 0.5 + 0.25;
  }
}

// Whether the call overlapped one strategy switch and no other step: the
// words read before and after both belong to that step (its busy word, the
// state it started from or the state it published).
bool OverlapsOnlyASwitch(State before, State after) {
  if (!before.busy && !after.busy && before.seq == after.seq) return false;  // stable
  if (before.busy && !before.switching) return false;
  const uint64_t n = before.seq;  // the switch runs from state n to n + 1
  return after.switching && ((after.busy && after.seq == n) || (!after.busy && after.seq == n + 1));
}

void CheckCall(WorkerReport &r, int f, long x, State before, State after) {
  const bool stable = !before.busy && !after.busy && before.seq == after.seq;
  const bool in_switch = OverlapsOnlyASwitch(before, after);
  // A one-step transition whose changing slot is known: 'after' is either
  // the busy word of that step or the state it published.
  const bool one_step = !before.busy && ((after.busy && after.seq == before.seq) ||
                                         (!after.busy && after.seq == before.seq + 1));
  for (int o = 0; o < kOps; o++) {
    const uint32_t hits = t_hits[o];
    char what[200];
    std::snprintf(what, sizeof what,
                  "f%d ops%d hits=%u before{seq=%llu traced=%03x busy=%d switch=%d} "
                  "after{seq=%llu traced=%03x busy=%d slot=%d switch=%d}",
                  f, o, hits, (unsigned long long)before.seq, before.traced, before.busy,
                  before.switching, (unsigned long long)after.seq, after.traced, after.busy,
                  after.changing, after.switching);
    if (hits > 1) r.Error(std::string("counted twice: ") + what);
    if (hits && t_ip[o] != FunctionAddress(f)) r.Error(std::string("wrong ip: ") + what);
    if (hits && t_arg0[o] != x) r.Error(std::string("wrong argument: ") + what);
    if (stable) {
      if (hits != uint32_t(before.Traces(f, o)))
        r.Error(std::string("stable state miscounted: ") + what);
    } else if (in_switch) {
      // A strategy switch: the traced set is the same before and after; a
      // call overlapping the rewrite may skip its callbacks, never more.
      if (hits && !before.Traces(f, o))
        r.Error(std::string("untraced ops called during a switch: ") + what);
    } else if (one_step) {
      // Busy 'after' words carry the old traced bits; the slot being changed
      // is named in either word of the step.
      const int changing = after.busy ? after.changing : -1;
      const bool untouched_and_known =
          after.busy ? o != changing : before.Traces(f, o) == after.Traces(f, o);
      // For a published 'after', only the step's own slot may differ; when
      // its bits are equal the slot did not change for this function.
      if (untouched_and_known && hits != uint32_t(before.Traces(f, o)))
        r.Error(std::string("untouched ops miscounted in a transition: ") + what);
    }
  }
}

void WorkerLoop(int id, WorkerReport *report) {
  long x = long(id) << 40;
  int f = id % kFunctions;
  uint64_t seq_seen = 0, stable_in_seq = 0;
  while (!g_stop.load(std::memory_order_relaxed)) {
    f = (f + 1) % kFunctions;
    x++;
    std::memset(t_hits, 0, sizeof t_hits);
    State before = State::Decode(g_state.load(std::memory_order_seq_cst));
    if (!CallFunction(f, x)) report->Error("wrong return value");
    State after = State::Decode(g_state.load(std::memory_order_seq_cst));
    CheckCall(*report, f, x, before, after);
    report->calls++;
    if (OverlapsOnlyASwitch(before, after)) {
      report->switch_calls++;
      for (int o = 0; o < kOps; o++)
        if (before.Traces(f, o) && t_hits[o] == 0) {
          report->switch_skipped++;
          break;
        }
    }
    if (!before.busy && !after.busy && before.seq == after.seq) {
      report->stable_calls.fetch_add(1, std::memory_order_relaxed);
      if (before.seq != seq_seen) seq_seen = before.seq, stable_in_seq = 0;
      if (++stable_in_seq == 2) {
        report->acked_seq.store(uint32_t(seq_seen), std::memory_order_release);
        FutexWake(&report->acked_seq);
      }
    } else {
      report->transition_calls++;
    }
  }
}

// ---- the control thread ---------------------------------------------------------
class Controller {
 public:
  Controller(WorkerReport *workers, unsigned seed) : workers_(workers), rng_(seed) {}

  // One random API action on one random slot, published when it returned.
  void Step() {
    const int o = int(rng_() % kOps);
    Slot &s = slots_[o];
    Begin(o);
    if (!s.ops) {
      Register(o);
    } else {
      switch (rng_() % 5) {
        case 0:
        case 1:
          Unregister(o);
          break;
        case 2:  // replace the filter ("" = every function)
          s.filter = RandomMask();
          Check(sled_set_filter(s.ops, Patterns(s.filter).c_str(), 1));
          break;
        case 3: {  // add one function (to an empty filter: only that one)
          unsigned add = 1u << (rng_() % kFunctions);
          Check(sled_set_filter(s.ops, Patterns(add).c_str(), 0));
          s.filter |= add;
          break;
        }
        default:  // replace the notrace set
          s.notrace = RandomMask();
          Check(sled_set_notrace(s.ops, Patterns(s.notrace).c_str(), 1));
          break;
      }
    }
    Publish();
    WaitForWorkers();
  }

  // Switches the dispatch strategy live, marked as such in the state word.
  void Switch(const char *strategy) {
    Begin(0, true);
    Check(sled_set_strategy(strategy));
    const char *now = sled_get_strategy();
    if (std::strcmp(now, strategy) != 0 && api_failures++ == 0)
      first_failure =
          std::string("sled_get_strategy() is ") + now + " after switching to " + strategy;
    Publish(true);
    WaitForWorkers();
  }

  void UnregisterAll() {
    for (int o = 0; o < kOps; o++) {
      if (!slots_[o].ops) continue;
      Begin(o);
      Unregister(o);
      Publish();
    }
  }

  uint64_t api_failures = 0;
  uint64_t stuck_workers = 0;
  std::string first_failure;

 private:
  struct Slot {
    sled_ops *ops = nullptr;  // registered when non-null
    unsigned filter = 0;      // function bitmask, 0 = every function
    unsigned notrace = 0;
  };

  unsigned RandomMask() { return unsigned(rng_() % (1u << kFunctions)); }

  // Functions of mask as a pattern string, "" for none; separators vary.
  std::string Patterns(unsigned mask) {
    std::string s;
    for (int f = 0; f < kFunctions; f++) {
      if (!(mask & (1u << f))) continue;
      if (!s.empty()) s += (rng_() & 1) ? ", " : " ";
      s += kFunctionNames[f];
    }
    return s;
  }

  void Check(int rc) {
    if (rc == 0) return;
    if (api_failures++ == 0)
      first_failure = std::string(sled_strerror(rc)) + ": " + sled_last_error();
  }

  void Register(int o) {
    Slot &s = slots_[o];
    auto *ops = new sled_ops{};  // zeroed
    ops->func = Callback;
    ops->private_data = reinterpret_cast<void *>(intptr_t(o));
    s.filter = RandomMask();
    s.notrace = rng_() % 3 == 0 ? RandomMask() : 0;
    Check(sled_set_filter(ops, Patterns(s.filter).c_str(), 1));
    Check(sled_set_notrace(ops, Patterns(s.notrace).c_str(), 1));
    Check(sled_register_ops(ops));
    s.ops = ops;
  }

  void Unregister(int o) {
    Slot &s = slots_[o];
    Check(sled_unregister_ops(s.ops));
    s.ops->private_data = reinterpret_cast<void *>(kPoisonedSlot);
    delete s.ops;  // at once: sled guarantees no callback runs any more
    s = Slot{};
  }

  uint32_t Traced() const {
    uint32_t bits = 0;
    for (int o = 0; o < kOps; o++) {
      const Slot &s = slots_[o];
      if (!s.ops) continue;
      unsigned fs = (s.filter ? s.filter : (1u << kFunctions) - 1) & ~s.notrace;
      for (int f = 0; f < kFunctions; f++)
        if (fs & (1u << f)) bits |= 1u << (f * kOps + o);
    }
    return bits;
  }

  void Begin(int changing, bool switching = false) {
    State st{Traced(), changing, true, seq_, switching};
    g_state.store(st.Encode(), std::memory_order_seq_cst);
  }

  void Publish(bool switching = false) {
    State st{Traced(), 0, false, ++seq_, switching};
    g_state.store(st.Encode(), std::memory_order_release);
  }

  // Lets every worker make two calls in the state just published, so that
  // each state is checked exactly.
  void WaitForWorkers() {
    const uint32_t target = uint32_t(seq_);
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
    for (int w = 0; w < kWorkers; w++) {
      std::atomic<uint32_t> &acked = workers_[w].acked_seq;
      for (uint32_t seen; (seen = acked.load(std::memory_order_acquire)) != target;) {
        if (std::chrono::steady_clock::now() > deadline) {
          stuck_workers++;
          break;
        }
        FutexWait(&acked, seen);
      }
    }
  }

  WorkerReport *workers_;
  std::mt19937 rng_;
  Slot slots_[kOps];
  uint64_t seq_ = 0;
};

// Runs the workers while `control_loop` drives the controller, then checks
// every report. `label` names the run in the summary lines.
template <class ControlLoop>
void RunWorkersUnder(const char *label, unsigned seed, ControlLoop control_loop) {
  // Scan (and normalise GCC's NOPs) before any worker runs.
  ASSERT_GE(sled_site_count(), size_t(kFunctions));
  for (int f = 0; f < kFunctions; f++) {
    sled_site_info info{};
    ASSERT_EQ(sled_site_lookup(FunctionAddress(f), &info), 0) << kFunctionNames[f];
    ASSERT_EQ(info.refusal, SLED_SITE_OK) << kFunctionNames[f];
  }
  g_state.store(0);
  g_stop.store(false);
  g_stale_callbacks.store(0);

  WorkerReport reports[kWorkers];
  std::vector<std::thread> workers;
  for (int w = 0; w < kWorkers; w++) workers.emplace_back(WorkerLoop, w, &reports[w]);

  Controller control(reports, seed);
  const int steps = control_loop(control);  // published states
  control.UnregisterAll();
  g_stop.store(true);
  for (std::thread &t : workers) t.join();

  EXPECT_EQ(control.api_failures, 0u) << control.first_failure;
  EXPECT_EQ(control.stuck_workers, 0u);
  EXPECT_EQ(g_stale_callbacks.load(), 0u) << "callbacks after unregister";
  for (int w = 0; w < kWorkers; w++) {
    const WorkerReport &r = reports[w];
    EXPECT_EQ(r.errors, 0u) << "worker " << w;
    for (const std::string &m : r.messages) ADD_FAILURE() << "worker " << w << ": " << m;
    // Every published state was checked by every worker at least twice.
    EXPECT_GE(r.stable_calls.load(), 2u * uint64_t(steps)) << "worker " << w;
    std::printf(
        "[ stress   ] %s worker %d: %llu calls, %llu exact, %llu in transitions"
        " (%llu overlapping a switch, %llu of them skipped)\n",
        label, w, (unsigned long long)r.calls, (unsigned long long)r.stable_calls.load(),
        (unsigned long long)r.transition_calls, (unsigned long long)r.switch_calls,
        (unsigned long long)r.switch_skipped);
  }
  sled_stats stats{};
  ASSERT_EQ(sled_get_stats(&stats), 0);
  EXPECT_EQ(stats.sites_enabled, 0u);
  EXPECT_EQ(stats.killed, 0);
  EXPECT_EQ(stats.patch_failures, 0u);
}

class Stress : public ::testing::TestWithParam<const char *> {
 protected:
  void SetUp() override { ASSERT_EQ(sled_set_strategy(GetParam()), 0); }
  void TearDown() override { sled_set_strategy("callops"); }
};

TEST_P(Stress, ExactCountsWhileOpsComeAndGo) {
  RunWorkersUnder(GetParam(), 12345u + unsigned(std::strlen(GetParam())), [](Controller &control) {
    int step = 0;
    for (; step < SLED_STRESS_STEPS && control.stuck_workers == 0; step++) control.Step();
    return step;
  });
}

INSTANTIATE_TEST_SUITE_P(AllStrategies, Stress, ::testing::Values("callops", "list", "dyntramp"));

// The strategy changes live while the workers call: callops -> list ->
// dyntramp -> callops ..., SLED_STRESS_SWITCHES times, with one to three
// register / unregister / re-filter / notrace steps between two switches, so
// every switch moves a different mix of direct and list sites (and of ops
// with generated trampolines, freed at once after their unregister).
class LiveStrategySwitch : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(sled_set_strategy("callops"), 0); }
  void TearDown() override { sled_set_strategy("callops"); }
};

TEST_F(LiveStrategySwitch, ExactCountsWhileTheStrategyChanges) {
  static const char *const kCycle[] = {"list", "dyntramp", "callops"};
  RunWorkersUnder("switching", 4242u, [](Controller &control) {
    std::mt19937 rng(777u);
    int steps = 0;
    for (int n = 0; n < SLED_STRESS_SWITCHES && control.stuck_workers == 0; n++) {
      for (int k = 1 + int(rng() % 3); k > 0; k--, steps++) control.Step();
      control.Switch(kCycle[n % 3]);
      steps++;
    }
    return steps;
  });
  EXPECT_STREQ(sled_get_strategy(), kCycle[(SLED_STRESS_SWITCHES - 1) % 3]);
}

}  // namespace
