// The RocksDB implementation of Store. It validates what callers pass and
// puts three pieces together (storage/internal/):
//  - Db: the open database and every read; reads run on the caller's thread;
//  - Writer: the one writer thread with group commit and its metadata
//    cache, whose misses another thread reads;
//  - Snapshotter: the thread that takes snapshots by policy.
// docs/storage.md describes the whole.
#include <filesystem>
#include <future>
#include <memory>

#include "storage/internal/rocksdb_db.h"
#include "storage/internal/snapshotter.h"
#include "storage/internal/writer.h"
#include "storage/records.h"
#include "storage/store.h"

namespace quire::storage {
namespace {

using internal::Db;
using internal::Writer;

Status Recreated(std::string_view doc) {
  return NotFound(DocName(doc) + " was deleted (or re-created) meanwhile");
}

Status ValidateBatch(const std::vector<AppendRequest>& batch) {
  for (const AppendRequest& r : batch) {
    QUIRE_RETURN_IF_ERROR(ValidateDocName(r.doc));
    if (r.changes.empty()) return InvalidArgument("append of no changes to '" + r.doc + "'");
    for (const NewChange& c : r.changes) {
      if (c.change.empty()) return InvalidArgument("append of an empty change to '" + r.doc + "'");
    }
  }
  return Status::Ok();
}

class RocksDbStore final : public Store {
 public:
  // `next_epoch`: Db::ReadNextEpoch(); unused when read only.
  RocksDbStore(const StoreOptions& options, std::unique_ptr<Db> db, uint64_t next_epoch);
  ~RocksDbStore() override;

  Result<std::vector<uint64_t>> Append(std::vector<AppendRequest> batch) override;
  void AppendAsync(std::vector<AppendRequest> batch, AppendDone done) override;
  Result<std::vector<StoredChange>> ReadChanges(std::string_view doc, uint64_t from_seq,
                                                size_t max_changes, size_t max_bytes) override;
  Result<LoadedDoc> Load(std::string_view doc) override;
  Result<std::pair<uint64_t, std::string>> SnapshotAtOrBefore(std::string_view doc,
                                                              uint64_t seq) override;
  Status WriteSnapshot(std::string_view doc, uint64_t epoch, uint64_t seq,
                       std::string bytes) override;
  Status DropChangesThrough(std::string_view doc, uint64_t epoch, uint64_t up_to) override;
  Result<DocMeta> CreateDocument(std::string_view doc) override;
  Result<std::vector<std::string>> ListDocuments() override { return db_->ListDocuments(); }
  Result<DocMeta> GetMeta(std::string_view doc) override;
  Status DeleteDocument(std::string_view doc) override;
  Result<std::vector<OrphanedRecords>> ListOrphanedRecords() override {
    return db_->ListOrphanedRecords();
  }
  Result<std::vector<uint64_t>> ListSnapshots(std::string_view doc) override;
  Status CompactStorage() override;
  Status Checkpoint(const std::string& dir) override;
  Status CheckWritable() override;
  void Flush() override;
  StoreStats Stats() override;

 private:
  // OK when this thread may wait for a write: the store is writable and
  // this is not the writer thread (which would wait for itself).
  Status CanWait() const;
  // Runs `edit` on the writer thread and waits for it.
  Status RunEdit(std::string doc, Writer::Edit edit);

  std::unique_ptr<Db> db_;
  std::unique_ptr<Writer> writer_;                      // Null when read only.
  std::unique_ptr<internal::Snapshotter> snapshotter_;  // Null when read only.
};

RocksDbStore::RocksDbStore(const StoreOptions& options, std::unique_ptr<Db> db, uint64_t next_epoch)
    : db_(std::move(db)) {
  if (options.read_only) return;
  snapshotter_ = std::make_unique<internal::Snapshotter>(*this, options.snapshot_every_changes,
                                                         options.snapshot_every_bytes);
  internal::WriterOptions w;
  w.sync = options.durability == Durability::kSync;
  w.group_commit = options.group_commit;
  w.max_document_bytes = options.max_document_bytes;
  w.meta_cache_entries = options.meta_cache_entries;
  w.next_epoch = next_epoch;
  writer_ = std::make_unique<Writer>(*db_, w, [this](const std::string& doc, const DocMeta& meta) {
    snapshotter_->MaybeQueue(doc, meta);
  });
}

RocksDbStore::~RocksDbStore() {
  if (!writer_) return;
  // The snapshot thread first: a snapshot in progress still needs the
  // writer to store it. Then the writer, which runs what is queued (its
  // commits may still offer documents to the stopped snapshotter).
  snapshotter_->Stop();
  writer_.reset();
}

Status RocksDbStore::CanWait() const {
  if (!writer_) return Internal("the store was opened read only");
  if (writer_->OnWriterThread()) {
    return Internal("a blocking store call from an append completion (the writer thread)");
  }
  return Status::Ok();
}

Status RocksDbStore::RunEdit(std::string doc, Writer::Edit edit) {
  QUIRE_RETURN_IF_ERROR(CanWait());
  std::promise<Status> promise;
  auto future = promise.get_future();
  writer_->SubmitEdit(std::move(doc), std::move(edit),
                      [&promise](Status s) { promise.set_value(std::move(s)); });
  return future.get();
}

Result<std::vector<uint64_t>> RocksDbStore::Append(std::vector<AppendRequest> batch) {
  QUIRE_RETURN_IF_ERROR(CanWait());
  std::promise<Result<std::vector<uint64_t>>> promise;
  auto future = promise.get_future();
  AppendAsync(std::move(batch),
              [&promise](Result<std::vector<uint64_t>> r) { promise.set_value(std::move(r)); });
  return future.get();
}

void RocksDbStore::AppendAsync(std::vector<AppendRequest> batch, AppendDone done) {
  Status bad = ValidateBatch(batch);
  if (bad.ok() && !writer_) bad = Internal("the store was opened read only");
  if (!bad.ok()) return done(std::move(bad));
  writer_->SubmitAppend(std::move(batch), std::move(done));
}

Result<std::vector<StoredChange>> RocksDbStore::ReadChanges(std::string_view doc, uint64_t from_seq,
                                                            size_t max_changes, size_t max_bytes) {
  QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
  Db::View view(*db_);
  QUIRE_ASSIGN_OR_RETURN(DocMeta meta, db_->ReadMeta(view.options(), doc));
  if (from_seq < meta.first_seq) {
    return OutOfRange(DocName(doc) + " changes before seq " + std::to_string(meta.first_seq) +
                      " were compacted away");
  }
  return db_->ReadChanges(view.options(), doc, from_seq, max_changes, max_bytes);
}

Result<LoadedDoc> RocksDbStore::Load(std::string_view doc) {
  QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
  Db::View view(*db_);
  return db_->Load(view.options(), doc);
}

Result<std::pair<uint64_t, std::string>> RocksDbStore::SnapshotAtOrBefore(std::string_view doc,
                                                                          uint64_t seq) {
  QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
  return db_->SnapshotAtOrBefore(doc, seq);
}

Status RocksDbStore::WriteSnapshot(std::string_view doc, uint64_t epoch, uint64_t seq,
                                   std::string bytes) {
  QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
  auto edit = [this, doc = std::string(doc), epoch, seq, bytes = std::move(bytes)](
                  const Result<DocMeta>& meta, rocksdb::WriteBatch* wb,
                  Result<DocMeta>* after) -> Status {
    if (!meta.ok()) return meta.status();
    if (meta->epoch != epoch) return Recreated(doc);
    if (seq == 0 || seq > meta->head_seq) {
      return InvalidArgument("snapshot seq " + std::to_string(seq) + " is past the head " +
                             std::to_string(meta->head_seq));
    }
    const std::string record = EncodeSnapshotRecord(doc, seq, bytes);
    wb->Put(db_->snapshots(), SeqKey(doc, seq), record);
    DocMeta next = *meta;
    if (seq >= next.snapshot_seq) {
      // Bytes since the snapshot: what the covered changes held, pro rata.
      const uint64_t since = next.head_seq - seq;
      next.bytes_since_snapshot = next.changes_since_snapshot == 0
                                      ? 0
                                      : next.bytes_since_snapshot *
                                            std::min(since, next.changes_since_snapshot) /
                                            next.changes_since_snapshot;
      next.changes_since_snapshot = since;
      next.snapshot_seq = seq;
      next.snapshot_bytes = record.size();
    }
    wb->Put(db_->docs(), doc, EncodeMetaRecord(doc, next));
    *after = next;
    return Status::Ok();
  };
  return RunEdit(std::string(doc), std::move(edit));
}

Status RocksDbStore::DropChangesThrough(std::string_view doc, uint64_t epoch, uint64_t up_to) {
  QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
  QUIRE_RETURN_IF_ERROR(CanWait());
  // The bytes the dropped records hold are counted here, not on the writer
  // thread (a scan of every dropped value). The writer checks that the log
  // still starts where the count did; if another drop came first, count
  // again.
  for (int attempt = 0; attempt < 16; ++attempt) {
    uint64_t first = 0, bytes = 0;
    {
      Db::View view(*db_);
      QUIRE_ASSIGN_OR_RETURN(DocMeta meta, db_->ReadMeta(view.options(), doc));
      if (meta.epoch != epoch) return Recreated(doc);
      first = meta.first_seq;
      if (up_to >= first) {
        QUIRE_ASSIGN_OR_RETURN(bytes, db_->ChangeRecordBytes(view.options(), doc, first, up_to));
      }
    }
    bool moved = false;
    auto edit = [&](const Result<DocMeta>& meta, rocksdb::WriteBatch* wb,
                    Result<DocMeta>* after) -> Status {
      if (!meta.ok()) return meta.status();
      if (meta->epoch != epoch) return Recreated(doc);
      if (up_to > meta->snapshot_seq) {
        return InvalidArgument(
            "changes through seq " + std::to_string(up_to) +
            " are not covered by a snapshot (newest: " + std::to_string(meta->snapshot_seq) + ")");
      }
      if (up_to < meta->first_seq) return Status::Ok();
      if (meta->first_seq != first) {
        moved = true;
        return Internal("the log moved while it was counted");
      }
      wb->DeleteRange(db_->changes(), SeqKey(doc, first), SeqKey(doc, up_to + 1));
      DocMeta next = *meta;
      next.first_seq = up_to + 1;
      next.change_bytes -= std::min(next.change_bytes, bytes);
      wb->Put(db_->docs(), internal::AsSlice(doc), EncodeMetaRecord(doc, next));
      *after = next;
      return Status::Ok();
    };
    const Status s = RunEdit(std::string(doc), edit);
    if (!moved) return s;
  }
  return Internal(DocName(doc) + ": its log kept moving while it was being dropped");
}

Result<DocMeta> RocksDbStore::GetMeta(std::string_view doc) {
  QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
  return db_->ReadMeta(rocksdb::ReadOptions(), doc);
}

Result<DocMeta> RocksDbStore::CreateDocument(std::string_view doc) {
  QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
  QUIRE_RETURN_IF_ERROR(CanWait());
  if (!writer_) return Internal("the store was opened read only");
  std::promise<Result<DocMeta>> promise;
  auto future = promise.get_future();
  writer_->SubmitCreate(std::string(doc),
                        [&promise](Result<DocMeta> r) { promise.set_value(std::move(r)); });
  return future.get();
}

Status RocksDbStore::DeleteDocument(std::string_view doc) {
  QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
  auto edit = [this, doc = std::string(doc)](const Result<DocMeta>& meta, rocksdb::WriteBatch* wb,
                                             Result<DocMeta>* after) -> Status {
    // Damaged or missing metadata with records left (Corruption) is what
    // deleting is for; NotFound means there is nothing to delete.
    if (!meta.ok() && meta.status().code() != StatusCode::kCorruption) return meta.status();
    wb->DeleteRange(db_->changes(), DocPrefix(doc), DocEnd(doc));
    wb->DeleteRange(db_->snapshots(), DocPrefix(doc), DocEnd(doc));
    wb->Delete(db_->docs(), doc);
    *after = NotFound("no " + DocName(doc));  // A new document may take the name.
    return Status::Ok();
  };
  return RunEdit(std::string(doc), std::move(edit));
}

Result<std::vector<uint64_t>> RocksDbStore::ListSnapshots(std::string_view doc) {
  QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
  return db_->ListSnapshots(doc);
}

Status RocksDbStore::CompactStorage() {
  if (!writer_) return Internal("the store was opened read only");
  return db_->CompactAll();
}

Status RocksDbStore::Checkpoint(const std::string& dir) {
  // A read-only open cannot pin its files against a live writer's
  // compactions, and RocksDB refuses checkpoints of it.
  if (!writer_) return Internal("a checkpoint needs the store opened for writing");
  if (std::filesystem::exists(dir)) return InvalidArgument(dir + " exists already");
  return db_->Checkpoint(dir);
}

Status RocksDbStore::CheckWritable() {
  if (!writer_) return Internal("the store was opened read only");
  return db_->BackgroundError();
}

void RocksDbStore::Flush() {
  if (!writer_ || writer_->OnWriterThread()) return;  // Would wait for itself.
  // A write may queue a snapshot and a snapshot queues a write: wait until
  // both are idle at once.
  do {
    writer_->WaitIdle();
    snapshotter_->WaitIdle();
  } while (!writer_->Idle() || !snapshotter_->Idle());
}

StoreStats RocksDbStore::Stats() {
  StoreStats stats;
  if (!writer_) return stats;
  std::tie(stats.writes, stats.appended_changes) = writer_->Counts();
  stats.snapshots_taken = snapshotter_->taken();
  return stats;
}

}  // namespace

Result<std::unique_ptr<Store>> OpenRocksDbStore(const std::string& dir,
                                                const StoreOptions& options) {
  QUIRE_ASSIGN_OR_RETURN(std::unique_ptr<Db> db, Db::Open(dir, options));
  uint64_t next_epoch = 1;
  if (!options.read_only) {
    // Damage must not silently reuse epochs.
    Result<uint64_t> epoch = db->ReadNextEpoch();
    if (!epoch.ok()) return Status(epoch.status().code(), dir + ": " + epoch.status().message());
    next_epoch = *epoch;
  }
  return std::unique_ptr<Store>(new RocksDbStore(options, std::move(db), next_epoch));
}

}  // namespace quire::storage
