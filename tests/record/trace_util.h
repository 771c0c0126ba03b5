// Helpers shared by the record tests: scratch trace directories, and a
// recorder front that writes each event through sled::rec and remembers
// the event the reader should give back for it.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "reader.h"
#include "recorder.h"

namespace rectest {

// A fresh directory under $TMPDIR (or /tmp), removed by the destructor.
struct TempDir {
  TempDir();
  ~TempDir();
  std::string path;
};

std::string read_file(const std::string &path);

// Writes events through one thread's Writer and keeps their expected
// decoded form (ns filled in by fill_ns once the trace is read).
struct Expect {
  sled::rec::Writer *w;
  uint32_t tid;
  std::vector<sled::reader::Event> events;
  uint64_t last_ticks = 0;
  uintptr_t last_ip = 0;

  explicit Expect(sled::rec::Writer *writer);
  void entry(uint64_t ts, uintptr_t ip, uintptr_t parent);
  void exit(uint64_t ts, uintptr_t ip, bool unwound = false);
  void args(const std::vector<uint64_t> &values);
  void retval(uint64_t value);
  void stack(uint64_t ts, const std::vector<uintptr_t> &ips);
  void marker(uint64_t ts, uintptr_t ip, sled::rec::Marker kind, uint64_t arg);
  void fill_ns(const sled::reader::Trace &t);
};

uint32_t gettid_();

}  // namespace rectest
