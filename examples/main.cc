/* main.cc — sled-example: trace a running multi-threaded program live.
 *
 * Worker threads run the instrumented workload (workload.c) in a loop while
 * the main thread registers three ops, switches them on and off and changes
 * a filter under their feet, then prints what each ops saw and sled's
 * figures. Two ops use the C++ layer (sled.hpp), one the plain C API. This
 * file is not instrumented. Exits 1 with a message if a sled call fails or
 * an ops saw a function outside its filter.
 */
#include <sled/sled.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <sled/sled.hpp>
#include <string>
#include <thread>
#include <vector>

#include "workload.h"

namespace {

constexpr int kWorkers = 3;
constexpr auto kStepTime = std::chrono::milliseconds(150);

/* The instrumented functions, by entry address, read from sled's site list. */
struct Function {
  uintptr_t ip;
  std::string name;
};

/* Per-function call counts for one ops; hit() runs inside callbacks. */
class CallCounts {
 public:
  explicit CallCounts(const std::vector<Function>& functions)
      : functions_(functions), counts_(new std::atomic<uint64_t>[functions.size() + 1]()) {}

  void hit(uintptr_t ip) const {
    size_t i = 0;
    while (i < functions_.size() && functions_[i].ip != ip) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);  // [size()]: unknown ip
  }
  uint64_t count(size_t i) const { return counts_[i].load(std::memory_order_relaxed); }
  uint64_t unknown() const { return count(functions_.size()); }
  uint64_t total() const {
    uint64_t sum = 0;
    for (size_t i = 0; i <= functions_.size(); ++i) sum += count(i);
    return sum;
  }

 private:
  const std::vector<Function>& functions_;
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
};

/* Worker threads running the workload until destroyed. */
class Workers {
 public:
  explicit Workers(int n) {
    for (int t = 0; t < n; ++t) {
      threads_.emplace_back([this, t] {
        uint64_t digest = 0;
        for (uint32_t id = uint32_t(t) * 1000003u; !stop_.load(std::memory_order_relaxed); ++id)
          digest ^= process_record(id);
        sink_.fetch_xor(digest, std::memory_order_relaxed);
      });
    }
  }
  ~Workers() {
    stop_ = true;
    for (auto& thread : threads_) thread.join();
  }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> sink_{0};
  std::vector<std::thread> threads_;
};

/* The "all" ops through the plain C API, for comparison with sled::Ops. */
void count_every_call(uintptr_t ip, uintptr_t, sled_ops* ops, sled_regs*) {
  static_cast<const CallCounts*>(ops->private_data)->hit(ip);
}

struct PlainOps {
  sled_ops ops{};
  bool registered = false;
  ~PlainOps() {
    if (registered) (void)sled_unregister_ops(&ops);
  }
};

void update_min_max(std::atomic<uint64_t>& min, std::atomic<uint64_t>& max, uint64_t v) {
  for (uint64_t m = min.load(std::memory_order_relaxed); v < m;)
    if (min.compare_exchange_weak(m, v, std::memory_order_relaxed)) break;
  for (uint64_t m = max.load(std::memory_order_relaxed); v > m;)
    if (max.compare_exchange_weak(m, v, std::memory_order_relaxed)) break;
}

bool ok(int rc, const char* what) {
  if (rc >= 0) return true;
  std::fprintf(stderr, "sled-example: %s failed: %s (%d)", what, sled::Error(rc).message(), rc);
  const char* detail = sled::last_error();
  std::fprintf(stderr, "%s%s\n", detail && *detail ? ": " : "", detail ? detail : "");
  return false;
}

void step(int n, const char* what) {
  std::printf("%d. %-52s %3llu\n", n, what, (unsigned long long)sled::stats().sites_enabled);
  std::this_thread::sleep_for(kStepTime);
}

bool starts_with(const std::string& s, const char* prefix) { return s.rfind(prefix, 0) == 0; }

/* Prints one ops' per-function counts; false if it saw a function it must not. */
template <class Allowed>
bool report(const char* title, const std::vector<Function>& functions, const CallCounts& counts,
            Allowed allowed) {
  std::printf("\nops %s: %llu calls\n", title, (unsigned long long)counts.total());
  bool clean = counts.total() > 0 && counts.unknown() == 0;
  for (size_t i = 0; i < functions.size(); ++i) {
    if (counts.count(i) == 0) continue;
    const bool expected = allowed(functions[i].name);
    clean = clean && expected;
    std::printf("  %-16s %12llu%s\n", functions[i].name.c_str(),
                (unsigned long long)counts.count(i), expected ? "" : "   <- outside its filter!");
  }
  if (counts.unknown())
    std::printf("  (unknown ip)     %12llu\n", (unsigned long long)counts.unknown());
  return clean;
}

int run() {
  std::vector<Function> functions;
  const int walk = sled::for_each_site([&](const sled_site_info& site) {
    if (site.refusal == SLED_SITE_OK) functions.push_back({site.ip, site.name ? site.name : "?"});
  });
  if (!ok(walk, "sled_for_each_site")) return 1;
  if (functions.empty()) {
    std::fprintf(stderr, "sled-example: no traceable site found (was workload.c instrumented?)\n");
    return 1;
  }
  const sled_stats before = sled::stats();
  std::printf(
      "sled-example: %d worker threads, strategy %.*s, %llu sites in %llu module(s), %llu "
      "refused\n",
      kWorkers, int(sled::strategy().size()), sled::strategy().data(),
      (unsigned long long)before.sites_found, (unsigned long long)before.modules,
      (unsigned long long)before.sites_refused);

  CallCounts parse_counts(functions), hash_counts(functions), all_counts(functions);
  std::atomic<uint64_t> parse_record_after_change{0};
  std::atomic<bool> parse_filter_changed{false};
  std::atomic<uint64_t> min_len{UINT64_MAX}, max_len{0};
  const uintptr_t parse_record_ip = sled::ip_of(&parse_record);
  const uintptr_t hash_fnv1a_ip = sled::ip_of(&hash_fnv1a);

  sled::Ops parse_ops{[&](uintptr_t ip, uintptr_t) {
    parse_counts.hit(ip);
    if (ip == parse_record_ip && parse_filter_changed.load(std::memory_order_relaxed))
      parse_record_after_change.fetch_add(1, std::memory_order_relaxed);
  }};
  sled::Ops hash_ops{[&](uintptr_t ip, uintptr_t, sled::Regs& regs) {
    hash_counts.hit(ip);
    if (ip == hash_fnv1a_ip) update_min_max(min_len, max_len, regs.arg<size_t>(1));
  }};
  PlainOps all_ops;
  all_ops.ops.func = count_every_call;
  all_ops.ops.private_data = &all_counts;

  Workers workers(kWorkers);  // declared last: joined before any ops goes away
  std::printf("step%55s\n", "sites enabled");
  if (!ok(parse_ops.set_filter("parse*"), "set_filter(parse*)") ||
      !ok(parse_ops.register_(), "register parse"))
    return 1;
  step(1, "register \"parse\": filter parse*");
  if (!ok(hash_ops.set_filter("*hash*"), "set_filter(*hash*)") ||
      !ok(hash_ops.set_notrace("hash_mix"), "set_notrace(hash_mix)") ||
      !ok(hash_ops.register_(), "register hash"))
    return 1;
  step(2, "register \"hash\": filter *hash*, notrace hash_mix");
  if (!ok(sled_register_ops(&all_ops.ops), "register all")) return 1;
  all_ops.registered = true;
  step(3, "register \"all\" (C API): empty filter, every site");
  if (!ok(parse_ops.set_filter("parse_field"), "set_filter(parse_field)")) return 1;
  parse_filter_changed = true;
  step(4, "\"parse\" filter -> parse_field, live");
  if (!ok(hash_ops.unregister(), "unregister hash")) return 1;
  step(5, "unregister \"hash\"");
  if (!ok(sled_unregister_ops(&all_ops.ops), "unregister all")) return 1;
  all_ops.registered = false;
  step(6, "unregister \"all\"");
  if (!ok(parse_ops.unregister(), "unregister parse")) return 1;
  step(7, "unregister \"parse\"");

  bool clean = report("\"parse\" (parse*, then parse_field)", functions, parse_counts,
                      [](const std::string& name) { return starts_with(name, "parse"); });
  /* A call that had read its site's ops before the change may still land:
   * at most one per thread. */
  const uint64_t late = parse_record_after_change.load();
  std::printf("  parse_record calls seen after step 4: %llu\n", (unsigned long long)late);
  clean = clean && late <= kWorkers;
  clean = report("\"hash\" (*hash* minus hash_mix)", functions, hash_counts,
                 [](const std::string& name) {
                   return name.find("hash") != std::string::npos && name != "hash_mix";
                 }) &&
          clean;
  std::printf("  hash_fnv1a len (arg 1) seen: %llu..%llu\n", (unsigned long long)min_len.load(),
              (unsigned long long)max_len.load());
  clean = report("\"all\" (every site)", functions, all_counts,
                 [](const std::string&) { return true; }) &&
          clean;

  const sled_stats s = sled::stats();
  std::printf(
      "\nsled: modules %llu, sites found %llu, refused %llu, enabled now %llu\n"
      "      patch batches %llu, sites patched %llu, literal writes %llu, "
      "grace periods %llu, patch failures %llu%s\n",
      (unsigned long long)s.modules, (unsigned long long)s.sites_found,
      (unsigned long long)s.sites_refused, (unsigned long long)s.sites_enabled,
      (unsigned long long)s.patch_batches, (unsigned long long)s.sites_patched,
      (unsigned long long)s.literal_writes, (unsigned long long)s.grace_periods,
      (unsigned long long)s.patch_failures, s.killed ? ", KILLED" : "");
  if (!clean || s.killed) {
    std::fprintf(stderr, "sled-example: an ops saw calls it should not have (or none at all)\n");
    return 1;
  }
  return 0;
}

}  // namespace

int main() { return run(); }
