// machine.h — the header lines every benchmark report starts with: date,
// CPUs online, CPU model (/proc/cpuinfo), kernel release, load average.
#pragma once
#include <string>

namespace bench {

std::string date_text();     // "2024-11-24 17:30 UTC"
std::string machine_text();  // "2 CPUs online, AMD EPYC, Linux 6.1.0"
std::string load_text();     // "0.52 0.61 0.40" (/proc/loadavg: 1, 5, 15 minutes)

}  // namespace bench
