// strategy.cc — see strategy.h.
#include "strategy.h"

#include <cerrno>
#include <cstdio>
#include <iterator>

#include "table.h"

namespace bench {
namespace {

void empty_callback(uintptr_t, uintptr_t, sled_ops*, sled_regs*) {}

}  // namespace

std::string sled_error(const char* what, int rc) {
  std::string text = strf("%s: %s", what, sled_strerror(rc));
  const char* detail = sled_last_error();
  if (detail && *detail) text += strf(" (%s)", detail);
  return text;
}

std::vector<std::vector<std::string>> rows_per_strategy(size_t rows, const RowsMeasure& measure) {
  std::vector<std::vector<std::string>> out(rows);
  for (const char* name : kStrategies) {
    std::vector<std::string> cells;
    int rc = sled_set_strategy(name);
    if (rc == -EOPNOTSUPP) {
      cells = {"n/a"};
    } else if (rc < 0) {
      std::fprintf(stderr, "%s\n", sled_error(name, rc).c_str());
      cells = {"err"};
    } else {
      cells = measure(name);
      if (cells.empty()) cells = {"err"};
    }
    for (size_t r = 0; r < rows; r++) out[r].push_back(cells.size() == rows ? cells[r] : cells[0]);
  }
  if (int rc = sled_set_strategy("callops"); rc < 0)
    std::fprintf(stderr, "%s\n", sled_error("back to callops", rc).c_str());
  return out;
}

std::vector<std::string> cells_per_strategy(const std::function<std::string(const char*)>& cell) {
  return rows_per_strategy(1, [&](const char* name) { return std::vector{cell(name)}; })[0];
}

std::vector<StrategySeries> sample_interleaved(int rounds, const InterleavedHooks& hooks) {
  std::vector<StrategySeries> out(std::size(kStrategies));
  for (int r = 0; r < rounds; r++) {
    if (hooks.round_start) hooks.round_start();
    for (size_t i = 0; i < std::size(kStrategies); i++) {
      StrategySeries& col = out[i];
      if (!col.status.empty()) continue;
      int rc = sled_set_strategy(kStrategies[i]);
      std::string why;
      if (rc == -EOPNOTSUPP) {
        col.status = "n/a";
        continue;
      }
      if (rc < 0) {
        why = sled_error(kStrategies[i], rc);
      } else if (!hooks.check(&why)) {
        why = std::string(kStrategies[i]) + ": " + why;
      }
      if (!why.empty()) {
        std::fprintf(stderr, "%s\n", why.c_str());
        col.status = "err";
        continue;
      }
      std::vector<double> sample = hooks.sample(i);
      col.series.resize(sample.size());
      for (size_t k = 0; k < sample.size(); k++) col.series[k].push_back(sample[k]);
    }
  }
  if (int rc = sled_set_strategy("callops"); rc < 0)
    std::fprintf(stderr, "%s\n", sled_error("back to callops", rc).c_str());
  return out;
}

int OpsGroup::add(const char* filter, uint32_t flags) {
  auto ops = std::make_unique<sled_ops>();
  ops->func = empty_callback;
  ops->flags = flags;
  int rc = sled_set_filter(ops.get(), filter, 1);
  if (rc < 0) {
    error_ = sled_error(strf("sled_set_filter(\"%s\")", filter).c_str(), rc);
    return rc;
  }
  rc = sled_register_ops(ops.get());
  if (rc < 0) {
    error_ = sled_error(strf("sled_register_ops(\"%s\")", filter).c_str(), rc);
    return rc;
  }
  ops_.push_back(std::move(ops));
  return 0;
}

void OpsGroup::clear() {
  // Newest first: every unregistration then removes the top of a list.
  while (!ops_.empty()) {
    if (int rc = sled_unregister_ops(ops_.back().get()); rc < 0) {
      std::fprintf(stderr, "%s\n", sled_error("sled_unregister_ops", rc).c_str());
      (void)ops_.back().release();  // sled may still use it: leak, never free
    }
    ops_.pop_back();
  }
}

bool site_state_is(int (*fn)(int), unsigned nr_ops, std::string* why) {
  sled_site_info info;
  uintptr_t ip = reinterpret_cast<uintptr_t>(fn);
  if (int rc = sled_site_lookup(ip, &info); rc < 0) {
    *why = sled_error("sled_site_lookup", rc);
    return false;
  }
  if (info.enabled != (nr_ops > 0) || info.nr_ops != nr_ops) {
    *why = strf("%s: expected %u ops (enabled %d), found %u ops (enabled %d)", info.name, nr_ops,
                nr_ops > 0, info.nr_ops, info.enabled);
    return false;
  }
  return true;
}

}  // namespace bench
