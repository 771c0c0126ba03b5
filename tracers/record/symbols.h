// The symbol table record: every site sled knows now (sled_for_each_site)
// and the address range of each module holding one (dl_iterate_phdr), so
// that a reader can name entry ips and the functions containing callers.
// Not for callbacks (sled_for_each_site takes sled's lock).
#pragma once

#include <string>

namespace sled::rec {

// The rec_symbols payload; 0 or -errno from sled_for_each_site.
int build_symbols(std::string *payload);

}  // namespace sled::rec
