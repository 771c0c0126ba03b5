// filter= / notrace= for the tracers and triggers (ops_filter.h).
#include "tracers/ops_filter.h"

#include <cerrno>

namespace sled::tracers {

void forget_filters(sled_ops *ops) {
  // Unregistering an ops that is not registered is -ENOENT and forgets its
  // filter and notrace sets (sled.h): the storage is a fresh ops again.
  (void)sled_unregister_ops(ops);
}

int set_patterns(sled_ops *ops, const std::string *filter, const std::string *notrace) {
  struct Step {
    const std::string *patterns;
    int (*set)(sled_ops *, const char *, int);
    const char *key;
  };
  for (const Step &s :
       {Step{filter, sled_set_filter, "filter"}, Step{notrace, sled_set_notrace, "notrace"}}) {
    if (!s.patterns) continue;
    int rc = s.set(ops, s.patterns->c_str(), 1);
    if (rc < 0) {
      set_error(std::string(s.key) + "=" + *s.patterns + ": " + sled_last_error());
      forget_filters(ops);
      return rc;
    }
  }
  return 0;
}

int apply_filters(sled_ops *ops, const Options &opts) {
  auto f = opts.find("filter");
  auto n = opts.find("notrace");
  return set_patterns(ops, f == opts.end() ? nullptr : &f->second,
                      n == opts.end() ? nullptr : &n->second);
}

int register_or_forget(sled_ops *ops, const char *what) {
  int rc = sled_register_ops(ops);
  if (rc < 0) {
    set_error(std::string(what) + ": " + sled_last_error());
    forget_filters(ops);
  }
  return rc;
}

}  // namespace sled::tracers
