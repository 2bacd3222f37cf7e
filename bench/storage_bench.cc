// Storage benchmarks: durable append throughput with group commit against
// one fsync per append (same run), loading a large document, disk use.
// They write to a fresh directory under $TMPDIR (default /tmp).
#include <benchmark/benchmark.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <semaphore>
#include <thread>

#include "crdt/change_codec.h"
#include "crdt/text_doc.h"
#include "storage/documents.h"
#include "storage/store.h"
#include "tests/storage/temp_dir.h"
#include "tools/replay.h"
#include "tools/trace.h"

namespace quire::bench {
namespace {

using storage::NewChange;
using storage::Store;
using Clock = std::chrono::steady_clock;

std::unique_ptr<Store> Open(const std::string& dir, storage::StoreOptions o) {
  o.snapshot_every_changes = 0;
  o.snapshot_every_bytes = 0;
  Result<std::unique_ptr<Store>> s = storage::OpenRocksDbStore(dir, o);
  if (!s.ok()) std::abort();
  return std::move(*s);
}

// `writers` threads each append one-keystroke changes to their own
// document for a second, keeping up to `window` appends in flight
// (AppendAsync; a server room acks each client's change as it becomes
// durable and takes the next meanwhile). window 1 is a writer that waits
// for each ack. Reports changes/s and fsyncs/s (committed writes).
void Appends(benchmark::State& state, bool group_commit) {
  const int writers = static_cast<int>(state.range(0));
  const int window = static_cast<int>(state.range(1));
  test::TempDir dir;
  storage::StoreOptions o;
  o.durability = storage::Durability::kSync;
  o.group_commit = group_commit;
  auto store = Open(dir.path(), o);
  // One keystroke change, the same bytes for every append (what is timed
  // is the store, not the CRDT).
  crdt::TextDoc doc(crdt::AgentId{1});
  const std::string change = crdt::EncodeChange(doc.Insert(0, "k"));
  double changes = 0, writes = 0, seconds = 0;
  for (auto _ : state) {
    const storage::StoreStats before = store->Stats();
    std::atomic<bool> stop{false};
    std::atomic<bool> failed{false};
    std::vector<std::thread> threads;
    const Clock::time_point start = Clock::now();
    for (int w = 0; w < writers; ++w) {
      threads.emplace_back([&, w] {
        const std::string name = "doc" + std::to_string(w);
        std::counting_semaphore<1024> slots(window);
        while (!stop.load(std::memory_order_relaxed)) {
          slots.acquire();
          store->AppendAsync({{name, {NewChange{change, "bench", 0}}}},
                             [&](Result<std::vector<uint64_t>> r) {
                               if (!r.ok()) failed = true;
                               slots.release();
                             });
        }
        for (int i = 0; i < window; ++i) slots.acquire();  // Wait for the ones in flight.
      });
    }
    std::this_thread::sleep_for(std::chrono::seconds(1));
    stop = true;
    for (std::thread& t : threads) t.join();
    seconds += std::chrono::duration<double>(Clock::now() - start).count();
    if (failed) state.SkipWithError("an append failed");
    const storage::StoreStats after = store->Stats();
    changes += static_cast<double>(after.appended_changes - before.appended_changes);
    writes += static_cast<double>(after.writes - before.writes);
  }
  state.counters["changes_per_s"] = changes / seconds;
  state.counters["fsyncs_per_s"] = writes / seconds;
  state.counters["changes_per_fsync"] = writes > 0 ? changes / writes : 0;
}

// Args: writers, appends in flight per writer. The pair of benchmarks is
// the comparison: group commit against one fsync per append, same load.
void BM_AppendSyncGroupCommit(benchmark::State& state) { Appends(state, true); }
void BM_AppendSyncOneFsyncEach(benchmark::State& state) { Appends(state, false); }
BENCHMARK(BM_AppendSyncGroupCommit)
    ->Args({1, 1})->Args({8, 1})->Args({1, 32})->Args({8, 32})
    ->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);
BENCHMARK(BM_AppendSyncOneFsyncEach)
    ->Args({1, 1})->Args({8, 1})->Args({1, 32})->Args({8, 32})
    ->Iterations(1)->UseRealTime()->Unit(benchmark::kSecond);

// automerge-paper stored as it would be by a server: one change per edit.
struct PaperStore {
  test::TempDir dir;
  std::unique_ptr<Store> store;
  size_t changes = 0;
  size_t encoded_bytes = 0;
  uint64_t log_bytes = 0;
};

uint64_t DirBytes(const std::string& dir, bool data_only) {
  uint64_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    // Data: tables and the write-ahead log (not RocksDB's info logs,
    // OPTIONS or MANIFEST).
    if (data_only && !(name.ends_with(".sst") || name.ends_with(".log"))) continue;
    if (e.is_regular_file()) n += e.file_size();
  }
  return n;
}

// Closed in main(), before static destructors: RocksDB's own statics must
// outlive the stores.
std::unique_ptr<PaperStore> paper_cache[2];

PaperStore& Paper(bool snapshot_only) {
  std::unique_ptr<PaperStore>* cache = paper_cache;
  std::unique_ptr<PaperStore>& slot = cache[snapshot_only ? 1 : 0];
  if (slot) return *slot;
  slot = std::make_unique<PaperStore>();
  Result<tools::Trace> trace =
      tools::LoadTrace(std::string(QUIRE_TRACES_DIR) + "/sequential/automerge-paper.json.gz");
  if (!trace.ok()) std::abort();
  std::vector<crdt::Change> changes;
  crdt::TextDoc doc = tools::ReplayLocal(*trace, &changes);
  slot->changes = changes.size();
  slot->encoded_bytes = doc.Encode().size();
  storage::StoreOptions o;
  o.durability = storage::Durability::kAsync;
  slot->store = Open(slot->dir.path(), o);
  const size_t tail = snapshot_only ? 0 : 10000;
  storage::AppendRequest r{"paper", {}};
  for (size_t i = 0; i < changes.size(); ++i) {
    r.changes.push_back(NewChange{crdt::EncodeChange(changes[i]), "bench", 0});
    if (r.changes.size() == 5000 || i + 1 == changes.size() || i + 1 == changes.size() - tail) {
      if (!slot->store->Append({std::move(r)}).ok()) std::abort();
      r = storage::AppendRequest{"paper", {}};
      if (i + 1 == changes.size() - tail) {
        if (!storage::TakeSnapshot(*slot->store, "paper").ok()) std::abort();
      }
    }
  }
  if (!slot->store->CompactStorage().ok()) std::abort();
  slot->log_bytes = DirBytes(slot->dir.path(), true);
  if (snapshot_only) {
    if (!storage::CompactDocument(*slot->store, "paper", /*drop_covered_changes=*/true).ok()) {
      std::abort();
    }
  }
  return *slot;
}

void LoadPaper(benchmark::State& state, bool snapshot_only) {
  PaperStore& p = Paper(snapshot_only);
  for (auto _ : state) {
    Result<storage::LoadedTextDoc> doc =
        storage::LoadTextDoc(*p.store, "paper", crdt::AgentId{7});
    if (!doc.ok() || doc->doc.size() != 104852) state.SkipWithError("load failed");
    benchmark::DoNotOptimize(doc);
  }
}

// Loading the automerge-paper document from disk: its snapshot alone, and
// a snapshot 10,000 changes behind plus those changes.
void BM_LoadPaperSnapshotOnly(benchmark::State& state) { LoadPaper(state, true); }
void BM_LoadPaperSnapshotPlus10kTail(benchmark::State& state) { LoadPaper(state, false); }
BENCHMARK(BM_LoadPaperSnapshotOnly)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_LoadPaperSnapshotPlus10kTail)->Unit(benchmark::kMillisecond);

// Disk: bytes per stored change (the log of one change per edit), and the
// whole history after compaction against its encoded size.
void BM_DiskUse(benchmark::State& state) {
  PaperStore& full = Paper(false);
  PaperStore& compacted = Paper(true);
  for (auto _ : state) benchmark::DoNotOptimize(compacted.store.get());
  state.counters["log_bytes_per_change"] =
      static_cast<double>(full.log_bytes) / static_cast<double>(full.changes);
  const uint64_t after = DirBytes(compacted.dir.path(), true);
  state.counters["compacted_bytes"] = static_cast<double>(after);
  state.counters["encoded_bytes"] = static_cast<double>(compacted.encoded_bytes);
  state.counters["compacted_vs_encoded"] =
      static_cast<double>(after) / static_cast<double>(compacted.encoded_bytes);
}
BENCHMARK(BM_DiskUse)->Iterations(1);

}  // namespace
}  // namespace quire::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  for (auto& p : quire::bench::paper_cache) p.reset();
  return 0;
}
