// How a recorded call's arguments and return value read in replay and
// graph: named and formatted by type from the module's DWARF when it has
// them (`parse_field(buf=0x7ffc..., len=12) = 3`), raw words otherwise
// (`parse_field(0x7ffc..., 0xc) = 3`). Knows the calling conventions
// (x86-64 SysV, AAPCS64) well enough to map the recorded integer-register
// words onto the declared parameters; values the recorder did not capture
// (floating-point registers, words past those recorded) print as `?`.
#pragma once

#include <string>

#include "debug_info.h"
#include "trace_model.h"

namespace sled::cli {

// "(a=1, b=0x10)", "()" when nothing was recorded.
std::string args_text(const TraceModel &m, const Call &c);
// " = 3", or "" (no return value recorded, or the function returns void).
std::string retval_text(const TraceModel &m, const Call &c);

// Formatting of one value of type t from its bytes (little-endian);
// `known` false prints "?". Exposed for tests.
std::string value_text(const TypeDesc &t, const unsigned char *bytes, size_t n,
                       const bool *known_eightbytes);

}  // namespace sled::cli
