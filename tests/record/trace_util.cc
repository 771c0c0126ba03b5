// Helpers for the record tests (trace_util.h).
#include "trace_util.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace rectest {

TempDir::TempDir() {
  const char *base = getenv("TMPDIR");
  std::string tmpl = std::string(base && *base ? base : "/tmp") + "/sled-record-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back(0);
  if (mkdtemp(buf.data())) path = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  if (!path.empty()) std::filesystem::remove_all(path, ec);
}

std::string read_file(const std::string &path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

uint32_t gettid_() { return static_cast<uint32_t>(syscall(SYS_gettid)); }

using sled::reader::Event;
using sled::reader::EventKind;

Expect::Expect(sled::rec::Writer *writer) : w(writer), tid(gettid_()) {}

void Expect::entry(uint64_t ts, uintptr_t ip, uintptr_t parent) {
  sled::rec::entry(w, ts, ip, parent);
  Event e{EventKind::entry};
  e.tid = tid;
  e.ticks = last_ticks = ts;
  e.ip = last_ip = ip;
  e.parent_ip = parent;
  events.push_back(e);
}

void Expect::exit(uint64_t ts, uintptr_t ip, bool unwound) {
  sled::rec::exit(w, ts, ip, unwound);
  Event e{EventKind::exit};
  e.tid = tid;
  e.ticks = last_ticks = ts;
  e.ip = last_ip = ip;
  e.unwound = unwound;
  events.push_back(e);
}

void Expect::args(const std::vector<uint64_t> &values) {
  sled::rec::args(w, values.data(), static_cast<unsigned>(values.size()));
  Event e{EventKind::args};
  e.tid = tid;
  e.ticks = last_ticks;
  e.ip = last_ip;
  e.values = values;
  events.push_back(e);
}

void Expect::retval(uint64_t value) {
  sled::rec::retval(w, value);
  Event e{EventKind::retval};
  e.tid = tid;
  e.ticks = last_ticks;
  e.ip = last_ip;
  e.values = {value};
  events.push_back(e);
}

void Expect::stack(uint64_t ts, const std::vector<uintptr_t> &ips) {
  sled::rec::stack(w, ts, ips.data(), static_cast<unsigned>(ips.size()));
  Event e{EventKind::stack};
  e.tid = tid;
  e.ticks = last_ticks = ts;
  e.ip = ips.empty() ? 0 : ips[0];
  e.values.assign(ips.begin(), ips.end());
  events.push_back(e);
}

void Expect::marker(uint64_t ts, uintptr_t ip, sled::rec::Marker kind, uint64_t arg) {
  sled::rec::marker(w, ts, ip, kind, arg);
  Event e{EventKind::marker};
  e.tid = tid;
  e.ticks = last_ticks = ts;
  e.ip = ip;
  e.marker = static_cast<uint32_t>(kind);
  e.marker_arg = arg;
  events.push_back(e);
}

void Expect::fill_ns(const sled::reader::Trace &t) {
  for (Event &e : events) e.ns = t.to_ns(e.ticks);
}

}  // namespace rectest
