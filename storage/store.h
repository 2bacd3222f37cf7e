// Store keeps Quire's documents on disk: per document, the log of accepted
// changes (each with its server seq, author and server time) and snapshots
// (the encoded document at a seq), plus metadata. docs/storage.md has the
// layout, the durability modes and the threading.
//
// Seqs start at 1 and increase by 1 per change with no gaps. A document is
// created by its first append and gets an epoch then; deleting it removes
// everything, and a re-created document gets a new epoch.
//
// Thread safety: every method may be called from any thread. Writes
// (appends, snapshots, deletes) run on the store's writer thread, in the
// order they were submitted for each document; reads, including the
// metadata a write needs, run on other threads, so no document's appends
// wait behind another's reads.
#ifndef QUIRE_STORAGE_STORE_H_
#define QUIRE_STORAGE_STORE_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace quire::storage {

enum class Durability {
  kSync,   // Acknowledged once fsynced; concurrent writers share an fsync.
  kAsync,  // Written to the WAL without fsync: for tests and benchmarks.
};

// The size limit of a document: bytes of its encoded changes
// (NewChange::change), counting every change appended since it was
// created, even those compaction dropped later (DocMeta::history_bytes).
// One number for the store's appends, `quire import` and the server.
// 64 MiB is 4x under the 256 MiB body that crdt's Decode accepts: an
// encoded body usually takes fewer bytes than the changes that built it,
// though nothing makes that a bound, hence the margin.
// LIMIT WIRING: when crdt/ has its own document byte limit, make this that
// constant; documents.cc DecodeSnapshot is where it goes to Decode.
inline constexpr uint64_t kMaxDocumentBytes = uint64_t{64} << 20;

struct StoreOptions {
  Durability durability = Durability::kSync;
  // Merge queued appends into one write and one fsync (group commit).
  // false writes and fsyncs each append alone (the benchmark's baseline).
  bool group_commit = true;
  // Snapshot policy: a background snapshot once a document has this many
  // changes, or this many bytes of changes, after its newest snapshot
  // (0 = never by that measure).
  uint64_t snapshot_every_changes = 10000;
  uint64_t snapshot_every_bytes = 4 << 20;
  // Create the data directory when there is none. false: NotFound, and
  // nothing is created.
  bool create_if_missing = true;
  // Open for reading only (quire inspect, export, verify): nothing on disk
  // is created or changed, the write-ahead log is replayed into memory
  // only, and every write returns Internal. Implies !create_if_missing.
  bool read_only = false;
  // Appends that would take a document's history_bytes past this are
  // refused (ResourceExhausted) and write nothing.
  uint64_t max_document_bytes = kMaxDocumentBytes;
  // Documents whose metadata the writer keeps in memory; the least
  // recently used beyond this are evicted (and read again when needed).
  size_t meta_cache_entries = 10000;
  // A write-ahead log damaged before its last record (anything but the torn
  // tail a crash leaves) makes opening fail with Corruption, so that no
  // acknowledged change is silently dropped. true keeps the writes before
  // the damage and drops every later one, acknowledged or not: for
  // `quire salvage`, after the operator has backed the directory up.
  bool salvage_damaged_wal = false;
};

struct NewChange {
  std::string change;   // The encoded crdt::Change (crdt/change_codec.h).
  std::string author;   // Who sent it (an authenticated user or agent name).
  int64_t time_ms = 0;  // Server time it was accepted.
};

struct AppendRequest {
  std::string doc;
  std::vector<NewChange> changes;
};

struct StoredChange {
  uint64_t seq = 0;
  std::string change;
  std::string author;
  int64_t time_ms = 0;
};

struct DocMeta {
  uint64_t epoch = 0;
  uint64_t head_seq = 0;      // Seq of the newest change (0: none).
  uint64_t first_seq = 1;     // Oldest change still in the log.
  uint64_t snapshot_seq = 0;  // Newest snapshot (0: none).
  int64_t created_ms = 0;
  int64_t updated_ms = 0;
  uint64_t change_bytes = 0;    // Stored bytes of the changes in the log.
  uint64_t snapshot_bytes = 0;  // Of the newest snapshot.
  uint64_t changes_since_snapshot = 0;
  uint64_t bytes_since_snapshot = 0;
  // Bytes of every encoded change appended since creation, dropped ones
  // included: what max_document_bytes limits.
  uint64_t history_bytes = 0;
};

struct LoadedDoc {
  DocMeta meta;
  uint64_t snapshot_seq = 0;       // 0: no snapshot; replay `tail` from empty.
  std::string snapshot;            // TextDoc::Encode() bytes.
  std::vector<StoredChange> tail;  // Changes after snapshot_seq, in seq order.
};

// Change or snapshot records of a name that has no metadata: damage (the
// metadata record was lost), reported by verify.
struct OrphanedRecords {
  std::string doc;
  uint64_t changes = 0;
  uint64_t snapshots = 0;
};

// Counters since the store was opened.
struct StoreStats {
  uint64_t writes = 0;  // Committed write batches (one fsync each in sync mode).
  uint64_t appended_changes = 0;
  uint64_t snapshots_taken = 0;  // By the background policy.
};

// Valid document names: 1 to 256 bytes, no NUL, valid UTF-8.
Status ValidateDocName(std::string_view doc);

class Store {
 public:
  virtual ~Store() = default;

  // Appends each request's changes to its document, all requests in one
  // atomic write. Returns each request's first assigned seq once durable.
  // Nothing is written when it fails: InvalidArgument for a bad name or an
  // empty change, ResourceExhausted past max_document_bytes, Corruption
  // for a document whose metadata is damaged or a new document whose name
  // already has records (OrphanedRecords).
  virtual Result<std::vector<uint64_t>> Append(std::vector<AppendRequest> batch) = 0;
  // The same, without blocking: `done` runs on the writer thread once the
  // write is durable (post it to your own executor from there), or at once
  // on the calling thread when the batch is refused before it is queued.
  // From `done`, only AppendAsync() and Stats() may be called: the calls
  // that wait for the writer return Internal there instead of deadlocking.
  using AppendDone = std::function<void(Result<std::vector<uint64_t>>)>;
  virtual void AppendAsync(std::vector<AppendRequest> batch, AppendDone done) = 0;

  // Changes with seq >= from_seq, in order, at most max_changes and about
  // max_bytes (at least one when there is one). NotFound: no such document;
  // OutOfRange: from_seq is before the oldest change still in the log.
  virtual Result<std::vector<StoredChange>> ReadChanges(std::string_view doc, uint64_t from_seq,
                                                        size_t max_changes, size_t max_bytes) = 0;
  // The newest snapshot and every change after it.
  virtual Result<LoadedDoc> Load(std::string_view doc) = 0;
  // The newest snapshot at or before `seq` (NotFound when none).
  virtual Result<std::pair<uint64_t, std::string>> SnapshotAtOrBefore(std::string_view doc,
                                                                      uint64_t seq) = 0;
  // Stores `bytes` (TextDoc::Encode) as the document at `seq`, if the
  // document still has `epoch` (NotFound when it was deleted, or deleted
  // and created again, since the bytes were made).
  virtual Status WriteSnapshot(std::string_view doc, uint64_t epoch, uint64_t seq,
                               std::string bytes) = 0;
  // Removes changes with seq <= up_to (they must be covered by a snapshot),
  // if the document still has `epoch`.
  virtual Status DropChangesThrough(std::string_view doc, uint64_t epoch, uint64_t up_to) = 0;
  virtual Result<std::vector<std::string>> ListDocuments() = 0;
  virtual Result<DocMeta> GetMeta(std::string_view doc) = 0;
  // Creates an empty document (metadata with a new epoch, no changes)
  // unless one exists, and returns its metadata either way: a server gives
  // a document its epoch before anyone holds a copy.
  virtual Result<DocMeta> CreateDocument(std::string_view doc) = 0;
  // Removes every record of `doc`, also when its metadata is damaged or
  // missing (orphaned records). NotFound when there is nothing to remove.
  virtual Status DeleteDocument(std::string_view doc) = 0;
  // Every name with change or snapshot records but no metadata.
  virtual Result<std::vector<OrphanedRecords>> ListOrphanedRecords() = 0;
  // Every snapshot seq of a document, ascending.
  virtual Result<std::vector<uint64_t>> ListSnapshots(std::string_view doc) = 0;
  // Asks the storage engine to reclaim space now.
  virtual Status CompactStorage() = 0;
  // Writes a consistent copy of the whole store into `dir`, which must not
  // exist yet: a RocksDB checkpoint (hard links to the immutable files
  // where `dir` is on the same file system, copies otherwise, and the
  // write-ahead log). Safe while the store takes writes: the copy holds
  // every change acknowledged before the call. The copy opens as a store
  // (quire backup; docs/operations.md, "Backups").
  virtual Status Checkpoint(const std::string& dir) = 0;
  // OK when the store takes writes now: opened for writing, and the
  // storage engine reports no background error (a failed flush or
  // compaction, a full disk). For readiness checks.
  virtual Status CheckWritable() = 0;
  // Waits until background work (snapshots) queued so far is done.
  virtual void Flush() = 0;
  virtual StoreStats Stats() = 0;
};

// Opens (or creates) the RocksDB store in `dir`. NotFound (and nothing
// created) when there is none and options say not to create it;
// Corruption, saying what to do, for a write-ahead log damaged before its
// end (StoreOptions::salvage_damaged_wal).
Result<std::unique_ptr<Store>> OpenRocksDbStore(const std::string& dir,
                                                const StoreOptions& options);

}  // namespace quire::storage

#endif  // QUIRE_STORAGE_STORE_H_
