// What the `sled` command reads from a traced module's DWARF (libdw): per
// function, its source file and line, its parameters (name and type) and
// its return type. Types are copied out into plain values (TypeDesc) so no
// libdw handle outlives the load. Used by the reading subcommands only;
// never linked into the runtime. Owns no formatting (call_text.h does it).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "record/reader.h"

namespace sled::cli {

// A parameter's or return value's type, reduced to what formatting needs.
struct TypeDesc {
  enum Kind {
    unknown,
    void_,
    sint,
    uint,
    boolean,
    character,
    pointer,
    enumeration,
    floating,
    record,
    union_
  };
  Kind kind = unknown;
  uint64_t size = 0;  // bytes
  std::string name;   // the type's name as written (typedef names kept), for messages
  std::vector<std::pair<int64_t, std::string>> enumerators;  // enumeration
  struct Member {
    std::string name;
    uint64_t offset = 0;  // bytes from the start of the record
    bool bitfield = false;
    std::shared_ptr<TypeDesc> type;
  };
  std::vector<Member> members;  // record
};

struct Param {
  std::string name;
  TypeDesc type;
};

struct FunctionInfo {
  std::string file;  // as the line table names it, relative to the CU's directory when inside it
  int line = 0;
  bool has_params = false;  // DWARF lists the function's parameters (even none)
  std::vector<Param> params;
  bool variadic = false;
  TypeDesc ret;  // void_ when the function returns nothing
};

enum class Abi { x86_64, aarch64, other };

// The DWARF of one module file: its own, or the separate debug file found
// through its build-id under /usr/lib/debug/.build-id.
struct ModuleDebug {
  bool loaded = false;    // the file was read (it may still have no DWARF)
  std::string error;      // why there is no DWARF, when there is none
  bool replaced = false;  // the file's build-id is not the one recorded
  Abi abi = Abi::other;
  uint64_t min_vaddr = 0;  // lowest PT_LOAD p_vaddr: load bias = module lo - min_vaddr
  std::map<uint64_t, FunctionInfo> functions;  // by entry (link-time address)
};

// Per trace: looks modules up lazily, the first time one of their
// functions is asked for.
class DebugInfo {
 public:
  // The function at runtime address ip in module m, or nullptr (no DWARF,
  // not a function entry DWARF knows).
  const FunctionInfo *function(const reader::Module &m, uintptr_t ip);
  // The ABI of the module (from its ELF header); other when unknown.
  Abi abi(const reader::Module &m);

 private:
  ModuleDebug &module(const reader::Module &m);
  std::map<std::string, ModuleDebug> modules_;  // by path
};

// Reads path's DWARF into out (which it fills even on failure: error set).
// recorded_build_id (raw bytes; empty: unknown) is the build-id the trace
// recorded for it: a file with another one was rebuilt or replaced since,
// and is not read (its names, types and lines would be wrong).
void load_module_debug(const std::string &path, const std::string &recorded_build_id,
                       ModuleDebug *out);

}  // namespace sled::cli
