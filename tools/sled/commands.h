// The subcommands: each file adds its own to the CLI11 app.
#pragma once

#include <CLI/CLI.hpp>

namespace sled::cli {
void add_record(CLI::App &app);
void add_report(CLI::App &app);
void add_graph(CLI::App &app);
void add_replay(CLI::App &app);
void add_export(CLI::App &app);
void add_flamegraph(CLI::App &app);
void add_sites(CLI::App &app);
void add_ctl(CLI::App &app);
void add_top(CLI::App &app);
// Exit status of the subcommand that ran (set by its callback).
int &exit_status();
// Prints "sled: <message>" on stderr and returns `status`.
int fail(int status, const std::string &message);
}  // namespace sled::cli
