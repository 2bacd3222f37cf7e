// The `quire` command-line tool: `quire COMMAND [ARGS...]`. Commands live in
// their own files (see command.h); this file lists them, parses the
// command line with CLI11 and runs the one named.
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "tools/command.h"

namespace quire::tools {
namespace {

// Add a command: implement `Runner AddFoo(CLI::App&)` in foo_command.cc,
// declare it in command.h and list it here.
constexpr Command kCommands[] = {
    {"replay", "FILE.json.gz [--json]",
     "replay an editing trace through the CRDT, check its final text, time it", AddReplay},
    {"inspect", "--data DIR [DOC]", "list a data directory's documents: seqs, sizes, snapshots",
     AddInspect},
    {"export", "--data DIR DOC [--at SEQ]", "print a document's text, optionally as of a seq",
     AddExport},
    {"import", "--data DIR DOC FILE", "create a document from a text file or an editing trace",
     AddImport},
    {"verify", "--data DIR", "check every stored value, snapshot and document; 1 on a problem",
     AddVerify},
    {"compact", "--data DIR DOC [--keep-log]",
     "snapshot at the head, drop the changes it covers, reclaim space", AddCompact},
    {"salvage", "--data DIR", "open a directory with a damaged write-ahead log, dropping what follows",
     AddSalvage},
    {"backup", "--data DIR --to DIR", "copy a data directory consistently (RocksDB checkpoint)",
     AddBackup},
    {"log", "--data DIR DOC [--since SEQ]", "the audit trail: who changed a document, when, how",
     AddLog},
    {"cat", "ws://HOST:PORT/DOC [--token JWT]", "print a document's text from a running server",
     AddCat},
    {"type", "ws://HOST:PORT/DOC --file FILE [--delay-ms N] [--token JWT]",
     "type a file's contents into a document on a running server", AddType},
    {"token", "--secret-file F --sub ID [--name N] --docs 'PAT:rw,...' [--ttl 1h]",
     "mint an HS256 access token for quire-server", AddToken},
};

void PrintUsage(std::ostream& out) {
  out << "usage: quire COMMAND [ARGS...]\n"
         "       quire COMMAND --help\n\n"
         "commands:\n";
  for (const Command& c : kCommands) {
    out << "  " << c.name << " " << c.usage << "\n      " << c.summary << "\n";
  }
  out << "\nexit status: 0 ok, 1 the command found a problem, 2 usage or input error\n";
}

int RunCommand(const Command& c, int argc, char** argv) {
  CLI::App cmd{std::string(c.summary), "quire " + std::string(c.name)};
  cmd.footer("exit status: 0 ok, 1 the command found a problem, 2 usage or input error");
  const Runner run = c.add(cmd);
  try {
    cmd.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    if (e.get_exit_code() == 0) {  // --help
      std::cout << cmd.help();
      return kExitOk;
    }
    std::cerr << "quire: " << c.name << ": " << e.what() << "\n" << cmd.help();
    return kExitUsage;
  }
  return run();
}

int Main(int argc, char** argv) {
  if (argc < 2) {
    PrintUsage(std::cerr);
    return kExitUsage;
  }
  const std::string_view name = argv[1];
  if (name == "--help" || name == "-h" || name == "help") {
    PrintUsage(std::cout);
    return kExitOk;
  }
  for (const Command& c : kCommands) {
    // The command's name stands where a program name would.
    if (c.name == name) return RunCommand(c, argc - 1, argv + 1);
  }
  std::cerr << "quire: unknown command '" << name << "'\n\n";
  PrintUsage(std::cerr);
  return kExitUsage;
}

}  // namespace
}  // namespace quire::tools

int main(int argc, char** argv) { return quire::tools::Main(argc, argv); }
