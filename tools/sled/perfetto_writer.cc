// Field numbers are Perfetto's (protos/perfetto/trace/trace_packet.proto,
// clock_snapshot.proto, trace_packet_defaults.proto, interned_data/
// interned_data.proto, track_event/{track_event,track_descriptor,
// process_descriptor,thread_descriptor,debug_annotation}.proto).
// tests/cli/perfetto_subset.proto repeats them for protoc --decode.
#include "perfetto_writer.h"

namespace sled::cli {
namespace {

// Trace
constexpr uint32_t kTracePacket = 1;
// TracePacket
constexpr uint32_t kTimestamp = 8, kSequenceId = 10, kTrackEvent = 11, kInternedData = 12,
                   kSequenceFlags = 13, kClockSnapshot = 6, kDefaults = 59, kTrackDescriptor = 60;
constexpr uint64_t kSeqIncrementalStateCleared = 1, kSeqNeedsIncrementalState = 2;
// ClockSnapshot, ClockSnapshot.Clock, BuiltinClock
constexpr uint32_t kClocks = 1, kPrimaryTraceClock = 2, kClockId = 1, kClockTimestamp = 2;
constexpr uint64_t kClockMonotonic = 3;
// TracePacketDefaults
constexpr uint32_t kDefaultClockId = 58;
// TrackDescriptor, ProcessDescriptor, ThreadDescriptor
constexpr uint32_t kUuid = 1, kTrackName = 2, kProcess = 3, kThread = 4, kParentUuid = 5;
constexpr uint32_t kPid = 1, kProcessName = 6, kTid = 2, kThreadName = 5;
// TrackEvent and its Type
constexpr uint32_t kDebugAnnotations = 4, kType = 9, kNameIid = 10, kTrackUuid = 11;
constexpr int kSliceBegin = 1, kSliceEnd = 2, kInstant = 3;
// InternedData, EventName / DebugAnnotationName
constexpr uint32_t kEventNames = 2, kDebugAnnotationNames = 3, kIid = 1, kInternedName = 2;
// DebugAnnotation
constexpr uint32_t kAnnotationNameIid = 1, kBoolValue = 2, kUintValue = 3, kIntValue = 4;

// The one packet sequence this writer owns.
constexpr uint64_t kSequence = 1;

}  // namespace

PerfettoWriter::PerfettoWriter(std::ostream &out, uint64_t first_ns) : out_(out) {
  ProtoMsg clock, snapshot;
  clock.varint(kClockId, kClockMonotonic);
  clock.varint(kClockTimestamp, first_ns);
  snapshot.message(kClocks, clock);
  snapshot.varint(kPrimaryTraceClock, kClockMonotonic);
  packet_.message(kClockSnapshot, snapshot);
  packet_.varint(kSequenceId, kSequence);
  ProtoMsg wrapper;
  wrapper.message(kTracePacket, packet_);
  out_ << wrapper.bytes();
  packet_.clear();

  ProtoMsg defaults;
  defaults.varint(kDefaultClockId, kClockMonotonic);
  packet_.message(kDefaults, defaults);
  packet_.varint(kSequenceId, kSequence);
  packet_.varint(kSequenceFlags, kSeqIncrementalStateCleared);
  wrapper.clear();
  wrapper.message(kTracePacket, packet_);
  out_ << wrapper.bytes();
  packet_.clear();
}

void PerfettoWriter::emit(ProtoMsg &packet, bool needs_state) {
  packet.varint(kSequenceId, kSequence);
  if (needs_state) packet.varint(kSequenceFlags, kSeqNeedsIncrementalState);
  if (!interned_.empty()) {
    packet.message(kInternedData, interned_);
    interned_.clear();
  }
  scratch_.clear();
  scratch_.message(kTracePacket, packet);
  out_ << scratch_.bytes();
  packet.clear();
}

uint64_t PerfettoWriter::process_track(uint32_t pid, const std::string &name) {
  uint64_t uuid = next_uuid_++;
  ProtoMsg desc, process;
  process.varint(kPid, pid);
  process.string(kProcessName, name);
  desc.varint(kUuid, uuid);
  desc.string(kTrackName, name);
  desc.message(kProcess, process);
  packet_.message(kTrackDescriptor, desc);
  emit(packet_, false);
  return uuid;
}

uint64_t PerfettoWriter::thread_track(uint64_t process_uuid, uint32_t pid, uint32_t tid,
                                      const std::string &name) {
  uint64_t uuid = next_uuid_++;
  ProtoMsg desc, thread;
  thread.varint(kPid, pid);
  thread.varint(kTid, tid);
  thread.string(kThreadName, name);
  desc.varint(kUuid, uuid);
  desc.varint(kParentUuid, process_uuid);
  desc.string(kTrackName, name);
  desc.message(kThread, thread);
  packet_.message(kTrackDescriptor, desc);
  emit(packet_, false);
  return uuid;
}

uint64_t PerfettoWriter::event_name(const std::string &name) {
  uint64_t iid = next_event_iid_++;
  ProtoMsg entry;
  entry.varint(kIid, iid);
  entry.string(kInternedName, name);
  interned_.message(kEventNames, entry);
  return iid;
}

uint64_t PerfettoWriter::annotation_name(const std::string &name) {
  auto [it, added] = annotation_iids_.try_emplace(name, 0);
  if (!added) return it->second;
  uint64_t iid = it->second = next_annotation_iid_++;
  ProtoMsg entry;
  entry.varint(kIid, iid);
  entry.string(kInternedName, name);
  interned_.message(kDebugAnnotationNames, entry);
  return iid;
}

void PerfettoWriter::event(uint64_t track, uint64_t ns, int type, uint64_t name_iid,
                           const std::vector<Annotation> &args) {
  body_.clear();
  body_.varint(kType, static_cast<uint64_t>(type));
  body_.varint(kTrackUuid, track);
  if (name_iid) body_.varint(kNameIid, name_iid);
  for (const Annotation &a : args) {
    ProtoMsg ann;
    ann.varint(kAnnotationNameIid, a.name_iid);
    if (a.kind == Annotation::boolean)
      ann.boolean(kBoolValue, a.value != 0);
    else
      ann.varint(a.kind == Annotation::uint ? kUintValue : kIntValue, a.value);
    body_.message(kDebugAnnotations, ann);
  }
  packet_.varint(kTimestamp, ns);
  packet_.message(kTrackEvent, body_);
  emit(packet_, true);
}

void PerfettoWriter::begin(uint64_t track, uint64_t ns, uint64_t name_iid,
                           const std::vector<Annotation> &args) {
  event(track, ns, kSliceBegin, name_iid, args);
}

void PerfettoWriter::end(uint64_t track, uint64_t ns, const std::vector<Annotation> &args) {
  event(track, ns, kSliceEnd, 0, args);
}

void PerfettoWriter::instant(uint64_t track, uint64_t ns, uint64_t name_iid) {
  event(track, ns, kInstant, name_iid, {});
}

}  // namespace sled::cli
