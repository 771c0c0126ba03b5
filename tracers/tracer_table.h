// The table of tracers (tracer_table.cc), nullptr-ended.
#pragma once
#include "tracers/tracer.h"

namespace sled::tracers {
extern const Tracer *const tracer_table[];
}
