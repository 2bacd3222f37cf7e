// What the store's bytes mean as documents: loading a TextDoc from the
// newest snapshot and the changes after it, snapshots, compaction and
// verification. Uses the CRDT; no RocksDB (works on any Store).
//
// Thread safety: functions of their arguments; Store is thread-safe.
#ifndef QUIRE_STORAGE_DOCUMENTS_H_
#define QUIRE_STORAGE_DOCUMENTS_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"
#include "crdt/text_doc.h"
#include "storage/store.h"

namespace quire::storage {

struct LoadedTextDoc {
  crdt::TextDoc doc;
  uint64_t seq = 0;  // The seq the document is at.
  uint64_t epoch = 0;
  // Snapshots that did not load and were passed over for an older one or
  // the log (each names its seq and why); empty normally. Worth a log line:
  // verify reports them too, and the next snapshot replaces them.
  std::vector<std::string> skipped_snapshots;
};

// The document at its head: newest snapshot plus every change after it.
// A snapshot that does not decode is passed over for an older one, or the
// whole log, where the log still reaches back (docs/storage.md). Otherwise
// Corruption naming document and seq for anything that does not decode or
// apply.
Result<LoadedTextDoc> LoadTextDoc(Store& store, std::string_view doc, crdt::AgentId agent);
// The document as of `seq` (<= head): the newest snapshot at or before it
// that loads and the changes up to it. NotFound when the log no longer
// reaches back.
Result<LoadedTextDoc> LoadTextDocAt(Store& store, std::string_view doc, uint64_t seq,
                                    crdt::AgentId agent);
// Decodes stored snapshot bytes: the one place that calls TextDoc::Decode
// for the store, with the document size limit.
Result<crdt::TextDoc> DecodeSnapshot(std::string_view name, uint64_t seq, std::string_view bytes,
                                     crdt::AgentId agent);
// Applies stored changes (in seq order) to `doc`.
Status ApplyStored(std::string_view name, const std::vector<StoredChange>& changes,
                   crdt::TextDoc* doc);

// Writes a snapshot of the document at its head.
Status TakeSnapshot(Store& store, std::string_view doc);
// A snapshot at the head, then (drop_covered_changes) the changes it covers
// removed, then the storage engine compacted.
Status CompactDocument(Store& store, std::string_view doc, bool drop_covered_changes);

struct VerifyReport {
  size_t documents = 0;
  size_t changes = 0;
  size_t snapshots = 0;
  std::vector<std::string> problems;  // Each names its document (and seq).
};
// Decodes every value and checks each snapshot against a replay of the log
// (where the log still reaches back) and the head against both; reports
// records that belong to no document (OrphanedRecords). `progress` (may be
// empty) gets (documents done, documents total).
Result<VerifyReport> Verify(Store& store, const std::function<void(size_t, size_t)>& progress);

}  // namespace quire::storage

#endif  // QUIRE_STORAGE_DOCUMENTS_H_
