// Finding modules and their sites: dl_iterate_phdr for what is loaded, the
// file on disk (libelf) for where __patchable_function_entries is and what
// each function is called, memory for the sites' bytes. Decides refusals;
// the only text it writes is the one-time rewrite of GCC's 5 x 0x90
// (x86) or the `mov x9, x30` at an aarch64 entry (arch::encode_normalized).
#pragma once
#include <memory>
#include <string>
#include <vector>

#include "core/module.h"

namespace sled {

struct LoadedObject {
  std::string path;  // file to read ("" for the main program: /proc/self/exe)
  std::string base_name;
  uintptr_t bias = 0;
  const void *phdr_key = nullptr;
  uintptr_t dynamic = 0;              // PT_DYNAMIC in memory (0: none)
  std::string listed_name;            // dlpi_name as the loader lists it
  std::vector<TextSegment> text;      // executable PT_LOADs
  std::vector<TextSegment> readable;  // every PT_LOAD
};

std::vector<LoadedObject> list_loaded_objects(unsigned long long *adds, unsigned long long *subs);

struct ElfFacts;
// The site table of `obj` from what its file says (`elf`): reads memory only
// inside obj's segments, writes none. Sites whose compiled form must be
// rewritten once get their address in `to_normalize` and their index in
// `normalize_sites` when `may_normalize`, else refusal UNSAFE_NOPS. Null
// when there is no site. scan_module's first half; the ELF fuzz test runs
// it on mutated files over a fake mapping.
std::unique_ptr<Module> build_module(const LoadedObject &obj, const ElfFacts &elf,
                                     bool may_normalize, std::vector<uintptr_t> *to_normalize,
                                     std::vector<size_t> *normalize_sites);

// Reads the object's sites. Returns null when it has none, or when it was
// unloaded meanwhile (*gone). `may_normalize`: no thread can be executing
// the object's code (see module_scan.cc).
std::unique_ptr<Module> scan_module(const LoadedObject &obj, bool may_normalize, sled_stats *stats,
                                    bool *gone);

// True when the calling thread is the only one in the process.
bool process_is_single_threaded();

}  // namespace sled
