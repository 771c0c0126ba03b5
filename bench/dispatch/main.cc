// main.cc — sled-bench-dispatch: sled's dispatch strategies (callops, list,
// dyntramp) side by side in one process, one markdown table per section:
//   1  ns/call of a traced tiny function with K ops on other functions
//   2  ns/call with M ops on the same function
//   3  enable/disable cost for 1k/10k/100k functions; one filter change
//   4  heap bytes of metadata per site
//   5  two threads calling the traced function
// Each cell is the median of --reps repetitions (default 7). Owns option
// parsing, the header (machine, date) and the child-process commands.
//
//   sled-bench-dispatch [--reps=N] [--ms=MS] [--sections=1,2,...]
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "machine.h"
#include "sections.h"
#include "strategy.h"
#include "table.h"

namespace {

void print_header(const bench::Options& o) {
  std::printf("## sled-bench-dispatch\n\n");
  std::printf("- date: %s\n", bench::date_text().c_str());
  std::printf("- machine: %s; load average at start %s\n", bench::machine_text().c_str(),
              bench::load_text().c_str());
  std::printf("- sled %d.%d, %zu sites at start; strategies:", SLED_VERSION_MAJOR,
              SLED_VERSION_MINOR, sled_site_count());
  for (const char* s : bench::kStrategies) {
    int rc = sled_set_strategy(s);
    std::printf(" %s %s;", s, rc == 0 ? "available" : sled_strerror(rc));
  }
  sled_set_strategy("callops");
  std::printf(
      "\n- each cell: median of %d repetitions; all strategies measured in this process, "
      "switched with sled_set_strategy(); call costs: loops of ~%.0f ms of thread CPU time, "
      "strategies switched live and interleaved round by round\n",
      o.reps, o.target_ms);
  std::fflush(stdout);
}

bool parse(int argc, char** argv, bench::Options* o) {
  for (int i = 1; i < argc; i++) {
    const char* a = argv[i];
    if (std::strncmp(a, "--reps=", 7) == 0) {
      o->reps = std::atoi(a + 7);
    } else if (std::strncmp(a, "--ms=", 5) == 0) {
      o->target_ms = std::atof(a + 5);
    } else if (std::strncmp(a, "--sections=", 11) == 0) {
      for (const char* p = a + 11; *p; p++)
        if (*p >= '1' && *p <= '5') o->sections.insert(*p - '0');
    } else {
      std::fprintf(stderr, "usage: %s [--reps=N] [--ms=MS] [--sections=1,2,3,4,5]\n", argv[0]);
      return false;
    }
  }
  return o->reps > 0 && o->target_ms > 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 4 && std::strcmp(argv[1], "--child-cold-enable") == 0)
    return bench::child_cold_enable(argv[2], argv[3]);
  if (argc == 5 && std::strcmp(argv[1], "--child-warm-keep-heap") == 0)
    return bench::child_warm_keep_heap(argv[2], argv[3], argv[4]);
  if (argc == 4 && std::strcmp(argv[1], "--child-metadata") == 0)
    return bench::child_metadata(argv[2], argv[3]);

  bench::Options o;
  if (!parse(argc, argv, &o)) return 2;
  auto wanted = [&](int s) { return o.sections.empty() || o.sections.count(s); };
  print_header(o);
  if (wanted(1)) bench::section_other_ops(o);
  if (wanted(2)) bench::section_shared_function(o);
  if (wanted(3)) bench::section_enable_disable(o);
  if (wanted(4)) bench::section_metadata(o);
  if (wanted(5)) bench::section_two_threads(o);
  std::printf("\nLoad average at the end: %s\n", bench::load_text().c_str());
  return 0;
}
