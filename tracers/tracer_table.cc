// The tracers sled_tracer_start knows, by name. One line per tracer; each
// Tracer is defined in its own file (tracer.h).
#include "tracers/tracer_table.h"

namespace sled::tracers {

const Tracer *const tracer_table[] = {
    &function_tracer,
    &function_graph_tracer,
    // &profile_tracer: added with tracers/profile.cc (branch agent)
    nullptr,
};

}  // namespace sled::tracers
