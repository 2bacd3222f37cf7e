// The write-ahead log after a SIGKILL: a torn last record (what a crash
// during an unacknowledged write leaves) opens with every acknowledged
// change; damage anywhere before the end refuses to open, saying what to
// do, and changes nothing; `quire salvage` then opens it with what
// precedes the damage.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "crdt/change_codec.h"
#include "storage/documents.h"
#include "storage/store.h"
#include "tests/storage/temp_dir.h"

namespace quire::storage {
namespace {

constexpr char kDoc[] = "wal";

// A child process appends `count` one-character changes in sync mode,
// reports how many were acknowledged on `fd`, then waits to be killed:
// every change stays in the WAL (nothing is flushed to a table).
uint64_t WriteThenSigkill(const std::string& dir, uint64_t count) {
  int fds[2];
  EXPECT_EQ(pipe(fds), 0);
  const pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    StoreOptions o;
    o.snapshot_every_changes = 0;
    o.snapshot_every_bytes = 0;
    Result<std::unique_ptr<Store>> store = OpenRocksDbStore(dir, o);
    if (!store.ok()) _exit(3);
    crdt::TextDoc doc(crdt::AgentId{1});
    uint64_t acked = 0;
    for (uint64_t i = 0; i < count; ++i) {
      const crdt::Change c = doc.Insert(doc.size(), "x");
      if (!(*store)->Append({{kDoc, {NewChange{crdt::EncodeChange(c), "w", 0}}}}).ok()) _exit(4);
      ++acked;
    }
    if (write(fds[1], &acked, sizeof(acked)) != sizeof(acked)) _exit(5);
    pause();
    _exit(0);
  }
  close(fds[1]);
  uint64_t acked = 0;
  EXPECT_EQ(read(fds[0], &acked, sizeof(acked)), static_cast<ssize_t>(sizeof(acked)));
  close(fds[0]);
  kill(pid, SIGKILL);
  int status = 0;
  waitpid(pid, &status, 0);
  EXPECT_TRUE(WIFSIGNALED(status));
  return acked;
}

std::string WalFile(const std::string& dir) {
  std::string newest;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string p = e.path().string();
    if (p.ends_with(".log") && p > newest) newest = p;
  }
  return newest;
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void WriteFile(const std::string& path, const std::string& bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
}

int ExitCode(const std::string& command) {
  const int rc = std::system(command.c_str());
  return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

TEST(WalTest, ATornLastRecordOpensWithEveryAcknowledgedChange) {
  test::TempDir dir;
  const uint64_t acked = WriteThenSigkill(dir.path(), 300);
  ASSERT_EQ(acked, 300u);
  // What a crash in the middle of the next write leaves: a record header
  // (checksum, length 200, type "full") and only part of its payload.
  const std::string wal = WalFile(dir.path());
  ASSERT_FALSE(wal.empty());
  std::string bytes = ReadFile(wal);
  const size_t before = bytes.size();
  bytes += std::string("\x12\x34\x56\x78\xC8\x00\x01", 7) + std::string(50, 'y');
  WriteFile(wal, bytes);

  Result<std::unique_ptr<Store>> store = OpenRocksDbStore(dir.path(), StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  ASSERT_EQ((*store)->GetMeta(kDoc)->head_seq, acked);
  Result<LoadedTextDoc> doc = LoadTextDoc(**store, kDoc, crdt::AgentId{9});
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->doc.Text(), std::string(acked, 'x'));
  EXPECT_GT(bytes.size(), before);
}

TEST(WalTest, DamageBeforeTheEndRefusesToOpenAndSalvageKeepsWhatPrecedesIt) {
  test::TempDir dir;
  const uint64_t acked = WriteThenSigkill(dir.path(), 3000);
  ASSERT_EQ(acked, 3000u);
  const std::string wal = WalFile(dir.path());
  std::string bytes = ReadFile(wal);
  ASSERT_GT(bytes.size(), 3 * 32768u) << "the WAL should span several blocks";
  // One flipped bit in the middle, not in the zero padding at the end of
  // a 32 KiB block, which nothing reads.
  size_t at = bytes.size() / 2;
  if (at % 32768 > 32768 - 16) at -= 32;
  bytes[at] = static_cast<char>(bytes[at] ^ 0x10);
  WriteFile(wal, bytes);

  Result<std::unique_ptr<Store>> store = OpenRocksDbStore(dir.path(), StoreOptions());
  ASSERT_FALSE(store.ok()) << "a damaged WAL opened: later acknowledged changes would be lost";
  EXPECT_EQ(store.status().code(), StatusCode::kCorruption);
  EXPECT_NE(store.status().message().find("quire salvage --data " + dir.path()), std::string::npos)
      << store.status().message();
  EXPECT_EQ(ReadFile(wal), bytes) << "a refused open changed the WAL";
  // The operator's read-only commands refuse it too (exit 1: a problem).
  const std::string quire(QUIRE_CLI);
  EXPECT_EQ(ExitCode(quire + " verify --data " + dir.path() + " > /dev/null 2>&1"), 1);
  EXPECT_EQ(ExitCode(quire + " export --data " + dir.path() + " wal > /dev/null 2>&1"), 1);

  // Salvage keeps the writes before the damage, and the directory opens.
  ASSERT_EQ(ExitCode(quire + " salvage --data " + dir.path() + " > /dev/null"), 0);
  store = OpenRocksDbStore(dir.path(), StoreOptions());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  Result<DocMeta> meta = (*store)->GetMeta(kDoc);
  ASSERT_TRUE(meta.ok()) << meta.status().ToString();
  EXPECT_GT(meta->head_seq, 0u);
  EXPECT_LT(meta->head_seq, acked);
  Result<LoadedTextDoc> doc = LoadTextDoc(**store, kDoc, crdt::AgentId{9});
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->doc.Text(), std::string(meta->head_seq, 'x'));
  Result<VerifyReport> report = Verify(**store, nullptr);
  ASSERT_TRUE(report.ok());
  EXPECT_TRUE(report->problems.empty()) << report->problems.front();
}

}  // namespace
}  // namespace quire::storage
