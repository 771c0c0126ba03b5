// table.h — the markdown tables sled-bench-dispatch and sled-bench-peers
// print: a title, a header row, rows of preformatted cells, notes below.
#pragma once
#include <cstdio>
#include <string>
#include <vector>

namespace bench {

// printf into a std::string.
std::string strf(const char* format, ...) __attribute__((format(printf, 1, 2)));
// "12.3 ms", "456 µs", "789 ns": three significant digits, unit by size.
std::string duration_text(double ns);

class Table {
 public:
  Table(std::string title, std::vector<std::string> header)
      : title_(std::move(title)), header_(std::move(header)) {}
  void add_row(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  void add_note(std::string text) { notes_.push_back(std::move(text)); }
  void print(std::FILE* out = stdout) const;

 private:
  std::string title_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> rows_;
  std::vector<std::string> notes_;
};

}  // namespace bench
