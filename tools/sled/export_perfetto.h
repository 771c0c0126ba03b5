// sled export --format perfetto: the trace's processes as one Perfetto
// protobuf trace, streamed from the reader's event streams to `out` (no
// call trees in memory: a long trace costs its events' decoding only).
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "progress.h"
#include "trace_set.h"

namespace sled::cli {
// "" or the first error (a process's trace that cannot be read). A cut
// trace is written up to the cut, with a warning on stderr.
std::string write_perfetto(const std::vector<ProcessTrace> &procs, std::ostream &out,
                           Progress &progress);
}  // namespace sled::cli
