// The trace reader (reader.h). Every length read from the file is checked
// against the bytes left in its record before use; every count is bounded
// by those bytes too, so hostile input costs at most its own size in
// memory and never reads out of bounds.
#include "reader.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <new>

#include "format.h"

namespace sled::reader {
namespace {

// A bounded view of one record's payload.
struct Cursor {
  const uint8_t *p, *end;
  bool ok = true;

  size_t left() const { return static_cast<size_t>(end - p); }
  uint64_t u64() {
    if (left() < 8) return fail();
    uint64_t v = fmt::get_u64(p);
    p += 8;
    return v;
  }
  uint32_t u32() {
    if (left() < 4) return static_cast<uint32_t>(fail());
    uint32_t v = fmt::get_u32(p);
    p += 4;
    return v;
  }
  uint8_t u8() {
    if (left() < 1) return static_cast<uint8_t>(fail());
    return *p++;
  }
  uint64_t varint() {
    uint64_t v = 0;
    const uint8_t *q = ok ? fmt::get_varint(p, end, &v) : nullptr;
    if (!q) return fail();
    p = q;
    return v;
  }
  std::string str() {
    uint64_t n = varint();
    if (!ok || n > left()) return fail(), std::string();
    std::string s(reinterpret_cast<const char *>(p), static_cast<size_t>(n));
    p += n;
    return s;
  }
  uint64_t fail() {
    ok = false;
    p = end;
    return 0;
  }
};

const char *record_name(uint16_t type) {
  switch (type) {
    case fmt::rec_header:
      return "header";
    case fmt::rec_thread:
      return "thread";
    case fmt::rec_chunk:
      return "chunk";
    case fmt::rec_clock:
      return "clock";
    case fmt::rec_symbols:
      return "symbols";
    case fmt::rec_section:
      return "section";
    case fmt::rec_thread_end:
      return "thread end";
    case fmt::rec_footer:
      return "footer";
    default:
      return "unknown";
  }
}

std::string at(size_t offset) { return " at offset " + std::to_string(offset); }

}  // namespace

Result<Trace> Trace::open(const std::string &dir, const OpenOptions &opts) {
  std::string path = dir + "/" + fmt::kFileName;
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return {std::nullopt, path + ": " + strerror(errno)};
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return {std::nullopt, path + ": not a regular file"};
  }
  std::string bytes;
  try {
    bytes.resize(static_cast<size_t>(st.st_size));
  } catch (const std::exception &) {
    ::close(fd);
    return {std::nullopt, path + ": too large to read into memory"};
  }
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t r = ::read(fd, bytes.data() + got, bytes.size() - got);
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) break;
    got += static_cast<size_t>(r);
  }
  ::close(fd);
  bytes.resize(got);  // a file that shrank while read: read what is there
  Result<Trace> r = from_bytes(std::move(bytes), opts);
  if (!r.ok()) r.error = path + ": " + r.error;
  return r;
}

Result<Trace> Trace::from_bytes(std::string bytes, const OpenOptions &opts) {
  try {
    Trace t;
    t.bytes_ = std::move(bytes);
    std::string err = t.parse(opts);
    if (!err.empty()) return {std::nullopt, err};
    return {std::move(t), ""};
  } catch (const std::bad_alloc &) {
    return {std::nullopt, "out of memory"};
  } catch (const std::length_error &) {
    return {std::nullopt, "out of memory"};
  }
}

std::string Trace::parse(const OpenOptions &opts) {
  const uint8_t *base = reinterpret_cast<const uint8_t *>(bytes_.data());
  size_t size = bytes_.size(), off = 0;
  bool first = true;
  while (off < size) {
    std::string problem;
    if (size - off < fmt::kRecordHeaderBytes) {
      problem = "trace cut inside a record header" + at(off);
    } else if (fmt::get_u32(base + off) != fmt::kRecordMagic) {
      problem = "corrupt record header (bad magic)" + at(off);
    } else {
      uint16_t type = fmt::get_u16(base + off + 4);
      uint16_t flags = fmt::get_u16(base + off + 6);
      uint32_t len = fmt::get_u32(base + off + 8);
      uint32_t crc = fmt::get_u32(base + off + 12);
      if (len > size - off - fmt::kRecordHeaderBytes) {
        problem = std::string("trace cut inside a ") + record_name(type) + " record" + at(off) +
                  " (" + std::to_string(len) + " bytes announced, " +
                  std::to_string(size - off - fmt::kRecordHeaderBytes) + " present)";
      } else {
        const uint8_t *payload = base + off + fmt::kRecordHeaderBytes;
        uint32_t want = fmt::crc32c(fmt::crc32c(0, base + off + 4, 8), payload, len);
        if (want != crc) {
          problem = std::string("corrupt ") + record_name(type) + " record" + at(off) +
                    " (checksum mismatch)";
        } else if (flags != 0) {
          problem = std::string("corrupt ") + record_name(type) + " record" + at(off) +
                    " (unknown flags)";
        } else if (first && type != fmt::rec_header) {
          problem = "not a sled trace: the first record is not a header";
        } else if (!first && type == fmt::rec_header) {
          problem = "a second header record" + at(off);
        } else if (footer_) {
          problem = std::string("a ") + record_name(type) + " record after the footer" + at(off);
        } else {
          problem = parse_record(type, payload, len, off);
        }
      }
      if (problem.empty()) {
        off += fmt::kRecordHeaderBytes + len;
        first = false;
        continue;
      }
    }
    if (first) {
      bool magic = size >= 4 ? fmt::get_u32(base) == fmt::kRecordMagic
                             : std::memcmp(base, "SLTR", size) == 0;
      return magic ? problem : "not a sled trace (no record magic at offset 0)";
    }
    if (opts.strict) return problem;
    cut_ = true;
    cut_reason_ = problem + "; read up to there";
    break;
  }
  if (first) return size == 0 ? "empty file: not a sled trace" : "not a sled trace";
  if (!footer_ && !cut_) {
    if (opts.strict) return "trace has no footer: the recording process did not stop it";
    cut_ = true;
    cut_reason_ =
        "no footer: the recording did not end with stop() (killed, crashed or still running)";
  }
  // Later tables (a snapshot, then stop) repeat earlier sites: one per ip,
  // the newest.
  std::stable_sort(raw_symbols_.begin(), raw_symbols_.end(),
                   [](const RawSymbol &a, const RawSymbol &b) { return a.ip < b.ip; });
  for (size_t i = 0; i < raw_symbols_.size(); i++)
    if (i + 1 == raw_symbols_.size() || raw_symbols_[i + 1].ip != raw_symbols_[i].ip)
      symbols_.push_back({raw_symbols_[i].ip, std::move(raw_symbols_[i].name),
                          &(*modules_)[raw_symbols_[i].module]});
  raw_symbols_.clear();
  for (auto &[tid, seqs] : chunks_) threads_[tid].chunks = seqs.size();
  return "";
}

std::string Trace::parse_record(uint16_t type, const uint8_t *p, size_t n, size_t offset) {
  Cursor c{p, p + n};
  auto bad = [&](const char *what) {
    return std::string("corrupt ") + record_name(type) + " record" + at(offset) + " (" + what + ")";
  };
  switch (type) {
    case fmt::rec_header: {
      header_.version = c.u32();
      if (c.ok && header_.version != fmt::kVersion)
        return "unsupported trace version " + std::to_string(header_.version) +
               " (this reader reads " + std::to_string(fmt::kVersion) + ")";
      uint8_t clock = c.u8(), mode = c.u8();
      c.u8();
      c.u8();
      if (clock < fmt::clock_tsc || clock > fmt::clock_monotonic) return bad("unknown clock");
      if (mode > 1) return bad("unknown mode");
      header_.clock = clock == fmt::clock_tsc      ? Clock::tsc
                      : clock == fmt::clock_cntvct ? Clock::cntvct
                                                   : Clock::monotonic;
      header_.mode = mode ? Mode::overwrite_oldest : Mode::drop_newest;
      header_.ticks_per_second = c.u64();
      header_.start_ticks = c.u64();
      header_.start_ns = c.u64();
      header_.start_realtime_ns = c.u64();
      header_.pid = c.u32();
      header_.chunk_bytes = c.u32();
      header_.buffer_bytes = c.u64();
      header_.program = c.str();
      if (!c.ok) return bad("too short");
      last_ticks_ = header_.start_ticks;
      last_ns_ = header_.start_ns;
      return "";
    }
    case fmt::rec_thread: {
      uint32_t tid = c.u32();
      std::string name = c.str();
      if (!c.ok) return bad("too short");
      Thread &t = threads_[tid];
      t.tid = tid;
      t.name = name;
      return "";
    }
    case fmt::rec_chunk: {
      if (n < fmt::kChunkHeaderBytes) return bad("shorter than a chunk header");
      uint32_t tid = fmt::get_u32(p);
      uint64_t seq = fmt::get_u64(p + 8);
      bool stopped = false;
      std::string err = decode_chunk(p, n, nullptr, &stopped);
      if (!err.empty()) return bad(err.c_str());
      Thread &t = threads_[tid];
      t.tid = tid;
      t.lost = std::max(t.lost, fmt::get_u64(p + 24));
      ChunkRef &ref = chunks_[tid][seq];
      if (n > ref.size)
        ref = {static_cast<size_t>(p - reinterpret_cast<const uint8_t *>(bytes_.data())), n};
      return "";
    }
    case fmt::rec_clock: {
      uint64_t ticks = c.u64(), ns = c.u64();
      if (!c.ok) return bad("too short");
      if (ticks > header_.start_ticks) last_ticks_ = ticks, last_ns_ = ns;
      return "";
    }
    case fmt::rec_symbols: {
      uint64_t nm = c.varint();
      if (!c.ok || nm > c.left()) return bad("module count");
      size_t first_module = modules_->size();
      for (uint64_t i = 0; i < nm; i++) {
        Module m;
        m.name = c.str();
        m.path = c.str();
        m.lo = c.varint();
        uint64_t len = c.varint();
        m.hi = m.lo + len;
        if (!c.ok || m.hi < m.lo) return bad("module");
        modules_->push_back(std::move(m));
      }
      uint64_t ns = c.varint();
      if (!c.ok || ns > c.left()) return bad("site count");
      uintptr_t ip = 0;
      for (uint64_t i = 0; i < ns; i++) {
        uint64_t mod = c.varint();
        ip += c.varint();
        std::string name = c.str();
        if (!c.ok || mod >= nm) return bad("site");
        raw_symbols_.push_back({ip, std::move(name), first_module + static_cast<size_t>(mod)});
      }
      // Build-ids, one per module, when the writer added them (traces
      // written before they were end here).
      if (c.left() > 0)
        for (uint64_t i = 0; i < nm; i++) {
          std::string id = c.str();
          if (!c.ok) return bad("build-id");
          (*modules_)[first_module + static_cast<size_t>(i)].build_id = std::move(id);
        }
      return "";
    }
    case fmt::rec_section: {
      std::string name = c.str();
      if (!c.ok) return bad("name");
      sections_[name] = std::string(reinterpret_cast<const char *>(c.p), c.left());
      return "";
    }
    case fmt::rec_thread_end: {
      uint32_t tid = c.u32();
      uint64_t ev = c.u64(), lost = c.u64();
      if (!c.ok) return bad("too short");
      Thread &t = threads_[tid];
      t.tid = tid;
      t.exited = true;
      t.totals_known = true;
      t.events = ev;
      t.lost = lost;
      return "";
    }
    case fmt::rec_footer: {
      total_events_ = c.u64();
      total_lost_ = c.u64();
      c.u64();  // threads
      uint64_t ticks = c.u64(), ns = c.u64();
      uint64_t rows = c.varint();
      if (!c.ok || rows > c.left() / 20) return bad("thread rows");
      for (uint64_t i = 0; i < rows; i++) {
        uint32_t tid = c.u32();
        uint64_t ev = c.u64(), lost = c.u64();
        Thread &t = threads_[tid];
        t.tid = tid;
        t.totals_known = true;
        t.events = ev;
        t.lost = lost;
      }
      if (!c.ok) return bad("too short");
      if (ticks > header_.start_ticks) last_ticks_ = ticks, last_ns_ = ns;
      footer_ = true;
      return "";
    }
    default:
      return std::string("unknown record type ") + std::to_string(type) + at(offset);
  }
}

std::string Trace::decode_chunk(const uint8_t *p, size_t n,
                                const std::function<bool(const Event &)> *fn, bool *stopped) const {
  uint32_t tid = fmt::get_u32(p);
  if (fmt::get_u32(p + 4) != 0) return "unknown chunk flags";
  uint64_t ts = fmt::get_u64(p + 16);
  uint64_t prev_ip = 0, prev_parent = 0;
  const uint8_t *q = p + fmt::kChunkHeaderBytes, *end = p + n;
  Event ev;
  ev.tid = tid;
  uint64_t last_ip = 0;
  auto var = [&](uint64_t *out) {
    const uint8_t *r = q ? fmt::get_varint(q, end, out) : nullptr;
    q = r;
    return r != nullptr;
  };
  while (q < end) {
    uint8_t h = *q++;
    uint64_t d = 0, a = 0, b = 0, k = 0;
    ev.values.clear();
    ev.parent_ip = 0;
    ev.unwound = false;
    ev.marker = 0;
    ev.marker_arg = 0;
    switch (h) {
      case fmt::ev_entry:
        if (!var(&d) || !var(&a) || !var(&b)) return "event runs past the chunk";
        ts += d;
        prev_ip += static_cast<uint64_t>(fmt::unzigzag(a));
        prev_parent += static_cast<uint64_t>(fmt::unzigzag(b));
        ev.kind = EventKind::entry;
        ev.ip = last_ip = prev_ip;
        ev.parent_ip = prev_parent;
        break;
      case fmt::ev_exit:
      case fmt::ev_exit_unwound:
        if (!var(&d) || !var(&a)) return "event runs past the chunk";
        ts += d;
        prev_ip += static_cast<uint64_t>(fmt::unzigzag(a));
        ev.kind = EventKind::exit;
        ev.ip = last_ip = prev_ip;
        ev.unwound = h == fmt::ev_exit_unwound;
        break;
      case fmt::ev_args: {
        if (q >= end) return "event runs past the chunk";
        unsigned cnt = *q++;
        if (cnt == 0 || cnt > fmt::kMaxArgs) return "bad argument count";
        for (unsigned i = 0; i < cnt; i++) {
          if (!var(&a)) return "event runs past the chunk";
          ev.values.push_back(static_cast<uint64_t>(fmt::unzigzag(a)));
        }
        ev.kind = EventKind::args;
        ev.ip = last_ip;
        break;
      }
      case fmt::ev_retval:
        if (!var(&a)) return "event runs past the chunk";
        ev.values.push_back(static_cast<uint64_t>(fmt::unzigzag(a)));
        ev.kind = EventKind::retval;
        ev.ip = last_ip;
        break;
      case fmt::ev_stack: {
        if (!var(&d) || q >= end) return "event runs past the chunk";
        ts += d;
        unsigned cnt = *q++;
        if (cnt > fmt::kMaxStack) return "bad stack depth";
        uint64_t ip = prev_ip;
        for (unsigned i = 0; i < cnt; i++) {
          if (!var(&a)) return "event runs past the chunk";
          ip += static_cast<uint64_t>(fmt::unzigzag(a));
          ev.values.push_back(ip);
        }
        ev.kind = EventKind::stack;
        ev.ip = cnt ? ev.values[0] : 0;
        break;
      }
      case fmt::ev_marker:
        if (!var(&d) || !var(&a) || !var(&k) || !var(&b)) return "event runs past the chunk";
        ts += d;
        ev.kind = EventKind::marker;
        ev.ip = prev_ip + static_cast<uint64_t>(fmt::unzigzag(a));
        if (k > UINT32_MAX) return "bad marker kind";
        ev.marker = static_cast<uint32_t>(k);
        ev.marker_arg = b;
        break;
      default:
        return "unknown event kind " + std::to_string(h);
    }
    if (fn) {
      ev.ticks = ts;
      ev.ns = to_ns(ts);
      if (!(*fn)(ev)) {
        *stopped = true;
        return "";
      }
    }
  }
  return "";
}

std::string Trace::for_each_event(uint32_t tid,
                                  const std::function<bool(const Event &)> &fn) const {
  try {
    auto it = chunks_.find(tid);
    if (it == chunks_.end()) return threads_.count(tid) ? "" : "no thread " + std::to_string(tid);
    const uint8_t *base = reinterpret_cast<const uint8_t *>(bytes_.data());
    for (const auto &[seq, ref] : it->second) {
      bool stopped = false;
      std::string err = decode_chunk(base + ref.offset, ref.size, &fn, &stopped);
      if (!err.empty())
        return "chunk " + std::to_string(seq) + " of thread " + std::to_string(tid) + ": " + err;
      if (stopped) break;
    }
    return "";
  } catch (const std::bad_alloc &) {
    return "out of memory";
  }
}

Result<std::vector<Event>> Trace::events(uint32_t tid) const {
  try {
    std::vector<Event> out;
    std::string err = for_each_event(tid, [&](const Event &e) {
      out.push_back(e);
      return true;
    });
    if (!err.empty()) return {std::nullopt, err};
    return {std::move(out), ""};
  } catch (const std::bad_alloc &) {
    return {std::nullopt, "out of memory"};
  }
}

std::vector<uint32_t> Trace::thread_ids() const {
  std::vector<uint32_t> v;
  for (const auto &[tid, t] : threads_) v.push_back(tid);
  return v;
}

const Thread *Trace::thread(uint32_t tid) const {
  auto it = threads_.find(tid);
  return it == threads_.end() ? nullptr : &it->second;
}

const Symbol *Trace::symbol_at(uintptr_t ip) const {
  auto it = std::lower_bound(symbols_.begin(), symbols_.end(), ip,
                             [](const Symbol &s, uintptr_t v) { return s.ip < v; });
  return it != symbols_.end() && it->ip == ip ? &*it : nullptr;
}

const Symbol *Trace::symbol_containing(uintptr_t addr) const {
  const Module *mod = nullptr;
  for (const Module &m : *modules_)
    if (addr >= m.lo && addr < m.hi) mod = &m;
  if (!mod) return nullptr;
  auto it = std::upper_bound(symbols_.begin(), symbols_.end(), addr,
                             [](uintptr_t v, const Symbol &s) { return v < s.ip; });
  if (it == symbols_.begin()) return nullptr;
  --it;
  // The same module: another load of the same file elsewhere does not count.
  if (it->module->lo != mod->lo || it->module->path != mod->path) return nullptr;
  return &*it;
}

const std::string *Trace::section(const std::string &name) const {
  auto it = sections_.find(name);
  return it == sections_.end() ? nullptr : &it->second;
}

std::vector<std::string> Trace::section_names() const {
  std::vector<std::string> v;
  for (const auto &[name, bytes] : sections_) v.push_back(name);
  return v;
}

uint64_t Trace::total_lost() const {
  if (footer_) return total_lost_;
  uint64_t sum = 0;
  for (const auto &[tid, t] : threads_) sum += t.lost;
  return sum;
}

uint64_t Trace::to_ns(uint64_t ticks) const {
  if (header_.clock == Clock::monotonic) return ticks;
  // Unsigned 128-bit products: |dt| and the spans are below 2^64, so the
  // product fits; a hostile file can only make the result wrap.
  bool before = ticks < header_.start_ticks;
  uint64_t mag = before ? header_.start_ticks - ticks : ticks - header_.start_ticks;
  unsigned __int128 ns;
  if (last_ticks_ > header_.start_ticks && last_ns_ > header_.start_ns)
    ns = static_cast<unsigned __int128>(mag) * (last_ns_ - header_.start_ns) /
         (last_ticks_ - header_.start_ticks);
  else if (header_.ticks_per_second)
    ns = static_cast<unsigned __int128>(mag) * 1000000000u / header_.ticks_per_second;
  else
    ns = mag;
  uint64_t d = static_cast<uint64_t>(ns);
  return before ? header_.start_ns - d : header_.start_ns + d;
}

}  // namespace sled::reader
