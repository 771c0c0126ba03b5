// The preload agent end to end: agent_prog (instrumented, does not link
// sled) and agent_prog_linked (links libsled) run under
// LD_PRELOAD=libsled-preload.so with SLED_* settings; the traces they leave
// are read back with the reader library, and their stdout, stderr and exit
// status compared with a run without the agent.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "agent_trace.h"
#include "child_outcome.h"

extern char **environ;

namespace {

namespace fs = std::filesystem;

// LeakSanitizer, at the exit of a child forked from a threaded process,
// notes that the parent's other threads (here the recorder's writer) "were
// not suspended": a sanitizer artefact, not output of the program or sled.
std::string without_lsan_fork_notes(const std::string &err) {
  std::string out;
  std::istringstream in(err);
  std::string line;
  while (std::getline(in, line))
    if (!(line.rfind("==", 0) == 0 &&
          line.find("was not suspended. False leaks are possible.") != std::string::npos))
      out += line + "\n";
  if (!err.empty() && err.back() != '\n' && !out.empty()) out.pop_back();
  return out;
}

// Runs prog with the test's environment minus SLED_* and LD_PRELOAD, plus
// `env` (which replaces variables of the same name); stdout and stderr go to files in `dir`.
Outcome run(const std::string &dir, const std::vector<std::string> &argv,
            const std::map<std::string, std::string> &env) {
  std::vector<std::string> envs;
  for (char **e = environ; *e; e++) {
    std::string var = *e, key = var.substr(0, var.find('='));
    if (key.rfind("SLED_", 0) != 0 && key != "LD_PRELOAD" && !env.count(key)) envs.push_back(var);
  }
  std::vector<std::string> argv_copy;
  // A cross build runs the programs under qemu-user: LD_PRELOAD must reach
  // the guest's loader (-E), not the emulator's own.
  std::string emulator = AGENT_EMULATOR;
  for (size_t pos = 0; !emulator.empty() && pos <= emulator.size();) {
    size_t end = emulator.find('|', pos);
    if (end == std::string::npos) end = emulator.size();
    if (end > pos) argv_copy.push_back(emulator.substr(pos, end - pos));
    pos = end + 1;
  }
  for (const auto &[k, v] : env) {
    if (!emulator.empty() && k == "LD_PRELOAD") {
      argv_copy.insert(argv_copy.end(), {"-E", k + "=" + v});
      continue;
    }
    envs.push_back(k + "=" + v);
  }
  std::vector<char *> envp, args;
  for (auto &s : envs) envp.push_back(s.data());
  envp.push_back(nullptr);
  argv_copy.insert(argv_copy.end(), argv.begin(), argv.end());
  for (auto &s : argv_copy) args.push_back(s.data());
  args.push_back(nullptr);
  std::string out = dir + "/stdout", err = dir + "/stderr";
  pid_t pid = fork();
  if (pid == 0) {
    if (chdir(dir.c_str()) != 0) _exit(120);
    int o = open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int e = open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (o < 0 || e < 0) _exit(121);
    dup2(o, 1);
    dup2(e, 2);
    execvpe(args[0], args.data(), envp.data());
    _exit(122);
  }
  Outcome r;
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  r.status = decode(status);
  r.out = slurp(out);
  r.err = without_lsan_fork_notes(slurp(err));
  return r;
}

class Agent : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto *info = ::testing::UnitTest::GetInstance()->current_test_info();
    dir_ = fs::path(AGENT_TEST_DIR) / (std::string("agent_") + info->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  Outcome plain(const std::vector<std::string> &args) { return run(dir_, prog(args), {}); }
  Outcome traced(const std::vector<std::string> &args, std::map<std::string, std::string> env,
                 const char *program = AGENT_PROG) {
    env["LD_PRELOAD"] = AGENT_PRELOAD;
    return run(dir_, prog(args, program), env);
  }
  static std::vector<std::string> prog(std::vector<std::string> args,
                                       const char *program = AGENT_PROG) {
    args.insert(args.begin(), program);
    return args;
  }
  std::string trace_dir(const std::string &name = "sled.trace") const { return dir_ + "/" + name; }
  std::string dir_;
};

// The program as run without the agent (basic mode): its output and status.
constexpr const char *kBasicOut = "result 110\n";
constexpr const char *kBasicErr = "basic: a line on stderr\n";

TEST_F(Agent, WithoutSettingsNothingChanges) {
  Outcome p = plain({"basic"});
  EXPECT_EQ(p.status, 3);
  EXPECT_EQ(p.out, kBasicOut);
  EXPECT_EQ(p.err, kBasicErr);
  Outcome t = traced({"basic"}, {});
  EXPECT_EQ(t.status, p.status);
  EXPECT_EQ(t.out, p.out);
  EXPECT_EQ(t.err, p.err);
  EXPECT_FALSE(fs::exists(trace_dir()));
}

TEST_F(Agent, FunctionTracer) {
  Outcome p = plain({"basic"});
  Outcome t = traced({"basic"}, {{"SLED_TRACER", "function"}, {"SLED_FILTER", "parse_*"}});
  EXPECT_EQ(t.status, p.status);
  EXPECT_EQ(t.out, p.out);
  EXPECT_EQ(t.err, p.err);  // nothing from sled
  AgentTrace tr;
  ASSERT_TRUE(read_agent_trace(trace_dir(), true, &tr)) << tr.error;
  ASSERT_EQ(tr.threads.size(), 1u);
  EXPECT_EQ(tr.threads[0],
            (std::vector<std::string>{"> parse_a", "> parse_a", "> parse_a", "> parse_b",
                                      "> parse_b", "> parse_a", "> parse_b"}));
}

TEST_F(Agent, FunctionGraphTracerWithOptions) {
  Outcome t = traced({"basic"}, {{"SLED_TRACER", "function_graph"},
                                 {"SLED_FILTER", "parse_b work"},
                                 {"SLED_OPTIONS", "args=1 retval=1"},
                                 {"SLED_OUTPUT", "graph.trace"}});
  EXPECT_EQ(t.status, 3);
  EXPECT_EQ(t.out, kBasicOut);
  EXPECT_EQ(t.err, kBasicErr);
  AgentTrace tr;
  ASSERT_TRUE(read_agent_trace(trace_dir("graph.trace"), true, &tr)) << tr.error;
  ASSERT_EQ(tr.threads.size(), 1u);
  EXPECT_EQ(tr.threads[0], (std::vector<std::string>{"> parse_b", "args 0", "< parse_b", "= 20",
                                                     "> parse_b", "args 1", "< parse_b", "= 32",
                                                     "> work", "args 5", "> parse_b", "args 5",
                                                     "< parse_b", "= 63", "< work", "= 110"}));
}

TEST_F(Agent, ProfileTracerSection) {
  Outcome t = traced({"basic"}, {{"SLED_TRACER", "profile"}, {"SLED_FILTER", "parse_*,work"}});
  EXPECT_EQ(t.status, 3);
  EXPECT_EQ(t.out, kBasicOut);
  AgentTrace tr;
  ASSERT_TRUE(read_agent_trace(trace_dir(), true, &tr)) << tr.error;
  EXPECT_EQ(tr.profile_calls,
            (std::map<std::string, uint64_t>{{"parse_a", 4}, {"parse_b", 3}, {"work", 1}}));
}

TEST_F(Agent, SeveralTracers) {
  Outcome t = traced({"basic"}, {{"SLED_TRACER", "function,profile"}, {"SLED_FILTER", "work"}});
  EXPECT_EQ(t.status, 3);
  AgentTrace tr;
  ASSERT_TRUE(read_agent_trace(trace_dir(), true, &tr)) << tr.error;
  ASSERT_EQ(tr.threads.size(), 1u);
  EXPECT_EQ(tr.threads[0], (std::vector<std::string>{"> work"}));
  EXPECT_EQ(tr.profile_calls, (std::map<std::string, uint64_t>{{"work", 1}}));
}

TEST_F(Agent, BadSettingsPrintOneLineAndRunUntraced) {
  struct Case {
    std::map<std::string, std::string> env;
    std::string line;  // the start of the one line
  };
  const Case cases[] = {
      {{{"SLED_TRACER", "function"}, {"SLED_BUFFER_SIZE", "12Q"}},
       "sled: SLED_BUFFER_SIZE='12Q': expected bytes with an optional K, M or G suffix, tracing "
       "disabled"},
      {{{"SLED_TRACER", "fgraph"}}, "sled: SLED_TRACER='fgraph': unknown tracer 'fgraph'"},
      {{{"SLED_TRACER", "function"}, {"SLED_BUFFER_MODE", "ring"}},
       "sled: SLED_BUFFER_MODE='ring': expected drop or overwrite, tracing disabled"},
      {{{"SLED_TRACER", "function"}, {"SLED_FILTER", "no_such_function_xyz"}},
       "sled: SLED_TRACER=function (options 'filter=no_such_function_xyz'): "},
      {{{"SLED_TRACER", "function"}, {"SLED_TRIGGER", "parse_a:explode"}},
       "sled: SLED_TRIGGER='parse_a:explode': "},
      {{{"SLED_INJECT", "parse_a:return=x"}},
       "sled: SLED_INJECT='parse_a:return=x': inject 'parse_a:return=x': return='x': expected an "
       "integer, tracing disabled"},
  };
  Outcome p = plain({"basic"});
  for (const Case &c : cases) {
    fs::remove_all(trace_dir());
    Outcome t = traced({"basic"}, c.env);
    EXPECT_EQ(t.status, p.status) << c.line;
    EXPECT_EQ(t.out, p.out) << c.line;
    // One line from sled, first (the constructor runs before main), then the
    // program's own stderr untouched.
    size_t nl = t.err.find('\n');
    ASSERT_NE(nl, std::string::npos) << t.err;
    std::string line = t.err.substr(0, nl);
    EXPECT_EQ(line.substr(0, c.line.size()), c.line) << line;
    EXPECT_NE(line.find("tracing disabled"), std::string::npos) << line;
    EXPECT_EQ(t.err.substr(nl + 1), p.err) << line;
  }
}

TEST_F(Agent, InjectionsFromTheEnvironment) {
  // parse_b's body is skipped and returns 1000: the result line changes
  // (110 without the agent).
  Outcome t = traced({"basic"}, {{"SLED_INJECT", "parse_b:return=1000"}});
  EXPECT_EQ(t.status, 3);
  EXPECT_EQ(t.out, "result 1024\n");
  EXPECT_EQ(t.err, kBasicErr);
  EXPECT_FALSE(fs::exists(trace_dir()));  // no tracer: no session
}

TEST_F(Agent, InjectionsAreMarkedInTheTrace) {
  // parse_b's second call (of three) returns 1000 without running; the
  // trace holds the marker (kind 5: inject_return, with the value) where it
  // happened, before work's entry.
  Outcome t = traced({"basic"}, {{"SLED_TRACER", "function"},
                                 {"SLED_FILTER", "work"},
                                 {"SLED_INJECT", "parse_b:return=1000:every=2"}});
  EXPECT_EQ(t.status, 3);
  EXPECT_EQ(t.out, "result 86\n");
  AgentTrace tr;
  ASSERT_TRUE(read_agent_trace(trace_dir(), true, &tr)) << tr.error;
  ASSERT_EQ(tr.threads.size(), 1u);
  EXPECT_EQ(tr.threads[0], (std::vector<std::string>{"marker 5 parse_b 1000", "> work"}));
}

TEST_F(Agent, VerboseSaysWhatItDoes) {
  Outcome t = traced({"basic"}, {{"SLED_TRACER", "function"}, {"SLED_VERBOSE", "1"}});
  EXPECT_EQ(t.status, 3);
  EXPECT_EQ(t.out, kBasicOut);
  EXPECT_EQ(t.err.rfind("sled: tracing function into sled.trace", 0), 0u) << t.err;
  EXPECT_NE(t.err.find(kBasicErr), std::string::npos);
}

TEST_F(Agent, AtexitHandlersAreTraced) {
  Outcome p = plain({"atexit"});
  Outcome t = traced({"atexit"}, {{"SLED_TRACER", "function"}, {"SLED_FILTER", "parse_b"}});
  EXPECT_EQ(t.status, 0);
  EXPECT_EQ(t.out, p.out);
  EXPECT_EQ(t.out, "result 110\natexit handler ran\n");
  AgentTrace tr;
  ASSERT_TRUE(read_agent_trace(trace_dir(), true, &tr)) << tr.error;
  ASSERT_EQ(tr.threads.size(), 1u);
  EXPECT_EQ(tr.threads[0].size(), 7u);  // 2 + 1 (work) + 4 from the atexit handler
}

TEST_F(Agent, ExitFromAThreadClosesTheTrace) {
  Outcome p = plain({"thread_exit"});
  EXPECT_EQ(p.status, 5);
  Outcome t = traced({"thread_exit"}, {{"SLED_TRACER", "function"}, {"SLED_FILTER", "parse_a"}});
  EXPECT_EQ(t.status, 5);
  EXPECT_EQ(t.out, p.out);
  EXPECT_EQ(t.err, p.err);
  AgentTrace tr;
  ASSERT_TRUE(read_agent_trace(trace_dir(), true, &tr)) << tr.error;  // complete: footer
  ASSERT_EQ(tr.threads.size(), 1u);
  EXPECT_EQ(tr.threads[0], (std::vector<std::string>{"> parse_a", "> parse_a"}));
}

TEST_F(Agent, ForkedChildStopsCleanly) {
  // No leak check in these runs: LeakSanitizer's check at the child's exit
  // can deadlock on its allocator lock when another thread of the parent
  // (the recorder's writer) held it at fork (clang 14's runtime). Without a
  // sanitizer the variable is ignored.
  std::string asan = getenv("ASAN_OPTIONS") ? getenv("ASAN_OPTIONS") : "";
  std::map<std::string, std::string> env{{"ASAN_OPTIONS", asan + ":detect_leaks=0"}};
  Outcome p = run(dir_, prog({"fork"}), env);
  env["SLED_TRACER"] = "function";
  env["SLED_FILTER"] = "parse_*";
  Outcome t = traced({"fork"}, env);
  EXPECT_EQ(t.status, 0);
  EXPECT_EQ(t.out, p.out);
  EXPECT_EQ(t.out, "child done\nparent: child exited 7\n");
  EXPECT_EQ(t.err, p.err);
  // The parent's trace: complete, its own two calls only (the child's five
  // parse_b are not recorded, nor written anywhere).
  AgentTrace tr;
  ASSERT_TRUE(read_agent_trace(trace_dir(), true, &tr)) << tr.error;
  ASSERT_EQ(tr.threads.size(), 1u);
  EXPECT_EQ(tr.threads[0], (std::vector<std::string>{"> parse_a", "> parse_a"}));
  std::vector<std::string> entries;
  for (const auto &e : fs::directory_iterator(dir_)) entries.push_back(e.path().filename());
  std::sort(entries.begin(), entries.end());
  EXPECT_EQ(entries, (std::vector<std::string>{"sled.trace", "stderr", "stdout"}));
}

TEST_F(Agent, ExecedChildRecordsIntoItsOwnDirectory) {
  Outcome p = plain({"exec"});
  Outcome t = traced({"exec"}, {{"SLED_TRACER", "function"}, {"SLED_FILTER", "parse_*"}});
  EXPECT_EQ(t.status, 0);
  EXPECT_EQ(t.out, p.out);
  EXPECT_EQ(t.out, "result 110\nparent: child exited 3\n");
  EXPECT_EQ(t.err, p.err);
  // The parent's trace is whole (the child did not truncate it)...
  AgentTrace tr;
  ASSERT_TRUE(read_agent_trace(trace_dir(), true, &tr)) << tr.error;
  ASSERT_EQ(tr.threads.size(), 1u);
  EXPECT_EQ(tr.threads[0], (std::vector<std::string>{"> parse_a", "> parse_a"}));
  // ... and the child's is in sled.trace/pid-<its pid>/.
  std::vector<std::string> subdirs;
  for (const auto &e : fs::directory_iterator(trace_dir()))
    if (e.is_directory()) subdirs.push_back(e.path().filename());
  ASSERT_EQ(subdirs.size(), 1u);
  EXPECT_EQ(subdirs[0].rfind("pid-", 0), 0u) << subdirs[0];
  AgentTrace child;
  ASSERT_TRUE(read_agent_trace(trace_dir() + "/" + subdirs[0], true, &child)) << child.error;
  ASSERT_EQ(child.threads.size(), 1u);
  EXPECT_EQ(child.threads[0],
            (std::vector<std::string>{"> parse_a", "> parse_a", "> parse_a", "> parse_b",
                                      "> parse_b", "> parse_a", "> parse_b"}));
}

TEST_F(Agent, KilledProgramLeavesAReadableTrace) {
  Outcome t = traced(
      {"kill"},
      {{"SLED_TRACER", "function"}, {"SLED_FILTER", "parse_a"}, {"SLED_BUFFER_SIZE", "64K"}});
  EXPECT_EQ(t.status, -SIGKILL);
  EXPECT_EQ(t.err, "");
  // Not complete (no footer): read up to the last chunk written.
  AgentTrace tr;
  ASSERT_TRUE(read_agent_trace(trace_dir(), false, &tr)) << tr.error;
  size_t n = 0;
  for (const auto &thread : tr.threads) {
    // Named: the recorder writes the symbol table at start too.
    for (const auto &e : thread) EXPECT_EQ(e, "> parse_a");
    n += thread.size();
  }
  EXPECT_LE(n, 20000u);
  EXPECT_GT(n, 0u);  // the writer ran during the pauses
  std::cout << "killed after 20000 calls: " << n << " entries readable\n";
}

TEST_F(Agent, ProgramLinkingLibsledGetsOneLibsled) {
  Outcome t =
      traced({}, {{"SLED_TRACER", "function"}, {"SLED_FILTER", "parse_c"}}, AGENT_PROG_LINKED);
  EXPECT_EQ(t.status, 0);
  EXPECT_EQ(t.out, "libsled copies: 1\nsites: yes\n");
  EXPECT_EQ(t.err, "");
  AgentTrace tr;
  ASSERT_TRUE(read_agent_trace(trace_dir(), true, &tr)) << tr.error;
  ASSERT_EQ(tr.threads.size(), 1u);
  EXPECT_EQ(tr.threads[0], (std::vector<std::string>{"> parse_c", "> parse_c", "> parse_c"}));
}

// Resident memory of the agent with 100 threads making traced calls: the
// figure is printed (for docs), only the trace's completeness is asserted.
TEST_F(Agent, HundredThreadsMemory) {
  Outcome p = plain({"threads", "100"});
  ASSERT_EQ(p.status, 0);
  for (const char *tracer : {"function_graph", "profile"}) {
    fs::remove_all(trace_dir());
    Outcome t = traced({"threads", "100"}, {{"SLED_TRACER", tracer}, {"SLED_FILTER", "parse_a"}});
    ASSERT_EQ(t.status, 0) << t.err;
    std::cout << "without agent: " << p.out << "with agent (" << tracer << "): " << t.out;
    AgentTrace tr;
    ASSERT_TRUE(read_agent_trace(trace_dir(), true, &tr)) << tr.error;
    if (std::string(tracer) == "profile") {
      EXPECT_EQ(tr.profile_calls, (std::map<std::string, uint64_t>{{"parse_a", 100000}}));
      continue;
    }
    size_t entries = 0;
    for (const auto &thread : tr.threads)
      for (const auto &e : thread) entries += e == "> parse_a";
    EXPECT_EQ(entries, 100000u);
    EXPECT_EQ(tr.lost, 0u);
  }
}

}  // namespace
