// TEMPORARY, until graph ops land on main: graph.h's functions as "not
// supported", so that the tracer tests link against a libsled without them
// (tests/tracers/CMakeLists.txt adds this file only when src/ has no
// graph code). The function_graph tests then fail, as they should.
#include <sled/graph.h>

#include <cerrno>
extern "C" {
int sled_register_graph_ops(sled_graph_ops *) { return -EOPNOTSUPP; }
int sled_unregister_graph_ops(sled_graph_ops *) { return -ENOENT; }
int sled_graph_supported(void) { return -EOPNOTSUPP; }
int sled_graph_set_depth(unsigned) { return 0; }
}
