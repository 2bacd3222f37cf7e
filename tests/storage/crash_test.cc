// Kills a writing process with SIGKILL at random moments and checks that
// every change it saw acknowledged (sync mode) is there after reopening,
// decodes, and replays to the text the acks imply.
#include <gtest/gtest.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <random>

#include "crdt/change_codec.h"
#include "storage/documents.h"
#include "storage/store.h"
#include "tests/storage/temp_dir.h"

namespace quire::storage {
namespace {

constexpr char kDoc[] = "crash";

char CharFor(uint64_t seq) { return static_cast<char>('a' + (seq - 1) % 26); }

std::string TextAt(uint64_t head) {
  std::string s;
  for (uint64_t seq = 1; seq <= head; ++seq) s.push_back(CharFor(seq));
  return s;
}

// The child: types one character per change at the end of the document and
// reports each acknowledged seq on `fd`, until killed (or 20 s pass).
[[noreturn]] void Child(const std::string& dir, int round, int fd) {
  StoreOptions o;
  o.durability = Durability::kSync;
  o.snapshot_every_changes = 50;  // Background snapshots race with the kill too.
  Result<std::unique_ptr<Store>> store = OpenRocksDbStore(dir, o);
  if (!store.ok()) _exit(3);
  crdt::TextDoc doc(crdt::AgentId{static_cast<uint64_t>(round) + 1});
  Result<LoadedTextDoc> loaded =
      LoadTextDoc(**store, kDoc, crdt::AgentId{100 + static_cast<uint64_t>(round)});
  uint64_t seq = 0;
  if (loaded.ok()) {
    if (!doc.Merge(loaded->doc).ok()) _exit(4);
    seq = loaded->seq;
  } else if (loaded.status().code() != StatusCode::kNotFound) {
    _exit(5);
  }
  const auto stop = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < stop) {
    const char c = CharFor(seq + 1);
    const crdt::Change change = doc.Insert(doc.size(), std::string_view(&c, 1));
    Result<std::vector<uint64_t>> acked =
        (*store)->Append({{kDoc, {NewChange{crdt::EncodeChange(change), "child", 0}}}});
    if (!acked.ok() || acked->front() != seq + 1) _exit(6);
    seq = acked->front();
    if (write(fd, &seq, sizeof(seq)) != sizeof(seq)) _exit(7);
  }
  _exit(0);
}

TEST(CrashTest, AcknowledgedChangesSurviveSigkill) {
  test::TempDir dir;
  const char* env = std::getenv("QUIRE_SEED");
  const uint64_t seed = env ? std::strtoull(env, nullptr, 10) : 20261122;
  std::printf("crash test seed %llu (set QUIRE_SEED to change)\n",
              static_cast<unsigned long long>(seed));
  std::mt19937_64 rng(seed);
  uint64_t acked = 0;
  for (int round = 0; round < 20; ++round) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed << " round " << round);
    int fds[2];
    ASSERT_EQ(pipe(fds), 0);
    const pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      close(fds[0]);
      Child(dir.path(), round, fds[1]);
    }
    close(fds[1]);
    auto read_acks = [&](int timeout_ms) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, timeout_ms) <= 0) return false;
      uint64_t seq;
      const ssize_t n = read(fds[0], &seq, sizeof(seq));
      if (n != sizeof(seq)) return false;
      acked = std::max(acked, seq);
      return true;
    };
    // Collect acks for a random while, then kill without warning. Even
    // rounds count the while from the fork, so some kills land while the
    // child opens (and recovers) the store; odd ones from its first ack,
    // so that a slow start (a sanitizer build, a busy disk) still leaves
    // writes to kill.
    const uint64_t delay_ms = 5 + rng() % 120;
    if (round % 2 == 1) {
      const auto give_up = std::chrono::steady_clock::now() + std::chrono::seconds(20);
      const uint64_t before = acked;
      while (acked == before && std::chrono::steady_clock::now() < give_up) read_acks(5);
    }
    const auto kill_at = std::chrono::steady_clock::now() + std::chrono::milliseconds(delay_ms);
    while (std::chrono::steady_clock::now() < kill_at) read_acks(5);
    ASSERT_EQ(kill(pid, SIGKILL), 0);
    int status = 0;
    ASSERT_EQ(waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(status)) << "the child exited by itself, code " << WEXITSTATUS(status);
    while (read_acks(0)) {  // Acks written before it died count too.
    }
    close(fds[0]);

    StoreOptions o;
    o.snapshot_every_changes = 0;
    Result<std::unique_ptr<Store>> store = OpenRocksDbStore(dir.path(), o);
    ASSERT_TRUE(store.ok()) << store.status().ToString();
    if (acked == 0) continue;  // Killed before its first ack.
    Result<DocMeta> meta = (*store)->GetMeta(kDoc);
    ASSERT_TRUE(meta.ok()) << meta.status().ToString();
    ASSERT_GE(meta->head_seq, acked) << "an acknowledged change was lost";
    Result<std::vector<StoredChange>> changes = (*store)->ReadChanges(kDoc, 1, SIZE_MAX, SIZE_MAX);
    ASSERT_TRUE(changes.ok()) << changes.status().ToString();
    ASSERT_EQ(changes->size(), meta->head_seq);
    crdt::TextDoc replay(crdt::AgentId{999});
    ASSERT_TRUE(ApplyStored(kDoc, *changes, &replay).ok());
    EXPECT_EQ(replay.Text(), TextAt(meta->head_seq));
    Result<LoadedTextDoc> loaded = LoadTextDoc(**store, kDoc, crdt::AgentId{998});
    ASSERT_TRUE(loaded.ok()) << loaded.status().ToString();
    EXPECT_EQ(loaded->doc.Text(), TextAt(meta->head_seq));
    Result<VerifyReport> report = Verify(**store, nullptr);
    ASSERT_TRUE(report.ok());
    EXPECT_TRUE(report->problems.empty()) << report->problems.front();
  }
  EXPECT_GT(acked, 20u) << "the child hardly wrote anything: the test proved little";
  // And the operator's check agrees.
  const std::string verify =
      std::string(QUIRE_CLI) + " verify --data " + dir.path() + " > /dev/null";
  EXPECT_EQ(std::system(verify.c_str()), 0) << verify;
}

}  // namespace
}  // namespace quire::storage
