// sled ctl PID VERB [ARGS…]: one request to a running program's agent over
// its control socket (docs/control.md), the reply's lines on stdout. An
// error of the agent or of the exchange: one line on stderr, exit 1.
#include <unistd.h>

#include <climits>

#include "commands.h"
#include "ctl_client.h"

namespace sled::cli {
namespace {

struct CtlOptions {
  std::string pid;
  std::vector<std::string> words;
  std::string socket;
};

// start's dir= is the client's path: made absolute here (the agent
// resolves a relative one against the program's working directory).
std::string request_line(const std::vector<std::string> &words) {
  std::string line;
  for (size_t i = 0; i < words.size(); ++i) {
    std::string w = words[i];
    if (!words.empty() && words[0] == "start" && w.rfind("dir=", 0) == 0 && w.size() > 4 &&
        w[4] != '/') {
      char cwd[PATH_MAX];
      if (getcwd(cwd, sizeof cwd)) w = "dir=" + std::string(cwd) + "/" + w.substr(4);
    }
    line += (line.empty() ? "" : " ") + w;
  }
  return line;
}

int run(const CtlOptions &o) {
  pid_t pid = 0;
  std::string error;
  if (!ctl_parse_pid(o.pid, &pid, &error)) return fail(2, error);
  std::string path = o.socket;
  if (path.empty() && !ctl_find_socket(pid, &path, &error)) return fail(1, error);
  CtlReply reply;
  if (!ctl_request(path, pid, request_line(o.words), &reply, &error)) return fail(1, error);
  for (const std::string &line : reply.lines) std::printf("%s\n", line.c_str());
  if (!reply.ok) return fail(1, "process " + o.pid + ": " + reply.error);
  return 0;
}

}  // namespace

void add_ctl(CLI::App &app) {
  auto o = std::make_shared<CtlOptions>();
  CLI::App *cmd = app.add_subcommand(
      "ctl",
      "Control a running program through its sled agent: list | start TRACER [key=value…] | "
      "stop [TRACER] | filter [tracer=NAME] PATTERNS… | notrace [tracer=NAME] PATTERNS… | "
      "strategy NAME | stats | profile | sites (docs/control.md)");
  cmd->add_option("pid", o->pid, "The program's process id")->required();
  cmd->add_option("request", o->words, "The verb and its arguments")->required();
  cmd->add_option("--socket", o->socket,
                  "Use this control socket instead of looking up the process's");
  cmd->callback([o] { exit_status() = run(*o); });
}

}  // namespace sled::cli
