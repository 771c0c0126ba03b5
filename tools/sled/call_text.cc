// Arguments and return values as text. The recorder captures integer
// argument words only (sled_regs_arg(0..N-1): the integer argument
// registers, then stack words) and the integer return register (rax / x0);
// floating-point registers are not recorded. So, with DWARF:
//   - integer, pointer, bool, char and enum parameters take the next word;
//   - float/double parameters take a vector register: printed `?`;
//   - records (struct/class/union) up to 16 bytes are split in eightbytes
//     the ABI's way: integer eightbytes take words and are printed field by
//     field, all-float eightbytes (x86-64 SSE class, AArch64 HFAs) are `?`;
//     larger records go to memory (x86-64) or by reference (AArch64) and
//     print `{...}`; C++ classes passed by invisible reference likewise
//     take one word (their address);
//   - once anything went to the stack, later stack words no longer line up
//     with the parameters: they print `?` rather than a wrong value.
#include "call_text.h"

#include <fmt/format.h>

#include <cstring>

namespace sled::cli {
namespace {

struct Leaf {
  uint64_t offset, size;
  bool floating;
};

void leaves_of(const TypeDesc &t, uint64_t base, std::vector<Leaf> *out) {
  if ((t.kind == TypeDesc::record || t.kind == TypeDesc::union_) && !t.members.empty()) {
    for (const TypeDesc::Member &m : t.members) leaves_of(*m.type, base + m.offset, out);
    return;
  }
  out->push_back({base, t.size ? t.size : 8, t.kind == TypeDesc::floating});
}

// Per eightbyte of a record of at most 16 bytes: true when it is all
// floating point (passed in a vector register).
std::vector<bool> sse_eightbytes(const TypeDesc &t) {
  std::vector<Leaf> leaves;
  leaves_of(t, 0, &leaves);
  size_t n = (t.size + 7) / 8;
  std::vector<bool> sse(n, false);
  for (size_t eb = 0; eb < n; eb++) {
    bool any = false, all_float = true;
    for (const Leaf &l : leaves)
      if (l.offset < (eb + 1) * 8 && l.offset + l.size > eb * 8) {
        any = true;
        all_float = all_float && l.floating;
      }
    sse[eb] = any && all_float;
  }
  return sse;
}

// An AArch64 homogeneous floating-point aggregate: 1-4 floats of one size.
bool is_hfa(const TypeDesc &t) {
  std::vector<Leaf> leaves;
  leaves_of(t, 0, &leaves);
  if (leaves.empty() || leaves.size() > 4) return false;
  for (const Leaf &l : leaves)
    if (!l.floating || l.size != leaves[0].size) return false;
  return true;
}

bool scalar(const TypeDesc &t) {
  switch (t.kind) {
    case TypeDesc::sint:
    case TypeDesc::uint:
    case TypeDesc::boolean:
    case TypeDesc::character:
    case TypeDesc::pointer:
    case TypeDesc::enumeration:
      return true;
    default:
      return false;
  }
}

std::string char_text(unsigned char c) {
  switch (c) {
    case '\n':
      return "'\\n'";
    case '\t':
      return "'\\t'";
    case '\0':
      return "'\\0'";
    case '\'':
      return "'\\''";
    case '\\':
      return "'\\\\'";
  }
  if (c >= 0x20 && c < 0x7f) return fmt::format("'{}'", static_cast<char>(c));
  return fmt::format("'\\x{:02x}'", c);
}

int64_t sign_extend(uint64_t v, uint64_t size) {
  if (size >= 8 || size == 0) return static_cast<int64_t>(v);
  unsigned bits = static_cast<unsigned>(size * 8);
  uint64_t m = uint64_t{1} << (bits - 1);
  v &= (uint64_t{1} << bits) - 1;
  return static_cast<int64_t>((v ^ m) - m);
}

// The value of t at `offset` in a 16-byte buffer whose eightbytes are known
// or not.
std::string at(const TypeDesc &t, const unsigned char *buf, uint64_t offset, const bool *known) {
  uint64_t size = t.size ? t.size : 8;
  if (t.kind == TypeDesc::record ||
      (t.kind == TypeDesc::union_ && !t.members.empty() && size > 8)) {
    if (t.members.empty()) return size ? "{...}" : "{}";
    std::string out = "{";
    bool first = true;
    for (const TypeDesc::Member &m : t.members) {
      std::string v = m.bitfield ? "?" : at(*m.type, buf, offset + m.offset, known);
      if (m.name.empty() && !v.empty() && v.front() == '{' && v.size() >= 2) {
        v = v.substr(1, v.size() - 2);  // a base class: its members inline
        if (v.empty()) continue;
        out += (first ? "" : ", ") + v;
      } else {
        out += (first ? "" : ", ") + (m.name.empty() ? v : m.name + "=" + v);
      }
      first = false;
    }
    return out + "}";
  }
  if (offset + size > 16 || size > 8) return "?";
  if (!known[offset / 8] || !known[(offset + size - 1) / 8]) return "?";
  uint64_t v = 0;
  std::memcpy(&v, buf + offset, size);  // little-endian targets only (x86-64, AArch64)
  switch (t.kind) {
    case TypeDesc::sint:
      return fmt::format("{}", sign_extend(v, size));
    case TypeDesc::uint:
      return fmt::format("{}", v);
    case TypeDesc::boolean:
      return (v & 0xff) ? "true" : "false";
    case TypeDesc::character:
      return char_text(static_cast<unsigned char>(v));
    case TypeDesc::pointer:
      return fmt::format("{:#x}", v);
    case TypeDesc::enumeration: {
      int64_t s = sign_extend(v, size);
      for (const auto &[value, name] : t.enumerators)
        if (value == s || static_cast<uint64_t>(value) == v) return name;
      return fmt::format("{}", s);
    }
    case TypeDesc::floating:  // inside an integer eightbyte: the bits are real
      if (size == 4) {
        float f;
        std::memcpy(&f, &v, 4);
        return fmt::format("{}", f);
      }
      if (size == 8) {
        double d;
        std::memcpy(&d, &v, 8);
        return fmt::format("{}", d);
      }
      return "?";
    default:  // unions of 8 bytes or less, unknown types: the raw bits
      return fmt::format("{:#x}", v);
  }
}

// Reads the recorded words as sled_regs_arg numbered them.
class Words {
 public:
  Words(const std::vector<uint64_t> &values, size_t regs) : values_(values), regs_(regs) {}
  size_t next = 0;
  bool stack_ok = true;  // stack words still line up with the parameters
  size_t regs() const { return regs_; }
  // Word `next` into out (8 bytes); false when not recorded or unreliable.
  bool take(unsigned char *out) {
    size_t i = next++;
    if (i >= values_.size() || (i >= regs_ && !stack_ok)) return false;
    std::memcpy(out, &values_[i], 8);
    return true;
  }

 private:
  const std::vector<uint64_t> &values_;
  size_t regs_;
};

std::string param_value(const TypeDesc &t, Abi abi, Words &w, unsigned *vector_regs) {
  unsigned char buf[16] = {};
  bool known[2] = {false, false};
  bool x86 = abi == Abi::x86_64;
  uint64_t size = t.size;
  if (scalar(t) || (t.kind == TypeDesc::unknown && size <= 8) ||
      (t.kind == TypeDesc::union_ && size <= 8 && t.members.empty())) {
    if (size > 8) {  // __int128 and the like: two words, not decoded
      w.take(buf);
      w.take(buf);
      return "?";
    }
    known[0] = w.take(buf);
    return at(t, buf, 0, known);
  }
  if (t.kind == TypeDesc::floating) {
    // x86-64: 8 xmm registers, long double always in memory; AArch64: 8 v.
    if (size > 8 && x86) w.stack_ok = false;
    if (++*vector_regs > 8) w.stack_ok = false;
    return "?";
  }
  if (t.kind != TypeDesc::record && t.kind != TypeDesc::union_) {
    if (x86 && size > 16) w.stack_ok = false;
    return "?";
  }
  if (size == 0) return "{}";
  if (size > 16) {
    if (x86) {
      w.stack_ok = false;  // copied to the stack
    } else {
      unsigned char addr[8];
      w.take(addr);  // passed by reference: its address in the next register
    }
    return "{...}";
  }
  size_t n = (size + 7) / 8;
  if (!x86 && is_hfa(t)) {
    *vector_regs += static_cast<unsigned>(t.members.size());
    if (*vector_regs > 8) w.stack_ok = false;
    return at(t, buf, 0, known);  // every field "?"
  }
  std::vector<bool> sse = x86 ? sse_eightbytes(t) : std::vector<bool>(n, false);
  size_t ints = 0;
  for (bool s : sse) ints += s ? 0 : 1;
  if (w.next < w.regs() && w.next + ints > w.regs()) {
    // Does not fit in the registers left: the whole record goes to the
    // stack (AArch64: and no later integer argument uses a register).
    if (x86) {
      w.stack_ok = false;
      return "{...}";
    }
    w.next = w.regs();
  }
  for (size_t eb = 0; eb < n; eb++) {
    if (sse[eb] && w.next < w.regs()) {
      ++*vector_regs;
      continue;
    }
    known[eb] = w.take(buf + 8 * eb);
  }
  return at(t, buf, 0, known);
}

std::string raw_args(const Call &c) {
  std::string out = "(";
  for (size_t i = 0; i < c.args.size(); i++)
    out += fmt::format("{}0x{:x}", i ? ", " : "", c.args[i]);
  return out + ")";
}

}  // namespace

std::string value_text(const TypeDesc &t, const unsigned char *bytes, size_t n,
                       const bool *known_eightbytes) {
  unsigned char buf[16] = {};
  std::memcpy(buf, bytes, n < 16 ? n : 16);
  return at(t, buf, 0, known_eightbytes);
}

std::string args_text(const TraceModel &m, const Call &c) {
  if (c.args.empty()) return "()";
  const FunctionInfo *f = m.function_info(c.ip);
  Abi abi = m.abi_of(c.ip);
  if (!f || !f->has_params || abi == Abi::other) return raw_args(c);
  Words w(c.args, abi == Abi::x86_64 ? 6 : 8);
  // x86-64 returns a record of more than 16 bytes through a hidden pointer
  // in the first integer register (AArch64 uses x8: no shift).
  if (abi == Abi::x86_64 && (f->ret.kind == TypeDesc::record || f->ret.kind == TypeDesc::union_) &&
      f->ret.size > 16)
    w.next = 1;
  unsigned vector_regs = 0;
  std::string out = "(";
  for (size_t i = 0; i < f->params.size(); i++) {
    const Param &p = f->params[i];
    std::string v = param_value(p.type, abi, w, &vector_regs);
    out += (i ? ", " : "") + (p.name.empty() ? v : p.name + "=" + v);
  }
  if (f->variadic) out += f->params.empty() ? "..." : ", ...";
  return out + ")";
}

std::string retval_text(const TraceModel &m, const Call &c) {
  if (!c.has_retval) return "";
  const FunctionInfo *f = m.function_info(c.ip);
  Abi abi = m.abi_of(c.ip);
  if (!f || abi == Abi::other) return fmt::format(" = {}", static_cast<int64_t>(c.retval));
  const TypeDesc &t = f->ret;
  if (t.kind == TypeDesc::void_) return "";
  unsigned char buf[16] = {};
  bool known[2] = {false, false};
  if (t.kind == TypeDesc::floating) return " = ?";
  if ((t.kind == TypeDesc::record || t.kind == TypeDesc::union_) && t.size > 8) {
    if (t.size > 16 || (abi == Abi::aarch64 && is_hfa(t))) return " = {...}";
    // rax/x0 holds the first integer eightbyte; the second (rdx/x1, or an
    // xmm register) is not recorded.
    std::vector<bool> sse =
        abi == Abi::x86_64 ? sse_eightbytes(t) : std::vector<bool>((t.size + 7) / 8, false);
    size_t eb = sse[0] ? 1 : 0;
    if (eb < sse.size() && !sse[eb]) {
      std::memcpy(buf + 8 * eb, &c.retval, 8);
      known[eb] = true;
    }
    return " = " + at(t, buf, 0, known);
  }
  if (abi == Abi::aarch64 && t.kind == TypeDesc::record && is_hfa(t))
    return " = " + at(t, buf, 0, known);
  if (abi == Abi::x86_64 && t.kind == TypeDesc::record && sse_eightbytes(t)[0])
    return " = " + at(t, buf, 0, known);
  std::memcpy(buf, &c.retval, 8);
  known[0] = true;
  return " = " + at(t, buf, 0, known);
}

}  // namespace sled::cli
