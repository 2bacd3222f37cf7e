// The bytes of every key and value the store writes (docs/storage.md).
// Each value starts with a format version byte and a CRC-32 of the rest,
// so damage is found when read and reported as Corruption naming the
// document and seq. No RocksDB here: rocksdb_store.cc moves these bytes.
#ifndef QUIRE_STORAGE_RECORDS_H_
#define QUIRE_STORAGE_RECORDS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "storage/store.h"

namespace quire::storage {

inline constexpr uint8_t kRecordVersion = 1;

// Change and snapshot keys: doc, a NUL, the seq as 8 bytes big-endian (so
// RocksDB's byte order is seq order within a document).
std::string SeqKey(std::string_view doc, uint64_t seq);
// The prefix of every key of `doc`: doc and a NUL.
std::string DocPrefix(std::string_view doc);
// Splits a change or snapshot key. Corruption when it has the wrong shape.
Status ParseSeqKey(std::string_view key, std::string_view* doc, uint64_t* seq);

std::string EncodeChangeRecord(const NewChange& change);
Result<StoredChange> DecodeChangeRecord(std::string_view doc, uint64_t seq,
                                        std::string_view value);

std::string EncodeSnapshotRecord(std::string_view doc_bytes);
// The TextDoc bytes inside a snapshot record.
Result<std::string_view> DecodeSnapshotRecord(std::string_view doc, uint64_t seq,
                                              std::string_view value);

std::string EncodeMetaRecord(const DocMeta& meta);
Result<DocMeta> DecodeMetaRecord(std::string_view doc, std::string_view value);

}  // namespace quire::storage

#endif  // QUIRE_STORAGE_RECORDS_H_
