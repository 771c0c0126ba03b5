// A progress bar for long reads, conversions and exports, on stderr and
// only when stderr is a terminal: nothing reaches a pipe, a file or golden
// output. Redrawn at most 10 times a second, erased by finish() (or the
// destructor) so the terminal is left as it was.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace sled::cli {

class Progress {
 public:
  // `total` units of work (0: unknown, then only the count is shown).
  Progress(std::string label, uint64_t total, const char *unit = "events");
  ~Progress() { finish(); }
  Progress(const Progress &) = delete;
  Progress &operator=(const Progress &) = delete;

  // n more units done. Cheap: looks at the clock every 256 calls.
  void add(uint64_t n = 1) {
    done_ += n;
    if (on_ && --countdown_ == 0) tick();
  }
  void set_total(uint64_t total) { total_ = total; }
  // Erases the bar (idempotent).
  void finish();

 private:
  void tick();
  void draw();
  std::string label_;
  const char *unit_;
  uint64_t total_, done_ = 0;
  unsigned countdown_ = 256;
  bool on_, drawn_ = false;
  std::chrono::steady_clock::time_point last_{};
};

}  // namespace sled::cli
