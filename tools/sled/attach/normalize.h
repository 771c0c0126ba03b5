// GCC site normalisation for `sled attach`. A GCC-built site's patch slot
// is five 1-byte NOPs (0x90 x 5); a thread may be stopped between two of
// them, so libsled rewrites them into its one-instruction NOP only while no
// other thread can run them, and refuses them (UNSAFE_NOPS) in a process
// whose threads already run. `sled attach` holds every thread stopped under
// ptrace (ptrace_stop.h), so it can do that rewrite itself: a thread whose
// program counter lies strictly inside a slot is single-stepped out of it
// first (the start of a slot is fine: the new NOP starts there too); a slot
// it cannot be stepped out of is left alone and named in the report.
// libsled, loaded afterwards, finds the clang form (0f 1f 44 00 00) at
// every rewritten site and treats it like any other.
//
// Writes through /proc/PID/mem (which writes read-only text too). Must run
// with every thread stopped; decides nothing about tracing.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "attach/ptrace_stop.h"

namespace sled::attach {

struct SiteTable {
  std::string module;
  uintptr_t addr;
  size_t size;
};

// The sites' literal addresses listed by the tables (read from the target's
// memory; zero entries, discarded functions, left out). false with *error
// when the memory cannot be read.
bool read_site_literals(int mem_fd, const std::vector<SiteTable> &tables,
                        std::vector<uintptr_t> *literals, std::string *error);

struct NormalizeReport {
  size_t rewritten = 0;
  size_t stepped_threads = 0;     // threads stepped out of a slot
  std::vector<std::string> left;  // one line per slot left as it was, and why
};
// 0, or a negative errno with *error (the target's memory could not be
// written: no site was changed then, or the report says which were).
int normalize_sites(StoppedProcess &stopped, int mem_fd, const std::vector<uintptr_t> &literals,
                    NormalizeReport *report, std::string *error);

}  // namespace sled::attach
