// The `quire` command-line tool: `quire COMMAND [ARGS...]`. Commands live in
// their own files (see command.h); this file only lists and dispatches them.
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include "tools/command.h"

namespace quire::tools {
namespace {

// Add a command: implement `int RunFoo(const std::vector<std::string>&)` in
// foo_command.cc, declare it in command.h and list it here.
constexpr Command kCommands[] = {
    {"replay", "FILE.json.gz [--json]",
     "replay an editing trace through the CRDT, check its final text, time it", RunReplay},
    {"inspect", "--data DIR [DOC]", "list a data directory's documents: seqs, sizes, snapshots",
     RunInspect},
    {"export", "--data DIR DOC [--at SEQ]", "print a document's text, optionally as of a seq",
     RunExport},
    {"import", "--data DIR DOC FILE", "create a document from a text file or an editing trace",
     RunImport},
    {"verify", "--data DIR", "check every stored value, snapshot and document; 1 on a problem",
     RunVerify},
    {"compact", "--data DIR DOC [--keep-log]",
     "snapshot at the head, drop the changes it covers, reclaim space", RunCompact},
    {"salvage", "--data DIR", "open a directory with a damaged write-ahead log, dropping what follows",
     RunSalvage},
    {"cat", "ws://HOST:PORT/DOC", "print a document's text from a running server", RunCat},
    {"type", "ws://HOST:PORT/DOC --file FILE [--delay-ms N]",
     "type a file's contents into a document on a running server", RunType},
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
    if (c.name == name) return c.run(std::vector<std::string>(argv + 2, argv + argc));
  }
  std::cerr << "quire: unknown command '" << name << "'\n\n";
  PrintUsage(std::cerr);
  return kExitUsage;
}

}  // namespace
}  // namespace quire::tools

int main(int argc, char** argv) { return quire::tools::Main(argc, argv); }
