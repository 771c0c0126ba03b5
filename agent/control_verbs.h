// The control protocol's verbs (docs/control.md): one request line in, its
// whole reply out (body lines, then "ok" or "error: <message>"). Runs on
// the listener thread, under the agent state's lock, through the public
// sled API only (sled.h, trace.h). A bad request changes nothing.
#pragma once

#include <string>
#include <vector>

namespace sled::agent {

// Words of a request line, split at spaces and tabs.
std::vector<std::string> request_words(const std::string &line);

// The reply to `line` (without its '\n'), every line '\n'-terminated.
std::string serve_request(const std::string &line);

}  // namespace sled::agent
