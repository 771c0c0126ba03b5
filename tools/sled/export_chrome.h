// `sled export --format chrome`: Chrome's trace-event JSON, streamed.
#pragma once

#include <ostream>
#include <string>
#include <vector>

#include "progress.h"
#include "trace_set.h"

namespace sled::cli {

// Writes {"displayTimeUnit":"ns","traceEvents":[...]} for procs to out:
// per process and thread a thread_name event, then a complete ("X") event
// per call in entry order. "" on success, else the error (the directory
// named); every trace is read before anything is written, so an unreadable
// one leaves no output.
std::string write_chrome(const std::vector<ProcessTrace> &procs, std::ostream &out);

}  // namespace sled::cli
