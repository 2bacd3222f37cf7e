// Benchmarks of the CRDT on real editing traces (../shared/traces): local
// replay against a plain gap buffer (the baseline, in the same run, with
// the ratio), encoding, loading, merging into an empty replica, applying
// every keystroke's Change remotely, and building a concurrent trace from
// its causal graph.
//
// Traces are loaded, and everything a benchmark starts from (the decoded
// patches for the gap buffer, the Changes, the final document, its bytes)
// is made, before timing starts; documents a benchmark made are destroyed
// outside the timed region. Each benchmark checks its result once.
#include <benchmark/benchmark.h>

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "base/utf8.h"
#include "bench/gap_buffer.h"
#include "crdt/text_doc.h"
#include "tools/replay.h"
#include "tools/trace.h"

namespace quire::bench {
namespace {

using crdt::AgentId;
using crdt::Change;
using crdt::TextDoc;
using Clock = std::chrono::steady_clock;

constexpr const char* kSequentialTraces[] = {"automerge-paper", "seph-blog1", "rustcode",
                                             "friendsforever_flat"};
constexpr const char* kConcurrentTraces[] = {"friendsforever"};

// Heavy benchmarks (a whole trace through the CRDT) run a fixed, small
// number of iterations so the binary finishes in about two minutes.
constexpr int kReplayIterations = 5;
constexpr double kMinTime = 0.3;  // Seconds, for the cheaper benchmarks.

// A patch for the gap buffer: its insert is [begin, begin + len) of
// Prepared::chars, decoded from UTF-8 before timing.
struct GapPatch {
  uint32_t pos;
  uint32_t del;
  uint32_t begin;
  uint32_t len;
};

// A patch for the CRDT: the same, with the insert as the trace's UTF-8.
// Both replays read a flat array prepared before timing, so neither pays
// for walking the trace's nested vectors.
struct CrdtPatch {
  uint32_t pos;
  uint32_t del;
  std::string_view ins;
};

struct Prepared {
  std::string error;  // Non-empty when the trace could not be loaded.
  tools::Trace trace;
  std::u32string end_content;  // Decoded, to check the gap buffer.
  std::vector<GapPatch> gap_patches;
  std::vector<char32_t> chars;
  std::vector<CrdtPatch> crdt_patches;
  std::string crdt_text;  // Every insert's UTF-8, back to back: crdt_patches point here.

  // Made on first use by EnsureCrdt(): one untimed local replay.
  bool crdt_ready = false;
  std::vector<Change> changes;
  std::optional<TextDoc> doc;
  std::string encoded;
};

std::u32string Decode(std::string_view utf8) {
  std::u32string out;
  for (size_t i = 0; i < utf8.size();) out.push_back(utf8::Next(utf8, &i));
  return out;
}

// Loads and prepares a trace once; later calls return the same object.
Prepared& Prepare(const std::string& name, bool concurrent) {
  static std::map<std::string, std::unique_ptr<Prepared>> cache;
  std::unique_ptr<Prepared>& slot = cache[name];
  if (slot != nullptr) return *slot;
  slot = std::make_unique<Prepared>();
  const std::string path = std::string(QUIRE_TRACES_DIR) +
                           (concurrent ? "/concurrent/" : "/sequential/") + name + ".json.gz";
  Result<tools::Trace> trace = tools::LoadTrace(path);
  if (!trace.ok()) {
    slot->error = trace.status().ToString();
    return *slot;
  }
  slot->trace = std::move(*trace);
  slot->end_content = Decode(slot->trace.end_content);
  if (concurrent) return *slot;
  for (const tools::Txn& txn : slot->trace.txns) {
    for (const tools::Patch& p : txn.patches) {
      const std::u32string ins = Decode(p.ins);
      slot->gap_patches.push_back({p.pos, p.del, static_cast<uint32_t>(slot->chars.size()),
                                   static_cast<uint32_t>(ins.size())});
      slot->chars.insert(slot->chars.end(), ins.begin(), ins.end());
      slot->crdt_patches.push_back({p.pos, p.del, std::string_view()});
      slot->crdt_text += p.ins;
    }
  }
  // Point the CRDT's patches into one contiguous buffer, as the gap
  // buffer's are; only now, as appending to the buffer may move it.
  size_t at = 0;
  size_t k = 0;
  for (const tools::Txn& txn : slot->trace.txns) {
    for (const tools::Patch& p : txn.patches) {
      slot->crdt_patches[k++].ins = std::string_view(slot->crdt_text).substr(at, p.ins.size());
      at += p.ins.size();
    }
  }
  return *slot;
}

void EnsureCrdt(Prepared& p) {
  if (p.crdt_ready) return;
  p.changes.reserve(2 * p.trace.PatchCount());
  p.doc.emplace(tools::ReplayLocal(p.trace, &p.changes));
  p.encoded = p.doc->Encode();
  p.crdt_ready = true;
}

// Returns the loaded trace, or nullptr after marking the benchmark skipped.
Prepared* Get(benchmark::State& state, const std::string& name, bool concurrent, bool crdt) {
  Prepared& p = Prepare(name, concurrent);
  if (!p.error.empty()) {
    state.SkipWithError(p.error.c_str());
    return nullptr;
  }
  if (crdt) EnsureCrdt(p);
  return &p;
}

GapBuffer GapReplay(const Prepared& p) {
  GapBuffer buf;
  for (const GapPatch& g : p.gap_patches) {
    if (g.del > 0) buf.Erase(g.pos, g.del);
    if (g.len > 0) buf.Insert(g.pos, p.chars.data() + g.begin, g.len);
  }
  return buf;
}

// Every patch as a local edit (LocalRemove, LocalInsert): an editor's
// per-keystroke path.
TextDoc CrdtReplay(const Prepared& p) {
  TextDoc doc(AgentId{1});
  for (const CrdtPatch& c : p.crdt_patches) {
    if (c.del > 0) doc.LocalRemove(c.pos, c.del);
    if (!c.ins.empty()) doc.LocalInsert(c.pos, c.ins);
  }
  return doc;
}

// Untimed: checks that `doc` holds `want` (else skips, saying `what`) and
// destroys it, so neither the check nor the destructor is timed.
void CheckAndDrop(benchmark::State& state, std::optional<TextDoc>* doc, const std::string& want,
                  const char* what) {
  state.PauseTiming();
  if ((*doc)->Text() != want) state.SkipWithError(what);
  doc->reset();
  state.ResumeTiming();
}

double MsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

// The baseline alone.
void BM_GapBufferReplay(benchmark::State& state, const std::string& name) {
  Prepared* p = Get(state, name, /*concurrent=*/false, /*crdt=*/false);
  if (p == nullptr) return;
  for (auto _ : state) {
    GapBuffer buf = GapReplay(*p);
    benchmark::DoNotOptimize(buf);
  }
  if (GapReplay(*p).Text() != p->end_content) state.SkipWithError("gap buffer text differs");
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p->gap_patches.size()));
}

// Every patch as a local edit of a TextDoc, as the trace's UTF-8 strings.
void BM_CrdtLocalReplay(benchmark::State& state, const std::string& name) {
  Prepared* p = Get(state, name, /*concurrent=*/false, /*crdt=*/true);
  if (p == nullptr) return;
  std::optional<TextDoc> doc;
  for (auto _ : state) {
    doc.emplace(CrdtReplay(*p));
    benchmark::DoNotOptimize(*doc);
    CheckAndDrop(state, &doc, p->trace.end_content, "CRDT text differs");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p->gap_patches.size()));
}

// Both in each iteration, timed separately: the benchmark's time is the
// CRDT's, and ratio_vs_gap_buffer = CRDT time / gap buffer time.
void BM_LocalReplayVsGapBuffer(benchmark::State& state, const std::string& name) {
  Prepared* p = Get(state, name, /*concurrent=*/false, /*crdt=*/true);
  if (p == nullptr) return;
  double crdt_ms = 0;
  double gap_ms = 0;
  for (auto _ : state) {
    Clock::time_point start = Clock::now();
    GapBuffer buf = GapReplay(*p);
    benchmark::DoNotOptimize(buf);
    const double gap = MsSince(start);

    start = Clock::now();
    TextDoc doc = CrdtReplay(*p);
    benchmark::DoNotOptimize(doc);
    const double crdt = MsSince(start);

    gap_ms += gap;
    crdt_ms += crdt;
    state.SetIterationTime(crdt / 1000);
  }
  state.counters["crdt_ms"] = benchmark::Counter(crdt_ms, benchmark::Counter::kAvgIterations);
  state.counters["gap_ms"] = benchmark::Counter(gap_ms, benchmark::Counter::kAvgIterations);
  state.counters["ratio_vs_gap_buffer"] = gap_ms > 0 ? crdt_ms / gap_ms : 0;
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p->gap_patches.size()));
}

void BM_Encode(benchmark::State& state, const std::string& name) {
  Prepared* p = Get(state, name, /*concurrent=*/false, /*crdt=*/true);
  if (p == nullptr) return;
  for (auto _ : state) {
    std::string bytes = p->doc->Encode();
    benchmark::DoNotOptimize(bytes);
  }
  state.counters["bytes"] = static_cast<double>(p->encoded.size());
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(p->encoded.size()));
}

// Loading a saved document: decoding it and reading its text.
void BM_DecodeAndText(benchmark::State& state, const std::string& name) {
  Prepared* p = Get(state, name, /*concurrent=*/false, /*crdt=*/true);
  if (p == nullptr) return;
  std::optional<TextDoc> doc;
  for (auto _ : state) {
    Result<TextDoc> decoded = TextDoc::Decode(p->encoded, AgentId{2});
    if (!decoded.ok()) {
      state.SkipWithError(decoded.status().ToString().c_str());
      break;
    }
    std::string text = decoded->Text();
    benchmark::DoNotOptimize(text);
    doc.emplace(std::move(*decoded));
    CheckAndDrop(state, &doc, p->trace.end_content, "decoded text differs");
  }
  state.SetBytesProcessed(state.iterations() * static_cast<int64_t>(p->encoded.size()));
}

// The same local replay, each edit returning its Change (Insert/Remove):
// what a caller pays to send every keystroke as it happens.
void BM_CrdtLocalReplayWithChanges(benchmark::State& state, const std::string& name) {
  Prepared* p = Get(state, name, /*concurrent=*/false, /*crdt=*/true);
  if (p == nullptr) return;
  std::vector<Change> changes;
  changes.reserve(p->changes.size());
  std::optional<TextDoc> doc;
  for (auto _ : state) {
    changes.clear();
    doc.emplace(tools::ReplayLocal(p->trace, &changes));
    benchmark::DoNotOptimize(*doc);
    CheckAndDrop(state, &doc, p->trace.end_content, "CRDT text differs");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p->gap_patches.size()));
}

// Merge of the whole document into a new replica: an empty one (which takes
// the other's state whole), or one that holds an edit of its own (inserted
// and removed again), which must integrate every op.
void MergeInto(benchmark::State& state, const std::string& name, bool diverged) {
  Prepared* p = Get(state, name, /*concurrent=*/false, /*crdt=*/true);
  if (p == nullptr) return;
  std::optional<TextDoc> merged;
  for (auto _ : state) {
    state.PauseTiming();
    merged.emplace(AgentId{999});
    if (diverged) {
      merged->Insert(0, "x");
      merged->Remove(0, 1);
    }
    state.ResumeTiming();
    Status status = merged->Merge(*p->doc);
    benchmark::DoNotOptimize(*merged);
    if (!status.ok()) state.SkipWithError(status.ToString().c_str());
    CheckAndDrop(state, &merged, p->trace.end_content, "merged text differs");
  }
}

void BM_MergeIntoEmpty(benchmark::State& state, const std::string& name) {
  MergeInto(state, name, /*diverged=*/false);
}
void BM_MergeIntoDivergedReplica(benchmark::State& state, const std::string& name) {
  MergeInto(state, name, /*diverged=*/true);
}

// A peer receiving every keystroke: each Change the local replay made,
// applied in order to a new replica (creating it is part of the time).
void BM_RemoteApplyPerKeystroke(benchmark::State& state, const std::string& name) {
  Prepared* p = Get(state, name, /*concurrent=*/false, /*crdt=*/true);
  if (p == nullptr) return;
  std::optional<TextDoc> remote;
  for (auto _ : state) {
    remote.emplace(AgentId{2});
    bool failed = false;
    for (const Change& c : p->changes) {
      Result<ot::TextOp> patch = remote->Apply(c);
      if (!patch.ok()) failed = true;
      benchmark::DoNotOptimize(patch);
    }
    if (failed) state.SkipWithError("a remote Apply failed");
    CheckAndDrop(state, &remote, p->trace.end_content, "remote text differs");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p->changes.size()));
}

// A concurrent trace built from its causal graph: one replica per agent,
// brought up to each txn's parents with Apply (tools::BuildConcurrent).
void BM_ConcurrentBuild(benchmark::State& state, const std::string& name) {
  Prepared* p = Get(state, name, /*concurrent=*/true, /*crdt=*/false);
  if (p == nullptr) return;
  std::optional<TextDoc> doc;
  for (auto _ : state) {
    Result<TextDoc> built = tools::BuildConcurrent(p->trace);
    benchmark::DoNotOptimize(built);
    if (!built.ok()) {
      state.SkipWithError(built.status().ToString().c_str());
      break;
    }
    doc.emplace(std::move(*built));
    CheckAndDrop(state, &doc, p->trace.end_content, "built text differs");
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(p->trace.PatchCount()));
}

void RegisterAll() {
  using Fn = void (*)(benchmark::State&, const std::string&);
  struct Spec {
    const char* name;
    Fn fn;
    bool fixed_iterations;
    bool manual_time;
  };
  const Spec sequential[] = {
      {"BM_GapBufferReplay", BM_GapBufferReplay, false, false},
      {"BM_CrdtLocalReplay", BM_CrdtLocalReplay, true, false},
      {"BM_LocalReplayVsGapBuffer", BM_LocalReplayVsGapBuffer, true, true},
      {"BM_Encode", BM_Encode, false, false},
      {"BM_DecodeAndText", BM_DecodeAndText, false, false},
      {"BM_CrdtLocalReplayWithChanges", BM_CrdtLocalReplayWithChanges, true, false},
      {"BM_MergeIntoEmpty", BM_MergeIntoEmpty, false, false},
      {"BM_MergeIntoDivergedReplica", BM_MergeIntoDivergedReplica, true, false},
      {"BM_RemoteApplyPerKeystroke", BM_RemoteApplyPerKeystroke, true, false},
  };
  auto add = [](const Spec& spec, const std::string& trace) {
    benchmark::internal::Benchmark* b = benchmark::RegisterBenchmark(
        (std::string(spec.name) + "/" + trace).c_str(), spec.fn, trace);
    b->Unit(benchmark::kMillisecond);
    if (spec.fixed_iterations) {
      b->Iterations(kReplayIterations);
    } else {
      b->MinTime(kMinTime);
    }
    if (spec.manual_time) b->UseManualTime();
  };
  for (const Spec& spec : sequential) {
    for (const char* trace : kSequentialTraces) add(spec, trace);
  }
  for (const char* trace : kConcurrentTraces) {
    add({"BM_ConcurrentBuild", BM_ConcurrentBuild, true, false}, trace);
  }
}

}  // namespace
}  // namespace quire::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  quire::bench::RegisterAll();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
