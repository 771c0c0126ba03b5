// The protobuf wire format, write side only: varints, fixed64 and
// length-delimited fields appended to a byte string. A pure encoder (bytes
// out, no I/O, no schema); a nested message is built in its own ProtoMsg and
// appended with message(). Enough for Perfetto's trace (perfetto_writer.h);
// no libprotobuf.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace sled::cli {

class ProtoMsg {
 public:
  enum WireType : uint32_t { kVarint = 0, kFixed64 = 1, kLengthDelimited = 2 };

  void varint(uint32_t field, uint64_t value) {
    tag(field, kVarint);
    raw_varint(value);
  }
  // int64/int32 fields: two's complement in ten bytes when negative (not zigzag).
  void int64(uint32_t field, int64_t value) { varint(field, static_cast<uint64_t>(value)); }
  void boolean(uint32_t field, bool value) { varint(field, value ? 1 : 0); }
  void fixed64(uint32_t field, uint64_t value) {
    tag(field, kFixed64);
    for (int i = 0; i < 8; i++) bytes_.push_back(static_cast<char>(value >> (8 * i)));
  }
  void string(uint32_t field, std::string_view value) {
    tag(field, kLengthDelimited);
    raw_varint(value.size());
    bytes_.append(value);
  }
  void message(uint32_t field, const ProtoMsg &m) { string(field, m.bytes_); }

  const std::string &bytes() const { return bytes_; }
  bool empty() const { return bytes_.empty(); }
  void clear() { bytes_.clear(); }

 private:
  void tag(uint32_t field, WireType type) { raw_varint(uint64_t{field} << 3 | type); }
  void raw_varint(uint64_t v) {
    while (v >= 0x80) {
      bytes_.push_back(static_cast<char>(v | 0x80));
      v >>= 7;
    }
    bytes_.push_back(static_cast<char>(v));
  }
  std::string bytes_;
};

}  // namespace sled::cli
