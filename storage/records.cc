#include "storage/records.h"

#include "base/coding.h"
#include "base/utf8.h"

namespace quire::storage {
namespace {

// The CRC of a key, to continue over the payload: Crc32(payload, KeyCrc)
// is the CRC of key and payload together.
uint32_t MetaKeyCrc(std::string_view doc) { return Crc32(doc); }
uint32_t SeqKeyCrc(std::string_view doc, uint64_t seq) {
  char tail[9];
  tail[0] = '\0';
  for (int i = 0; i < 8; ++i) tail[1 + i] = static_cast<char>(seq >> (8 * (7 - i)));
  return Crc32(std::string_view(tail, sizeof(tail)), Crc32(doc));
}

// [version 2][crc32 of key and payload, u32le][payload]
std::string Wrap(uint32_t key_crc, std::string_view payload) {
  std::string out(1, static_cast<char>(kRecordVersion));
  PutFixed32(&out, Crc32(payload, key_crc));
  out += payload;
  return out;
}

// The payload, and the version it was written with (1 or 2). `where`
// names the record in errors; it runs only on an error, so reading a
// good record builds no strings.
template <typename Where>
Result<std::string_view> Unwrap(std::string_view value, uint32_t key_crc, const Where& where,
                                uint8_t* version) {
  if (value.size() < 5) return Corruption(where() + ": value truncated");
  *version = static_cast<uint8_t>(value[0]);
  if (*version != 1 && *version != 2) {
    return Corruption(where() + ": unknown record version " + std::to_string(*version));
  }
  std::string_view rest = value.substr(1);
  uint32_t crc;
  GetFixed32(&rest, &crc);
  // Version 1 checked the payload alone.
  if (Crc32(rest, *version == 1 ? 0 : key_crc) != crc) {
    return Corruption(where() + ": checksum mismatch");
  }
  return rest;
}

bool GetString(std::string_view* in, std::string_view* out) {
  uint64_t n;
  if (!GetVarint(in, &n) || n > in->size()) return false;
  *out = in->substr(0, n);
  in->remove_prefix(n);
  return true;
}

void PutString(std::string* out, std::string_view s) {
  PutVarint(out, s.size());
  out->append(s);
}

}  // namespace

std::string DocName(std::string_view doc) {
  std::string s = "document '";
  s.append(doc);
  s += "'";
  return s;
}

std::string RecordName(std::string_view doc, std::string_view what, uint64_t seq) {
  std::string s = DocName(doc);
  s += " ";
  s.append(what);
  s += " ";
  s += std::to_string(seq);
  return s;
}

Status ValidateDocName(std::string_view doc) {
  if (doc.empty() || doc.size() > 256) {
    return InvalidArgument("document name must be 1 to 256 bytes");
  }
  if (doc.find('\0') != std::string_view::npos) {
    return InvalidArgument("document name contains a NUL byte");
  }
  if (!utf8::Validate(doc).ok()) return InvalidArgument("document name is not valid UTF-8");
  return Status::Ok();
}

std::string DocPrefix(std::string_view doc) {
  std::string key(doc);
  key.push_back('\0');
  return key;
}

std::string DocEnd(std::string_view doc) {
  std::string key(doc);
  key.push_back('\x01');
  return key;
}

std::string SeqKey(std::string_view doc, uint64_t seq) {
  std::string key = DocPrefix(doc);
  for (int i = 7; i >= 0; --i) key.push_back(static_cast<char>(seq >> (8 * i)));
  return key;
}

Status ParseSeqKey(std::string_view key, std::string_view* doc, uint64_t* seq) {
  if (key.size() < 10 || key[key.size() - 9] != '\0') {
    return Corruption("key of the wrong shape (want doc, NUL, 8-byte seq)");
  }
  *doc = key.substr(0, key.size() - 9);
  if (doc->find('\0') != std::string_view::npos || doc->empty()) {
    return Corruption("key of the wrong shape (a NUL inside the document name)");
  }
  uint64_t v = 0;
  for (size_t i = key.size() - 8; i < key.size(); ++i) v = v << 8 | static_cast<uint8_t>(key[i]);
  *seq = v;
  return Status::Ok();
}

std::string EncodeChangeRecord(std::string_view doc, uint64_t seq, const NewChange& change) {
  std::string payload;
  PutVarint(&payload, ZigZag(change.time_ms));
  PutString(&payload, change.author);
  PutString(&payload, change.change);
  return Wrap(SeqKeyCrc(doc, seq), payload);
}

Result<StoredChange> DecodeChangeRecord(std::string_view doc, uint64_t seq,
                                        std::string_view value) {
  auto where = [&] { return RecordName(doc, "change", seq); };
  uint8_t version;
  QUIRE_ASSIGN_OR_RETURN(std::string_view in, Unwrap(value, SeqKeyCrc(doc, seq), where, &version));
  StoredChange out;
  out.seq = seq;
  uint64_t time;
  std::string_view author, change;
  if (!GetVarint(&in, &time) || !GetString(&in, &author) || !GetString(&in, &change) ||
      !in.empty()) {
    return Corruption(where() + ": malformed change record");
  }
  out.time_ms = UnZigZag(time);
  out.author.assign(author);
  out.change.assign(change);
  return out;
}

std::string EncodeSnapshotRecord(std::string_view doc, uint64_t seq, std::string_view doc_bytes) {
  return Wrap(SeqKeyCrc(doc, seq), doc_bytes);
}

Result<std::string_view> DecodeSnapshotRecord(std::string_view doc, uint64_t seq,
                                              std::string_view value) {
  uint8_t version;
  return Unwrap(
      value, SeqKeyCrc(doc, seq), [&] { return RecordName(doc, "snapshot", seq); }, &version);
}

std::string EncodeMetaRecord(std::string_view doc, const DocMeta& m) {
  std::string payload;
  for (uint64_t v : {m.epoch, m.head_seq, m.first_seq, m.snapshot_seq, ZigZag(m.created_ms),
                     ZigZag(m.updated_ms), m.change_bytes, m.snapshot_bytes,
                     m.changes_since_snapshot, m.bytes_since_snapshot, m.history_bytes}) {
    PutVarint(&payload, v);
  }
  return Wrap(MetaKeyCrc(doc), payload);
}

Result<DocMeta> DecodeMetaRecord(std::string_view doc, std::string_view value) {
  auto where = [&] { return DocName(doc) + " metadata"; };
  uint8_t version;
  QUIRE_ASSIGN_OR_RETURN(std::string_view in, Unwrap(value, MetaKeyCrc(doc), where, &version));
  // Version 1 had ten fields: no history_bytes.
  uint64_t v[11];
  const size_t fields = version == 1 ? 10 : 11;
  for (size_t i = 0; i < fields; ++i) {
    if (!GetVarint(&in, &v[i])) return Corruption(where() + ": malformed record");
  }
  if (!in.empty()) return Corruption(where() + ": trailing bytes");
  DocMeta m;
  m.epoch = v[0];
  m.head_seq = v[1];
  m.first_seq = v[2];
  m.snapshot_seq = v[3];
  m.created_ms = UnZigZag(v[4]);
  m.updated_ms = UnZigZag(v[5]);
  m.change_bytes = v[6];
  m.snapshot_bytes = v[7];
  m.changes_since_snapshot = v[8];
  m.bytes_since_snapshot = v[9];
  // Version 1 did not count dropped changes: what the log holds is the
  // nearest it knows.
  m.history_bytes = version == 1 ? m.change_bytes : v[10];
  if (m.epoch == 0 || m.first_seq == 0 || m.first_seq > m.head_seq + 1 ||
      m.snapshot_seq > m.head_seq) {
    return Corruption(where() + ": inconsistent fields");
  }
  return m;
}

}  // namespace quire::storage
