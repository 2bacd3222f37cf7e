// Damage underneath the store: verify names the document and seq, loading
// fails cleanly or takes another way, the other documents keep working,
// and nothing is built on top of the damage. The damage is done with
// RocksDB directly, as a bad disk or a stray tool would, while the store
// is closed.
#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <iterator>

#include "crdt/change_codec.h"
#include "storage/documents.h"
#include "storage/records.h"
#include "storage/store.h"
#include "tests/storage/temp_dir.h"

namespace quire::storage {
namespace {

enum Family { kChanges = 1, kSnapshots = 2, kDocs = 3 };

// Runs `fn(db, handles)` on the closed store's directory with RocksDB.
template <typename Fn>
void WithRocksDb(const std::string& dir, Fn fn) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"changes", {}}, {"snapshots", {}}, {"docs", {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir, families, &handles, &db).ok());
  fn(db, handles);
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
}

void Damage(const std::string& dir, const std::string& key, Family family = kChanges) {
  WithRocksDb(dir, [&](rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*>& h) {
    std::string value;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), h[family], key, &value).ok());
    value[value.size() / 2] ^= 0x40;
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), h[family], key, value).ok());
  });
}

StoreOptions Quiet() {
  StoreOptions o;
  o.durability = Durability::kAsync;
  o.snapshot_every_changes = 0;
  o.snapshot_every_bytes = 0;
  return o;
}

// Appends `n` changes typing `s` at the start of `doc` to `name`.
void Type(Store& store, const std::string& name, crdt::TextDoc& doc, int n,
          std::string_view s = "x") {
  for (int i = 0; i < n; ++i) {
    ASSERT_TRUE(
        store.Append({{name, {NewChange{crdt::EncodeChange(doc.Insert(0, s)), "a", 0}}}}).ok());
  }
}

void Type(Store& store, const std::string& name, int n) {
  crdt::TextDoc doc(crdt::AgentId{1});
  Type(store, name, doc, n);
}

int ExitCode(const std::string& command) {
  const int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(CorruptionTest, ADamagedValueIsNamedAndRefusedOthersKeepWorking) {
  test::TempDir dir;
  {
    StoreOptions o;
    o.durability = Durability::kAsync;
    auto store = *OpenRocksDbStore(dir.path(), o);
    for (const char* name : {"good", "bad"}) {
      crdt::TextDoc doc(crdt::AgentId{1});
      for (int i = 0; i < 3; ++i) {
        ASSERT_TRUE(
            store->Append({{name, {NewChange{crdt::EncodeChange(doc.Insert(0, "x")), "a", 0}}}})
                .ok());
      }
    }
  }
  Damage(dir.path(), SeqKey("bad", 2));
  StoreOptions o;
  auto store = *OpenRocksDbStore(dir.path(), o);
  Result<VerifyReport> report = Verify(*store, nullptr);
  ASSERT_TRUE(report.ok());
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0], "Corruption: document 'bad' change 2: checksum mismatch");
  // quire verify exits 1 and names the document.
  const std::string out = dir.path() + "/verify.txt";
  const std::string verify =
      std::string(QUIRE_CLI) + " verify --data " + dir.path() + " > " + out + " 2>&1";
  store.reset();  // The CLI opens the directory itself.
  EXPECT_EQ(ExitCode(verify), 1) << verify;
  std::ifstream in(out);
  const std::string printed((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_NE(printed.find("problem: Corruption: document 'bad' change 2"), std::string::npos)
      << printed;
  store = *OpenRocksDbStore(dir.path(), o);
  Result<LoadedTextDoc> bad = LoadTextDoc(*store, "bad", crdt::AgentId{5});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  Result<LoadedTextDoc> good = LoadTextDoc(*store, "good", crdt::AgentId{5});
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->doc.Text(), "xxx");
  // Writing to the good document still works.
  crdt::TextDoc more(crdt::AgentId{6});
  ASSERT_TRUE(more.Merge(good->doc).ok());
  EXPECT_TRUE(
      store->Append({{"good", {NewChange{crdt::EncodeChange(more.Insert(0, "y")), "a", 0}}}}).ok());
}

TEST(CorruptionTest, RecordsWithoutMetadataAreReportedAndNeverBuiltOn) {
  test::TempDir dir;
  {
    auto store = *OpenRocksDbStore(dir.path(), Quiet());
    Type(*store, "lost", 3);
    ASSERT_TRUE(TakeSnapshot(*store, "lost").ok());
    Type(*store, "kept", 1);
  }
  WithRocksDb(dir.path(), [](rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*>& h) {
    ASSERT_TRUE(db->Delete(rocksdb::WriteOptions(), h[kDocs], "lost").ok());
  });
  auto store = *OpenRocksDbStore(dir.path(), Quiet());
  Result<VerifyReport> report = Verify(*store, nullptr);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->problems,
            std::vector<std::string>{"Corruption: document 'lost' has 3 change and 1 snapshot "
                                     "records but no metadata"});
  EXPECT_EQ(report->documents, 1u);
  // Creating the name again is refused and writes nothing.
  crdt::TextDoc fresh(crdt::AgentId{2});
  Result<std::vector<uint64_t>> append =
      store->Append({{"lost", {NewChange{crdt::EncodeChange(fresh.Insert(0, "new")), "b", 0}}}});
  ASSERT_EQ(append.status().code(), StatusCode::kCorruption);
  EXPECT_NE(append.status().message().find("no metadata"), std::string::npos);
  EXPECT_EQ(store->GetMeta("lost").status().code(), StatusCode::kNotFound);
  ASSERT_EQ(store->ListOrphanedRecords()->size(), 1u);
  EXPECT_EQ(store->ListOrphanedRecords()->front().changes, 3u);
  // So is `quire import` (exit 1), which writes nothing either.
  store.reset();
  const std::string text = dir.path() + "/in.txt";
  std::ofstream(text) << "imported";
  EXPECT_EQ(ExitCode(std::string(QUIRE_CLI) + " import --data " + dir.path() + " lost " + text +
                     " > /dev/null 2>&1"),
            1);
  store = *OpenRocksDbStore(dir.path(), Quiet());
  EXPECT_EQ(store->ListOrphanedRecords()->front().changes, 3u);
  EXPECT_EQ(store->GetMeta("lost").status().code(), StatusCode::kNotFound);
  // Deleting the name removes the records; then it is a new document.
  ASSERT_TRUE(store->DeleteDocument("lost").ok());
  EXPECT_TRUE(store->ListOrphanedRecords()->empty());
  EXPECT_EQ(store->DeleteDocument("lost").code(), StatusCode::kNotFound);
  crdt::TextDoc again(crdt::AgentId{3});
  append = store->Append({{"lost", {NewChange{crdt::EncodeChange(again.Insert(0, "n")), "b", 0}}}});
  ASSERT_TRUE(append.ok()) << append.status().ToString();
  EXPECT_EQ(append->front(), 1u);
  Result<LoadedTextDoc> reloaded = LoadTextDoc(*store, "lost", crdt::AgentId{9});
  ASSERT_TRUE(reloaded.ok()) << reloaded.status().ToString();
  EXPECT_EQ(reloaded->doc.Text(), "n");
  EXPECT_TRUE(Verify(*store, nullptr)->problems.empty());
}

TEST(CorruptionTest, AChangeReplacedByACopyOfTheNextIsNamedByItsSeq) {
  test::TempDir dir;
  {
    auto store = *OpenRocksDbStore(dir.path(), Quiet());
    Type(*store, "d", 20);
  }
  WithRocksDb(dir.path(), [](rocksdb::DB* db, std::vector<rocksdb::ColumnFamilyHandle*>& h) {
    std::string next;
    ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), h[kChanges], SeqKey("d", 12), &next).ok());
    ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), h[kChanges], SeqKey("d", 11), next).ok());
  });
  auto store = *OpenRocksDbStore(dir.path(), Quiet());
  Result<VerifyReport> report = Verify(*store, nullptr);
  ASSERT_TRUE(report.ok());
  EXPECT_EQ(report->problems,
            std::vector<std::string>{"Corruption: document 'd' change 11: checksum mismatch"});
  Result<LoadedTextDoc> loaded = LoadTextDoc(*store, "d", crdt::AgentId{9});
  EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption);
}

TEST(CorruptionTest, ASnapshotThatDoesNotLoadIsPassedOverWhileTheLogReachesBack) {
  test::TempDir dir;
  auto store = *OpenRocksDbStore(dir.path(), Quiet());
  crdt::TextDoc typist(crdt::AgentId{1});
  Type(*store, "d", typist, 30);
  ASSERT_TRUE(TakeSnapshot(*store, "d").ok());
  const uint64_t epoch = store->GetMeta("d")->epoch;
  // A snapshot whose record is sound but whose document does not decode
  // (a bug that wrote it, or a limit lower than when it was written).
  ASSERT_TRUE(store->WriteSnapshot("d", epoch, 30, "not a document").ok());
  Type(*store, "d", typist, 1, "y");
  const std::string want = "y" + std::string(30, 'x');
  Result<LoadedTextDoc> loaded = LoadTextDoc(*store, "d", crdt::AgentId{9});
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->doc.Text(), want);
  EXPECT_EQ(loaded->seq, 31u);
  ASSERT_EQ(loaded->skipped_snapshots.size(), 1u);
  EXPECT_EQ(loaded->skipped_snapshots[0].rfind("Corruption: document 'd' snapshot 30: ", 0), 0u)
      << loaded->skipped_snapshots[0];
  Result<LoadedTextDoc> at = LoadTextDocAt(*store, "d", 30, crdt::AgentId{9});
  ASSERT_TRUE(at.ok()) << at.status().ToString();
  EXPECT_EQ(at->doc.Text(), std::string(30, 'x'));
  // Verify still reports it, and a new snapshot heals the load path.
  Result<VerifyReport> report = Verify(*store, nullptr);
  ASSERT_EQ(report->problems.size(), 1u);
  EXPECT_EQ(report->problems[0].rfind("Corruption: document 'd' snapshot 30: ", 0), 0u);
  ASSERT_TRUE(TakeSnapshot(*store, "d").ok());
  loaded = LoadTextDoc(*store, "d", crdt::AgentId{9});
  ASSERT_TRUE(loaded.ok());
  EXPECT_TRUE(loaded->skipped_snapshots.empty());
  // A damaged record (bad CRC) at the newest snapshot: passed over too,
  // for the older one, which does not decode either, then the log.
  store.reset();
  Damage(dir.path(), SeqKey("d", 31), kSnapshots);
  store = *OpenRocksDbStore(dir.path(), Quiet());
  loaded = LoadTextDoc(*store, "d", crdt::AgentId{9});
  ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
  EXPECT_EQ(loaded->doc.Text(), want);
  EXPECT_EQ(loaded->skipped_snapshots.size(), 2u);
  // Once the log no longer reaches back, there is no other way: Corruption.
  ASSERT_TRUE(CompactDocument(*store, "d", /*drop_covered_changes=*/true).ok());
  ASSERT_TRUE(store->WriteSnapshot("d", epoch, 31, "not a document either").ok());
  loaded = LoadTextDoc(*store, "d", crdt::AgentId{9});
  EXPECT_EQ(loaded.status().code(), StatusCode::kCorruption);
  EXPECT_NE(loaded.status().message().find("document 'd' snapshot 31"), std::string::npos)
      << loaded.status().message();
}

}  // namespace
}  // namespace quire::storage
