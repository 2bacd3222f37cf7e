// The subcommands of the `quire` CLI. Each lives in its own file
// (replay_command.cc, ...), is declared here and is listed in the table in
// quire.cc, which dispatches on the first argument.
//
// Every command follows the same conventions: it parses its own arguments,
// answers --help on stdout, prints results on stdout and errors on stderr
// prefixed with "quire: ", and returns one of the exit statuses below.
#ifndef QUIRE_TOOLS_COMMAND_H_
#define QUIRE_TOOLS_COMMAND_H_

#include <iostream>
#include <string>
#include <string_view>
#include <vector>

namespace quire::tools {

inline constexpr int kExitOk = 0;
inline constexpr int kExitFailed = 1;  // Ran, and found a problem (e.g. the text differs).
inline constexpr int kExitUsage = 2;   // Bad usage, unreadable or invalid input.

struct Command {
  std::string_view name;
  std::string_view usage;    // Arguments after the name, e.g. "FILE.json.gz [--json]".
  std::string_view summary;  // One line for `quire --help`.
  // `args` are the arguments after the command's name.
  int (*run)(const std::vector<std::string>& args);
};

// Prints "quire: <message>" to stderr and returns kExitUsage.
inline int UsageError(std::string_view message) {
  std::cerr << "quire: " << message << "\n";
  return kExitUsage;
}

int RunReplay(const std::vector<std::string>& args);  // replay_command.cc
// store_commands.cc: on a data directory.
int RunInspect(const std::vector<std::string>& args);
int RunExport(const std::vector<std::string>& args);
int RunImport(const std::vector<std::string>& args);
int RunVerify(const std::vector<std::string>& args);
int RunCompact(const std::vector<std::string>& args);
int RunSalvage(const std::vector<std::string>& args);
// net_commands.cc: against a running server.
int RunCat(const std::vector<std::string>& args);
int RunType(const std::vector<std::string>& args);

}  // namespace quire::tools

#endif  // QUIRE_TOOLS_COMMAND_H_
