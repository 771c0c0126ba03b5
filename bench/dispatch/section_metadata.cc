// section_metadata.cc — section 4 of sled-bench-dispatch: sled's heap bytes
// per site. A fresh process (a child) loads a generated module behind
// sled's back (libc's own dlopen, not sled's interposed one), so that its
// sites are discovered by the next API call; mallinfo2() around that
// sled_site_count() gives the discovery metadata (sites, names, module),
// and around a first exact and glob filter the lazily built name index and
// demangled names. In use bytes = uordblks + hblkhd (large blocks are
// mmapped and not counted in uordblks).
#include <dlfcn.h>
#include <malloc.h>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "child.h"
#include "gen_modules.h"
#include "sections.h"
#include "strategy.h"
#include "table.h"

namespace bench {
namespace {

void empty_callback(uintptr_t, uintptr_t, sled_ops*, sled_regs*) {}

double heap_in_use() {
  struct mallinfo2 mi = mallinfo2();
  return static_cast<double>(mi.uordblks + mi.hblkhd);
}

// libc's dlopen: sled interposes `dlopen`, and this measurement wants the
// module loaded before sled has looked at it.
void* libc_dlopen(const char* path) {
  void* libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
  auto real = libc ? reinterpret_cast<void* (*)(const char*, int)>(dlsym(libc, "dlopen")) : nullptr;
  return real ? real(path, RTLD_NOW | RTLD_LOCAL) : nullptr;
}

}  // namespace

int child_metadata(const char* strategy, const char* module_index) {
  int rc = sled_set_strategy(strategy);
  if (rc < 0) {
    std::fprintf(stderr, "%s\n", sled_error(strategy, rc).c_str());
    return 1;
  }
  const GenModule& m = kGenModules[std::atoi(module_index) % std::size(kGenModules)];
  size_t sites_before = sled_site_count();  // sled started, this program's sites known
  if (!libc_dlopen(m.path)) {
    std::fprintf(stderr, "cannot load %s: %s\n", m.path, dlerror());
    return 1;
  }
  double heap0 = heap_in_use();
  size_t sites = sled_site_count() - sites_before;
  double heap1 = heap_in_use();
  sled_ops ops{};  // never registered: the filters only make sled match names
  ops.func = empty_callback;
  std::string exact = in_module("gen_1", m), glob = in_module("gen_1*", m);
  if ((rc = sled_set_filter(&ops, exact.c_str(), 1)) < 0 ||
      (rc = sled_set_filter(&ops, glob.c_str(), 1)) < 0) {
    std::fprintf(stderr, "%s\n", sled_error("sled_set_filter", rc).c_str());
    return 1;
  }
  double heap2 = heap_in_use();
  std::printf("%zu %.0f %.0f\n", sites, heap1 - heap0, heap2 - heap1);
  return 0;
}

void section_metadata(const Options&) {
  Table t("4. sled's heap bytes per site (malloc'd bytes / sites)",
          {"sites", "what", kStrategies[0], kStrategies[1], kStrategies[2]});
  for (size_t i = 0; i < std::size(kGenModules); i++) {
    const GenModule& m = kGenModules[i];
    std::fprintf(stderr, "section 4: %s\n", m.label);
    auto rows = rows_per_strategy(2, [&](const char* strategy) -> std::vector<std::string> {
      std::string text;
      if (!run_self({"--child-metadata", strategy, std::to_string(i)}, &text)) return {"err"};
      std::istringstream in(text);
      double discovery = 0, names = 0;
      size_t sites = 0;
      if (!(in >> sites >> discovery >> names) || sites != m.functions) {
        std::fprintf(stderr, "sled-bench-dispatch: child printed '%s'\n", text.c_str());
        return {"err"};
      }
      auto cell = [&](double bytes) {
        return strf("%.1f B (%.2f MB)", bytes / static_cast<double>(sites), bytes / 1e6);
      };
      return {cell(discovery), cell(names)};
    });
    const char* what[] = {"discovery (first sled_site_count)",
                          "+ first filters (name index, demangling)"};
    for (size_t r = 0; r < 2; r++) {
      std::vector<std::string> row{strf("%zu", m.functions), what[r]};
      row.insert(row.end(), rows[r].begin(), rows[r].end());
      t.add_row(std::move(row));
    }
  }
  t.add_note(
      "One fresh process per cell, which loads the module with libc's dlopen (bypassing sled's "
      "hook) and reads mallinfo2() (uordblks + hblkhd) around the first sled_site_count() that "
      "discovers it; then around a first exact and a first glob filter on it. Deterministic: one "
      "process per cell.");
  t.print();
}

}  // namespace bench
