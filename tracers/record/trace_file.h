// The trace file: framing of records (format.h) and appending them. Used
// by the writer thread and by start/snapshot/stop under the session's ctl
// lock; never by a traced thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace sled::rec {

class TraceFile {
 public:
  ~TraceFile();
  // Creates dir (one level, 0755 if missing) and dir/trace.sled (truncated).
  int open(const std::string &dir);
  // One record: header + the concatenation of the parts. Once a write has
  // failed, later records are not written (the reader sees a cut trace).
  int append(uint16_t type, const void *a, size_t na, const void *b = nullptr, size_t nb = 0);
  int append(uint16_t type, const std::string &payload) {
    return append(type, payload.data(), payload.size());
  }
  uint64_t bytes_written() const { return bytes_; }
  int error() const { return error_; }
  void close();

 private:
  int fd_ = -1;
  int error_ = 0;
  uint64_t bytes_ = 0;
};

// Little helpers to build payloads.
void put_u32(std::string &s, uint32_t v);
void put_u64(std::string &s, uint64_t v);
void put_varint(std::string &s, uint64_t v);
void put_string(std::string &s, const std::string &v);

}  // namespace sled::rec
