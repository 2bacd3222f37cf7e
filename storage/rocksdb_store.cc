// The RocksDB implementation of Store: the only file that includes RocksDB.
//
// Writes go through one writer thread. It takes every append queued since
// its last write and commits them as one WriteBatch with one fsync (group
// commit), then runs their completions. Per-document metadata (next seq,
// epoch, sizes) is cached on that thread, so appends never read before
// writing. A second thread takes snapshots by policy: it loads the document
// with the CRDT, encodes it and queues the snapshot write like any other.
#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>
#include <rocksdb/write_batch.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <set>
#include <thread>
#include <unordered_map>
#include <variant>

#include "base/coding.h"
#include "storage/documents.h"
#include "storage/records.h"
#include "storage/store.h"

namespace quire::storage {
namespace {

// Metadata key of the epoch counter; no document name starts with NUL.
const std::string kNextEpochKey("\0next_epoch", 11);

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound()) return NotFound(what + ": " + s.ToString());
  if (s.IsCorruption()) return Corruption(what + ": " + s.ToString());
  return Status(StatusCode::kIoError, what + ": " + s.ToString());
}

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

rocksdb::Slice AsSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }

class RocksDbStore final : public Store {
 public:
  RocksDbStore(const StoreOptions& options, rocksdb::DB* db,
               std::vector<rocksdb::ColumnFamilyHandle*> handles, uint64_t next_epoch)
      : options_(options), db_(db), handles_(std::move(handles)) {
    changes_ = handles_[1];
    snapshots_ = handles_[2];
    docs_ = handles_[3];
    write_options_.sync = options.durability == Durability::kSync;
    next_epoch_ = next_epoch;
    writer_ = std::thread([this] { WriterLoop(); });
    snapshotter_ = std::thread([this] { SnapshotLoop(); });
  }

  ~RocksDbStore() override {
    // The snapshot thread first: a snapshot in progress still needs the
    // writer to store it.
    {
      std::lock_guard<std::mutex> lock(mu_);
      snapshot_stopping_ = true;
    }
    snapshot_cv_.notify_all();
    snapshotter_.join();
    {
      std::lock_guard<std::mutex> lock(mu_);
      stopping_ = true;
    }
    cv_.notify_all();
    writer_.join();
    for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
    delete db_;
  }

  Result<std::vector<uint64_t>> Append(std::vector<AppendRequest> batch) override {
    if (OnWriter()) return WriterReentry();
    std::promise<Result<std::vector<uint64_t>>> promise;
    auto future = promise.get_future();
    AppendAsync(std::move(batch), [&promise](Result<std::vector<uint64_t>> r) {
      promise.set_value(std::move(r));
    });
    return future.get();
  }

  void AppendAsync(std::vector<AppendRequest> batch, AppendDone done) override {
    Status bad = ValidateBatch(batch);
    if (!bad.ok()) return done(std::move(bad));
    Enqueue(AppendTask{std::move(batch), std::move(done)});
  }

  Result<std::vector<StoredChange>> ReadChanges(std::string_view doc, uint64_t from_seq,
                                                size_t max_changes, size_t max_bytes) override {
    QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
    const rocksdb::Snapshot* snap = db_->GetSnapshot();
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    Result<DocMeta> meta = ReadMeta(ro, doc);
    Result<std::vector<StoredChange>> out =
        !meta.ok() ? Result<std::vector<StoredChange>>(meta.status())
        : from_seq < meta->first_seq
            ? Result<std::vector<StoredChange>>(OutOfRange(
                  "document '" + std::string(doc) + "' changes before seq " +
                  std::to_string(meta->first_seq) + " were compacted away"))
            : ReadChangesAt(ro, doc, from_seq, max_changes, max_bytes);
    db_->ReleaseSnapshot(snap);
    return out;
  }

  Result<LoadedDoc> Load(std::string_view doc) override {
    QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
    const rocksdb::Snapshot* snap = db_->GetSnapshot();
    rocksdb::ReadOptions ro;
    ro.snapshot = snap;
    Result<LoadedDoc> out = LoadAt(ro, doc);
    db_->ReleaseSnapshot(snap);
    return out;
  }

  Result<std::pair<uint64_t, std::string>> SnapshotAtOrBefore(std::string_view doc,
                                                               uint64_t seq) override {
    QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), snapshots_));
    it->SeekForPrev(SeqKey(doc, seq));
    const std::string prefix = DocPrefix(doc);
    if (!it->Valid() || !it->key().starts_with(prefix)) {
      QUIRE_RETURN_IF_ERROR(FromRocks(it->status(), "reading snapshots"));
      return NotFound("no snapshot of '" + std::string(doc) + "' at or before seq " +
                      std::to_string(seq));
    }
    std::string_view key_doc;
    uint64_t key_seq;
    QUIRE_RETURN_IF_ERROR(ParseSeqKey(std::string_view(it->key().data(), it->key().size()),
                                      &key_doc, &key_seq));
    QUIRE_ASSIGN_OR_RETURN(
        std::string_view bytes,
        DecodeSnapshotRecord(doc, key_seq, std::string_view(it->value().data(), it->value().size())));
    return std::make_pair(key_seq, std::string(bytes));
  }

  Status WriteSnapshot(std::string_view doc, uint64_t epoch, uint64_t seq,
                       std::string bytes) override {
    QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
    return RunOnWriter([this, doc = std::string(doc), epoch, seq, bytes = std::move(bytes)](
                           rocksdb::WriteBatch* wb) -> Status {
      QUIRE_ASSIGN_OR_RETURN(DocMeta * meta, CachedMeta(doc));
      if (meta->epoch != epoch) return Recreated(doc);
      if (seq == 0 || seq > meta->head_seq) {
        return InvalidArgument("snapshot seq " + std::to_string(seq) + " is past the head " +
                               std::to_string(meta->head_seq));
      }
      const std::string record = EncodeSnapshotRecord(bytes);
      wb->Put(snapshots_, SeqKey(doc, seq), record);
      DocMeta next = *meta;
      if (seq >= next.snapshot_seq) {
        // Bytes since the snapshot: what the covered changes held, pro rata.
        const uint64_t after = next.head_seq - seq;
        next.bytes_since_snapshot =
            next.changes_since_snapshot == 0
                ? 0
                : next.bytes_since_snapshot * std::min(after, next.changes_since_snapshot) /
                      next.changes_since_snapshot;
        next.changes_since_snapshot = after;
        next.snapshot_seq = seq;
        next.snapshot_bytes = record.size();
      }
      wb->Put(docs_, doc, EncodeMetaRecord(next));
      pending_meta_ = {doc, next};
      return Status::Ok();
    });
  }

  Status DropChangesThrough(std::string_view doc, uint64_t epoch, uint64_t up_to) override {
    QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
    return RunOnWriter([this, doc = std::string(doc), epoch,
                        up_to](rocksdb::WriteBatch* wb) -> Status {
      QUIRE_ASSIGN_OR_RETURN(DocMeta * meta, CachedMeta(doc));
      if (meta->epoch != epoch) return Recreated(doc);
      if (up_to > meta->snapshot_seq) {
        return InvalidArgument("changes through seq " + std::to_string(up_to) +
                               " are not covered by a snapshot (newest: " +
                               std::to_string(meta->snapshot_seq) + ")");
      }
      if (up_to < meta->first_seq) return Status::Ok();
      uint64_t dropped_bytes = 0;
      std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), changes_));
      const std::string end = SeqKey(doc, up_to + 1);
      for (it->Seek(SeqKey(doc, meta->first_seq)); it->Valid() && it->key().compare(end) < 0;
           it->Next()) {
        dropped_bytes += it->value().size();
      }
      QUIRE_RETURN_IF_ERROR(FromRocks(it->status(), "reading changes"));
      wb->DeleteRange(changes_, SeqKey(doc, meta->first_seq), end);
      DocMeta next = *meta;
      next.first_seq = up_to + 1;
      next.change_bytes -= std::min(next.change_bytes, dropped_bytes);
      wb->Put(docs_, doc, EncodeMetaRecord(next));
      pending_meta_ = {doc, next};
      return Status::Ok();
    });
  }

  Result<std::vector<std::string>> ListDocuments() override {
    std::vector<std::string> out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), docs_));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      if (it->key() == kNextEpochKey) continue;
      out.emplace_back(it->key().data(), it->key().size());
    }
    QUIRE_RETURN_IF_ERROR(FromRocks(it->status(), "listing documents"));
    return out;
  }

  Result<DocMeta> GetMeta(std::string_view doc) override {
    QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
    return ReadMeta(rocksdb::ReadOptions(), doc);
  }

  Status DeleteDocument(std::string_view doc) override {
    QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
    return RunOnWriter([this, doc = std::string(doc)](rocksdb::WriteBatch* wb) -> Status {
      // A document whose metadata is damaged can still be deleted.
      Result<DocMeta*> meta = CachedMeta(doc);
      if (!meta.ok() && meta.status().code() != StatusCode::kCorruption) return meta.status();
      std::string end(doc);
      end.push_back('\x01');  // Every key of doc is doc, NUL, seq: below doc, 0x01.
      wb->DeleteRange(changes_, DocPrefix(doc), end);
      wb->DeleteRange(snapshots_, DocPrefix(doc), end);
      wb->Delete(docs_, doc);
      deleted_doc_ = doc;
      return Status::Ok();
    });
  }

  Result<std::vector<uint64_t>> ListSnapshots(std::string_view doc) override {
    QUIRE_RETURN_IF_ERROR(ValidateDocName(doc));
    std::vector<uint64_t> out;
    const std::string prefix = DocPrefix(doc);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), snapshots_));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
      std::string_view d;
      uint64_t seq;
      QUIRE_RETURN_IF_ERROR(ParseSeqKey(std::string_view(it->key().data(), it->key().size()), &d, &seq));
      out.push_back(seq);
    }
    QUIRE_RETURN_IF_ERROR(FromRocks(it->status(), "listing snapshots"));
    return out;
  }

  Status CompactStorage() override {
    for (rocksdb::ColumnFamilyHandle* h : handles_) {
      QUIRE_RETURN_IF_ERROR(
          FromRocks(db_->CompactRange(rocksdb::CompactRangeOptions(), h, nullptr, nullptr),
                    "compacting"));
    }
    return Status::Ok();
  }

  StoreStats Stats() override {
    std::lock_guard<std::mutex> lock(mu_);
    return stats_;
  }

  void Flush() override {
    if (OnWriter()) return;  // Would wait for itself.
    std::unique_lock<std::mutex> lock(mu_);
    idle_cv_.wait(lock, [this] {
      return queue_.empty() && !writing_ && snapshot_queue_.empty() && !snapshotting_;
    });
  }

 private:
  struct AppendTask {
    std::vector<AppendRequest> batch;
    AppendDone done;
  };
  // Anything else the writer does: fills a batch from the cached metadata.
  struct OtherTask {
    std::function<Status(rocksdb::WriteBatch*)> build;
    std::function<void(Status)> done;
  };
  using Task = std::variant<AppendTask, OtherTask>;

  static Status Recreated(const std::string& doc) {
    return NotFound("document '" + doc + "' was deleted (or re-created) meanwhile");
  }

  static Status ValidateBatch(const std::vector<AppendRequest>& batch) {
    for (const AppendRequest& r : batch) {
      QUIRE_RETURN_IF_ERROR(ValidateDocName(r.doc));
      if (r.changes.empty()) return InvalidArgument("append of no changes to '" + r.doc + "'");
      for (const NewChange& c : r.changes) {
        if (c.change.empty()) return InvalidArgument("append of an empty change to '" + r.doc + "'");
      }
    }
    return Status::Ok();
  }

  void Enqueue(Task task) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      queue_.push_back(std::move(task));
    }
    cv_.notify_one();
  }

  bool OnWriter() const { return std::this_thread::get_id() == writer_.get_id(); }
  static Status WriterReentry() {
    return Status(StatusCode::kInternal,
                  "a blocking store call from an append completion (the writer thread)");
  }

  Status RunOnWriter(std::function<Status(rocksdb::WriteBatch*)> build) {
    if (OnWriter()) return WriterReentry();
    std::promise<Status> promise;
    auto future = promise.get_future();
    Enqueue(OtherTask{std::move(build), [&promise](Status s) { promise.set_value(std::move(s)); }});
    return future.get();
  }

  // Writer thread only: the committed metadata of `doc`, read once.
  Result<DocMeta*> CachedMeta(const std::string& doc) {
    auto it = meta_cache_.find(doc);
    if (it != meta_cache_.end()) return &it->second;
    QUIRE_ASSIGN_OR_RETURN(DocMeta meta, ReadMeta(rocksdb::ReadOptions(), doc));
    return &meta_cache_.emplace(doc, meta).first->second;
  }

  Result<DocMeta> ReadMeta(const rocksdb::ReadOptions& ro, std::string_view doc) {
    std::string value;
    const rocksdb::Status s = db_->Get(ro, docs_, AsSlice(doc), &value);
    if (s.IsNotFound()) return NotFound("no document '" + std::string(doc) + "'");
    QUIRE_RETURN_IF_ERROR(FromRocks(s, "reading metadata"));
    return DecodeMetaRecord(doc, value);
  }

  Result<std::vector<StoredChange>> ReadChangesAt(const rocksdb::ReadOptions& ro,
                                                  std::string_view doc, uint64_t from_seq,
                                                  size_t max_changes, size_t max_bytes) {
    std::vector<StoredChange> out;
    size_t bytes = 0;
    const std::string prefix = DocPrefix(doc);
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, changes_));
    uint64_t expect = 0;
    for (it->Seek(SeqKey(doc, from_seq)); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      if (out.size() >= max_changes || (!out.empty() && bytes >= max_bytes)) break;
      std::string_view d;
      uint64_t seq;
      QUIRE_RETURN_IF_ERROR(
          ParseSeqKey(std::string_view(it->key().data(), it->key().size()), &d, &seq));
      if (expect != 0 && seq != expect) {
        return Corruption("document '" + std::string(doc) + "' is missing change " +
                          std::to_string(expect));
      }
      expect = seq + 1;
      QUIRE_ASSIGN_OR_RETURN(
          StoredChange c,
          DecodeChangeRecord(doc, seq, std::string_view(it->value().data(), it->value().size())));
      bytes += c.change.size();
      out.push_back(std::move(c));
    }
    QUIRE_RETURN_IF_ERROR(FromRocks(it->status(), "reading changes"));
    return out;
  }

  Result<LoadedDoc> LoadAt(const rocksdb::ReadOptions& ro, std::string_view doc) {
    LoadedDoc out;
    QUIRE_ASSIGN_OR_RETURN(out.meta, ReadMeta(ro, doc));
    if (out.meta.snapshot_seq > 0) {
      std::string value;
      const rocksdb::Status s =
          db_->Get(ro, snapshots_, SeqKey(doc, out.meta.snapshot_seq), &value);
      if (s.IsNotFound()) {
        return Corruption("document '" + std::string(doc) + "' snapshot " +
                          std::to_string(out.meta.snapshot_seq) + " is missing");
      }
      QUIRE_RETURN_IF_ERROR(FromRocks(s, "reading a snapshot"));
      QUIRE_ASSIGN_OR_RETURN(std::string_view bytes,
                             DecodeSnapshotRecord(doc, out.meta.snapshot_seq, value));
      out.snapshot.assign(bytes);
      out.snapshot_seq = out.meta.snapshot_seq;
    } else if (out.meta.first_seq != 1) {
      return Corruption("document '" + std::string(doc) +
                        "' has neither a snapshot nor its first changes");
    }
    QUIRE_ASSIGN_OR_RETURN(out.tail, ReadChangesAt(ro, doc, out.snapshot_seq + 1, SIZE_MAX,
                                                   SIZE_MAX));
    const uint64_t expect = out.meta.head_seq - out.snapshot_seq;
    if (out.tail.size() != expect ||
        (!out.tail.empty() && out.tail.front().seq != out.snapshot_seq + 1)) {
      return Corruption("document '" + std::string(doc) + "' has " +
                        std::to_string(out.tail.size()) + " changes after seq " +
                        std::to_string(out.snapshot_seq) + ", its metadata says " +
                        std::to_string(expect));
    }
    return out;
  }

  void WriterLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) {
        if (stopping_) break;
        continue;
      }
      // Take every queued append (group commit), or one other task.
      std::vector<AppendTask> appends;
      std::optional<OtherTask> other;
      if (std::holds_alternative<OtherTask>(queue_.front())) {
        other = std::move(std::get<OtherTask>(queue_.front()));
        queue_.pop_front();
      } else {
        while (!queue_.empty() && std::holds_alternative<AppendTask>(queue_.front())) {
          appends.push_back(std::move(std::get<AppendTask>(queue_.front())));
          queue_.pop_front();
          if (!options_.group_commit) break;
        }
      }
      writing_ = true;
      lock.unlock();
      if (other) {
        RunOther(*other);
      } else {
        CommitAppends(appends);
      }
      lock.lock();
      writing_ = false;
      if (queue_.empty()) idle_cv_.notify_all();
    }
  }

  void RunOther(OtherTask& task) {
    rocksdb::WriteBatch wb;
    pending_meta_.reset();
    deleted_doc_.reset();
    Status s = task.build(&wb);
    if (s.ok()) s = FromRocks(db_->Write(write_options_, &wb), "writing");
    if (s.ok()) {
      std::lock_guard<std::mutex> lock(mu_);
      ++stats_.writes;
    }
    if (s.ok()) {
      if (pending_meta_) meta_cache_[pending_meta_->first] = pending_meta_->second;
      if (deleted_doc_) meta_cache_.erase(*deleted_doc_);
    }
    task.done(std::move(s));
  }

  void CommitAppends(std::vector<AppendTask>& tasks) {
    rocksdb::WriteBatch wb;
    std::unordered_map<std::string, DocMeta> touched;  // Metadata as of this batch.
    uint64_t next_epoch = next_epoch_;
    const int64_t now = NowMs();
    std::vector<Result<std::vector<uint64_t>>> results;
    for (AppendTask& task : tasks) {
      // Resolve every document's metadata first: a task whose document
      // cannot be read (corrupt metadata) fails alone and writes nothing.
      std::unordered_map<std::string, DocMeta> metas;
      Status failed;
      uint64_t task_epoch = next_epoch;
      for (const AppendRequest& r : task.batch) {
        if (metas.count(r.doc) > 0) continue;
        if (auto t = touched.find(r.doc); t != touched.end()) {
          metas[r.doc] = t->second;
          continue;
        }
        Result<DocMeta*> cached = CachedMeta(r.doc);
        if (cached.ok()) {
          metas[r.doc] = **cached;
        } else if (cached.status().code() == StatusCode::kNotFound) {
          DocMeta fresh;  // A new document.
          fresh.epoch = task_epoch++;
          fresh.created_ms = now;
          metas[r.doc] = fresh;
        } else {
          failed = cached.status();
          break;
        }
      }
      if (!failed.ok()) {
        results.emplace_back(failed);
        continue;
      }
      next_epoch = task_epoch;
      std::vector<uint64_t> firsts;
      for (const AppendRequest& r : task.batch) {
        DocMeta& meta = metas[r.doc];
        firsts.push_back(meta.head_seq + 1);
        for (const NewChange& c : r.changes) {
          const std::string record = EncodeChangeRecord(c);
          wb.Put(changes_, SeqKey(r.doc, ++meta.head_seq), record);
          meta.change_bytes += record.size();
          meta.bytes_since_snapshot += record.size();
          ++meta.changes_since_snapshot;
        }
        meta.updated_ms = now;
      }
      for (auto& [doc, meta] : metas) touched[doc] = meta;
      results.emplace_back(std::move(firsts));
    }
    for (const auto& [doc, meta] : touched) wb.Put(docs_, doc, EncodeMetaRecord(meta));
    if (next_epoch != next_epoch_) {
      std::string v;
      PutVarint(&v, next_epoch);
      wb.Put(docs_, kNextEpochKey, v);
    }
    const Status written = FromRocks(db_->Write(write_options_, &wb), "appending");
    if (written.ok()) {
      {
        std::lock_guard<std::mutex> lock(mu_);
        ++stats_.writes;
        for (size_t i = 0; i < tasks.size(); ++i) {
          if (!results[i].ok()) continue;
          for (const AppendRequest& r : tasks[i].batch) stats_.appended_changes += r.changes.size();
        }
      }
      next_epoch_ = next_epoch;
      for (auto& [doc, meta] : touched) {
        meta_cache_[doc] = meta;
        MaybeSnapshot(doc, meta);
      }
    }
    for (size_t i = 0; i < tasks.size(); ++i) {
      tasks[i].done(written.ok() ? std::move(results[i]) : Result<std::vector<uint64_t>>(written));
    }
  }

  void MaybeSnapshot(const std::string& doc, const DocMeta& meta) {
    if (!Due(meta)) return;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!snapshot_pending_.insert(doc).second) return;
      snapshot_queue_.push_back(doc);
    }
    snapshot_cv_.notify_one();
  }

  bool Due(const DocMeta& meta) const {
    return (options_.snapshot_every_changes > 0 &&
            meta.changes_since_snapshot >= options_.snapshot_every_changes) ||
           (options_.snapshot_every_bytes > 0 &&
            meta.bytes_since_snapshot >= options_.snapshot_every_bytes);
  }

  void SnapshotLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (true) {
      snapshot_cv_.wait(lock, [this] { return snapshot_stopping_ || !snapshot_queue_.empty(); });
      if (snapshot_stopping_) break;
      const std::string doc = std::move(snapshot_queue_.front());
      snapshot_queue_.pop_front();
      snapshotting_ = true;
      lock.unlock();
      // Still due? (A snapshot may have landed since this was queued.) A
      // failed background snapshot is retried by a later append; the log
      // holds every change, so nothing is lost.
      Result<DocMeta> meta = GetMeta(doc);
      const bool taken = meta.ok() && Due(*meta) && TakeSnapshot(*this, doc).ok();
      // Appends that came in meanwhile may have made it due again.
      Result<DocMeta> after = taken ? GetMeta(doc) : Result<DocMeta>(NotFound(""));
      const bool again = after.ok() && Due(*after);
      lock.lock();
      // Only now may the document be queued again: no back-to-back copies.
      if (again) {
        snapshot_queue_.push_back(doc);
      } else {
        snapshot_pending_.erase(doc);
      }
      snapshotting_ = false;
      if (taken) ++stats_.snapshots_taken;
      if (queue_.empty() && !writing_ && snapshot_queue_.empty()) idle_cv_.notify_all();
    }
  }

  const StoreOptions options_;
  rocksdb::DB* db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::ColumnFamilyHandle* changes_;
  rocksdb::ColumnFamilyHandle* snapshots_;
  rocksdb::ColumnFamilyHandle* docs_;
  rocksdb::WriteOptions write_options_;

  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable snapshot_cv_;
  std::condition_variable idle_cv_;
  std::deque<Task> queue_;
  bool writing_ = false;
  bool stopping_ = false;
  bool snapshot_stopping_ = false;
  std::deque<std::string> snapshot_queue_;
  std::set<std::string> snapshot_pending_;
  bool snapshotting_ = false;
  StoreStats stats_;

  // Writer thread only.
  std::unordered_map<std::string, DocMeta> meta_cache_;
  uint64_t next_epoch_ = 0;
  std::optional<std::pair<std::string, DocMeta>> pending_meta_;
  std::optional<std::string> deleted_doc_;

  std::thread writer_;
  std::thread snapshotter_;
};

}  // namespace

Result<std::unique_ptr<Store>> OpenRocksDbStore(const std::string& dir,
                                                const StoreOptions& options) {
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = options.create_if_missing;
  db_options.create_missing_column_families = true;
  db_options.paranoid_checks = true;
  db_options.keep_log_file_num = 2;  // RocksDB's own info logs, not data.
  db_options.max_log_file_size = 1 << 20;
  rocksdb::ColumnFamilyOptions cf_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {"changes", cf_options},
      {"snapshots", cf_options},
      {"docs", cf_options},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  const rocksdb::Status s = rocksdb::DB::Open(db_options, dir, families, &handles, &db);
  if (!s.ok()) return FromRocks(s, "opening the data directory " + dir);
  // The epoch counter: damage must not silently reuse epochs.
  uint64_t next_epoch = 1;
  std::string v;
  const rocksdb::Status got = db->Get(rocksdb::ReadOptions(), handles[3], kNextEpochKey, &v);
  Status bad;
  if (got.ok()) {
    std::string_view in(v);
    if (!GetVarint(&in, &next_epoch) || !in.empty() || next_epoch == 0) {
      bad = Corruption("the epoch counter of " + dir + " is damaged");
    }
  } else if (!got.IsNotFound()) {
    bad = FromRocks(got, "reading the epoch counter");
  }
  if (!bad.ok()) {
    for (rocksdb::ColumnFamilyHandle* h : handles) db->DestroyColumnFamilyHandle(h);
    delete db;
    return bad;
  }
  return std::unique_ptr<Store>(new RocksDbStore(options, db, std::move(handles), next_epoch));
}

}  // namespace quire::storage
