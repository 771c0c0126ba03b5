// sled_reader: reads a trace directory written by the recorder
// (docs/trace-format.md). A static library for tests and the command-line
// tool; never part of the runtime. No exception leaves this API: results
// carry an error message instead. Hostile input is bounded by the file's
// size: the whole file is read into memory once, nothing else grows with
// claimed lengths.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace sled::reader {

template <class T>
struct Result {
  std::optional<T> value;
  std::string error;  // set when !value
  bool ok() const { return value.has_value(); }
  T &operator*() { return *value; }
  T *operator->() { return &*value; }
};

enum class Clock { tsc, cntvct, monotonic };
enum class Mode { drop_newest, overwrite_oldest };

struct Header {
  uint32_t version = 0;
  Clock clock = Clock::monotonic;
  Mode mode = Mode::drop_newest;
  uint64_t ticks_per_second = 0;  // nominal (measured over 2 ms at start for the TSC)
  uint64_t start_ticks = 0;
  uint64_t start_ns = 0;           // CLOCK_MONOTONIC at start
  uint64_t start_realtime_ns = 0;  // CLOCK_REALTIME at start
  uint32_t pid = 0;
  uint32_t chunk_bytes = 0;
  uint64_t buffer_bytes = 0;
  std::string program;
};

enum class EventKind { entry, exit, args, retval, stack, marker };

struct Event {
  EventKind kind;
  uint32_t tid = 0;
  uint64_t ticks = 0;  // raw counter value
  uint64_t ns = 0;     // CLOCK_MONOTONIC ns (args/retval: their entry's/exit's)
  uintptr_t ip = 0;    // entry/exit/marker: the function; args: its entry's; retval: its exit's
  uintptr_t parent_ip = 0;  // entry: the caller's address
  bool unwound = false;     // exit: left by exception, longjmp or thread exit
  uint32_t marker = 0;      // marker: sled::rec::Marker value
  uint64_t marker_arg = 0;
  std::vector<uint64_t> values;  // args, {retval}, stack ips (innermost first)
  bool operator==(const Event &) const = default;
};

struct Thread {
  uint32_t tid = 0;
  std::string name;
  bool totals_known = false;  // from the footer or the thread's end record
  bool exited = false;        // an end record was written (it exited while recording)
  uint64_t events = 0;        // recorded (kept) by the thread, when known
  uint64_t lost = 0;          // dropped (drop_newest, buffer full); lower bound if !totals_known
  uint64_t chunks = 0;        // distinct chunks in the file
};

struct Module {
  std::string name, path;
  uintptr_t lo = 0, hi = 0;  // [lo, hi)
  std::string build_id;      // raw GNU build-id bytes at recording; empty if unknown
};

struct Symbol {
  uintptr_t ip = 0;
  std::string name;
  const Module *module = nullptr;
};

struct OpenOptions {
  // Refuse a trace that is cut or has a corrupt record instead of reading it
  // up to that point.
  bool strict = false;
};

class Trace {
 public:
  static Result<Trace> open(const std::string &dir, const OpenOptions &opts = {});
  static Result<Trace> from_bytes(std::string bytes, const OpenOptions &opts = {});

  const Header &header() const { return header_; }
  // True when the trace has no footer (the process died or is still
  // recording) or a record was cut or corrupt; cut_reason says where.
  bool cut() const { return cut_; }
  const std::string &cut_reason() const { return cut_reason_; }

  std::vector<uint32_t> thread_ids() const;
  const Thread *thread(uint32_t tid) const;
  // A thread's events in order. Chunks the thread lost (dropped, or
  // overwritten in overwrite mode) leave gaps; each chunk decodes alone.
  Result<std::vector<Event>> events(uint32_t tid) const;
  // Streams them instead; fn returns false to stop. "" or an error.
  std::string for_each_event(uint32_t tid, const std::function<bool(const Event &)> &fn) const;

  // The site whose function starts at ip.
  const Symbol *symbol_at(uintptr_t ip) const;
  // The function containing addr (a caller's address): the nearest site at
  // or below addr in the module whose range holds addr.
  const Symbol *symbol_containing(uintptr_t addr) const;
  const std::vector<Module> &modules() const { return *modules_; }

  const std::string *section(const std::string &name) const;
  std::vector<std::string> section_names() const;

  bool complete() const { return footer_; }
  uint64_t total_events() const { return total_events_; }  // footer (0 if cut)
  uint64_t total_lost() const;                             // footer, or sum over threads
  // Counter value -> CLOCK_MONOTONIC ns, linear between the first and last
  // (ticks, ns) pairs of the trace (the nominal rate when there is one).
  uint64_t to_ns(uint64_t ticks) const;

 private:
  struct ChunkRef {
    size_t offset, size;
  };
  std::string bytes_;
  Header header_;
  bool cut_ = false, footer_ = false;
  std::string cut_reason_;
  std::map<uint32_t, Thread> threads_;
  std::map<uint32_t, std::map<uint64_t, ChunkRef>> chunks_;  // tid -> seq -> longest copy
  std::shared_ptr<std::vector<Module>> modules_ = std::make_shared<std::vector<Module>>();
  std::vector<Symbol> symbols_;  // sorted by ip, unique; modules point into *modules_
  struct RawSymbol {
    uintptr_t ip;
    std::string name;
    size_t module;
  };
  std::vector<RawSymbol> raw_symbols_;  // while parsing
  std::map<std::string, std::string> sections_;
  uint64_t total_events_ = 0, total_lost_ = 0;
  uint64_t last_ticks_ = 0, last_ns_ = 0;  // the last pair

  std::string parse(const OpenOptions &opts);
  std::string parse_record(uint16_t type, const uint8_t *p, size_t n, size_t offset);
  std::string decode_chunk(const uint8_t *p, size_t n, const std::function<bool(const Event &)> *fn,
                           bool *stopped) const;
};

}  // namespace sled::reader
