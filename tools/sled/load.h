// Loading the trace a reading subcommand names: one clear error otherwise.
#pragma once
#include <string>

#include "commands.h"
#include "trace_model.h"

namespace sled::cli {
// Loads `dir` into m; false (after printing the error, exit status 1) when
// it cannot be read. A cut trace is read up to the cut, with a warning.
inline bool load_trace(const std::string &dir, TraceModel &m) {
  std::string err = m.load(dir);
  if (!err.empty()) {
    fail(1, dir + ": " + err);
    return false;
  }
  if (m.trace().cut())
    std::fprintf(stderr, "sled: warning: %s is cut (%s); reading what was written\n", dir.c_str(),
                 m.trace().cut_reason().c_str());
  return true;
}
}  // namespace sled::cli
