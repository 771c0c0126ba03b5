// sled top PID: the hottest functions of a running program, live, from the
// profile tracer's table (the control socket's `profile` verb), refreshed
// every second: calls per second, self time per second, totals; sorted by
// self time in the last second. `q` quits (so do Ctrl-C, SIGTERM, SIGHUP).
//
// The profile tracer: if it does not run in the program, top starts it and
// stops it on exit. With no recording session open, that run's session
// goes to a scratch directory next to the control socket (<dir>/<pid>.top),
// removed on exit; with one open, the profile joins it (and its table is
// written to that trace when top stops it).
//
// Terminal: on a terminal, the alternate screen in a raw mode (no echo, no
// line buffering, signals kept), restored on every way out; otherwise one
// plain frame per refresh (for scripts, with --iterations).
#include <cxxabi.h>
#include <fmt/format.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <map>
#include <memory>

#include "commands.h"
#include "ctl_client.h"

namespace sled::cli {
namespace {

struct TopOptions {
  std::string pid;
  unsigned iterations = 0;  // 0: until q
};

volatile sig_atomic_t g_quit = 0;
void on_signal(int) { g_quit = 1; }

// Raw mode and the alternate screen for the life of the object.
class Terminal {
 public:
  Terminal() {
    active_ =
        isatty(STDIN_FILENO) && isatty(STDOUT_FILENO) && tcgetattr(STDIN_FILENO, &saved_) == 0;
    if (!active_) return;
    struct termios raw = saved_;
    raw.c_lflag &= ~(ICANON | ECHO);
    raw.c_cc[VMIN] = 0;
    raw.c_cc[VTIME] = 0;
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw);
    put("\x1b[?1049h\x1b[?25l");
  }
  ~Terminal() {
    if (!active_) return;
    put("\x1b[?25h\x1b[?1049l");
    tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_);
  }
  bool active() const { return active_; }
  unsigned rows() const {
    struct winsize ws {};
    if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0) return ws.ws_row;
    return 24;
  }
  static void put(const std::string &s) {
    size_t off = 0;
    while (off < s.size()) {
      ssize_t n = write(STDOUT_FILENO, s.data() + off, s.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      off += static_cast<size_t>(n);
    }
  }

 private:
  bool active_ = false;
  struct termios saved_ {};
};

struct Sample {
  std::string name;
  uint64_t calls = 0, total_ns = 0, self_ns = 0;
};
using Table = std::map<std::string, Sample>;  // by ip text

std::string demangled(const std::string &name) {
  int status = 0;
  std::unique_ptr<char, void (*)(void *)> d(
      abi::__cxa_demangle(name.c_str(), nullptr, nullptr, &status), std::free);
  return status == 0 && d ? std::string(d.get()) : name;
}

// The `profile` reply: ip, calls, total_ns, self_ns, max_ns, name (tabs).
Table parse_profile(const std::vector<std::string> &lines) {
  Table t;
  for (const std::string &line : lines) {
    std::vector<std::string> f;
    size_t pos = 0;
    for (int i = 0; i < 5; ++i) {
      size_t tab = line.find('\t', pos);
      if (tab == std::string::npos) break;
      f.push_back(line.substr(pos, tab - pos));
      pos = tab + 1;
    }
    if (f.size() != 5) continue;
    Sample s{demangled(line.substr(pos)), std::stoull(f[1]), std::stoull(f[2]), std::stoull(f[3])};
    t[f[0]] = s;
  }
  return t;
}

std::string value_of(const std::vector<std::string> &lines, const std::string &key) {
  for (const std::string &l : lines)
    if (l.rfind(key + " ", 0) == 0) return l.substr(key.size() + 1);
  return "";
}

std::string duration(double ns) {
  if (ns < 1e3) return fmt::format("{:.0f} ns", ns);
  if (ns < 1e6) return fmt::format("{:.1f} us", ns / 1e3);
  if (ns < 1e9) return fmt::format("{:.1f} ms", ns / 1e6);
  return fmt::format("{:.2f} s", ns / 1e9);
}

struct Row {
  std::string name;
  double calls_per_s, self_per_s;
  uint64_t calls, self_ns;
};

std::string frame(pid_t pid, const std::string &strategy, uint64_t events, double events_per_s,
                  const Table &now, const Table &before, double seconds, unsigned max_rows) {
  std::vector<Row> rows;
  for (const auto &[ip, s] : now) {
    auto it = before.find(ip);
    uint64_t c0 = it == before.end() ? 0 : it->second.calls;
    uint64_t s0 = it == before.end() ? 0 : it->second.self_ns;
    rows.push_back(Row{s.name, (s.calls - std::min(c0, s.calls)) / seconds,
                       (s.self_ns - std::min(s0, s.self_ns)) / seconds, s.calls, s.self_ns});
  }
  std::sort(rows.begin(), rows.end(), [](const Row &a, const Row &b) {
    if (a.self_per_s != b.self_per_s) return a.self_per_s > b.self_per_s;
    if (a.calls_per_s != b.calls_per_s) return a.calls_per_s > b.calls_per_s;
    return a.name < b.name;
  });
  std::string out = fmt::format(
      "sled top - pid {}  strategy {}  events {} ({:.0f}/s)  functions {}  (q quits)\n\n", pid,
      strategy, events, events_per_s, rows.size());
  out += fmt::format("{:>12} {:>12} {:>10} {:>10}  {}\n", "CALLS/S", "CALLS", "SELF/S", "SELF",
                     "FUNCTION");
  for (size_t i = 0; i < rows.size() && i + 4 < max_rows; ++i) {
    const Row &r = rows[i];
    out += fmt::format("{:>12.0f} {:>12} {:>10} {:>10}  {}\n", r.calls_per_s, r.calls,
                       duration(r.self_per_s), duration(static_cast<double>(r.self_ns)), r.name);
  }
  return out;
}

class Top {
 public:
  Top(pid_t pid, std::string socket) : pid_(pid), socket_(std::move(socket)) {}

  // Sends a request; false and *error when it failed (any reason).
  bool call(const std::string &request, std::vector<std::string> *lines, std::string *error) {
    CtlReply reply;
    if (!ctl_request(socket_, pid_, request, &reply, error)) {
      if (kill(pid_, 0) != 0 && errno == ESRCH)
        *error = "process " + std::to_string(pid_) + " exited";
      return false;
    }
    if (!reply.ok) {
      *error = "process " + std::to_string(pid_) + ": " + reply.error;
      return false;
    }
    *lines = std::move(reply.lines);
    return true;
  }

  bool start_profile(std::string *error) {
    std::vector<std::string> list;
    if (!call("list", &list, error)) return false;
    for (const std::string &l : list)
      if (l.rfind("tracer profile ", 0) == 0) return true;  // already runs: leave it be
    std::string request = "start profile";
    if (value_of(list, "output") == "-") {
      scratch_ = std::filesystem::path(socket_).parent_path() / (std::to_string(pid_) + ".top");
      request += " dir=" + scratch_.string();
    }
    std::vector<std::string> ignored;
    if (!call(request, &ignored, error)) {
      scratch_.clear();
      return false;
    }
    started_ = true;
    return true;
  }

  void stop_profile() {
    std::vector<std::string> ignored;
    std::string error;
    if (started_) call("stop profile", &ignored, &error);
    started_ = false;
    if (!scratch_.empty()) {
      std::error_code ec;
      std::filesystem::remove_all(scratch_, ec);
    }
  }

  int run(unsigned iterations) {
    std::string error;
    int status = 0;
    {
      Terminal term;  // restored at the end of this scope, before the error line
      struct sigaction sa {};
      sa.sa_handler = on_signal;  // no SA_RESTART: poll returns at once
      struct sigaction old_int, old_term, old_hup;
      sigaction(SIGINT, &sa, &old_int);
      sigaction(SIGTERM, &sa, &old_term);
      sigaction(SIGHUP, &sa, &old_hup);
      status = loop(term, iterations, &error);
      stop_profile();
      sigaction(SIGINT, &old_int, nullptr);
      sigaction(SIGTERM, &old_term, nullptr);
      sigaction(SIGHUP, &old_hup, nullptr);
    }
    return status ? fail(status, error) : 0;
  }

 private:
  int loop(Terminal &term, unsigned iterations, std::string *error) {
    using Clock = std::chrono::steady_clock;
    Table before;
    uint64_t events_before = 0;
    auto t0 = Clock::now();
    std::vector<std::string> lines;
    if (!call("profile", &lines, error)) return 1;
    before = parse_profile(lines);
    if (term.active()) Terminal::put("\x1b[H\x1b[2Jsled top - pid " + std::to_string(pid_) + "\n");
    for (unsigned n = 0; !g_quit && (iterations == 0 || n < iterations); ++n) {
      if (wait_or_quit(term, t0 + std::chrono::seconds(1))) break;
      std::vector<std::string> list, stats, profile;
      if (!call("list", &list, error) || !call("stats", &stats, error) ||
          !call("profile", &profile, error))
        return 1;
      auto t1 = Clock::now();
      double seconds = std::chrono::duration<double>(t1 - t0).count();
      Table now = parse_profile(profile);
      std::string ev = value_of(stats, "events");
      uint64_t events = ev.empty() ? 0 : std::stoull(ev);
      std::string text = frame(pid_, value_of(list, "strategy"), events,
                               (events - std::min(events, events_before)) / seconds, now, before,
                               seconds, term.active() ? term.rows() : 1000000);
      if (term.active()) {
        std::string screen = "\x1b[H\x1b[2J";
        for (char c : text) screen += c == '\n' ? std::string("\r\n") : std::string(1, c);
        Terminal::put(screen);
      } else {
        Terminal::put(text + "\n");
      }
      before = std::move(now);
      events_before = events;
      t0 = t1;
    }
    return 0;
  }

  // Waits until `deadline`; true when the user asked to quit.
  bool wait_or_quit(Terminal &term, std::chrono::steady_clock::time_point deadline) {
    for (;;) {
      if (g_quit) return true;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                      deadline - std::chrono::steady_clock::now())
                      .count();
      if (left <= 0) return false;
      if (!term.active()) {
        usleep(static_cast<useconds_t>(left) * 1000);
        continue;
      }
      struct pollfd p {
        STDIN_FILENO, POLLIN, 0
      };
      int r = poll(&p, 1, static_cast<int>(left));
      if (r <= 0) continue;  // timeout, or a signal (g_quit checked above)
      char c;
      if (read(STDIN_FILENO, &c, 1) == 1 && (c == 'q' || c == 'Q')) return true;
    }
  }

  pid_t pid_;
  std::string socket_;
  std::filesystem::path scratch_;
  bool started_ = false;
};

int run(const TopOptions &o) {
  pid_t pid = 0;
  std::string error, socket;
  if (!ctl_parse_pid(o.pid, &pid, &error)) return fail(2, error);
  if (!ctl_find_socket(pid, &socket, &error)) return fail(1, error);
  Top top(pid, socket);
  if (!top.start_profile(&error)) return fail(1, error);
  return top.run(o.iterations);
}

}  // namespace

void add_top(CLI::App &app) {
  auto o = std::make_shared<TopOptions>();
  CLI::App *cmd = app.add_subcommand(
      "top", "The hottest functions of a running program, live (starts its profile tracer)");
  cmd->add_option("pid", o->pid, "The program's process id")->required();
  cmd->add_option("-n,--iterations", o->iterations, "Stop after N refreshes (default: until q)");
  cmd->callback([o] { exit_status() = run(*o); });
}

}  // namespace sled::cli
