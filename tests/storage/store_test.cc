#include "storage/store.h"

#include <gtest/gtest.h>

#include <future>

#include "crdt/change_codec.h"
#include "crdt/text_doc.h"
#include "storage/documents.h"
#include "storage/records.h"
#include "tests/storage/temp_dir.h"

namespace quire::storage {
namespace {

StoreOptions Opts(Durability d = Durability::kAsync) {
  StoreOptions o;
  o.durability = d;
  o.snapshot_every_changes = 0;  // Tests take snapshots explicitly unless they say so.
  o.snapshot_every_bytes = 0;
  return o;
}

std::unique_ptr<Store> Open(const std::string& dir, const StoreOptions& o = Opts()) {
  Result<std::unique_ptr<Store>> s = OpenRocksDbStore(dir, o);
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : nullptr;
}

// A writer that types `text` into a document, one change per call.
class Typist {
 public:
  explicit Typist(uint64_t agent) : doc_(crdt::AgentId{agent}) {}
  NewChange Type(std::string_view s) {
    return NewChange{crdt::EncodeChange(doc_.Insert(doc_.size(), s)), "alice", 1000};
  }
  NewChange Erase(size_t pos, size_t len) {
    return NewChange{crdt::EncodeChange(doc_.Remove(pos, len)), "alice", 1000};
  }
  std::string Text() const { return doc_.Text(); }

 private:
  crdt::TextDoc doc_;
};

TEST(StoreTest, AppendsReadBackInOrderAndSurviveReopen) {
  test::TempDir dir;
  Typist t(1);
  {
    auto store = Open(dir.path());
    for (int i = 0; i < 5; ++i) {
      Result<std::vector<uint64_t>> seqs = store->Append({{"notes", {t.Type("ab")}}});
      ASSERT_TRUE(seqs.ok()) << seqs.status().ToString();
      EXPECT_EQ(*seqs, std::vector<uint64_t>{static_cast<uint64_t>(i + 1)});
    }
  }
  auto store = Open(dir.path());
  Result<std::vector<StoredChange>> changes = store->ReadChanges("notes", 2, 10, SIZE_MAX);
  ASSERT_TRUE(changes.ok());
  ASSERT_EQ(changes->size(), 4u);
  EXPECT_EQ(changes->front().seq, 2u);
  EXPECT_EQ(changes->front().author, "alice");
  Result<LoadedTextDoc> doc = LoadTextDoc(*store, "notes", crdt::AgentId{9});
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->doc.Text(), t.Text());
  EXPECT_EQ(doc->seq, 5u);
  // Appends continue after the reopen.
  Result<std::vector<uint64_t>> next = store->Append({{"notes", {t.Type("c")}}});
  ASSERT_TRUE(next.ok());
  EXPECT_EQ(next->front(), 6u);
  // Bounded reads.
  EXPECT_EQ(store->ReadChanges("notes", 1, 2, SIZE_MAX)->size(), 2u);
  EXPECT_EQ(store->ReadChanges("notes", 1, 100, 1)->size(), 1u);
  EXPECT_EQ(store->ReadChanges("missing", 1, 10, SIZE_MAX).status().code(),
            StatusCode::kNotFound);
}

TEST(StoreTest, BatchesAcrossDocumentsAreAtomicAndNumberedPerDocument) {
  test::TempDir dir;
  auto store = Open(dir.path());
  Typist a(1), b(2);
  Result<std::vector<uint64_t>> seqs =
      store->Append({{"a", {a.Type("x"), a.Type("y")}}, {"b", {b.Type("z")}}, {"a", {a.Type("w")}}});
  ASSERT_TRUE(seqs.ok());
  EXPECT_EQ(*seqs, (std::vector<uint64_t>{1, 1, 3}));
  EXPECT_EQ(store->GetMeta("a")->head_seq, 3u);
  EXPECT_EQ(store->GetMeta("b")->head_seq, 1u);
  // A bad request fails the whole batch and writes nothing.
  Result<std::vector<uint64_t>> bad = store->Append({{"a", {a.Type("v")}}, {"", {b.Type("q")}}});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->GetMeta("a")->head_seq, 3u);
  EXPECT_EQ(store->Append({{"a", {}}}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->Append({{std::string("a\0b", 3), {a.Type("q")}}}).status().code(),
            StatusCode::kInvalidArgument);
  Result<std::vector<std::string>> docs = store->ListDocuments();
  ASSERT_TRUE(docs.ok());
  EXPECT_EQ(*docs, (std::vector<std::string>{"a", "b"}));
}

TEST(StoreTest, AsyncAppendCompletesOffTheCallersThread) {
  test::TempDir dir;
  auto store = Open(dir.path(), Opts(Durability::kSync));
  Typist t(1);
  std::promise<Result<std::vector<uint64_t>>> done;
  store->AppendAsync({{"d", {t.Type("hi")}}},
                     [&](Result<std::vector<uint64_t>> r) { done.set_value(std::move(r)); });
  Result<std::vector<uint64_t>> r = done.get_future().get();
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->front(), 1u);
}

TEST(StoreTest, BlockingCallsFromACompletionFailInsteadOfDeadlocking) {
  test::TempDir dir;
  auto store = Open(dir.path());
  Typist t(1);
  std::promise<Status> inner;
  store->AppendAsync({{"d", {t.Type("a")}}}, [&](Result<std::vector<uint64_t>> r) {
    EXPECT_TRUE(r.ok());
    inner.set_value(store->Append({{"d", {t.Type("b")}}}).status());
  });
  const Status s = inner.get_future().get();
  EXPECT_EQ(s.code(), StatusCode::kInternal);
  EXPECT_EQ(store->GetMeta("d")->head_seq, 1u);
}

TEST(StoreTest, DeletedAndRecreatedDocumentsGetANewEpoch) {
  test::TempDir dir;
  auto store = Open(dir.path());
  Typist t(1);
  ASSERT_TRUE(store->Append({{"d", {t.Type("one")}}}).ok());
  const uint64_t epoch = store->GetMeta("d")->epoch;
  ASSERT_TRUE(store->DeleteDocument("d").ok());
  EXPECT_EQ(store->GetMeta("d").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->DeleteDocument("d").code(), StatusCode::kNotFound);
  Typist u(2);
  ASSERT_EQ(store->Append({{"d", {u.Type("two")}}})->front(), 1u);
  EXPECT_GT(store->GetMeta("d")->epoch, epoch);
  EXPECT_EQ(LoadTextDoc(*store, "d", crdt::AgentId{9})->doc.Text(), "two");
  // Epochs survive a reopen.
  store.reset();
  store = Open(dir.path());
  Typist v(3);
  ASSERT_TRUE(store->Append({{"e", {v.Type("x")}}}).ok());
  EXPECT_GT(store->GetMeta("e")->epoch, store->GetMeta("d")->epoch);
}

TEST(StoreTest, SnapshotPlusTailLoadsLikeTheWholeLog) {
  test::TempDir dir;
  auto store = Open(dir.path());
  Typist t(1);
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(store->Append({{"d", {t.Type("word ")}}}).ok());
  ASSERT_TRUE(TakeSnapshot(*store, "d").ok());
  for (int i = 0; i < 10; ++i) ASSERT_TRUE(store->Append({{"d", {t.Erase(0, 2)}}}).ok());
  EXPECT_EQ(store->GetMeta("d")->snapshot_seq, 30u);
  Result<LoadedDoc> raw = store->Load("d");
  ASSERT_TRUE(raw.ok());
  EXPECT_EQ(raw->snapshot_seq, 30u);
  EXPECT_EQ(raw->tail.size(), 10u);
  Result<LoadedTextDoc> loaded = LoadTextDoc(*store, "d", crdt::AgentId{9});
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->doc.Text(), t.Text());
  // The same from the log alone, and as of an earlier seq.
  crdt::TextDoc replay(crdt::AgentId{8});
  ASSERT_TRUE(ApplyStored("d", *store->ReadChanges("d", 1, SIZE_MAX, SIZE_MAX), &replay).ok());
  EXPECT_EQ(replay.Text(), t.Text());
  Result<LoadedTextDoc> at = LoadTextDocAt(*store, "d", 3, crdt::AgentId{9});
  ASSERT_TRUE(at.ok());
  EXPECT_EQ(at->doc.Text(), "word word word ");
  // Dropping covered changes keeps the document whole.
  ASSERT_TRUE(CompactDocument(*store, "d", /*drop_covered_changes=*/true).ok());
  EXPECT_EQ(store->GetMeta("d")->first_seq, 41u);
  EXPECT_EQ(LoadTextDoc(*store, "d", crdt::AgentId{9})->doc.Text(), t.Text());
  EXPECT_EQ(LoadTextDocAt(*store, "d", 3, crdt::AgentId{9}).status().code(),
            StatusCode::kNotFound);
  const uint64_t epoch = store->GetMeta("d")->epoch;
  EXPECT_EQ(store->DropChangesThrough("d", epoch, 45).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(store->DropChangesThrough("d", epoch + 1, 40).code(), StatusCode::kNotFound);
  EXPECT_EQ(store->WriteSnapshot("d", epoch + 1, 40, "x").code(), StatusCode::kNotFound);
  EXPECT_EQ(store->ReadChanges("d", 3, 10, SIZE_MAX).status().code(), StatusCode::kOutOfRange);
  Result<VerifyReport> report = Verify(*store, nullptr);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->problems.empty()) << report->problems[0];
}

TEST(StoreTest, SnapshotsAreTakenInTheBackgroundByPolicy) {
  test::TempDir dir;
  StoreOptions o = Opts();
  o.snapshot_every_changes = 10;
  auto store = Open(dir.path(), o);
  Typist t(1);
  for (int i = 0; i < 25; ++i) ASSERT_TRUE(store->Append({{"d", {t.Type("x")}}}).ok());
  store->Flush();
  const DocMeta meta = *store->GetMeta("d");
  EXPECT_GE(meta.snapshot_seq, 10u);
  EXPECT_LT(meta.changes_since_snapshot, 10u);
  EXPECT_EQ(LoadTextDoc(*store, "d", crdt::AgentId{9})->doc.Text(), t.Text());
  Result<VerifyReport> report = Verify(*store, nullptr);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->problems.empty());
  EXPECT_GE(report->snapshots, 1u);
}

TEST(RecordsTest, BadBytesAreCorruptionNamingDocumentAndSeq) {
  const std::string good = EncodeChangeRecord(NewChange{"\x90", "bob", 5});
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
  EXPECT_EQ(DecodeMetaRecord("d", "\x01\x00\x00\x00\x00").status().code(),
            StatusCode::kCorruption);
  std::string_view doc;
  uint64_t seq;
  EXPECT_TRUE(ParseSeqKey(SeqKey("doc", 258), &doc, &seq).ok());
  EXPECT_EQ(doc, "doc");
  EXPECT_EQ(seq, 258u);
  EXPECT_EQ(ParseSeqKey("short", &doc, &seq).code(), StatusCode::kCorruption);
  EXPECT_EQ(ParseSeqKey(std::string("a\0b\0\0\0\0\0\0\0\0\x01", 12), &doc, &seq).code(),
            StatusCode::kCorruption);
}

}  // namespace
}  // namespace quire::storage
