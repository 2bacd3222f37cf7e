// `quire log --data DIR DOC [--since SEQ] [--json]`: the audit trail. Every
// stored change carries its author (the token's `sub`) and the server's
// time; this prints them with what the change did to the text, replaying
// the log from the snapshot at or before SEQ (docs/operations.md, "Audit").
#include <ctime>
#include <filesystem>
#include <iostream>
#include <memory>

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include "base/utf8.h"
#include "crdt/change_codec.h"
#include "storage/documents.h"
#include "storage/store.h"
#include "tools/command.h"

namespace quire::tools {
namespace {

constexpr size_t kChunkChanges = 4096;
constexpr size_t kChunkBytes = size_t{4} << 20;
constexpr size_t kShownCodePoints = 32;

struct Args {
  std::string data, doc;
  uint64_t since = 0;
  bool json = false;
};

std::string IsoTime(int64_t ms) {
  if (ms <= 0) return "-";
  const std::time_t t = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof(buf), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(ms % 1000));
  return buf;
}

// The first kShownCodePoints of `text`, quoted as JSON ("\n" escaped).
std::string Quote(std::string_view text) {
  size_t end = 0, n = 0;
  while (end < text.size() && n < kShownCodePoints) {
    utf8::Next(text, &end);
    ++n;
  }
  std::string shown = nlohmann::json(std::string(text.substr(0, end))).dump();
  if (end < text.size()) shown += "...";
  return shown;
}

// "insert 5 at 12 \"hello\"; delete 3 at 20": what the patch did, with
// positions in code points of the text before it.
std::string Summary(const ot::TextOp& patch) {
  std::string out;
  size_t pos = 0;
  for (const ot::Component& c : patch.components()) {
    std::string part;
    switch (c.kind) {
      case ot::Component::Kind::kRetain:
        pos += c.count;
        continue;
      case ot::Component::Kind::kInsert:
        part = "insert " + std::to_string(c.count) + " at " + std::to_string(pos) + " " +
               Quote(c.text);
        break;
      case ot::Component::Kind::kDelete:
        part = "delete " + std::to_string(c.count) + " at " + std::to_string(pos);
        pos += c.count;
        break;
    }
    out += out.empty() ? part : "; " + part;
  }
  return out.empty() ? "no visible change" : out;
}

int Fail(const Status& s) {
  std::cerr << "quire: " << s.ToString() << "\n";
  return s.code() == StatusCode::kNotFound || s.code() == StatusCode::kInvalidArgument ||
                 s.code() == StatusCode::kIoError || s.code() == StatusCode::kOutOfRange
             ? kExitUsage
             : kExitFailed;
}

int Log(const Args& a) {
  storage::StoreOptions o;
  o.read_only = true;
  o.create_if_missing = false;
  std::string dir = a.data;
  std::error_code ec;
  if (!std::filesystem::exists(dir + "/CURRENT", ec) &&
      std::filesystem::exists(dir + "/db/CURRENT", ec)) {
    dir += "/db";  // quire-server's --data holds the store in db/.
  }
  Result<std::unique_ptr<storage::Store>> store = storage::OpenRocksDbStore(dir, o);
  if (!store.ok()) return Fail(store.status());
  Result<storage::DocMeta> meta = (*store)->GetMeta(a.doc);
  if (!meta.ok()) return Fail(meta.status());
  // The log starts at first_seq after compaction: older history is gone.
  uint64_t from = std::max(a.since, meta->first_seq - 1);
  if (from > a.since) {
    std::cerr << "quire: changes up to seq " << from << " were compacted away\n";
  }
  if (from > meta->head_seq) return kExitOk;
  const crdt::AgentId reader{UINT64_MAX - 3};
  Result<storage::LoadedTextDoc> doc = storage::LoadTextDocAt(**store, a.doc, from, reader);
  if (!doc.ok()) return Fail(doc.status());
  uint64_t at = from;
  while (at < meta->head_seq) {
    Result<std::vector<storage::StoredChange>> chunk =
        (*store)->ReadChanges(a.doc, at + 1, kChunkChanges, kChunkBytes);
    if (!chunk.ok()) return Fail(chunk.status());
    if (chunk->empty()) break;
    for (const storage::StoredChange& c : *chunk) {
      Result<crdt::Change> change = crdt::DecodeChange(c.change);
      Result<ot::TextOp> patch =
          change.ok() ? doc->doc.Apply(*change) : Result<ot::TextOp>(change.status());
      if (!patch.ok()) return Fail(patch.status());
      const std::string summary = Summary(*patch);
      if (a.json) {
        nlohmann::json line = {{"seq", c.seq},         {"time", IsoTime(c.time_ms)},
                               {"time_ms", c.time_ms}, {"user", c.author},
                               {"summary", summary},   {"op", nlohmann::json::parse(patch->ToJson())}};
        std::cout << line.dump() << "\n";
      } else {
        std::cout << c.seq << "  " << IsoTime(c.time_ms) << "  "
                  << nlohmann::json(c.author).dump() << "  " << summary << "\n";
      }
      at = c.seq;
    }
  }
  return kExitOk;
}

}  // namespace

Runner AddLog(CLI::App& cmd) {
  auto a = std::make_shared<Args>();
  cmd.description(
      "Prints who changed DOC, when and how: one line per stored change with its\n"
      "seq, the server's time (UTC), its author (the token's sub) and what it did\n"
      "to the text (positions in code points before the change).\n");
  cmd.add_option("--data", a->data, "the data directory: quire-server's --data, or its db/")
      ->required();
  cmd.add_option("DOC", a->doc, "the document")->required();
  cmd.add_option("--since", a->since, "only changes after this seq");
  cmd.add_flag("--json", a->json, "one JSON object per change, with the op");
  return [a] { return Log(*a); };
}

}  // namespace quire::tools
