// A damaged value: verify names the document, loading it fails cleanly,
// the other documents load. The damage is done with RocksDB directly, as a
// bad disk would, while the store is closed.
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

void Damage(const std::string& dir, const std::string& key) {
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, {}}, {"changes", {}}, {"snapshots", {}}, {"docs", {}}};
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* db = nullptr;
  ASSERT_TRUE(rocksdb::DB::Open(rocksdb::DBOptions(), dir, families, &handles, &db).ok());
  std::string value;
  ASSERT_TRUE(db->Get(rocksdb::ReadOptions(), handles[1], key, &value).ok());
  value[value.size() / 2] ^= 0x40;
  ASSERT_TRUE(db->Put(rocksdb::WriteOptions(), handles[1], key, value).ok());
  for (auto* h : handles) db->DestroyColumnFamilyHandle(h);
  delete db;
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
  const int rc = std::system(verify.c_str());
  EXPECT_TRUE(WIFEXITED(rc) && WEXITSTATUS(rc) == 1) << verify;
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

}  // namespace
}  // namespace quire::storage
