// table.cc — see table.h. The first column is left-aligned, the others
// (figures) right-aligned.
#include "table.h"

#include <cstdarg>

namespace bench {

std::string strf(const char* format, ...) {
  va_list ap;
  va_start(ap, format);
  va_list again;
  va_copy(again, ap);
  int len = vsnprintf(nullptr, 0, format, ap);
  va_end(ap);
  std::string text(len > 0 ? static_cast<size_t>(len) : 0, '\0');
  vsnprintf(text.data(), text.size() + 1, format, again);
  va_end(again);
  return text;
}

std::string duration_text(double ns) {
  const char* unit = "ns";
  double v = ns;
  if (ns >= 1e6) {
    v = ns / 1e6, unit = "ms";
  } else if (ns >= 1e3) {
    v = ns / 1e3, unit = "µs";
  }
  int decimals = v >= 100 ? 0 : v >= 10 ? 1 : 2;
  return strf("%.*f %s", decimals, v, unit);
}

void Table::print(std::FILE* out) const {
  std::fprintf(out, "\n### %s\n\n|", title_.c_str());
  for (const std::string& h : header_) std::fprintf(out, " %s |", h.c_str());
  std::fprintf(out, "\n|");
  for (size_t i = 0; i < header_.size(); i++) std::fprintf(out, i == 0 ? "---|" : "---:|");
  std::fprintf(out, "\n");
  for (const auto& row : rows_) {
    std::fprintf(out, "|");
    for (const std::string& cell : row) std::fprintf(out, " %s |", cell.c_str());
    std::fprintf(out, "\n");
  }
  if (!notes_.empty()) std::fprintf(out, "\n");
  for (const std::string& note : notes_) std::fprintf(out, "%s\n", note.c_str());
  std::fflush(out);
}

}  // namespace bench
