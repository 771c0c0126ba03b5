// What sled needs from a module's file on disk, read with libelf: where its
// __patchable_function_entries sections sit, and its function symbols.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace sled {

struct ElfFunctionSymbol {
  uint64_t value;  // link-time address (add the load bias for ET_DYN)
  uint32_t name;   // offset into ElfFacts::names
  bool global;
};

struct ElfFacts {
  bool shared = false;  // ET_DYN: addresses are relative to the load bias
  std::vector<std::pair<uint64_t, uint64_t>> patch_sections;  // (addr, size)
  std::vector<ElfFunctionSymbol> functions;  // sorted by value, globals first on ties
  std::string names;                         // NUL-separated symbol names
};

// Returns 0, or a negative errno (file unreadable, not ELF64; -ENOMEM when
// libelf ran out of memory). Reads the symbol tables only when the file has
// patch sections. May throw std::bad_alloc (core/oom.h).
int read_elf_facts(const char *path, ElfFacts *out);

}  // namespace sled
