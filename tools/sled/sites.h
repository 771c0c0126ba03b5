// The patchable functions of a program, as `sled sites` lists them: one row
// per site (module, address, state, ops, layout, refusal). The rows come
// from a file on disk (read_file_sites: its ELF, classified by libsled's
// own arch code, so refusals are named as the runtime names them) or from
// a running process; print_sites / print_summary do not care which.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace sled::cli {

struct SiteRow {
  std::string module;    // the file's basename
  uint64_t address = 0;  // link-time address of the entry (module-relative for a DSO)
  std::string function;  // demangled, or "" when no symbol names it
  std::string state;     // "off", "on", "refused", "unknown (no agent)"
  int ops = -1;          // ops tracing it; -1 unknown
  std::string layout;    // "nop5", "endbr64 + nop5", "5 x nop1", "nop; nop", ...
  int refusal = 0;       // enum sled_refusal
  std::string detail;    // what was found, for a refused site
};

struct ModuleSites {
  std::string name, path;
  uint64_t min_vaddr = 0;  // lowest PT_LOAD p_vaddr (with the load address: the bias)
  std::vector<SiteRow> sites;
};

// The sites of the ELF file at path (a program or a shared library).
// "" on success (a file without patch sections has no rows), else the
// error.
std::string read_file_sites(const std::string &path, ModuleSites *out);

// The shared libraries path needs (DT_NEEDED), found the loader's way:
// DT_RPATH (without DT_RUNPATH), LD_LIBRARY_PATH, DT_RUNPATH, then the
// system directories; $ORIGIN expanded. /etc/ld.so.cache is not read: a
// library found only through it is left out. Direct dependencies only.
std::vector<std::string> needed_libraries(const std::string &path);

// Whether path or one of its direct dependencies has patch sites. False
// with *why set when it has none; true when the file is not ELF (a script:
// what it runs cannot be judged here).
bool has_sites(const std::string &path, std::string *why);

// The short name and the explanation of a refusal (enum sled_refusal).
const char *refusal_name(int refusal);
// The refusal named by the control socket's `sites` reply (bad_bytes, ...).
int refusal_from_name(const std::string &name);
const char *refusal_text(int refusal);

void print_sites(const std::vector<ModuleSites> &modules);
void print_summary(const std::vector<ModuleSites> &modules);

}  // namespace sled::cli
