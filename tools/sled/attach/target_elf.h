// The ELF facts `sled attach` needs about one file mapped into the target:
// where it was loaded (bias), where its __patchable_function_entries
// sections lie in the target's memory, and the address of a dynamic symbol
// (dlopen, dlerror). Reads the file from disk (as the target sees it) with
// libelf and nothing of the target's memory.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "attach/target_process.h"

namespace sled::attach {

struct ModuleFacts {
  std::string path;
  uintptr_t bias = 0;
  // In the target's address space: (address, size) of each
  // __patchable_function_entries section (its entries are already
  // relocated in memory).
  std::vector<std::pair<uintptr_t, size_t>> site_tables;
  // Defined function symbols of .dynsym: name -> address in the target.
  // Only the names asked for in read_module's `wanted`.
  std::vector<std::pair<std::string, uintptr_t>> symbols;
};

// false with *error when the file cannot be read as the one mapped.
bool read_module(pid_t pid, const MappedFile &file, const std::vector<std::string> &wanted,
                 ModuleFacts *out, std::string *error);

}  // namespace sled::attach
