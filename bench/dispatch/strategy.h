// strategy.h — sled's dispatch strategies as benchmark columns, and groups
// of registered ops with empty callbacks. Patching costs are measured one
// strategy after the other with no ops registered at the switch; call costs
// switch live between strategies, round after round, so that a noisy moment
// of a shared machine spreads over every column instead of spoiling one. A
// strategy sled refuses with -EOPNOTSUPP (not implemented) shows as "n/a".
#pragma once
#include <sled/sled.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace bench {

inline constexpr const char* kStrategies[] = {"callops", "list", "dyntramp"};

// sled's error text: "what: message (detail)".
std::string sled_error(const char* what, int rc);

// Measures `rows` table rows under every strategy: switches to it and calls
// `measure`, which returns one cell per row (a single "err" fills them
// all). A strategy sled refuses with -EOPNOTSUPP gives "n/a" cells. Back to
// callops afterwards. Result: rows x strategies.
using RowsMeasure = std::function<std::vector<std::string>(const char* strategy)>;
std::vector<std::vector<std::string>> rows_per_strategy(size_t rows, const RowsMeasure& measure);
// The same for one row.
std::vector<std::string> cells_per_strategy(const std::function<std::string(const char*)>& cell);

// Call-cost samples per strategy, strategies interleaved: each of `rounds`
// rounds runs round_start (baseline samples, optional), then switches live
// to every strategy in turn (the ops stay registered), checks the sites
// with `check` and takes one sample of each series (say 1-thread and
// 2-thread ns/call) with `sample`. Back to callops afterwards.
struct InterleavedHooks {
  std::function<void()> round_start;
  std::function<bool(std::string* why)> check;
  std::function<std::vector<double>(size_t strategy_index)> sample;
};
struct StrategySeries {
  std::string status;                       // "" (measured), "n/a" or "err"
  std::vector<std::vector<double>> series;  // [series][round]
};
std::vector<StrategySeries> sample_interleaved(int rounds, const InterleavedHooks& hooks);

// Ops with empty callbacks, each with its own filter, unregistered (and
// freed) when the group is cleared or destroyed.
class OpsGroup {
 public:
  OpsGroup() = default;
  OpsGroup(const OpsGroup&) = delete;
  OpsGroup& operator=(const OpsGroup&) = delete;
  ~OpsGroup() { clear(); }

  // Sets the filter and registers a new ops; 0 or sled's error code (the
  // text is in error()).
  int add(const char* filter, uint32_t flags = 0);
  sled_ops* at(size_t i) { return ops_[i].get(); }
  size_t size() const { return ops_.size(); }
  void clear();
  const std::string& error() const { return error_; }

 private:
  std::vector<std::unique_ptr<sled_ops>> ops_;
  std::string error_;
};

// The site at fn's entry is enabled and traced by nr_ops ops; otherwise
// false with the reason in *why.
bool site_state_is(int (*fn)(int), unsigned nr_ops, std::string* why);

}  // namespace bench
