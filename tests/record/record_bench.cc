// The recorder's hot path, measured: ns per entry()+exit() pair (with and
// without the two now() calls a tracer makes) and bytes per pair in the
// trace. Prints figures; asserts only that the trace reads back whole and
// that a pair stays under 32 bytes (a format property, not a timing).
// Usage: record_bench [pairs per round, default 100000 x 40 rounds]

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "reader.h"
#include "recorder.h"

namespace rec = sled::rec;

namespace {

double now_s() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// A call pattern like a loop calling three small functions from three
// call sites: ips a few KiB apart, callers close together.
const uintptr_t kIps[3] = {0x55550000a000, 0x55550000a640, 0x55550000b210};
const uintptr_t kCallers[3] = {0x555500010010, 0x555500010024, 0x555500010038};

__attribute__((noinline)) void pairs_with_now(uint64_t n) {
  for (uint64_t i = 0; i < n; i++) {
    rec::Writer *w = rec::thread_writer();
    if (!w) continue;
    unsigned k = i % 3;
    rec::entry(w, rec::now(), kIps[k], kCallers[k]);
    rec::exit(w, rec::now(), kIps[k], false);
  }
}

__attribute__((noinline)) void pairs_fixed_ts(uint64_t n, uint64_t &ts) {
  for (uint64_t i = 0; i < n; i++) {
    rec::Writer *w = rec::thread_writer();
    if (!w) continue;
    unsigned k = i % 3;
    rec::entry(w, ts += 25, kIps[k], kCallers[k]);
    rec::exit(w, ts += 40, kIps[k], false);
  }
}

// The floor: the same calls, each appending a fixed number of bytes (5 for
// an entry, 3 for an exit, the sizes the recorder's encoding reaches here)
// to a reused buffer: no varints, no thread lookup, no publication.
uint8_t g_floor_buf[1 << 21];
size_t g_floor_pos;
__attribute__((noinline)) void floor_entry(uint64_t ts, uintptr_t ip, uintptr_t parent) {
  if (g_floor_pos + 16 > sizeof g_floor_buf) g_floor_pos = 0;
  uint8_t *p = g_floor_buf + g_floor_pos;
  p[0] = 1;
  p[1] = static_cast<uint8_t>(ts);
  p[2] = static_cast<uint8_t>(ip);
  p[3] = static_cast<uint8_t>(ip >> 8);
  p[4] = static_cast<uint8_t>(parent);
  g_floor_pos += 5;
}
__attribute__((noinline)) void floor_exit(uint64_t ts, uintptr_t ip) {
  if (g_floor_pos + 16 > sizeof g_floor_buf) g_floor_pos = 0;
  uint8_t *p = g_floor_buf + g_floor_pos;
  p[0] = 2;
  p[1] = static_cast<uint8_t>(ts);
  p[2] = static_cast<uint8_t>(ip);
  g_floor_pos += 3;
}
__attribute__((noinline)) void pairs_floor(uint64_t n, uint64_t &ts) {
  for (uint64_t i = 0; i < n; i++) {
    unsigned k = i % 3;
    floor_entry(ts += 25, kIps[k], kCallers[k]);
    floor_exit(ts += 40, kIps[k]);
  }
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

// Runs `rounds` timed rounds of n pairs, pausing between them so that the
// writer thread drains (the ring is reused: its pages are faulted once, in
// the untimed warm-up rounds). Returns ns per pair of each timed round.
template <class F>
std::vector<double> rounds(int warm, int timed, uint64_t n, F body) {
  std::vector<double> out;
  for (int r = 0; r < warm + timed; r++) {
    double t0 = now_s();
    body(n);
    double t1 = now_s();
    if (r >= warm) out.push_back((t1 - t0) * 1e9 / static_cast<double>(n));
    std::this_thread::sleep_for(std::chrono::milliseconds(15));
  }
  return out;
}

}  // namespace

int main(int argc, char **argv) {
  uint64_t n = argc > 1 ? strtoull(argv[1], nullptr, 10) / 40 : 100000;
  if (n < 1000) n = 1000;
  // The traces go to a scratch directory, removed at the end.
  const char *tmp = getenv("TMPDIR");
  std::string tmpl = std::string(tmp && *tmp ? tmp : "/tmp") + "/sled-record-bench-XXXXXX";
  if (!mkdtemp(tmpl.data())) return 1;
  std::string dir = tmpl;

  rec::Options o;
  o.dir = dir;
  o.buffer_bytes = 2u << 20;  // the ring is reused: faulted in once, in the warm-up
  if (int rc = rec::start(o)) {
    fprintf(stderr, "start: %d\n", rc);
    return 1;
  }
  // now() alone, with the session's clock.
  uint64_t sink = 0;
  double t0 = now_s();
  for (uint64_t i = 0; i < 10 * n; i++) sink += rec::now();
  double now_ns = (now_s() - t0) * 1e9 / static_cast<double>(10 * n);

  uint64_t ts = rec::now();
  uint64_t fts = 0;
  auto floor = rounds(4, 20, n, [&](uint64_t k) { pairs_floor(k, fts); });
  auto fixed = rounds(8, 20, n, [&](uint64_t k) { pairs_fixed_ts(k, ts); });
  if (rec::stop() != 0) return 1;
  rec::Stats mid = rec::stats();
  auto tr = sled::reader::Trace::open(dir);
  if (!tr.ok()) {
    fprintf(stderr, "read: %s\n", tr.error.c_str());
    return 1;
  }
  uint64_t read = 0;
  for (uint32_t tid : tr->thread_ids()) read += tr->events(tid)->size();

  if (rec::start(o) != 0) return 1;
  auto with_now = rounds(8, 20, n, pairs_with_now);
  if (rec::stop() != 0) return 1;
  rec::Stats st2 = rec::stats();

  double pairs_fixed = static_cast<double>(mid.events) / 2,
         pairs_now = static_cast<double>(st2.events) / 2;
  double bytes_fixed = static_cast<double>(mid.bytes_written) / pairs_fixed;
  double bytes_now = static_cast<double>(st2.bytes_written) / pairs_now;
  const char *clock_names[] = {"tsc", "cntvct", "monotonic"};
  printf("now():                            %.2f ns/call (%s)\n", now_ns,
         clock_names[static_cast<int>(tr->header().clock)]);
  printf("floor (same calls, fixed bytes):  %.2f ns/pair (median; min %.2f)\n", median(floor),
         *std::min_element(floor.begin(), floor.end()));
  printf("entry+exit, fixed ts:             %.2f ns/pair (median of 20 rounds of %lu; min %.2f)\n",
         median(fixed), static_cast<unsigned long>(n),
         *std::min_element(fixed.begin(), fixed.end()));
  printf("entry+exit + 2 now() + writer():  %.2f ns/pair (median; min %.2f)\n", median(with_now),
         *std::min_element(with_now.begin(), with_now.end()));
  printf("bytes per pair (file / pairs):    %.2f (ts deltas 25/40 ticks), %.2f (real now())\n",
         bytes_fixed, bytes_now);
  printf("lost: %lu, %lu; events read back %lu of %lu\n", static_cast<unsigned long>(mid.lost),
         static_cast<unsigned long>(st2.lost), static_cast<unsigned long>(read),
         static_cast<unsigned long>(mid.events));
  (void)sink;
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  if (read != mid.events) return 1;
  if (bytes_fixed >= 32) return 1;
  return 0;
}
