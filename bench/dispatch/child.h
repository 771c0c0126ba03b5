// child.h — measurements that need a fresh process (the first write to a
// module's pages, the heap before sled has seen a module): this program runs
// itself again with a --child-* command and reads one line of numbers back.
#pragma once
#include <string>
#include <vector>

namespace bench {

// Runs /proc/self/exe with args; its stdout in *out. False if it could not
// start or did not exit with status 0.
bool run_self(const std::vector<std::string>& args, std::string* out);

}  // namespace bench
