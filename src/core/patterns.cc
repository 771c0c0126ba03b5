// Pattern syntax (ftrace's, plus @module): see sled.h.
#include "core/patterns.h"

#include <cerrno>

#include "core/error.h"

namespace sled {
namespace {

bool is_separator(char c) { return c == ' ' || c == '\t' || c == '\n' || c == ','; }

int parse_one(std::string_view tok, Pattern *out) {
  for (char c : tok) {
    if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
      set_last_error("pattern '%.*s' contains a control character", int(tok.size()), tok.data());
      return -EINVAL;
    }
  }
  Pattern p;
  std::string_view rest = tok;
  if (!rest.empty() && rest[0] == '!') {
    p.negate = true;
    rest.remove_prefix(1);
  }
  size_t at = rest.rfind('@');
  std::string_view name = rest, module;
  if (at != std::string_view::npos) {
    name = rest.substr(0, at);
    module = rest.substr(at + 1);
    if (module.empty()) {
      set_last_error("pattern '%.*s': empty module after '@'", int(tok.size()), tok.data());
      return -EINVAL;
    }
  }
  if (name.empty()) {
    set_last_error("pattern '%.*s': empty function name", int(tok.size()), tok.data());
    return -EINVAL;
  }
  if (name.find('!') != std::string_view::npos && name.find("operator") == std::string_view::npos) {
    set_last_error("pattern '%.*s': '!' only at the start", int(tok.size()), tok.data());
    return -EINVAL;
  }
  p.name.assign(name);
  p.module.assign(module);
  *out = std::move(p);
  return 0;
}

}  // namespace

int parse_patterns(std::string_view text, std::vector<Pattern> *out) {
  std::vector<Pattern> result;
  size_t i = 0;
  while (i < text.size()) {
    while (i < text.size() && is_separator(text[i])) i++;
    if (i == text.size()) break;
    size_t start = i;
    int depth = 0;
    for (; i < text.size(); i++) {
      char c = text[i];
      if (c == '(' || c == '<') depth++;
      if ((c == ')' || c == '>') && depth > 0) depth--;
      if (depth == 0 && is_separator(c)) break;
    }
    Pattern p;
    if (int err = parse_one(text.substr(start, i - start), &p)) return err;
    result.push_back(std::move(p));
  }
  *out = std::move(result);
  return 0;
}

std::string_view bare_function_name(std::string_view d) {
  // Drop the parameter list: the "( ... )" that closes at the last ')'.
  std::string_view name = d;
  size_t close = d.rfind(')');
  if (close != std::string_view::npos) {
    int depth = 0;
    for (size_t i = close + 1; i-- > 0;) {
      if (d[i] == ')') depth++;
      if (d[i] == '(' && --depth == 0) {
        name = d.substr(0, i);
        break;
      }
    }
  }
  // Drop a leading return type (function templates): the text up to the
  // last space outside <> and (), unless that would split "operator new".
  int nest = 0;
  size_t cut = 0;
  for (size_t i = 0; i < name.size(); i++) {
    char c = name[i];
    if (c == '<' || c == '(') nest++;
    if ((c == '>' || c == ')') && nest > 0) nest--;
    if (c == ' ' && nest == 0 && name.substr(0, i).rfind("operator") == std::string_view::npos)
      cut = i + 1;
  }
  return name.substr(cut);
}

}  // namespace sled
