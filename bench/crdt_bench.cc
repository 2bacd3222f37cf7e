// Benchmarks of the CRDT on real editing traces (../shared/traces): local
// replay against a plain gap buffer (the baseline, in the same run, with
// the ratio), encoding, loading, merging into an empty replica, applying
// every keystroke's Change remotely, building a concurrent trace from its
// causal graph; and single changes: a batch that fixes a typo inside
// itself against a plain one, Apply with changes held back, and
// ValidateChange against Integrate.
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
#include <random>
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
using crdt::Version;
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

double UsSince(Clock::time_point start) {
  return std::chrono::duration<double, std::micro>(Clock::now() - start).count();
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

// A document of about a million characters with a real history: the
// automerge-paper trace typed ten times over, each copy after the last
// (2.6 million ops). Made once, untimed.
const TextDoc& MillionCharDoc(benchmark::State& state) {
  static std::optional<TextDoc> doc;
  if (doc.has_value()) return *doc;
  Prepared* p = Get(state, "automerge-paper", /*concurrent=*/false, /*crdt=*/false);
  doc.emplace(AgentId{1});
  if (p == nullptr) return *doc;
  for (int round = 0; round < 10; ++round) {
    const size_t base = doc->size();
    for (const CrdtPatch& c : p->crdt_patches) {
      if (c.del > 0) doc->LocalRemove(base + c.pos, c.del);
      if (!c.ins.empty()) doc->LocalInsert(base + c.pos, c.ins);
    }
  }
  return *doc;
}

// Sender's batches, one per iteration, made before timing: five
// characters typed at a random place and sent as ChangesSince(last sent).
// With `typo`, "helo" then the missing 'l' between its own 'l' and 'o':
// the fix's origins are ops of the same change (issue 7, item 8).
std::vector<Change> FiveCharBatches(const TextDoc& start, bool typo, int count) {
  TextDoc sender(AgentId{2});
  (void)sender.Merge(start);
  std::mt19937_64 rng(typo ? 5 : 6);
  std::vector<Change> out;
  for (int i = 0; i < count; ++i) {
    const Version sent = sender.GetVersion();
    const size_t pos = rng() % (sender.size() + 1);
    if (typo) {
      sender.LocalInsert(pos, "helo");
      sender.LocalInsert(pos + 3, "l");
    } else {
      sender.LocalInsert(pos, "hello");
    }
    for (Change& c : sender.ChangesSince(sent)) out.push_back(std::move(c));
  }
  return out;
}

// Both kinds of batch applied to a replica of the million-character
// document, timed separately in the same run: the benchmark's time is the
// typo fix's, ratio_vs_plain = typo fix / plain batch of the same size.
void BM_TypoFixInsideItsBatch(benchmark::State& state) {
  const TextDoc& doc = MillionCharDoc(state);
  constexpr int kBatches = 2000;
  static const std::vector<Change> typo = FiveCharBatches(doc, /*typo=*/true, kBatches);
  static const std::vector<Change> plain = FiveCharBatches(doc, /*typo=*/false, kBatches);
  TextDoc typo_receiver(AgentId{3}), plain_receiver(AgentId{4});
  (void)typo_receiver.Merge(doc);
  (void)plain_receiver.Merge(doc);
  double typo_us = 0, plain_us = 0;
  size_t i = 0;
  for (auto _ : state) {
    Clock::time_point start = Clock::now();
    const Status p = plain_receiver.Integrate(plain[i]);
    const double plain_one = UsSince(start);
    start = Clock::now();
    const Status t = typo_receiver.Integrate(typo[i]);
    const double typo_one = UsSince(start);
    if (!p.ok() || !t.ok()) state.SkipWithError("a batch was refused");
    plain_us += plain_one;
    typo_us += typo_one;
    state.SetIterationTime(typo_one / 1e6);
    ++i;
  }
  state.counters["typo_us"] = benchmark::Counter(typo_us, benchmark::Counter::kAvgIterations);
  state.counters["plain_us"] = benchmark::Counter(plain_us, benchmark::Counter::kAvgIterations);
  state.counters["ratio_vs_plain"] = plain_us > 0 ? typo_us / plain_us : 0;
  state.counters["doc_chars"] = static_cast<double>(doc.size());
}

// Apply of a ready change that completes nothing, with 0 or 9,999 changes
// held back waiting for an op that never comes (issue 7, item 4).
void BM_ApplyWithHeldBack(benchmark::State& state) {
  const auto held = static_cast<int>(state.range(0));
  constexpr int kApplies = 200000;
  static std::vector<Change> waiting, ready;
  if (ready.empty()) {
    TextDoc x(AgentId{7}), y(AgentId{8});
    for (int i = 0; i < 10000; ++i) waiting.push_back(x.Insert(x.size(), "w"));
    for (int i = 0; i < kApplies; ++i) ready.push_back(y.Insert(y.size(), "r"));
  }
  TextDoc receiver(AgentId{9});
  for (int i = 1; i <= held; ++i) (void)receiver.Apply(waiting[i]);
  if (receiver.PendingCount() != static_cast<size_t>(held)) state.SkipWithError("not held back");
  size_t i = 0;
  for (auto _ : state) {
    Result<ot::TextOp> patch = receiver.Apply(ready[i++]);
    benchmark::DoNotOptimize(patch);
  }
  if (receiver.PendingCount() != static_cast<size_t>(held)) state.SkipWithError("drained");
  state.SetItemsProcessed(state.iterations());
}

// TextDoc::ValidateChange on ordinary keystrokes (issue 8, item 6), and
// Integrate of the same changes in the same run: ratio_vs_integrate =
// validate / integrate. On the final document of a sequential trace and
// of the concurrent one (2 agents, 2,258 merges in its graph).
void BM_ValidateChange(benchmark::State& state, const std::string& name, bool concurrent) {
  static std::map<std::string, TextDoc> docs;
  auto it = docs.find(name);
  if (it == docs.end()) {
    Prepared* p = Get(state, name, concurrent, /*crdt=*/!concurrent);
    if (p == nullptr) return;
    if (concurrent) {
      Result<TextDoc> built = tools::BuildConcurrent(p->trace);
      if (!built.ok()) return state.SkipWithError(built.status().ToString().c_str());
      it = docs.emplace(name, std::move(*built)).first;
    } else {
      it = docs.emplace(name, *p->doc).first;
    }
  }
  const TextDoc& doc = it->second;
  constexpr int kChanges = 5000;
  TextDoc sender(AgentId{20});
  (void)sender.Merge(doc);
  std::mt19937_64 rng(11);
  std::vector<Change> changes;
  for (int i = 0; i < kChanges; ++i) {
    changes.push_back(sender.Insert(rng() % (sender.size() + 1), "k"));
  }
  TextDoc receiver(AgentId{21});
  (void)receiver.Merge(doc);
  double validate_us = 0, integrate_us = 0;
  size_t i = 0;
  for (auto _ : state) {
    Clock::time_point start = Clock::now();
    const Status v = receiver.ValidateChange(changes[i]);
    const double validate = UsSince(start);
    start = Clock::now();
    const Status a = receiver.Integrate(changes[i]);
    integrate_us += UsSince(start);
    if (!v.ok() || !a.ok()) state.SkipWithError("an honest change was refused");
    validate_us += validate;
    state.SetIterationTime(validate / 1e6);
    ++i;
  }
  state.counters["validate_us"] =
      benchmark::Counter(validate_us, benchmark::Counter::kAvgIterations);
  state.counters["integrate_us"] =
      benchmark::Counter(integrate_us, benchmark::Counter::kAvgIterations);
  state.counters["ratio_vs_integrate"] = integrate_us > 0 ? validate_us / integrate_us : 0;
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
  benchmark::RegisterBenchmark("BM_TypoFixInsideItsBatch/1M-chars", BM_TypoFixInsideItsBatch)
      ->Iterations(2000)
      ->UseManualTime()
      ->Unit(benchmark::kMicrosecond);
  benchmark::RegisterBenchmark("BM_ApplyWithHeldBack", BM_ApplyWithHeldBack)
      ->Arg(0)
      ->Arg(9999)
      ->Iterations(200000)
      ->Unit(benchmark::kMicrosecond);
  for (const auto& [trace, concurrent] :
       {std::pair{"automerge-paper", false}, std::pair{"friendsforever", true}}) {
    benchmark::RegisterBenchmark((std::string("BM_ValidateChange/") + trace).c_str(),
                                 BM_ValidateChange, trace, concurrent)
        ->Iterations(5000)
        ->UseManualTime()
        ->Unit(benchmark::kMicrosecond);
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
