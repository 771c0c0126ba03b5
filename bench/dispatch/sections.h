// sections.h — the five sections of sled-bench-dispatch, each printing one
// markdown table with a column per strategy, and the commands its child
// processes run (sections 3 and 4 measure fresh processes).
#pragma once
#include <set>

namespace bench {

struct Options {
  int reps = 7;            // repetitions per cell; the cell is their median
  double target_ms = 20;   // length of one repetition of a call loop
  std::set<int> sections;  // which sections to run (empty: all)
};

void section_other_ops(const Options& o);        // 1: one tracer, K ops on other functions
void section_shared_function(const Options& o);  // 2: M ops on the same function
void section_enable_disable(const Options& o);   // 3: register/unregister, filter changes
void section_metadata(const Options& o);         // 4: heap bytes per site
void section_two_threads(const Options& o);      // 5: two threads calling the traced function

// Child commands (argv[1] == "--child-<name>"): print one line of numbers
// and return the exit status. module_index: into kGenModules.
int child_cold_enable(const char* strategy, const char* module_index);
int child_warm_keep_heap(const char* strategy, const char* module_index, const char* reps);
int child_metadata(const char* strategy, const char* module_index);

}  // namespace bench
