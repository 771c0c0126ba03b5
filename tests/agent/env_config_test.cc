// The agent's reading of SLED_* variables (agent/env_config.cc): what each
// variable turns into, and the one-line message of each kind of mistake.
#include "agent/env_config.h"

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace {

using sled::agent::ConfigError;
using sled::agent::Plan;

struct Env {
  std::map<std::string, std::string> vars;
  sled::agent::Lookup lookup() const {
    return [this](const char *name) -> const char * {
      auto it = vars.find(name);
      return it == vars.end() ? nullptr : it->second.c_str();
    };
  }
};

Plan ok(const Env &env) {
  Plan plan;
  ConfigError error;
  EXPECT_TRUE(sled::agent::read_config(env.lookup(), &plan, &error)) << error_line(error);
  return plan;
}

std::string fails(const Env &env) {
  Plan plan;
  ConfigError error;
  EXPECT_FALSE(sled::agent::read_config(env.lookup(), &plan, &error));
  return sled::agent::error_line(error);
}

TEST(AgentConfig, NothingSetDoesNothing) {
  Plan plan = ok(Env{});
  EXPECT_TRUE(plan.empty());
  EXPECT_FALSE(plan.session);
}

TEST(AgentConfig, TracersFiltersAndOptions) {
  Plan plan = ok(Env{{{"SLED_TRACER", "function_graph,profile"},
                      {"SLED_FILTER", "parse_* lookup"},
                      {"SLED_NOTRACE", "parse_debug"},
                      {"SLED_OPTIONS", "args=2 retval=1 clock=monotonic"},
                      {"SLED_OUTPUT", "/tmp/x.trace"},
                      {"SLED_BUFFER_SIZE", "64K"},
                      {"SLED_BUFFER_MODE", "overwrite"}}});
  ASSERT_EQ(plan.tracers.size(), 2u);
  EXPECT_EQ(plan.tracers[0].name, "function_graph");
  EXPECT_EQ(plan.tracers[0].options, "filter=parse_*,lookup notrace=parse_debug args=2 retval=1");
  EXPECT_EQ(plan.tracers[1].name, "profile");
  EXPECT_EQ(plan.tracers[1].options, "filter=parse_*,lookup notrace=parse_debug");
  EXPECT_TRUE(plan.session);
  EXPECT_EQ(plan.open_options, "dir=/tmp/x.trace buffer=64K mode=overwrite clock=monotonic");
}

TEST(AgentConfig, DefaultDirectoryAndSpecLists) {
  Plan plan = ok(Env{{{"SLED_TRACER", "function"},
                      {"SLED_TRIGGER", "a:traceoff; b:snapshot:1;"},
                      {"SLED_INJECT", "f:return=42:every=3;g:delay=10"}}});
  EXPECT_EQ(plan.open_options, "dir=sled.trace");
  EXPECT_EQ(plan.triggers, (std::vector<std::string>{"a:traceoff", "b:snapshot:1"}));
  EXPECT_EQ(plan.injects, (std::vector<std::string>{"f:return=42:every=3", "g:delay=10"}));
}

TEST(AgentConfig, InjectionsWithoutTracerOpenNoSession) {
  Plan plan = ok(Env{{{"SLED_INJECT", "f:return=1"}}});
  EXPECT_FALSE(plan.session);
  EXPECT_FALSE(plan.empty());
}

TEST(AgentConfig, MistakesGiveOneLine) {
  EXPECT_EQ(fails(Env{{{"SLED_TRACER", "function"}, {"SLED_BUFFER_SIZE", "12Q"}}}),
            "sled: SLED_BUFFER_SIZE='12Q': expected bytes with an optional K, M or G suffix, "
            "tracing disabled");
  EXPECT_EQ(fails(Env{{{"SLED_TRACER", "fnuction"}}}),
            "sled: SLED_TRACER='fnuction': unknown tracer 'fnuction' (function, function_graph, "
            "profile), tracing disabled");
  EXPECT_EQ(fails(Env{{{"SLED_TRACER", "function,function"}}}),
            "sled: SLED_TRACER='function,function': 'function' given twice, tracing disabled");
  EXPECT_EQ(fails(Env{{{"SLED_TRACER", "function"}, {"SLED_BUFFER_MODE", "ring"}}}),
            "sled: SLED_BUFFER_MODE='ring': expected drop or overwrite, tracing disabled");
  EXPECT_EQ(fails(Env{{{"SLED_TRACER", "function"}, {"SLED_OPTIONS", "args=2"}}}),
            "sled: SLED_OPTIONS='args=2': 'args' is an option of function_graph, which "
            "SLED_TRACER does not name, tracing disabled");
  EXPECT_EQ(
      fails(Env{{{"SLED_TRACER", "function"}, {"SLED_OPTIONS", "colour=red"}}}),
      "sled: SLED_OPTIONS='colour=red': unknown option 'colour' (args, retval, depth, capture, "
      "clock), tracing disabled");
  EXPECT_EQ(fails(Env{{{"SLED_TRACER", "function"}, {"SLED_OPTIONS", "args"}}}),
            "sled: SLED_OPTIONS='args': 'args' is not key=value, tracing disabled");
  EXPECT_EQ(fails(Env{{{"SLED_TRACER", "function"}, {"SLED_OUTPUT", "my trace"}}}),
            "sled: SLED_OUTPUT='my trace': a directory name without spaces is expected, tracing "
            "disabled");
  EXPECT_EQ(fails(Env{{{"SLED_TRIGGER", "f:traceoff"}}}),
            "sled: SLED_TRIGGER='f:traceoff': triggers need a tracer (SLED_TRACER), tracing "
            "disabled");
  EXPECT_EQ(fails(Env{{{"SLED_VERBOSE", "yes"}}}),
            "sled: SLED_VERBOSE='yes': expected 0 or 1, tracing disabled");
}

}  // namespace
