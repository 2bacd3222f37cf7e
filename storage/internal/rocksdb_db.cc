#include "storage/internal/rocksdb_db.h"

#include <rocksdb/env.h>
#include <rocksdb/options.h>
#include <rocksdb/utilities/checkpoint.h>

#include <filesystem>
#include <map>

#include "base/coding.h"
#include "storage/records.h"

namespace quire::storage::internal {
namespace {

// What a read-only open logs: nothing, so it writes no file (RocksDB would
// otherwise rotate the directory's LOG).
class NoLogger : public rocksdb::Logger {
 public:
  using rocksdb::Logger::Logv;
  void Logv(const char* /*format*/, va_list /*ap*/) override {}
};

// Opening refused because something is damaged. With the WAL recovery mode
// Open uses, that is anything but a torn last record: dropping it would
// lose writes after the damage, acknowledged ones included.
Status DamagedAtOpen(const std::string& dir, const rocksdb::Status& s) {
  return Corruption(
      "the data directory " + dir + " is damaged (" + s.ToString() +
      "). Nothing was changed: opening it would drop every write after the damage, "
      "acknowledged changes included. Restore it from a backup; or back it up and run "
      "`quire salvage --data " +
      dir +
      "`, which keeps the writes before the damage and drops "
      "the rest");
}

}  // namespace

Status FromRocks(const rocksdb::Status& s, const std::string& what) {
  if (s.ok()) return Status::Ok();
  if (s.IsNotFound()) return NotFound(what + ": " + s.ToString());
  if (s.IsCorruption()) return Corruption(what + ": " + s.ToString());
  return IoError(what + ": " + s.ToString());
}

Result<std::unique_ptr<Db>> Db::Open(const std::string& dir, const StoreOptions& options) {
  const bool create = options.create_if_missing && !options.read_only;
  if (!create) {
    // RocksDB creates the directory, LOCK and LOG before it finds out that
    // there is no database: look first, so a missing path stays missing.
    std::error_code ec;
    if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
      return NotFound("no data directory at " + dir + " (nothing was created)");
    }
  }
  rocksdb::DBOptions db_options;
  db_options.create_if_missing = create;
  db_options.create_missing_column_families = !options.read_only;
  db_options.paranoid_checks = true;
  db_options.keep_log_file_num = 2;  // RocksDB's own info logs, not data.
  db_options.max_log_file_size = 1 << 20;
  // A crash can tear only the last WAL record, the write that was never
  // acknowledged; RocksDB's default (point in time) would also stop
  // quietly at damage in the middle and drop the acknowledged writes after
  // it. kTolerateCorruptedTailRecords refuses that (docs/storage.md).
  db_options.wal_recovery_mode = options.salvage_damaged_wal
                                     ? rocksdb::WALRecoveryMode::kPointInTimeRecovery
                                     : rocksdb::WALRecoveryMode::kTolerateCorruptedTailRecords;
  if (options.read_only) db_options.info_log = std::make_shared<NoLogger>();
  rocksdb::ColumnFamilyOptions cf_options;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, cf_options},
      {"changes", cf_options},
      {"snapshots", cf_options},
      {"docs", cf_options},
  };
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  const rocksdb::Status s =
      options.read_only ? rocksdb::DB::OpenForReadOnly(db_options, dir, families, &handles, &raw)
                        : rocksdb::DB::Open(db_options, dir, families, &handles, &raw);
  if (!s.ok()) {
    if (s.IsCorruption() && !options.salvage_damaged_wal) return DamagedAtOpen(dir, s);
    return FromRocks(s, "opening the data directory " + dir);
  }
  return std::unique_ptr<Db>(new Db(raw, std::move(handles), options.read_only));
}

Db::~Db() {
  for (rocksdb::ColumnFamilyHandle* h : handles_) db_->DestroyColumnFamilyHandle(h);
  delete db_;
}

Status Db::Write(const rocksdb::WriteOptions& options, rocksdb::WriteBatch* batch,
                 const char* what) {
  return FromRocks(db_->Write(options, batch), what);
}

Db::View::View(const Db& db) : db_(db.db_) { options_.snapshot = db_->GetSnapshot(); }
Db::View::~View() { db_->ReleaseSnapshot(options_.snapshot); }

Result<DocMeta> Db::ReadMeta(const rocksdb::ReadOptions& ro, std::string_view doc) const {
  std::string value;
  const rocksdb::Status s = db_->Get(ro, docs(), AsSlice(doc), &value);
  if (s.IsNotFound()) return NotFound("no " + DocName(doc));
  QUIRE_RETURN_IF_ERROR(FromRocks(s, "reading metadata"));
  return DecodeMetaRecord(doc, value);
}

Result<std::vector<StoredChange>> Db::ReadChanges(const rocksdb::ReadOptions& ro,
                                                  std::string_view doc, uint64_t from_seq,
                                                  size_t max_changes, size_t max_bytes) const {
  std::vector<StoredChange> out;
  size_t bytes = 0;
  const std::string prefix = DocPrefix(doc);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, changes()));
  uint64_t expect = 0;
  for (it->Seek(SeqKey(doc, from_seq)); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    if (out.size() >= max_changes || (!out.empty() && bytes >= max_bytes)) break;
    std::string_view d;
    uint64_t seq;
    QUIRE_RETURN_IF_ERROR(ParseSeqKey(AsView(it->key()), &d, &seq));
    if (expect != 0 && seq != expect) {
      return Corruption(DocName(doc) + " is missing change " + std::to_string(expect));
    }
    expect = seq + 1;
    QUIRE_ASSIGN_OR_RETURN(StoredChange c, DecodeChangeRecord(doc, seq, AsView(it->value())));
    bytes += c.change.size();
    out.push_back(std::move(c));
  }
  QUIRE_RETURN_IF_ERROR(FromRocks(it->status(), "reading changes"));
  return out;
}

Result<LoadedDoc> Db::Load(const rocksdb::ReadOptions& ro, std::string_view doc) const {
  LoadedDoc out;
  QUIRE_ASSIGN_OR_RETURN(out.meta, ReadMeta(ro, doc));
  if (out.meta.snapshot_seq > 0) {
    std::string value;
    const rocksdb::Status s = db_->Get(ro, snapshots(), SeqKey(doc, out.meta.snapshot_seq), &value);
    if (s.IsNotFound()) {
      return Corruption(RecordName(doc, "snapshot", out.meta.snapshot_seq) + " is missing");
    }
    QUIRE_RETURN_IF_ERROR(FromRocks(s, "reading a snapshot"));
    QUIRE_ASSIGN_OR_RETURN(std::string_view bytes,
                           DecodeSnapshotRecord(doc, out.meta.snapshot_seq, value));
    out.snapshot.assign(bytes);
    out.snapshot_seq = out.meta.snapshot_seq;
  } else if (out.meta.first_seq != 1) {
    return Corruption(DocName(doc) + " has neither a snapshot nor its first changes");
  }
  QUIRE_ASSIGN_OR_RETURN(out.tail, ReadChanges(ro, doc, out.snapshot_seq + 1, SIZE_MAX, SIZE_MAX));
  const uint64_t expect = out.meta.head_seq - out.snapshot_seq;
  if (out.tail.size() != expect ||
      (!out.tail.empty() && out.tail.front().seq != out.snapshot_seq + 1)) {
    return Corruption(DocName(doc) + " has " + std::to_string(out.tail.size()) +
                      " changes after seq " + std::to_string(out.snapshot_seq) +
                      ", its metadata says " + std::to_string(expect));
  }
  return out;
}

Result<uint64_t> Db::ChangeRecordBytes(const rocksdb::ReadOptions& ro, std::string_view doc,
                                       uint64_t from, uint64_t to) const {
  uint64_t bytes = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, changes()));
  const std::string end = SeqKey(doc, to + 1);
  for (it->Seek(SeqKey(doc, from)); it->Valid() && it->key().compare(end) < 0; it->Next()) {
    bytes += it->value().size();
  }
  QUIRE_RETURN_IF_ERROR(FromRocks(it->status(), "reading changes"));
  return bytes;
}

Result<uint64_t> Db::CountRecords(rocksdb::ColumnFamilyHandle* family, std::string_view doc,
                                  uint64_t limit) const {
  uint64_t n = 0;
  const std::string prefix = DocPrefix(doc);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), family));
  for (it->Seek(prefix); n < limit && it->Valid() && it->key().starts_with(prefix); it->Next()) {
    ++n;
  }
  QUIRE_RETURN_IF_ERROR(FromRocks(it->status(), "reading records"));
  return n;
}

Result<DocMeta> Db::ReadMetaForWrite(std::string_view doc) const {
  Result<DocMeta> meta = ReadMeta(rocksdb::ReadOptions(), doc);
  if (meta.ok() || meta.status().code() != StatusCode::kNotFound) return meta;
  // A name whose metadata is gone but whose records are not must not be
  // created again on top of them (the new change 1 would replace the old
  // one and the document would never load).
  QUIRE_ASSIGN_OR_RETURN(uint64_t changes_found, CountRecords(changes(), doc, 1));
  QUIRE_ASSIGN_OR_RETURN(uint64_t snapshots_found, CountRecords(snapshots(), doc, 1));
  if (changes_found + snapshots_found > 0) {
    return Corruption(DocName(doc) +
                      " has change or snapshot records but no metadata (damaged: run quire "
                      "verify; deleting the document removes them)");
  }
  return meta;
}

Result<std::pair<uint64_t, std::string>> Db::SnapshotAtOrBefore(std::string_view doc,
                                                                uint64_t seq) const {
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), snapshots()));
  it->SeekForPrev(SeqKey(doc, seq));
  const std::string prefix = DocPrefix(doc);
  if (!it->Valid() || !it->key().starts_with(prefix)) {
    QUIRE_RETURN_IF_ERROR(FromRocks(it->status(), "reading snapshots"));
    return NotFound("no snapshot of '" + std::string(doc) + "' at or before seq " +
                    std::to_string(seq));
  }
  std::string_view key_doc;
  uint64_t key_seq;
  QUIRE_RETURN_IF_ERROR(ParseSeqKey(AsView(it->key()), &key_doc, &key_seq));
  QUIRE_ASSIGN_OR_RETURN(std::string_view bytes,
                         DecodeSnapshotRecord(doc, key_seq, AsView(it->value())));
  return std::make_pair(key_seq, std::string(bytes));
}

Result<std::vector<uint64_t>> Db::ListSnapshots(std::string_view doc) const {
  std::vector<uint64_t> out;
  const std::string prefix = DocPrefix(doc);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), snapshots()));
  for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next()) {
    std::string_view d;
    uint64_t seq;
    QUIRE_RETURN_IF_ERROR(ParseSeqKey(AsView(it->key()), &d, &seq));
    out.push_back(seq);
  }
  QUIRE_RETURN_IF_ERROR(FromRocks(it->status(), "listing snapshots"));
  return out;
}

Result<std::vector<std::string>> Db::ListDocuments() const {
  std::vector<std::string> out;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), docs()));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    if (it->key() == kNextEpochKey) continue;
    out.emplace_back(it->key().data(), it->key().size());
  }
  QUIRE_RETURN_IF_ERROR(FromRocks(it->status(), "listing documents"));
  return out;
}

Result<std::vector<OrphanedRecords>> Db::ListOrphanedRecords() const {
  Db::View view(*this);
  std::map<std::string, OrphanedRecords, std::less<>> orphans;
  // One pass per family: a name with metadata is skipped with one Seek
  // past its keys; a name without has its records counted.
  for (rocksdb::ColumnFamilyHandle* family : {changes(), snapshots()}) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(view.options(), family));
    it->SeekToFirst();
    while (it->Valid()) {
      std::string_view key_doc;
      uint64_t seq;
      QUIRE_RETURN_IF_ERROR(ParseSeqKey(AsView(it->key()), &key_doc, &seq));
      const std::string doc(key_doc);
      Result<DocMeta> meta = ReadMeta(view.options(), doc);
      if (meta.ok() || meta.status().code() != StatusCode::kNotFound) {
        it->Seek(DocEnd(doc));  // Damaged metadata is reported by the document's own checks.
        continue;
      }
      OrphanedRecords& o = orphans[doc];
      o.doc = doc;
      const std::string prefix = DocPrefix(doc);
      for (; it->Valid() && it->key().starts_with(prefix); it->Next()) {
        ++(family == changes() ? o.changes : o.snapshots);
      }
    }
    QUIRE_RETURN_IF_ERROR(FromRocks(it->status(), "listing records"));
  }
  std::vector<OrphanedRecords> out;
  for (auto& [doc, o] : orphans) out.push_back(std::move(o));
  return out;
}

Result<uint64_t> Db::ReadNextEpoch() const {
  std::string v;
  const rocksdb::Status got = db_->Get(rocksdb::ReadOptions(), docs(), kNextEpochKey, &v);
  if (got.IsNotFound()) return uint64_t{1};
  QUIRE_RETURN_IF_ERROR(FromRocks(got, "reading the epoch counter"));
  std::string_view in(v);
  uint64_t next = 0;
  if (!GetVarint(&in, &next) || !in.empty() || next == 0) {
    return Corruption("the epoch counter is damaged");
  }
  return next;
}

Status Db::Checkpoint(const std::string& dir) {
  rocksdb::Checkpoint* raw = nullptr;
  QUIRE_RETURN_IF_ERROR(FromRocks(rocksdb::Checkpoint::Create(db_, &raw), "checkpoint"));
  std::unique_ptr<rocksdb::Checkpoint> checkpoint(raw);
  // log_size_for_flush 0: flush the memtables first, so the copy's data is
  // in table files and its write-ahead log is short.
  return FromRocks(checkpoint->CreateCheckpoint(dir, /*log_size_for_flush=*/0),
                   "checkpoint into " + dir);
}

Status Db::BackgroundError() const {
  uint64_t errors = 0;
  if (db_->GetIntProperty(rocksdb::DB::Properties::kBackgroundErrors, &errors) && errors > 0) {
    return IoError("the storage engine reported " + std::to_string(errors) +
                   " background error(s) and may refuse writes");
  }
  return Status::Ok();
}

Status Db::CompactAll() {
  for (rocksdb::ColumnFamilyHandle* h : handles_) {
    QUIRE_RETURN_IF_ERROR(FromRocks(
        db_->CompactRange(rocksdb::CompactRangeOptions(), h, nullptr, nullptr), "compacting"));
  }
  return Status::Ok();
}

}  // namespace quire::storage::internal
