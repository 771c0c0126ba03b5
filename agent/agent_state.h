// What the agent has started in this process: the recording session it
// opened and the tracers it runs, with their filters. Shared by the
// start-up (preload.cc) and the control socket's verbs (control_verbs.cc);
// guarded by `mu`, which is never taken by a sled callback and never held
// across a blocking call other than sled's own calls (a grace period).
// Tracers the program starts itself through trace.h are not known here.
#pragma once

#include <sys/types.h>

#include <mutex>
#include <string>
#include <vector>

namespace sled::agent {

struct RunningTracer {
  std::string name;
  std::string filter;   // comma-separated patterns, "" = every function
  std::string notrace;  // "" = none
  std::string options;  // the other options it was started with
};

struct AgentState {
  std::mutex mu;
  bool session_open = false;
  pid_t owner = 0;  // the process that opened the session
  std::string dir;  // the session's trace directory, absolute
  std::vector<RunningTracer> tracers;
  bool exiting = false;  // the destructor ran: the control verbs refuse
  bool verbose = false;
};

AgentState &agent_state();

// A RunningTracer from sled_tracer_start's options ("filter=a,b depth=3").
RunningTracer running_tracer(const std::string &name, const std::string &options);

// `dir` made absolute against the current directory.
std::string absolute_dir(const std::string &dir);

}  // namespace sled::agent
