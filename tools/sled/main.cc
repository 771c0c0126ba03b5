// sled — the command line: record a program under the preload agent and
// read its trace (report, graph, replay). One file per subcommand.
#include <cstdio>

#include "commands.h"
#include "output.h"
#include "sled/sled.h"

namespace sled::cli {
int &exit_status() {
  static int status = 0;
  return status;
}
int fail(int status, const std::string &message) {
  std::fprintf(stderr, "sled: %s\n", message.c_str());
  exit_status() = status;
  return status;
}
}  // namespace sled::cli

int main(int argc, char **argv) {
  using namespace sled::cli;
  CLI::App app{"sled: live function tracing for C and C++ programs"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "sled " + std::to_string(SLED_VERSION_MAJOR) + "." +
                                        std::to_string(SLED_VERSION_MINOR));
  std::string color = "auto";
  app.add_option("--color", color, "Colour: auto (on a terminal), always, never")
      ->check(CLI::IsMember({"auto", "always", "never"}));
  add_record(app);
  add_report(app);
  add_graph(app);
  add_replay(app);
  add_export(app);
  add_flamegraph(app);
  add_sites(app);
  add_ctl(app);
  add_top(app);
  app.parse_complete_callback([&] {
    set_color(color == "always"  ? ColorMode::always
              : color == "never" ? ColorMode::never
                                 : ColorMode::automatic);
  });
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError &e) {
    return app.exit(e);
  }
  return exit_status();
}
