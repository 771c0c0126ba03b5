// sled attach: loads the preload agent into a running instrumented process
// that was started without it (attach/inject.h: ptrace, GCC site
// normalisation, dlopen in the target), then starts tracing it through the
// agent's control socket, like `sled ctl PID start`. The process keeps
// running throughout; `sled ctl PID stop` stops the tracer and closes the
// trace, leaving it running untraced.
#include <fmt/format.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "agent_path.h"
#include "attach/inject.h"
#include "commands.h"
#include "ctl_client.h"

namespace sled::cli {
namespace {

struct AttachOptions {
  pid_t pid = 0;
  std::string tracer = "function_graph";
  std::vector<std::string> filters, notrace;
  std::string output = "sled.trace";
  std::string buffer_size, options;
  bool load_only = false;
  std::string agent;
};

std::string joined(const std::vector<std::string> &v) {
  std::string out;
  for (const std::string &s : v) out += (out.empty() ? "" : ",") + s;
  return out;
}

// The control step: one `start` request per tracer over the agent's
// socket (docs/control.md), the session's settings with the first.
void start_tracing(const AttachOptions &o) {
  std::error_code ec;
  std::string dir = std::filesystem::absolute(o.output, ec).string();
  std::vector<std::string> tracers = CLI::detail::split(o.tracer, ',');
  for (size_t i = 0; i < tracers.size(); i++) {
    std::string request = "start " + tracers[i];
    if (!o.filters.empty()) request += " filter=" + joined(o.filters);
    if (!o.notrace.empty()) request += " notrace=" + joined(o.notrace);
    if (i == 0) {
      request += " dir=" + dir;
      if (!o.buffer_size.empty()) request += " buffer=" + o.buffer_size;
    }
    if (!o.options.empty()) request += " " + o.options;
    CtlReply reply;
    std::string error;
    if (!ctl_call(o.pid, request, &reply, &error)) {
      fail(1, "attach: the agent is loaded but its control socket does not answer: " + error);
      return;
    }
    if (!reply.ok) {
      fail(1, fmt::format("attach: the agent is loaded but refused to start {}: {}", tracers[i],
                          reply.error));
      return;
    }
  }
  std::fprintf(stderr,
               "sled: attach: tracing PID %d with %s into %s; `sled ctl %d stop` stops it and "
               "closes the trace\n",
               o.pid, o.tracer.c_str(), dir.c_str(), o.pid);
}

void run(AttachOptions &o) {
  std::string agent = o.agent.empty() ? preload_agent_path() : o.agent;
  std::error_code ec;
  agent = std::filesystem::absolute(agent, ec).string();
  if (access(agent.c_str(), R_OK) != 0) {
    fail(1, fmt::format("attach: the preload agent {} is missing", agent));
    return;
  }
  attach::InjectResult r;
  std::string error;
  if (int status = attach::load_agent(o.pid, agent, &r, &error)) {
    fail(status, "attach: " + error);
    return;
  }
  for (const std::string &note : r.notes) std::fprintf(stderr, "sled: attach: %s\n", note.c_str());
  if (r.already_loaded)
    std::fprintf(stderr, "sled: attach: the agent is already loaded in PID %d\n", o.pid);
  else
    std::fprintf(stderr,
                 "sled: attach: agent loaded into PID %d (thread %d ran dlopen); %zu sites, %zu "
                 "GCC entries rewritten as one NOP\n",
                 o.pid, r.thread, r.sites, r.normalized);
  if (o.load_only) return;
  start_tracing(o);
}

}  // namespace

void add_attach(CLI::App &app) {
  auto o = std::make_shared<AttachOptions>();
  CLI::App *cmd = app.add_subcommand(
      "attach", "Load the agent into a running instrumented process and start tracing it");
  cmd->add_option("pid", o->pid, "The process")->required();
  cmd->add_option("-t,--tracer", o->tracer, "function | function_graph | profile (comma-separated)")
      ->capture_default_str();
  cmd->add_option("-F,--filter", o->filters, "Trace only functions matching PATTERN (repeatable)");
  cmd->add_option("-N,--notrace", o->notrace,
                  "Do not trace functions matching PATTERN (repeatable)");
  cmd->add_option("-o,--output", o->output, "Trace directory")->capture_default_str();
  cmd->add_option("--buffer-size", o->buffer_size,
                  "Per-thread buffer, bytes with K/M/G (default 4M)");
  cmd->add_option("--options", o->options, "Extra tracer options (e.g. 'depth=64')");
  cmd->add_flag("--load-only", o->load_only, "Load the agent (idle) and start nothing");
  cmd->add_option("--agent", o->agent, "The agent to load (default: the one next to sled)");
  cmd->callback([o] { run(*o); });
}

}  // namespace sled::cli
