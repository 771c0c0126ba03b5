// Perfetto's protobuf trace, streamed: each TracePacket is encoded with
// protowire.h and written out at once (a Trace is a sequence of
// `repeated TracePacket packet = 1`), so memory stays flat however long the
// trace. Owns the Perfetto vocabulary (field numbers of
// protos/perfetto/trace/*.proto, tests/cli/perfetto_subset.proto lists the
// ones used), the track uuids and the interning of names on the one packet
// sequence it writes. Knows nothing of sled's trace format.
#pragma once

#include <cstdint>
#include <ostream>
#include <string>
#include <unordered_map>
#include <vector>

#include "protowire.h"

namespace sled::cli {

// A debug annotation (Perfetto's "args" of a slice): a name and an integer.
struct Annotation {
  enum Kind { uint, sint, boolean };
  uint64_t name_iid;  // from PerfettoWriter::annotation_name
  Kind kind;
  uint64_t value;
};

class PerfettoWriter {
 public:
  // Writes the clock snapshot (timestamps are CLOCK_MONOTONIC ns, made the
  // trace's clock) and the packet that clears the sequence's incremental
  // state and sets the default clock.
  PerfettoWriter(std::ostream &out, uint64_t first_ns);

  // Track descriptors; each returns the new track's uuid.
  uint64_t process_track(uint32_t pid, const std::string &name);
  uint64_t thread_track(uint64_t process_uuid, uint32_t pid, uint32_t tid, const std::string &name);

  // Interned ids; a new name travels in the next packet's interned_data.
  // event_name interns each call anew (the caller keeps its ids: it knows
  // which names are the same function); annotation_name looks names up.
  uint64_t event_name(const std::string &name);
  uint64_t annotation_name(const std::string &name);

  void begin(uint64_t track, uint64_t ns, uint64_t name_iid, const std::vector<Annotation> &args);
  void end(uint64_t track, uint64_t ns, const std::vector<Annotation> &args);
  void instant(uint64_t track, uint64_t ns, uint64_t name_iid);

 private:
  void event(uint64_t track, uint64_t ns, int type, uint64_t name_iid,
             const std::vector<Annotation> &args);
  void emit(ProtoMsg &packet, bool needs_state);
  std::ostream &out_;
  ProtoMsg interned_;  // InternedData not yet written
  ProtoMsg packet_, body_, scratch_;
  std::unordered_map<std::string, uint64_t> annotation_iids_;
  uint64_t next_uuid_ = 1, next_event_iid_ = 1, next_annotation_iid_ = 1;
};

}  // namespace sled::cli
