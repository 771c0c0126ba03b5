// The control socket inside one process, as `sled attach` uses it: the test
// dlopens libsled-preload.so with no SLED_TRACER (the agent must start
// idle: a socket, no session, nothing patched), then drives it with the
// sled command's client (ctl_client.h) over the socket: start, a live
// filter change with exact event counts, a bad request, stop. Runs in
// every configuration, qemu-user included (no LD_PRELOAD involved).
#include <dlfcn.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "ctl_client.h"

extern "C" void ctl_fixture_a(long i);
extern "C" void ctl_fixture_b(long i);

namespace {

using sled::cli::CtlReply;

std::string g_socket;
std::string g_tmp;

// The scratch directory, at exit: atexit handlers run before the agent's
// destructor, which then finds its socket file gone (and says nothing).
pid_t g_tmp_owner = 0;
void remove_tmp() {
  if (getpid() != g_tmp_owner) return;  // a forked child's exit
  std::string cmd = "rm -rf '" + g_tmp + "'";
  if (system(cmd.c_str()) != 0) fprintf(stderr, "could not remove %s\n", g_tmp.c_str());
}

CtlReply request(const std::string &line) {
  CtlReply reply;
  std::string error;
  EXPECT_TRUE(sled::cli::ctl_request(g_socket, 0, line, &reply, &error)) << line << ": " << error;
  return reply;
}

std::string value(const CtlReply &r, const std::string &key) {
  for (const std::string &l : r.lines)
    if (l.rfind(key + " ", 0) == 0) return l.substr(key.size() + 1);
  return "";
}

std::string site_state(const CtlReply &r, const std::string &function) {
  for (const std::string &l : r.lines)
    if (l.find("\t" + function + "\t") != std::string::npos) return l.substr(l.find('\t') + 1);
  return "";
}

TEST(CtlInProcess, IdleAgentStartsFiltersAndStops) {
  char tmpl[] = "/tmp/sled-ctl-inproc-XXXXXX";
  ASSERT_TRUE(mkdtemp(tmpl));
  std::string tmp = tmpl;
  g_tmp = tmp;
  g_tmp_owner = getpid();
  atexit(remove_tmp);
  setenv("XDG_RUNTIME_DIR", tmp.c_str(), 1);
  unsetenv("SLED_TRACER");
  unsetenv("SLED_CONTROL");
  void *agent = dlopen(AGENT_PRELOAD, RTLD_NOW);
  ASSERT_NE(agent, nullptr) << dlerror();
  g_socket = tmp + "/sled/" + std::to_string(getpid()) + ".sock";
  struct stat st;
  ASSERT_EQ(stat((tmp + "/sled").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  ASSERT_EQ(stat(g_socket.c_str(), &st), 0) << g_socket;
  EXPECT_TRUE(S_ISSOCK(st.st_mode));

  // Idle: no session, nothing patched.
  CtlReply list = request("list");
  ASSERT_TRUE(list.ok) << list.error;
  EXPECT_EQ(list.lines, (std::vector<std::string>{"pid " + std::to_string(getpid()),
                                                  "strategy callops", "output -"}));
  CtlReply stats = request("stats");
  ASSERT_TRUE(stats.ok);
  EXPECT_EQ(value(stats, "sites_enabled"), "0");
  EXPECT_EQ(value(stats, "events"), "");  // no session was ever opened

  CtlReply start = request("start function filter=ctl_fixture_a dir=" + tmp + "/trace");
  ASSERT_TRUE(start.ok) << start.error;
  EXPECT_EQ(start.lines, (std::vector<std::string>{"started function into " + tmp + "/trace"}));
  EXPECT_NE(site_state(request("sites"), "ctl_fixture_a").find("\tenabled\t1\t-"),
            std::string::npos);
  for (int i = 0; i < 10; ++i) ctl_fixture_a(i), ctl_fixture_b(i);
  EXPECT_EQ(value(request("stats"), "events"), "10");

  // A bad request changes nothing.
  CtlReply bad = request("filter no_such_function_anywhere");
  EXPECT_FALSE(bad.ok);
  EXPECT_EQ(bad.error, "filter: pattern 'no_such_function_anywhere' matches no function");
  for (int i = 0; i < 3; ++i) ctl_fixture_a(i), ctl_fixture_b(i);
  EXPECT_EQ(value(request("stats"), "events"), "13");

  // Live: from a to b.
  CtlReply filter = request("filter ctl_fixture_b");
  ASSERT_TRUE(filter.ok) << filter.error;
  EXPECT_EQ(filter.lines, (std::vector<std::string>{"function filter=ctl_fixture_b"}));
  CtlReply sites = request("sites");
  EXPECT_NE(site_state(sites, "ctl_fixture_b").find("\tenabled\t1\t-"), std::string::npos)
      << site_state(sites, "ctl_fixture_b");
  EXPECT_NE(site_state(sites, "ctl_fixture_a").find("\tdisabled\t0\t-"), std::string::npos)
      << site_state(sites, "ctl_fixture_a");
  for (int i = 0; i < 5; ++i) ctl_fixture_a(i), ctl_fixture_b(i), ctl_fixture_b(i);
  EXPECT_EQ(value(request("stats"), "events"), "23");

  CtlReply stop = request("stop");
  ASSERT_TRUE(stop.ok) << stop.error;
  EXPECT_EQ(stop.lines, (std::vector<std::string>{"stopped function",
                                                  "closed " + tmp + "/trace events 23 lost 0"}));
  EXPECT_EQ(request("list").lines.size(), 3u);
  EXPECT_EQ(value(request("stats"), "sites_enabled"), "0");
  EXPECT_EQ(stat((tmp + "/trace/trace.sled").c_str(), &st), 0);

  // fork without exec: the child has no socket of its own, and its exit
  // (the agent's destructor runs in it) leaves the parent's alone.
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    struct stat cs;
    bool own = stat((tmp + "/sled/" + std::to_string(getpid()) + ".sock").c_str(), &cs) == 0;
    exit(own ? 3 : 0);
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << status;
  EXPECT_EQ(stat(g_socket.c_str(), &st), 0);
  EXPECT_TRUE(request("list").ok);
}

}  // namespace
