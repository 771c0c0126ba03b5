// libsled-preload.so: traces an instrumented program that does not link
// sled, configured by SLED_* environment variables (env_config.h):
//   LD_PRELOAD=libsled-preload.so SLED_TRACER=function_graph SLED_FILTER='parse_*' ./prog
// Owns the start-up (a constructor) and the close (a destructor) of the
// process's recording session. Must leave the program alone otherwise: no
// output on success unless SLED_VERBOSE=1, one line on stderr and no
// tracing when a setting is wrong, never a changed exit status.
//
// Close: an ELF destructor of this library. The dynamic linker runs ELF
// destructors after every atexit handler and static destructor of the
// program (exit() runs those first, then _dl_fini), and runs this library's
// before those of the libraries it depends on (libsled-trace, libsled), so
// the session is drained and its footer written after the program's own
// exit-time code, whichever thread called exit(). A program killed by a
// signal runs no destructor: the trace stays readable up to the last chunk
// the recorder wrote.
//
// Several processes: the first process of a run owns the trace directory
// (SLED_OUTPUT) and holds a lock on DIR/.sled-agent.lock while it runs; a
// process that starts under the agent while that lock is held (a program
// the traced one runs with fork+exec, system() or popen(), which inherit
// LD_PRELOAD) records into DIR/pid-<PID>/ instead of truncating the
// running trace. Known gap: a descendant that starts after the first
// process exited owns DIR again (a daemon's re-exec replaces the trace).
//
// Live control: the agent listens on a control socket (control_server.h,
// docs/control.md) whatever SLED_* says, SLED_CONTROL=0 aside; without
// SLED_TRACER (`sled attach` loads the agent that way) it starts idle: the
// socket only, no session, nothing patched. What it runs is kept in
// agent_state.h for the control verbs.
//
// fork without exec: the child stops tracing cleanly. It records nothing (the recording
// switch is turned off in the child), writes nothing to the parent's trace
// directory, and does not close the parent's session at its exit; the
// parent's trace is unaffected. Injections stay active in the child (they
// are plain ops, not part of the recording).
#include <fcntl.h>
#include <pthread.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "agent/agent_state.h"
#include "agent/control_server.h"
#include "agent/env_config.h"
#include "sled/trace.h"

namespace sled::agent {
namespace {

void say(const std::string &line) {
  // One write: the line is not interleaved with the program's stderr.
  std::string s = line + "\n";
  ssize_t n = write(STDERR_FILENO, s.data(), s.size());
  (void)n;
}

// The directory this process records into (see the top of the file). The
// lock's descriptor stays open for the life of the process (close-on-exec:
// an exec'ed image takes its own).
std::string own_directory(const std::string &dir) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return dir;  // open reports it
  int fd = open((dir + "/.sled-agent.lock").c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) return dir;
  if (flock(fd, LOCK_EX | LOCK_NB) == 0) return dir;
  close(fd);
  return dir + "/pid-" + std::to_string(getpid());
}

// Start-up runs before the listener thread exists: no lock needed there.
void undo() {
  AgentState &s = agent_state();
  sled_inject_clear();
  if (s.session_open) {
    sled_trigger_clear();
    sled_trace_close();
    s.session_open = false;
    s.tracers.clear();
  }
}

// The child is single-threaded: the state's lock is not taken (the parent's
// listener may have held it at the fork).
void on_fork_child() {
  AgentState &s = agent_state();
  if (!s.session_open) return;
  sled_trace_off();
  s.session_open = false;  // the parent's: never closed from here
  s.tracers.clear();
}

void start() {
  Plan plan;
  ConfigError error;
  if (!read_config([](const char *name) { return getenv(name); }, &plan, &error)) {
    say(error_line(error));
    return;
  }
  AgentState &s = agent_state();
  s.verbose = plan.verbose;
  if (plan.empty()) return;
  auto failed = [&](const std::string &what, int err) {
    const char *detail = sled_trace_last_error();
    say("sled: " + what + ": " + (detail && *detail ? detail : sled_strerror(err)) +
        ", tracing disabled");
    undo();
  };
  if (plan.session) {
    std::string dir = own_directory(plan.dir);
    if (dir != plan.dir) {
      plan.open_options.replace(0, plan.open_options.find(' '), "dir=" + dir);
      plan.dir = dir;
    }
    if (int err = sled_trace_open(plan.open_options.c_str())) {
      return failed("cannot open the trace (" + plan.open_options + ")", err);
    }
    s.session_open = true;
    s.owner = getpid();
    s.dir = absolute_dir(plan.dir);
  }
  for (const TracerPlan &t : plan.tracers) {
    if (int err = sled_tracer_start(t.name.c_str(), t.options.c_str()))
      return failed("SLED_TRACER=" + t.name + " (options '" + t.options + "')", err);
    s.tracers.push_back(running_tracer(t.name, t.options));
  }
  for (const std::string &spec : plan.triggers) {
    if (int err = sled_trigger_add(spec.c_str())) return failed("SLED_TRIGGER='" + spec + "'", err);
  }
  for (const std::string &spec : plan.injects) {
    if (int err = sled_inject_add(spec.c_str())) return failed("SLED_INJECT='" + spec + "'", err);
  }
  if (s.verbose) {
    std::string names;
    for (const TracerPlan &t : plan.tracers) names += (names.empty() ? "" : ",") + t.name;
    say("sled: tracing " + (names.empty() ? std::string("nothing") : names) +
        (plan.session ? " into " + plan.dir : std::string()) + ", " +
        std::to_string(plan.injects.size()) + " injection(s)");
  }
}

// The process whose constructor ran: a child forked without exec neither
// takes the state's lock (the parent's listener may have held it at the
// fork) nor closes anything of its parent's at its exit.
pid_t g_loaded_in = 0;

void finish() {
  if (getpid() != g_loaded_in) return;
  AgentState &s = agent_state();
  std::lock_guard lock(s.mu);  // waits for a control request being served
  s.exiting = true;
  control_stop();
  if (!s.session_open || getpid() != s.owner) return;
  s.session_open = false;
  s.tracers.clear();
  sled_trace_stats st{};
  sled_trace_get_stats(&st);
  int err = sled_trace_close();
  if (err && err != -ENOTCONN)  // -ENOTCONN: the program closed it itself
    say(std::string("sled: closing the trace: ") + sled_trace_last_error());
  else if (s.verbose)
    say("sled: " + std::to_string(st.events) + " events, " + std::to_string(st.lost) + " lost, " +
        std::to_string(st.threads) + " thread(s)");
}

}  // namespace
}  // namespace sled::agent

// The constructor and destructor catch everything: nothing may escape into
// the program's start-up or exit.
__attribute__((constructor)) static void sled_preload_start() {
  sled::agent::g_loaded_in = getpid();
  try {
    sled::agent::start();
  } catch (...) {
    sled::agent::say("sled: out of memory at start-up, tracing disabled");
  }
  try {
    // Once, for sessions the environment or the control socket opens.
    pthread_atfork(nullptr, nullptr, sled::agent::on_fork_child);
    sled::agent::control_start();
  } catch (...) {
    sled::agent::say("sled: out of memory at start-up, control socket off");
  }
}

__attribute__((destructor)) static void sled_preload_finish() {
  try {
    sled::agent::finish();
  } catch (...) {
  }
}
