#include "storage/store.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <filesystem>
#include <future>
#include <map>
#include <thread>

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
  EXPECT_EQ(store->ReadChanges("missing", 1, 10, SIZE_MAX).status().code(), StatusCode::kNotFound);
}

TEST(StoreTest, BatchesAcrossDocumentsAreAtomicAndNumberedPerDocument) {
  test::TempDir dir;
  auto store = Open(dir.path());
  Typist a(1), b(2);
  Result<std::vector<uint64_t>> seqs = store->Append(
      {{"a", {a.Type("x"), a.Type("y")}}, {"b", {b.Type("z")}}, {"a", {a.Type("w")}}});
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
  EXPECT_EQ(LoadTextDocAt(*store, "d", 3, crdt::AgentId{9}).status().code(), StatusCode::kNotFound);
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

TEST(StoreTest, AppendsPastTheSizeLimitAreRefusedWholeAndWriteNothing) {
  test::TempDir dir;
  Typist t(1);
  const NewChange first = t.Type(std::string(100, 'a'));
  const NewChange second = t.Type(std::string(100, 'b'));
  const NewChange third = t.Type(std::string(100, 'c'));
  StoreOptions o = Opts();
  o.max_document_bytes = first.change.size() + second.change.size() + 10;
  {
    auto store = Open(dir.path(), o);
    ASSERT_TRUE(store->Append({{"d", {first}}}).ok());
    ASSERT_TRUE(store->Append({{"d", {second}}}).ok());
    EXPECT_EQ(store->GetMeta("d")->history_bytes, first.change.size() + second.change.size());
    Result<std::vector<uint64_t>> over = store->Append({{"d", {third}}});
    EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);
    EXPECT_NE(over.status().message().find("document 'd' would grow to"), std::string::npos)
        << over.status().message();
    // A batch with a document over the limit is refused whole.
    Typist u(2);
    over = store->Append({{"other", {u.Type("fits")}}, {"d", {third}}});
    EXPECT_EQ(over.status().code(), StatusCode::kResourceExhausted);
    EXPECT_EQ(store->GetMeta("other").status().code(), StatusCode::kNotFound);
    EXPECT_EQ(store->GetMeta("d")->head_seq, 2u);
    // Dropping changes does not make room: the history is still there, in
    // the snapshot.
    ASSERT_TRUE(CompactDocument(*store, "d", /*drop_covered_changes=*/true).ok());
    EXPECT_EQ(store->GetMeta("d")->change_bytes, 0u);
    EXPECT_EQ(store->Append({{"d", {third}}}).status().code(), StatusCode::kResourceExhausted);
  }
  // The count is stored: after a reopen it still holds.
  auto store = Open(dir.path(), o);
  EXPECT_EQ(store->Append({{"d", {third}}}).status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(LoadTextDoc(*store, "d", crdt::AgentId{9})->doc.Text(),
            std::string(100, 'a') + std::string(100, 'b'));
}

// Writers on several threads, on one shared document and on their own,
// some waiting for each ack, some keeping appends in flight, some in
// batches across two documents, with a metadata cache of two entries (so
// most appends wait for a read of evicted metadata). Every seq is handed
// out once, with no gap, each thread's changes keep their order, and the
// documents load with every change.
TEST(StoreTest, ConcurrentAppendsGetEverySeqOnceInOrderAndReadBack) {
  test::TempDir dir;
  StoreOptions o = Opts();
  o.meta_cache_entries = 2;
  auto store = Open(dir.path(), o);
  constexpr int kThreads = 6;
  constexpr int kAppends = 150;
  std::mutex mu;
  std::map<std::string, std::vector<uint64_t>> seqs;  // Per document, as acknowledged.
  std::map<int, std::vector<uint64_t>> shared_by_thread;
  std::atomic<int> failures{0};
  std::vector<std::thread> threads;
  for (int w = 0; w < kThreads; ++w) {
    threads.emplace_back([&, w] {
      Typist shared(100 + w), own(200 + w), extra(300 + w);
      const std::string mine = "own" + std::to_string(w);
      const std::string async = "async" + std::to_string(w);
      std::atomic<int> in_flight{0};
      for (int i = 0; i < kAppends; ++i) {
        std::vector<AppendRequest> batch = {{"shared", {shared.Type("s")}}};
        if (w % 3 == 1) batch.push_back({mine, {own.Type("o"), own.Type("p")}});
        Result<std::vector<uint64_t>> r = store->Append(std::move(batch));
        if (!r.ok()) {
          ++failures;
          continue;
        }
        {
          std::lock_guard<std::mutex> lock(mu);
          seqs["shared"].push_back(r->front());
          shared_by_thread[w].push_back(r->front());
          if (w % 3 == 1) {
            seqs[mine].push_back(r->at(1));
            seqs[mine].push_back(r->at(1) + 1);
          }
        }
        if (w % 3 == 2) {  // Another document, asynchronously, up to 8 in flight.
          while (in_flight.load() >= 8) std::this_thread::yield();
          ++in_flight;
          store->AppendAsync({{async, {extra.Type("e")}}}, [&](Result<std::vector<uint64_t>> a) {
            std::lock_guard<std::mutex> l(mu);
            if (a.ok()) {
              seqs[async].push_back(a->front());
            } else {
              ++failures;
            }
            --in_flight;
          });
        }
      }
      while (in_flight.load() > 0) std::this_thread::yield();
    });
  }
  for (std::thread& t : threads) t.join();
  ASSERT_EQ(failures.load(), 0);
  for (auto& [doc, got] : seqs) {
    SCOPED_TRACE(doc);
    std::sort(got.begin(), got.end());
    for (size_t i = 0; i < got.size(); ++i) ASSERT_EQ(got[i], i + 1) << "seqs must be 1..n once";
    EXPECT_EQ(store->GetMeta(doc)->head_seq, got.size());
    Result<std::vector<StoredChange>> changes = store->ReadChanges(doc, 1, SIZE_MAX, SIZE_MAX);
    ASSERT_TRUE(changes.ok()) << changes.status().ToString();
    ASSERT_EQ(changes->size(), got.size());
    Result<LoadedTextDoc> loaded = LoadTextDoc(*store, doc, crdt::AgentId{9});
    // Out of order, an agent's change would wait for its predecessor.
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded->doc.size(), got.size());  // One character per change.
  }
  EXPECT_EQ(seqs["shared"].size(), size_t{kThreads * kAppends});
  for (auto& [w, got] : shared_by_thread) {
    EXPECT_TRUE(std::is_sorted(got.begin(), got.end())) << "thread " << w;
  }
  Result<VerifyReport> report = Verify(*store, nullptr);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->problems.empty()) << report->problems.front();
}

// With a cache of one entry, snapshots, drops and deletes of documents the
// writer no longer holds come in order with appends to them.
TEST(StoreTest, EvictedMetadataIsReadAgainAndWritesKeepTheirOrder) {
  test::TempDir dir;
  StoreOptions o = Opts();
  o.meta_cache_entries = 1;
  auto store = Open(dir.path(), o);
  std::vector<Typist> typists;
  for (int d = 0; d < 5; ++d) typists.emplace_back(d + 1);
  for (int round = 0; round < 4; ++round) {
    for (int d = 0; d < 5; ++d) {
      const std::string doc = "doc" + std::to_string(d);
      Result<std::vector<uint64_t>> r = store->Append({{doc, {typists[d].Type("ab")}}});
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_EQ(r->front(), static_cast<uint64_t>(round + 1));
    }
  }
  ASSERT_TRUE(CompactDocument(*store, "doc1", /*drop_covered_changes=*/true).ok());
  EXPECT_EQ(store->GetMeta("doc1")->first_seq, 5u);
  ASSERT_TRUE(store->DeleteDocument("doc2").ok());
  Typist fresh(9);
  EXPECT_EQ(store->Append({{"doc2", {fresh.Type("new")}}})->front(), 1u);
  for (int d = 0; d < 5; ++d) {
    const std::string doc = "doc" + std::to_string(d);
    Result<LoadedTextDoc> loaded = LoadTextDoc(*store, doc, crdt::AgentId{99});
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded->doc.Text(), d == 2 ? "new" : typists[d].Text());
  }
}

// A batch that must wait for the metadata of a new document ("y<i>") holds
// back the later appends to the document it shares ("x"), even though the
// writer has x's metadata at hand: x's changes get seqs in the order they
// were submitted.
TEST(StoreTest, AppendsKeepSubmissionOrderWhileAnotherDocumentIsRead) {
  test::TempDir dir;
  StoreOptions o = Opts();
  o.meta_cache_entries = 2;
  auto store = Open(dir.path(), o);
  Typist x(1), y(2);
  constexpr int kRounds = 200;
  std::mutex mu;
  std::vector<uint64_t> x_seqs(2 * kRounds);  // By submission index.
  std::atomic<int> pending{0}, failures{0};
  auto record = [&](int index, size_t at) {
    return [&, index, at](Result<std::vector<uint64_t>> r) {
      std::lock_guard<std::mutex> lock(mu);
      if (r.ok()) {
        x_seqs[index] = r->at(at);
      } else {
        ++failures;
      }
      --pending;
    };
  };
  // Made first, so that the appends come in faster than the reads.
  std::vector<NewChange> ys, xs;
  for (int i = 0; i < 2 * kRounds; ++i) {
    ys.push_back(y.Type("y"));
    xs.push_back(x.Type(i % 2 == 0 ? "a" : "b"));
  }
  pending = 2 * kRounds;
  for (int i = 0; i < kRounds; ++i) {
    store->AppendAsync({{"y" + std::to_string(i), {ys[i]}}, {"x", {xs[2 * i]}}}, record(2 * i, 1));
    store->AppendAsync({{"x", {xs[2 * i + 1]}}}, record(2 * i + 1, 0));
  }
  while (pending.load() > 0) std::this_thread::yield();
  ASSERT_EQ(failures.load(), 0);
  for (size_t i = 0; i < x_seqs.size(); ++i) EXPECT_EQ(x_seqs[i], i + 1) << "submission " << i;
  EXPECT_EQ(LoadTextDoc(*store, "x", crdt::AgentId{9})->doc.Text(), x.Text());
}

TEST(StoreTest, AReadOnlyStoreReadsAndRefusesWrites) {
  test::TempDir dir;
  Typist t(1);
  {
    auto store = Open(dir.path());
    ASSERT_TRUE(store->Append({{"d", {t.Type("hi")}}}).ok());
  }
  StoreOptions o = Opts();
  o.read_only = true;
  auto store = Open(dir.path(), o);
  EXPECT_EQ(LoadTextDoc(*store, "d", crdt::AgentId{9})->doc.Text(), "hi");
  EXPECT_EQ(store->Append({{"d", {t.Type("!")}}}).status().code(), StatusCode::kInternal);
  EXPECT_EQ(store->DeleteDocument("d").code(), StatusCode::kInternal);
  EXPECT_EQ(store->GetMeta("d")->head_seq, 1u);
  // A missing directory is NotFound and stays missing.
  const std::string missing = dir.path() + "/missing";
  EXPECT_EQ(OpenRocksDbStore(missing, o).status().code(), StatusCode::kNotFound);
  o.read_only = false;
  o.create_if_missing = false;
  EXPECT_EQ(OpenRocksDbStore(missing, o).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(missing));
}

}  // namespace
}  // namespace quire::storage
