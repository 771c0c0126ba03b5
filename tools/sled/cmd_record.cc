// sled record: runs a program under the preload agent (agent/), passes its
// exit status through, and prints one summary line read back from the
// trace. Every option becomes one of the agent's SLED_* variables.
#include <fmt/format.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "agent_path.h"
#include "commands.h"
#include "output.h"
#include "record/reader.h"
#include "sites.h"
#include "trace_model.h"
#include "trace_set.h"

namespace sled::cli {
namespace {

struct RecordOptions {
  std::string tracer = "function_graph";
  std::vector<std::string> filters, notrace, args_spec;
  std::string output = "sled.trace";
  std::string buffer_size, strategy, options;
  std::vector<std::string> command;
  bool follow = false;
};

std::error_code &ec_ignored() {
  static std::error_code ec;
  return ec;
}

std::string joined(const std::vector<std::string> &v, const char *sep) {
  std::string out;
  for (const std::string &s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// -A 'parse_field@args' or '@args=3,retval': the function_graph capture
// options. PATTERN names the functions whose arguments and return values
// are recorded (capture=, they are traced even outside -F); an empty one
// means every traced function. Several -A: their functions together, the
// largest args=N, retval if any asks.
std::string capture_options(const std::vector<std::string> &specs, std::string *error) {
  unsigned args = 0;
  bool retval = false, every_function = false;
  std::string patterns;
  for (const std::string &spec : specs) {
    auto at = spec.find('@');
    if (at == std::string::npos) {
      *error = fmt::format("-A '{}': expected PATTERN@args[=N][,retval]", spec);
      return "";
    }
    std::string pattern = spec.substr(0, at);
    if (pattern.find_first_of(" \t") != std::string::npos) {
      *error = fmt::format("-A '{}': a pattern has no spaces (use one -A per pattern)", spec);
      return "";
    }
    if (pattern.empty())
      every_function = true;
    else
      patterns += (patterns.empty() ? "" : ",") + pattern;
    std::string what = spec.substr(at + 1);
    size_t pos = 0;
    while (pos <= what.size()) {
      size_t comma = what.find(',', pos);
      std::string item =
          what.substr(pos, comma == std::string::npos ? std::string::npos : comma - pos);
      if (item == "args") {
        args = std::max(args, 6u);
      } else if (item.rfind("args=", 0) == 0) {
        char *end = nullptr;
        unsigned long n = std::strtoul(item.c_str() + 5, &end, 10);
        if (item.size() == 5 || *end || n > 8) {
          *error = fmt::format("-A '{}': args=N takes 0..8", spec);
          return "";
        }
        args = std::max(args, static_cast<unsigned>(n));
      } else if (item == "retval") {
        retval = true;
      } else {
        *error = fmt::format("-A '{}': unknown capture '{}' (args, args=N, retval)", spec, item);
        return "";
      }
      if (comma == std::string::npos) break;
      pos = comma + 1;
    }
  }
  std::string out;
  if (args) out += fmt::format("args={}", args);
  if (retval) out += std::string(out.empty() ? "" : " ") + "retval=1";
  if (!out.empty() && !every_function && !patterns.empty()) out += " capture=" + patterns;
  return out;
}

int run(RecordOptions &o) {
  if (o.command.empty())
    return fail(2, "record: no program given (sled record [options] -- PROG ARGS...)");
  std::string error;
  std::string capture = capture_options(o.args_spec, &error);
  if (!error.empty()) return fail(2, "record: " + error);
  if (!capture.empty() && o.tracer != "function_graph")
    return fail(2, "record: -A needs the function_graph tracer");
  std::string agent = preload_agent_path();
  if (access(agent.c_str(), R_OK) != 0)
    return fail(1, fmt::format("record: the preload agent {} is missing", agent));
  // The program must exist and be executable before we blame tracing.
  std::string prog = o.command[0];
  std::string found = prog;
  if (prog.find('/') == std::string::npos) {
    const char *path = getenv("PATH");
    found.clear();
    for (const std::string &dir : CLI::detail::split(path ? path : "", ':'))
      if (!dir.empty() && access((dir + "/" + prog).c_str(), X_OK) == 0) {
        found = dir + "/" + prog;
        break;
      }
    if (found.empty()) return fail(127, fmt::format("record: {}: command not found", prog));
  } else if (access(prog.c_str(), X_OK) != 0) {
    return fail(127, fmt::format("record: {}: {}", prog, std::strerror(errno)));
  }
  // Nothing to trace: say how to build it before running it. With
  // --follow the children may be instrumented where the parent is not.
  if (std::string why; !o.follow && !has_sites(found, &why))
    return fail(1, fmt::format("record: {} {}: build it with clang or gcc and "
                               "-fpatchable-function-entry=13,8 -falign-functions=16 (x86_64) or "
                               "-fpatchable-function-entry=4,2 -falign-functions=8 (aarch64)",
                               prog, why));

  // The child processes of an earlier recording into DIR are not this run's.
  {
    std::vector<ProcessTrace> old;
    if (trace_processes(o.output, 0, &old).empty())
      for (const ProcessTrace &p : old)
        if (p.pid) std::filesystem::remove_all(p.dir, ec_ignored());
  }
  std::string preload = agent;
  if (const char *old = getenv("LD_PRELOAD"); old && *old) preload += std::string(":") + old;
  auto t0 = std::chrono::steady_clock::now();
  pid_t pid = fork();
  if (pid < 0) return fail(1, std::string("record: fork: ") + std::strerror(errno));
  if (pid == 0) {
    setenv("LD_PRELOAD", preload.c_str(), 1);
    setenv("SLED_TRACER", o.tracer.c_str(), 1);
    setenv("SLED_OUTPUT", o.output.c_str(), 1);
    if (!o.filters.empty()) setenv("SLED_FILTER", joined(o.filters, ",").c_str(), 1);
    if (!o.notrace.empty()) setenv("SLED_NOTRACE", joined(o.notrace, ",").c_str(), 1);
    if (!o.buffer_size.empty()) setenv("SLED_BUFFER_SIZE", o.buffer_size.c_str(), 1);
    if (!o.strategy.empty()) setenv("SLED_STRATEGY", o.strategy.c_str(), 1);
    // Without --follow only this process is traced (exec keeps the pid);
    // the programs it runs inherit the variable and run untraced.
    // With it, fork children (SLED_FOLLOW) and exec'ed children (the agent's
    // DIR/pid-N/) record too.
    if (o.follow) {
      unsetenv("SLED_PID");
      setenv("SLED_FOLLOW", "1", 1);
    } else {
      setenv("SLED_PID", std::to_string(getpid()).c_str(), 1);
      unsetenv("SLED_FOLLOW");
    }
    std::string opts = o.options;
    if (!capture.empty()) opts += (opts.empty() ? "" : " ") + capture;
    if (!opts.empty()) setenv("SLED_OPTIONS", opts.c_str(), 1);
    std::vector<char *> argv;
    for (std::string &a : o.command) argv.push_back(a.data());
    argv.push_back(nullptr);
    execvp(argv[0], argv.data());
    std::fprintf(stderr, "sled: record: %s: %s\n", argv[0], std::strerror(errno));
    _exit(127);
  }
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);

  auto trace = reader::Trace::open(o.output);
  if (!trace.ok()) {
    fail(code ? code : 1,
         fmt::format("record: no readable trace in {}: {}", o.output, trace.error));
    return exit_status();
  }
  uint64_t events = 0, lost = trace->total_lost();
  for (uint32_t tid : trace->thread_ids())
    if (const reader::Thread *t = trace->thread(tid)) events += t->events;
  // --follow: the children's traces (DIR/pid-N/) count too.
  std::vector<ProcessTrace> procs;
  trace_processes(o.output, 0, &procs);
  for (const ProcessTrace &p : procs) {
    if (!p.pid) continue;
    auto child = reader::Trace::open(p.dir);
    if (!child.ok()) continue;
    lost += child->total_lost();
    for (uint32_t tid : child->thread_ids())
      if (const reader::Thread *t = child->thread(tid)) events += t->events;
  }
  std::string processes = procs.size() > 1 ? fmt::format(" from {} processes", procs.size()) : "";
  std::error_code ec;
  uint64_t bytes = 0;
  for (const auto &f : std::filesystem::recursive_directory_iterator(o.output, ec))
    if (f.is_regular_file(ec)) bytes += f.file_size(ec);
  std::string cut = trace->cut() ? " (trace cut: " + trace->cut_reason() + ")" : "";
  std::fprintf(stderr, "sled: recorded %llu events%s, %llu lost, %.1f KiB in %s, %.3f s%s\n",
               static_cast<unsigned long long>(events), processes.c_str(),
               static_cast<unsigned long long>(lost), bytes / 1024.0, o.output.c_str(), seconds,
               cut.c_str());
  exit_status() = code;
  return code;
}

}  // namespace

void add_record(CLI::App &app) {
  auto o = std::make_shared<RecordOptions>();
  CLI::App *cmd =
      app.add_subcommand("record", "Run PROG under the preload agent and record a trace");
  cmd->add_option("-t,--tracer", o->tracer, "function | function_graph | profile (comma-separated)")
      ->capture_default_str();
  cmd->add_option("-F,--filter", o->filters, "Trace only functions matching PATTERN (repeatable)");
  cmd->add_option("-N,--notrace", o->notrace,
                  "Do not trace functions matching PATTERN (repeatable)");
  cmd->add_option("-o,--output", o->output, "Trace directory")->capture_default_str();
  cmd->add_option("--buffer-size", o->buffer_size,
                  "Per-thread buffer, bytes with K/M/G (default 4M)");
  cmd->add_option("--strategy", o->strategy, "callops | list | dyntramp");
  cmd->add_option("-A,--capture", o->args_spec,
                  "PATTERN@args[=N][,retval]: record integer arguments and return values");
  cmd->add_option("--options", o->options,
                  "Extra tracer options (e.g. 'depth=64 clock=monotonic')");
  cmd->add_flag("--follow", o->follow,
                "Also trace its child processes (fork, and fork+exec of instrumented "
                "programs): one trace per process, in DIR/pid-<PID>/");
  cmd->add_option("command", o->command, "PROG ARGS... (after --)")->required();
  cmd->callback([o] { run(*o); });
}

}  // namespace sled::cli
