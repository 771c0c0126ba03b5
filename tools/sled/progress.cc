#include "progress.h"

#include <fmt/format.h>
#include <unistd.h>

namespace sled::cli {

Progress::Progress(std::string label, uint64_t total, const char *unit)
    : label_(std::move(label)), unit_(unit), total_(total), on_(isatty(STDERR_FILENO) != 0) {}

void Progress::tick() {
  countdown_ = 256;
  auto now = std::chrono::steady_clock::now();
  // The first draw comes at once (last_ is the epoch), then ≤ 10 per second.
  if (now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  draw();
}

void Progress::draw() {
  std::string line;
  if (total_) {
    uint64_t done = std::min(done_, total_);
    constexpr int kWidth = 30;
    int filled = static_cast<int>(done * kWidth / total_);
    line = fmt::format("\r{} [{}{}] {:3}% {}/{} {}", label_, std::string(filled, '#'),
                       std::string(kWidth - filled, '.'), done * 100 / total_, done, total_, unit_);
  } else {
    line = fmt::format("\r{} {} {}", label_, done_, unit_);
  }
  line += "\033[K";  // erase what a longer previous line left
  ssize_t n = write(STDERR_FILENO, line.data(), line.size());
  (void)n;
  drawn_ = true;
}

void Progress::finish() {
  on_ = false;
  if (!drawn_) return;
  drawn_ = false;
  static const char kErase[] = "\r\033[K";
  ssize_t n = write(STDERR_FILENO, kErase, sizeof kErase - 1);
  (void)n;
}

}  // namespace sled::cli
