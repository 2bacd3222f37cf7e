// Db is a data directory's open RocksDB database with its column families
// (docs/storage.md), and every read the store does on it. RocksDB's
// statuses become Quire's here, once. The store (rocksdb_store.cc) and its
// writer (writer.h) are built on it; nothing outside storage/ sees it.
//
// Thread safety: every method may be called from any thread.
#ifndef QUIRE_STORAGE_INTERNAL_ROCKSDB_DB_H_
#define QUIRE_STORAGE_INTERNAL_ROCKSDB_DB_H_

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "base/result.h"
#include "storage/store.h"

namespace quire::storage::internal {

// Metadata key of the epoch counter; no document name starts with NUL.
inline const std::string kNextEpochKey("\0next_epoch", 11);

Status FromRocks(const rocksdb::Status& s, const std::string& what);
inline rocksdb::Slice AsSlice(std::string_view s) { return rocksdb::Slice(s.data(), s.size()); }
inline std::string_view AsView(const rocksdb::Slice& s) {
  return std::string_view(s.data(), s.size());
}

class Db {
 public:
  // Opens `dir` as StoreOptions say (create, read only, WAL recovery).
  static Result<std::unique_ptr<Db>> Open(const std::string& dir, const StoreOptions& options);
  ~Db();
  Db(const Db&) = delete;
  Db& operator=(const Db&) = delete;

  bool read_only() const { return read_only_; }
  rocksdb::ColumnFamilyHandle* changes() const { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* snapshots() const { return handles_[2]; }
  rocksdb::ColumnFamilyHandle* docs() const { return handles_[3]; }

  Status Write(const rocksdb::WriteOptions& options, rocksdb::WriteBatch* batch, const char* what);

  // A consistent view for a group of reads: a RocksDB snapshot, released
  // when the View goes away.
  class View {
   public:
    explicit View(const Db& db);
    ~View();
    View(const View&) = delete;
    View& operator=(const View&) = delete;
    const rocksdb::ReadOptions& options() const { return options_; }

   private:
    rocksdb::DB* db_;
    rocksdb::ReadOptions options_;
  };

  // Reads at `ro` (a View's options, or the latest state).
  Result<DocMeta> ReadMeta(const rocksdb::ReadOptions& ro, std::string_view doc) const;
  // Changes from `from_seq` on, as Store::ReadChanges (without the
  // first_seq check). Corruption for a gap in the seqs.
  Result<std::vector<StoredChange>> ReadChanges(const rocksdb::ReadOptions& ro,
                                                std::string_view doc, uint64_t from_seq,
                                                size_t max_changes, size_t max_bytes) const;
  // Store::Load at `ro`.
  Result<LoadedDoc> Load(const rocksdb::ReadOptions& ro, std::string_view doc) const;
  // Stored bytes (record sizes) of the changes with seqs in [from, to].
  Result<uint64_t> ChangeRecordBytes(const rocksdb::ReadOptions& ro, std::string_view doc,
                                     uint64_t from, uint64_t to) const;

  // What a write to `doc` starts from: its metadata; NotFound when it has
  // neither metadata nor records (a new document); Corruption when it has
  // records without metadata.
  Result<DocMeta> ReadMetaForWrite(std::string_view doc) const;

  Result<std::pair<uint64_t, std::string>> SnapshotAtOrBefore(std::string_view doc,
                                                              uint64_t seq) const;
  Result<std::vector<uint64_t>> ListSnapshots(std::string_view doc) const;
  Result<std::vector<std::string>> ListDocuments() const;
  Result<std::vector<OrphanedRecords>> ListOrphanedRecords() const;
  // The next epoch to hand out (1 in a new directory).
  Result<uint64_t> ReadNextEpoch() const;
  Status CompactAll();
  Status Checkpoint(const std::string& dir);
  // The engine's background error, if it has one (it then refuses writes).
  Status BackgroundError() const;

 private:
  Db(rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*> handles, bool read_only)
      : db_(db), handles_(std::move(handles)), read_only_(read_only) {}
  // Records of `doc` in one family: how many (counting stops at `limit`).
  Result<uint64_t> CountRecords(rocksdb::ColumnFamilyHandle* family, std::string_view doc,
                                uint64_t limit) const;

  rocksdb::DB* db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;  // default, changes, snapshots, docs.
  bool read_only_;
};

}  // namespace quire::storage::internal

#endif  // QUIRE_STORAGE_INTERNAL_ROCKSDB_DB_H_
