// Arbitrary bytes as what the store reads from disk: a change, snapshot or
// metadata record, or a key. data[0] picks the kind (bits 0-1) and whether
// to fix up the record's CRC first (bit 2), so mutations reach the payload
// parser instead of failing the checksum; data[1] is the seq it is read
// under. Either Corruption comes back, or a record whose fields encode and
// decode to themselves (metadata: consistent fields; a key: the key it
// parses to). Never a crash, a leak or a read out of bounds.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "base/coding.h"
#include "storage/records.h"

namespace {

using namespace quire;           // NOLINT
using namespace quire::storage;  // NOLINT

constexpr char kDoc[] = "doc";

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "storage_record_fuzzer: %s\n", what);
  std::abort();
}

void RequireCorruption(const Status& s) {
  if (s.code() != StatusCode::kCorruption) Fail("a bad record gave something but Corruption");
}

// Rewrites the CRC of `value` (after the version byte) to match its
// payload and `key`, as format version 1 or 2 computes it.
std::string FixCrc(std::string value, std::string_view key) {
  if (value.size() < 5) return value;
  const std::string_view payload = std::string_view(value).substr(5);
  const uint32_t crc = value[0] == 1 ? Crc32(payload) : Crc32(payload, Crc32(key));
  std::string fixed;
  PutFixed32(&fixed, crc);
  value.replace(1, 4, fixed);
  return value;
}

void Change(uint64_t seq, const std::string& bytes) {
  Result<StoredChange> c = DecodeChangeRecord(kDoc, seq, bytes);
  if (!c.ok()) return RequireCorruption(c.status());
  if (c->seq != seq) Fail("change decoded with another seq");
  const std::string again =
      EncodeChangeRecord(kDoc, seq, NewChange{c->change, c->author, c->time_ms});
  Result<StoredChange> back = DecodeChangeRecord(kDoc, seq, again);
  if (!back.ok() || back->change != c->change || back->author != c->author ||
      back->time_ms != c->time_ms) {
    Fail("change record does not round-trip");
  }
  if (DecodeChangeRecord(kDoc, seq + 1, again).ok()) Fail("change record read under another key");
}

void Snapshot(uint64_t seq, const std::string& bytes) {
  Result<std::string_view> s = DecodeSnapshotRecord(kDoc, seq, bytes);
  if (!s.ok()) return RequireCorruption(s.status());
  const std::string again = EncodeSnapshotRecord(kDoc, seq, *s);
  Result<std::string_view> back = DecodeSnapshotRecord(kDoc, seq, again);
  if (!back.ok() || *back != *s) Fail("snapshot record does not round-trip");
}

void Meta(const std::string& bytes) {
  Result<DocMeta> m = DecodeMetaRecord(kDoc, bytes);
  if (!m.ok()) return RequireCorruption(m.status());
  if (m->epoch == 0 || m->first_seq == 0 || m->first_seq > m->head_seq + 1 ||
      m->snapshot_seq > m->head_seq) {
    Fail("metadata with inconsistent fields decoded");
  }
  Result<DocMeta> back = DecodeMetaRecord(kDoc, EncodeMetaRecord(kDoc, *m));
  if (!back.ok() || back->head_seq != m->head_seq || back->first_seq != m->first_seq ||
      back->created_ms != m->created_ms || back->history_bytes != m->history_bytes ||
      back->bytes_since_snapshot != m->bytes_since_snapshot) {
    Fail("metadata record does not round-trip");
  }
}

void Key(const std::string& bytes) {
  std::string_view doc;
  uint64_t seq;
  const Status s = ParseSeqKey(bytes, &doc, &seq);
  if (!s.ok()) return RequireCorruption(s);
  if (SeqKey(doc, seq) != bytes) Fail("key does not round-trip");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size < 2) return 0;
  const int kind = data[0] & 3;
  const bool fix_crc = (data[0] & 4) != 0;
  const uint64_t seq = data[1];
  std::string bytes(reinterpret_cast<const char*>(data) + 2, size - 2);
  switch (kind) {
    case 0:
      Change(seq, fix_crc ? FixCrc(bytes, SeqKey(kDoc, seq)) : bytes);
      break;
    case 1:
      Snapshot(seq, fix_crc ? FixCrc(bytes, SeqKey(kDoc, seq)) : bytes);
      break;
    case 2:
      Meta(fix_crc ? FixCrc(bytes, kDoc) : bytes);
      break;
    default:
      Key(bytes);
      break;
  }
  return 0;
}
