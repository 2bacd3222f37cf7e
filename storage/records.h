// The bytes of every key and value the store writes (docs/storage.md).
// Each value starts with a format version byte and a CRC-32 of its key and
// the rest, so damage, and a value stored under another key (a copy of the
// next change, say), is found when read and reported as Corruption naming
// the document and the seq it sits under. No RocksDB here: the store moves
// these bytes.
#ifndef QUIRE_STORAGE_RECORDS_H_
#define QUIRE_STORAGE_RECORDS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "base/result.h"
#include "storage/store.h"

namespace quire::storage {

// Version 2: the CRC covers the key, then the payload. Version 1 (the CRC
// covers the payload alone; metadata without history_bytes) is still read.
inline constexpr uint8_t kRecordVersion = 2;

// How errors name what they are about: "document 'notes'" and
// "document 'notes' change 7" (what: "change" or "snapshot").
std::string DocName(std::string_view doc);
std::string RecordName(std::string_view doc, std::string_view what, uint64_t seq);

// Change and snapshot keys: doc, a NUL, the seq as 8 bytes big-endian (so
// RocksDB's byte order is seq order within a document).
std::string SeqKey(std::string_view doc, uint64_t seq);
// The prefix of every key of `doc`: doc and a NUL.
std::string DocPrefix(std::string_view doc);
// The first key after every key of `doc`: doc and 0x01.
std::string DocEnd(std::string_view doc);
// Splits a change or snapshot key. Corruption when it has the wrong shape.
Status ParseSeqKey(std::string_view key, std::string_view* doc, uint64_t* seq);

std::string EncodeChangeRecord(std::string_view doc, uint64_t seq, const NewChange& change);
Result<StoredChange> DecodeChangeRecord(std::string_view doc, uint64_t seq, std::string_view value);

std::string EncodeSnapshotRecord(std::string_view doc, uint64_t seq, std::string_view doc_bytes);
// The TextDoc bytes inside a snapshot record.
Result<std::string_view> DecodeSnapshotRecord(std::string_view doc, uint64_t seq,
                                              std::string_view value);

// Metadata records; their key is the document name.
std::string EncodeMetaRecord(std::string_view doc, const DocMeta& meta);
Result<DocMeta> DecodeMetaRecord(std::string_view doc, std::string_view value);

}  // namespace quire::storage

#endif  // QUIRE_STORAGE_RECORDS_H_
