// The build-time patching breakdown (patch_profile.h): counters under the
// registry lock, one stderr line per call that wrote sites. Compiled to
// nothing unless SLED_PATCH_PROFILE is set.
#include "core/patch_profile.h"

#if SLED_PATCH_PROFILE
#include <time.h>
#include <unistd.h>

#include <cstdio>

namespace sled::profile {
namespace {

const char *const kNames[kPhases] = {"enter", "match",      "diff",       "plan",     "stage",
                                     "pin",   "prepare",    "protect_rw", "literals", "code",
                                     "sync",  "protect_rx", "commit",     "grace",    "other"};

struct State {
  const char *call = nullptr;
  int depth = 0;
  unsigned long long last = 0, start = 0;
  unsigned long long ns[kPhases] = {};
  size_t sites = 0;
};
State g;

unsigned long long now_ns() {
  timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);  // CPU time: the machine may be busy
  return static_cast<unsigned long long>(ts.tv_sec) * 1000000000ull +
         static_cast<unsigned long long>(ts.tv_nsec);
}

}  // namespace

void begin(const char *call) {
  if (g.depth++ > 0) return;  // nested public calls count in the outer one
  g = State{call, 1, now_ns(), 0, {}, 0};
  g.start = g.last;
}

void mark(Phase p) {
  if (g.depth == 0) return;
  unsigned long long t = now_ns();
  g.ns[p] += t - g.last;
  g.last = t;
}

void sites(size_t n) {
  if (g.depth > 0) g.sites += n;
}

void end() {
  if (g.depth == 0 || --g.depth > 0) return;
  mark(kOther);
  if (g.sites == 0) return;
  char line[1024];
  int len = snprintf(line, sizeof line, "sled-profile: %s sites=%zu total=%llu", g.call, g.sites,
                     g.last - g.start);
  for (int p = 0; p < kPhases && len > 0 && static_cast<size_t>(len) < sizeof line; p++)
    len += snprintf(line + len, sizeof line - static_cast<size_t>(len), " %s=%llu", kNames[p],
                    g.ns[p]);
  if (len > 0 && static_cast<size_t>(len) < sizeof line - 1) {
    line[len++] = '\n';
    ssize_t ignored = write(2, line, static_cast<size_t>(len));
    (void)ignored;
  }
}

}  // namespace sled::profile
#endif
