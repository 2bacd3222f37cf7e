// quire inspect | export | import | verify | compact | salvage | backup: operating
// on a data directory (the server's embedded RocksDB store) directly. Run
// them on a directory no server has open. inspect, export and verify open
// it read only: they never create or change anything.
#include <unistd.h>

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <sstream>

#include <CLI/CLI.hpp>

#include "base/utf8.h"
#include "crdt/change_codec.h"
#include "storage/documents.h"
#include "storage/store.h"
#include "tools/command.h"
#include "tools/replay.h"
#include "tools/trace.h"

namespace quire::tools {
namespace {

using storage::Store;

struct Args {
  std::string data;
  std::vector<std::string> positional;
  uint64_t at = 0;
  bool has_at = false;
  bool keep_log = false;
  std::string to;
};

// --data DIR on `cmd`, and `count` positional names (e.g. {"DOC"}), of
// which the first `required` must be there.
std::shared_ptr<Args> Declare(CLI::App& cmd, std::string_view description,
                              std::vector<std::string> names, size_t required) {
  auto a = std::make_shared<Args>();
  cmd.description(std::string(description));
  cmd.add_option("--data", a->data,
                 "the data directory: quire-server's --data (holding db/), or db/ itself")
      ->required();
  a->positional.resize(names.size());
  for (size_t i = 0; i < names.size(); ++i) {
    CLI::Option* o = cmd.add_option(names[i], a->positional[i]);
    if (i < required) o->required();
  }
  return a;
}

enum class Access { kRead, kWrite, kCreate, kSalvage };

// quire-server keeps its store in DIR/db: --data takes either.
std::string StoreDir(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::exists(dir + "/CURRENT", ec) &&
      std::filesystem::exists(dir + "/db/CURRENT", ec)) {
    return dir + "/db";
  }
  return dir;
}

Result<std::unique_ptr<Store>> OpenStore(const std::string& data, Access access) {
  const std::string dir = StoreDir(data);
  storage::StoreOptions o;
  o.read_only = access == Access::kRead;
  o.create_if_missing = access == Access::kCreate;
  o.salvage_damaged_wal = access == Access::kSalvage;
  o.snapshot_every_changes = 0;  // The tool takes snapshots when asked.
  o.snapshot_every_bytes = 0;
  return storage::OpenRocksDbStore(dir, o);
}

int Fail(const Status& s) {
  std::cerr << "quire: " << s.ToString() << "\n";
  return s.code() == StatusCode::kInvalidArgument || s.code() == StatusCode::kNotFound ||
                 s.code() == StatusCode::kIoError
             ? kExitUsage
             : kExitFailed;
}

// For input the user gave that cannot be used (whatever its code): exit 2.
int FailInput(const Status& s) {
  std::cerr << "quire: " << s.ToString() << "\n";
  return kExitUsage;
}

std::string Time(int64_t ms) {
  if (ms == 0) return "-";
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  const std::tm* tm = std::gmtime(&t);
  if (tm == nullptr) return "?";
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", tm);
  return buf;
}

// Progress on a terminal only: "\r<what> done/total".
void Progress(const char* what, size_t done, size_t total) {
  static const bool tty = isatty(STDERR_FILENO) != 0;
  if (!tty) return;
  std::fprintf(stderr, "\r%s %zu/%zu", what, done, total);
  if (done == total) std::fprintf(stderr, "\n");
}

constexpr std::string_view kInspectHelp =
    "Lists the documents of a data directory (epoch, seqs, sizes, snapshot\n"
    "points, last update), or one document in detail.\n";

constexpr std::string_view kExportHelp =
    "Prints the document's text (as of SEQ when given) to stdout.\n";

constexpr std::string_view kImportHelp =
    "Creates DOC from FILE: an editing trace (*.json or *.json.gz, see\n"
    "../shared/traces/README.md) becomes a document with its whole history,\n"
    "one change per edit; any other file is UTF-8 text inserted by one\n"
    "change. DOC must not exist yet, and must fit the document size limit\n"
    "(64 MiB of changes); otherwise nothing is written.\n";

constexpr std::string_view kVerifyHelp =
    "Decodes every stored value, checks every snapshot against a replay of\n"
    "the log and that every document loads. Prints a summary; exit status 1\n"
    "when anything is wrong, naming the document.\n";

constexpr std::string_view kCompactHelp =
    "Writes a snapshot at the head, removes the changes it covers (the CRDT\n"
    "history stays in the snapshot; per-change authors and server times go)\n"
    "unless --keep-log, and compacts the storage.\n";

constexpr std::string_view kSalvageHelp =
    "Opens a data directory whose write-ahead log is damaged before its end\n"
    "(which every other command refuses), keeping the writes before the\n"
    "damage and dropping every later one, acknowledged changes included.\n"
    "Back DIR up first; run quire verify after.\n";

constexpr std::string_view kBackupHelp =
    "Copies a data directory consistently into a new directory TO: a RocksDB\n"
    "checkpoint of its store (TO/db; hard links where both are on one file\n"
    "system, so it is quick and small) and its agent key. Run it on a\n"
    "directory no server has open; a running server takes the same backup\n"
    "on SIGUSR1 (quire-server --backup-dir). Restore by pointing quire-server\n"
    "(or any quire command) at --data TO.\n";

// The changes that make a document from FILE (an editing trace or text),
// or why there are none: nothing is written before they are all built.
Result<std::vector<crdt::Change>> ChangesFromFile(const std::string& file) {
  std::vector<crdt::Change> changes;
  const bool is_trace = file.ends_with(".json") || file.ends_with(".json.gz");
  if (is_trace) {
    QUIRE_ASSIGN_OR_RETURN(Trace trace, LoadTrace(file));
    QUIRE_RETURN_IF_ERROR(ValidateTrace(trace));
    if (trace.concurrent) {
      QUIRE_ASSIGN_OR_RETURN(crdt::TextDoc doc, BuildConcurrent(trace));
      return doc.ChangesSince(crdt::Version());
    }
    crdt::TextDoc doc(crdt::AgentId{1});
    for (const Txn& txn : trace.txns) {
      // One change per edit, as a client sending each keystroke would.
      for (const Patch& p : txn.patches) {
        if (p.del > 0) changes.push_back(doc.Remove(p.pos, p.del));
        if (!p.ins.empty()) changes.push_back(doc.Insert(p.pos, p.ins));
      }
    }
    return changes;
  }
  // A text file: refuse what cannot fit before reading it into memory.
  std::error_code ec;
  const uintmax_t size = std::filesystem::file_size(file, ec);
  if (ec) return IoError("cannot read " + file + ": " + ec.message());
  if (size > storage::kMaxDocumentBytes) {
    return ResourceExhausted(file + " is " + std::to_string(size) +
                             " bytes, larger than a document may be (" +
                             std::to_string(storage::kMaxDocumentBytes) + " bytes)");
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) return IoError("cannot read " + file);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (Result<size_t> ok = utf8::Validate(text); !ok.ok()) {
    return InvalidArgument(file + ": " + ok.status().message());
  }
  crdt::TextDoc doc(crdt::AgentId{1});
  if (!text.empty()) changes.push_back(doc.Insert(0, text));
  return changes;
}


int Inspect(const Args& args) {
  Result<std::unique_ptr<Store>> store = OpenStore(args.data, Access::kRead);
  if (!store.ok()) return Fail(store.status());
  std::vector<std::string> names;
  if (args.positional[0].empty()) {
    Result<std::vector<std::string>> all = (*store)->ListDocuments();
    if (!all.ok()) return Fail(all.status());
    names = *all;
    std::cout << names.size() << " document(s)\n";
  } else {
    names = {args.positional[0]};
  }
  bool problems = false;
  for (const std::string& name : names) {
    Result<storage::DocMeta> m = (*store)->GetMeta(name);
    if (!m.ok()) {
      std::cout << name << ": " << m.status().ToString() << "\n";
      problems = true;
      continue;
    }
    std::cout << name << ": epoch " << m->epoch << ", seqs " << m->first_seq << ".." << m->head_seq
              << ", snapshot at " << m->snapshot_seq << " (" << m->snapshot_bytes << " B), log "
              << m->change_bytes << " B, " << m->changes_since_snapshot
              << " changes since the snapshot, created " << Time(m->created_ms) << ", updated "
              << Time(m->updated_ms) << "\n";
    if (!args.positional[0].empty()) {
      Result<std::vector<uint64_t>> snaps = (*store)->ListSnapshots(name);
      if (snaps.ok()) {
        std::cout << "  snapshots:";
        for (uint64_t s : *snaps) std::cout << " " << s;
        std::cout << "\n";
      }
    }
  }
  return problems ? kExitFailed : kExitOk;
}

int Export(const Args& args) {
  Result<std::unique_ptr<Store>> store = OpenStore(args.data, Access::kRead);
  if (!store.ok()) return Fail(store.status());
  const crdt::AgentId reader{UINT64_MAX - 2};
  Result<storage::LoadedTextDoc> doc =
      args.has_at ? storage::LoadTextDocAt(**store, args.positional[0], args.at, reader)
              : storage::LoadTextDoc(**store, args.positional[0], reader);
  if (!doc.ok()) return Fail(doc.status());
  for (const std::string& skipped : doc->skipped_snapshots) {
    std::cerr << "quire: warning: passed over a snapshot: " << skipped << "\n";
  }
  std::cout << doc->doc.Text();
  return kExitOk;
}

int Import(const Args& args) {
  const std::string& name = args.positional[0];
  const std::string& file = args.positional[1];
  if (Status s = storage::ValidateDocName(name); !s.ok()) return Fail(s);
  Result<std::vector<crdt::Change>> changes = ChangesFromFile(file);
  if (!changes.ok()) return FailInput(changes.status());
  if (changes->empty()) return FailInput(InvalidArgument(file + " holds no edits"));
  storage::AppendRequest request{name, {}};
  uint64_t bytes = 0;
  for (const crdt::Change& c : *changes) {
    request.changes.push_back(storage::NewChange{crdt::EncodeChange(c), "import", 0});
    bytes += request.changes.back().change.size();
  }
  // The store refuses it too; saying so here names the file.
  if (bytes > storage::kMaxDocumentBytes) {
    return FailInput(ResourceExhausted(file + " makes " + std::to_string(bytes) +
                                       " bytes of changes, more than a document may hold (" +
                                       std::to_string(storage::kMaxDocumentBytes) + " bytes)"));
  }
  Result<std::unique_ptr<Store>> store = OpenStore(args.data, Access::kCreate);
  if (!store.ok()) return Fail(store.status());
  if ((*store)->GetMeta(name).ok()) {
    return Fail(InvalidArgument("document '" + name + "' exists already"));
  }
  // One atomic append: the document is there whole, or not at all.
  const size_t count = request.changes.size();
  Result<std::vector<uint64_t>> seqs = (*store)->Append({std::move(request)});
  if (!seqs.ok()) return Fail(seqs.status());
  if (Status s = storage::TakeSnapshot(**store, name); !s.ok()) return Fail(s);
  std::cout << "imported " << count << " changes into '" << name << "'\n";
  return kExitOk;
}

int Verify(const Args& args) {
  Result<std::unique_ptr<Store>> store = OpenStore(args.data, Access::kRead);
  if (!store.ok()) return Fail(store.status());
  Result<storage::VerifyReport> report = storage::Verify(
      **store, [](size_t done, size_t total) { Progress("verified", done, total); });
  if (!report.ok()) return Fail(report.status());
  for (const std::string& p : report->problems) std::cout << "problem: " << p << "\n";
  std::cout << report->documents << " document(s), " << report->changes << " change(s), "
            << report->snapshots << " snapshot(s): "
            << (report->problems.empty() ? "OK"
                                         : std::to_string(report->problems.size()) + " problem(s)")
            << "\n";
  return report->problems.empty() ? kExitOk : kExitFailed;
}

int Compact(const Args& args) {
  Result<std::unique_ptr<Store>> store = OpenStore(args.data, Access::kWrite);
  if (!store.ok()) return Fail(store.status());
  const std::string& name = args.positional[0];
  if (Status s = storage::CompactDocument(**store, name, !args.keep_log); !s.ok()) return Fail(s);
  Result<storage::DocMeta> m = (*store)->GetMeta(name);
  if (!m.ok()) return Fail(m.status());
  std::cout << "compacted '" << name << "': snapshot at " << m->snapshot_seq << " ("
            << m->snapshot_bytes << " B), log " << m->first_seq << ".." << m->head_seq << " ("
            << m->change_bytes << " B)\n";
  return kExitOk;
}

int Salvage(const Args& args) {
  Result<std::unique_ptr<Store>> store = OpenStore(args.data, Access::kSalvage);
  if (!store.ok()) return Fail(store.status());
  Result<std::vector<std::string>> names = (*store)->ListDocuments();
  if (!names.ok()) return Fail(names.status());
  for (const std::string& name : *names) {
    Result<storage::DocMeta> m = (*store)->GetMeta(name);
    std::cout << name << ": "
              << (m.ok()
                      ? "seqs " + std::to_string(m->first_seq) + ".." + std::to_string(m->head_seq)
                      : m.status().ToString())
              << "\n";
  }
  std::cout << "salvaged " << args.data << ": " << names->size()
            << " document(s); run quire verify --data " << args.data << "\n";
  return kExitOk;
}

int Backup(const Args& args) {
  std::error_code ec;
  if (std::filesystem::exists(args.to, ec)) {
    return FailInput(InvalidArgument(args.to + " exists already; back up into a new directory"));
  }
  Result<std::unique_ptr<Store>> store = OpenStore(args.data, Access::kWrite);
  if (!store.ok()) {
    if (store.status().message().find("lock") != std::string::npos) {
      std::cerr << "quire: " << args.data
                << " is open in another process (a running quire-server?): send it SIGUSR1 "
                   "to back up with --backup-dir, or stop it first\n";
    }
    return Fail(store.status());
  }
  std::filesystem::create_directories(args.to, ec);
  if (ec) return Fail(IoError("creating " + args.to + ": " + ec.message()));
  if (Status s = (*store)->Checkpoint(args.to + "/db"); !s.ok()) return Fail(s);
  // The agent key lets clients resume their agents after a restore.
  const std::string key = args.data + "/agent.key";
  if (std::filesystem::exists(key, ec)) {
    std::filesystem::copy_file(key, args.to + "/agent.key", ec);
    if (ec) return Fail(IoError("copying " + key + ": " + ec.message()));
  }
  Result<std::vector<std::string>> names = (*store)->ListDocuments();
  std::cout << "backed up " << (names.ok() ? names->size() : 0) << " document(s) into "
            << args.to << "\n";
  return kExitOk;
}

}  // namespace

Runner AddInspect(CLI::App& cmd) {
  auto a = Declare(cmd, kInspectHelp, {"DOC"}, 0);
  return [a] { return Inspect(*a); };
}

Runner AddExport(CLI::App& cmd) {
  auto a = Declare(cmd, kExportHelp, {"DOC"}, 1);
  CLI::Option* at = cmd.add_option("--at", a->at, "the seq to export the text as of");
  return [a, at] {
    a->has_at = at->count() > 0;
    return Export(*a);
  };
}

Runner AddImport(CLI::App& cmd) {
  auto a = Declare(cmd, kImportHelp, {"DOC", "FILE"}, 2);
  return [a] { return Import(*a); };
}

Runner AddVerify(CLI::App& cmd) {
  auto a = Declare(cmd, kVerifyHelp, {}, 0);
  return [a] { return Verify(*a); };
}

Runner AddCompact(CLI::App& cmd) {
  auto a = Declare(cmd, kCompactHelp, {"DOC"}, 1);
  cmd.add_flag("--keep-log", a->keep_log, "keep the changes the snapshot covers");
  return [a] { return Compact(*a); };
}

Runner AddSalvage(CLI::App& cmd) {
  auto a = Declare(cmd, kSalvageHelp, {}, 0);
  return [a] { return Salvage(*a); };
}

Runner AddBackup(CLI::App& cmd) {
  auto a = Declare(cmd, kBackupHelp, {}, 0);
  cmd.add_option("--to", a->to, "the new directory (must not exist)")->required();
  return [a] { return Backup(*a); };
}

}  // namespace quire::tools
