// The tracers sled_tracer_start knows, by name. One line per tracer; each
// Tracer is defined in its own file (tracer.h).
#include "tracers/tracer_table.h"

namespace sled::tracers {

const Tracer *const tracer_table[] = {
    &function_tracer,
    &function_graph_tracer,
    &profile_tracer,
    nullptr,
};

}  // namespace sled::tracers
