// The tracers' common shape, and the table trace_api.cc (sled_tracer_start
// / sled_tracer_stop) looks them up in. Each tracer lives in its own file
// (function.cc, function_graph.cc, profile.cc) and is built on the public
// API only (sled.h, graph.h) plus the recorder (record/recorder.h).
#pragma once

#include <map>
#include <string>

#include "sled/sled.h"

namespace sled::tracers {

// Parsed "key=value" words of sled_tracer_start's options. Every tracer
// accepts filter= and notrace= (comma-separated sled.h patterns).
using Options = std::map<std::string, std::string>;

struct Tracer {
  const char *name;
  // 0 or -errno (sled_last_error-style detail through set_error below).
  // Called under trace_api's mutex: never twice at once.
  int (*start)(const Options &opts);
  int (*stop)();
  // The option keys start accepts besides filter and notrace (nullptr-ended).
  const char *const *extra_keys;
  // The ops whose filter and notrace sets sled_tracer_set_filter changes
  // while the tracer runs.
  sled_ops *(*ops)();
  // Patterns that stay in ops()' notrace set whatever a live change asks
  // (function_graph's capture=), or nullptr.
  const char *(*notrace_keep)() = nullptr;
};

// Defined by each tracer's file.
extern const Tracer function_tracer;
extern const Tracer function_graph_tracer;
extern const Tracer profile_tracer;

// The calling thread's message for sled_trace_last_error().
void set_error(const std::string &message);
const char *last_error();

}  // namespace sled::tracers
