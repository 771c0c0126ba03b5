// Appends framed records to dir/trace.sled with one writev each, so that a
// process killed between two records leaves whole records behind (a cut
// inside the last one is seen by its size and checksum).
#include "trace_file.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include <cerrno>

#include "format.h"

namespace sled::rec {

TraceFile::~TraceFile() { close(); }

int TraceFile::open(const std::string &dir) {
  if (mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return -errno;
  std::string path = dir + "/" + fmt::kFileName;
  fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_APPEND, 0644);
  if (fd_ < 0) return -errno;
  return 0;
}

void TraceFile::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

int TraceFile::append(uint16_t type, const void *a, size_t na, const void *b, size_t nb) {
  if (fd_ < 0) return -EBADF;
  if (error_) return error_;
  uint8_t h[fmt::kRecordHeaderBytes];
  fmt::put_u32(h, fmt::kRecordMagic);
  fmt::put_u16(h + 4, type);
  fmt::put_u16(h + 6, 0);
  fmt::put_u32(h + 8, static_cast<uint32_t>(na + nb));
  uint32_t crc = fmt::crc32c(0, h + 4, 8);
  crc = fmt::crc32c(crc, a, na);
  if (nb) crc = fmt::crc32c(crc, b, nb);
  fmt::put_u32(h + 12, crc);
  iovec iov[3] = {{h, sizeof h}, {const_cast<void *>(a), na}, {const_cast<void *>(b), nb}};
  int cnt = nb ? 3 : 2;
  size_t total = sizeof h + na + nb, done = 0;
  iovec *v = iov;
  while (done < total) {
    ssize_t r = writev(fd_, v, cnt);
    if (r < 0) {
      if (errno == EINTR) continue;
      error_ = -errno;
      return error_;
    }
    done += static_cast<size_t>(r);
    // Skip what was written (partial writes: a full disk, a signal).
    size_t left = static_cast<size_t>(r);
    while (cnt && left >= v->iov_len) {
      left -= v->iov_len;
      v++;
      cnt--;
    }
    if (cnt) {
      v->iov_base = static_cast<uint8_t *>(v->iov_base) + left;
      v->iov_len -= left;
    }
  }
  bytes_ += total;
  return 0;
}

void put_u32(std::string &s, uint32_t v) {
  uint8_t b[4];
  fmt::put_u32(b, v);
  s.append(reinterpret_cast<char *>(b), 4);
}
void put_u64(std::string &s, uint64_t v) {
  uint8_t b[8];
  fmt::put_u64(b, v);
  s.append(reinterpret_cast<char *>(b), 8);
}
void put_varint(std::string &s, uint64_t v) {
  uint8_t b[fmt::kMaxVarint];
  s.append(reinterpret_cast<char *>(b), static_cast<size_t>(fmt::put_varint(b, v) - b));
}
void put_string(std::string &s, const std::string &v) {
  put_varint(s, v.size());
  s += v;
}

}  // namespace sled::rec
