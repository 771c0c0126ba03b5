// The preload agent's configuration: the SLED_* environment variables read
// once at start-up, checked and turned into the option strings of trace.h's
// calls. Pure (the environment comes through a lookup function): unit-tested
// without a process to trace. Says nothing to the user itself: a failure is
// returned as the variable, its value and the reason, for one line on stderr.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace sled::agent {

struct TracerPlan {
  std::string name;     // function | function_graph | profile
  std::string options;  // sled_tracer_start's options
};

struct Plan {
  bool session = false;      // open a recording session (some tracer asked)
  std::string open_options;  // sled_trace_open's options
  std::string dir;           // the trace directory
  std::vector<TracerPlan> tracers;
  std::vector<std::string> triggers;  // sled_trigger_add specs
  std::vector<std::string> injects;   // sled_inject_add specs
  bool verbose = false;
  bool empty() const { return tracers.empty() && triggers.empty() && injects.empty(); }
};

struct ConfigError {
  std::string variable;  // e.g. SLED_BUFFER_SIZE
  std::string value;
  std::string reason;
};

using Lookup = std::function<const char *(const char *name)>;

// true and *plan, or false and *error.
bool read_config(const Lookup &env, Plan *plan, ConfigError *error);

// "sled: VAR='value': reason, tracing disabled"
std::string error_line(const ConfigError &e);

}  // namespace sled::agent
