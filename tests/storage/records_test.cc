#include "storage/records.h"

#include <gtest/gtest.h>

#include <string>

namespace quire::storage {
namespace {

std::string Hex(std::string_view hex) {
  std::string out;
  for (size_t i = 0; i + 1 < hex.size(); i += 2) {
    out.push_back(static_cast<char>(std::stoi(std::string(hex.substr(i, 2)), nullptr, 16)));
  }
  return out;
}

TEST(RecordsTest, BadBytesAreCorruptionNamingDocumentAndSeq) {
  const std::string good = EncodeChangeRecord("d", 7, NewChange{"\x90", "bob", 5});
  Result<StoredChange> ok = DecodeChangeRecord("d", 7, good);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(ok->author, "bob");
  std::string flipped = good;
  flipped.back() ^= 1;
  EXPECT_EQ(DecodeChangeRecord("d", 7, flipped).status().message(),
            "document 'd' change 7: checksum mismatch");
  EXPECT_EQ(DecodeChangeRecord("d", 7, good.substr(0, 3)).status().message(),
            "document 'd' change 7: value truncated");
  std::string version = good;
  version[0] = 9;
  EXPECT_EQ(DecodeChangeRecord("d", 7, version).status().message(),
            "document 'd' change 7: unknown record version 9");
  EXPECT_EQ(DecodeMetaRecord("d", "\x01\x00\x00\x00\x00").status().code(), StatusCode::kCorruption);
  std::string_view doc;
  uint64_t seq;
  const std::string key = SeqKey("doc", 258);  // `doc` points into it.
  EXPECT_TRUE(ParseSeqKey(key, &doc, &seq).ok());
  EXPECT_EQ(doc, "doc");
  EXPECT_EQ(seq, 258u);
  EXPECT_EQ(ParseSeqKey("short", &doc, &seq).code(), StatusCode::kCorruption);
  EXPECT_EQ(ParseSeqKey(std::string("a\0b\0\0\0\0\0\0\0\0\x01", 12), &doc, &seq).code(),
            StatusCode::kCorruption);
}

// The exact bytes, with a CRC-32 computed independently (Python's
// zlib.crc32 of the key and payload): any change to the format or the
// checksum function shows here.
TEST(RecordsTest, ChangeRecordBytesAreExact) {
  EXPECT_EQ(EncodeChangeRecord("d", 7, NewChange{"\x90", "bob", 5}),
            Hex("02b6dbd3c30a03626f620190"));
}

// A value is bound to its key: a good record of another seq or another
// document is refused where it does not belong, naming where it sits.
TEST(RecordsTest, ARecordUnderAnotherKeyIsCorruption) {
  const std::string change = EncodeChangeRecord("d", 8, NewChange{"\x90", "bob", 5});
  EXPECT_TRUE(DecodeChangeRecord("d", 8, change).ok());
  EXPECT_EQ(DecodeChangeRecord("d", 7, change).status().message(),
            "document 'd' change 7: checksum mismatch");
  EXPECT_EQ(DecodeChangeRecord("e", 8, change).status().code(), StatusCode::kCorruption);
  const std::string snapshot = EncodeSnapshotRecord("d", 8, "bytes");
  EXPECT_EQ(*DecodeSnapshotRecord("d", 8, snapshot), "bytes");
  EXPECT_EQ(DecodeSnapshotRecord("d", 9, snapshot).status().message(),
            "document 'd' snapshot 9: checksum mismatch");
  DocMeta meta;
  meta.epoch = 1;
  const std::string m = EncodeMetaRecord("d", meta);
  EXPECT_TRUE(DecodeMetaRecord("d", m).ok());
  EXPECT_EQ(DecodeMetaRecord("e", m).status().message(),
            "document 'e' metadata: checksum mismatch");
}

// Version 1 records (written before the CRC covered the key, with bytes
// in the format of that time) still read.
TEST(RecordsTest, VersionOneRecordsStillRead) {
  Result<StoredChange> change = DecodeChangeRecord("d", 7, Hex("01ad8c789d0a03626f620190"));
  ASSERT_TRUE(change.ok()) << change.status().ToString();
  EXPECT_EQ(change->seq, 7u);
  EXPECT_EQ(change->author, "bob");
  EXPECT_EQ(change->time_ms, 5);
  EXPECT_EQ(change->change, "\x90");
  // Epoch 3, seqs 1..5, no snapshot, times 1000 and 2000, 120 bytes of log.
  Result<DocMeta> meta = DecodeMetaRecord("d", Hex("019341051403050100d00fa01f78000578"));
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_EQ(meta->epoch, 3u);
  EXPECT_EQ(meta->head_seq, 5u);
  EXPECT_EQ(meta->updated_ms, 2000);
  EXPECT_EQ(meta->change_bytes, 120u);
  EXPECT_EQ(meta->history_bytes, 120u);  // The nearest version 1 knows.
}

TEST(RecordsTest, MetadataRoundTrips) {
  DocMeta m;
  m.epoch = 4;
  m.head_seq = 300;
  m.first_seq = 101;
  m.snapshot_seq = 250;
  m.created_ms = -5;
  m.updated_ms = 1700000000000;
  m.change_bytes = 9000;
  m.snapshot_bytes = 777;
  m.changes_since_snapshot = 50;
  m.bytes_since_snapshot = 1500;
  m.history_bytes = 123456;
  Result<DocMeta> back = DecodeMetaRecord("doc", EncodeMetaRecord("doc", m));
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(back->first_seq, 101u);
  EXPECT_EQ(back->created_ms, -5);
  EXPECT_EQ(back->history_bytes, 123456u);
  EXPECT_EQ(back->bytes_since_snapshot, 1500u);
}

}  // namespace
}  // namespace quire::storage
