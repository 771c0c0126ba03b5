// libFuzzer target for the trace reader: Trace::from_bytes on any bytes,
// then every accessor. Seeds: tests/record/corpus (small real traces).
#include <cstddef>
#include <cstdint>
#include <string>

#include "reader.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  using sled::reader::Trace;
  auto r = Trace::from_bytes(std::string(reinterpret_cast<const char *>(data), size));
  if (!r.ok()) return 0;
  Trace &t = *r;
  for (uint32_t tid : t.thread_ids()) {
    auto ev = t.events(tid);
    if (ev.ok())
      for (const auto &e : *ev) {
        (void)t.symbol_at(e.ip);
        (void)t.symbol_containing(e.parent_ip);
      }
  }
  for (const auto &name : t.section_names()) (void)t.section(name);
  (void)t.total_lost();
  return 0;
}
