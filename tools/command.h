// The subcommands of the `quire` CLI. Each lives in its own file
// (replay_command.cc, ...), is declared here and is listed in the table in
// quire.cc, which parses the command line with CLI11 and runs the one named.
//
// Every command follows the same conventions: it declares its options and
// positionals on its CLI11 subcommand (so `quire CMD --help` describes
// them), prints results on stdout and errors on stderr prefixed with
// "quire: ", and returns one of the exit statuses below. A command line
// CLI11 refuses (an unknown option, a missing or malformed value) is a
// usage error: status 2.
#ifndef QUIRE_TOOLS_COMMAND_H_
#define QUIRE_TOOLS_COMMAND_H_

#include <functional>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace CLI {
class App;
}

namespace quire::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // Ran, and found a problem (e.g. the text differs).
inline constexpr int kExitUsage = 2;   // Bad usage, unreadable or invalid input.

// Declares a command's arguments on `cmd` and returns what runs it once
// the command line is parsed (the arguments live in the returned closure).
using Runner = std::function<int()>;
using AddCommand = Runner (*)(CLI::App& cmd);

struct Command {
  std::string_view name;
  std::string_view usage;    // Arguments after the name, e.g. "FILE.json.gz [--json]".
  std::string_view summary;  // One line for `quire --help`.
  AddCommand add;
};

// Prints "quire: <message>" to stderr and returns kExitUsage.
inline int UsageError(std::string_view message) {
  std::cerr << "quire: " << message << "\n";
  return kExitUsage;
}

Runner AddReplay(CLI::App& cmd);  // replay_command.cc
// store_commands.cc: on a data directory.
Runner AddInspect(CLI::App& cmd);
Runner AddExport(CLI::App& cmd);
Runner AddImport(CLI::App& cmd);
Runner AddVerify(CLI::App& cmd);
Runner AddCompact(CLI::App& cmd);
Runner AddSalvage(CLI::App& cmd);
Runner AddBackup(CLI::App& cmd);
Runner AddLog(CLI::App& cmd);  // log_command.cc: the audit trail
// net_commands.cc: against a running server.
Runner AddCat(CLI::App& cmd);
Runner AddType(CLI::App& cmd);
Runner AddToken(CLI::App& cmd);  // token_command.cc

}  // namespace quire::tools

#endif  // QUIRE_TOOLS_COMMAND_H_
