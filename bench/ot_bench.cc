// Benchmarks of the OT module: what a server pays to rebase a stale client
// op. Inputs are generated before timing starts; only the named work is timed.
#include <benchmark/benchmark.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include "ot/text_op.h"

namespace quire::ot {
namespace {

constexpr size_t kHistory = 10000;
constexpr size_t kStartLength = 5000;

// A keystroke history like a person's: mostly typing at the caret, some
// backspaces, an occasional jump to another place. Each op is one keystroke
// on the document the previous ones produced.
const std::vector<TextOp>& KeystrokeHistory() {
  static const std::vector<TextOp> history = [] {
    std::mt19937_64 rng(42);
    std::vector<TextOp> ops;
    size_t len = kStartLength;
    size_t caret = len / 2;
    for (size_t i = 0; i < kHistory; ++i) {
      const int roll = static_cast<int>(rng() % 100);
      if (roll < 5) caret = rng() % (len + 1);
      if (roll >= 5 && roll < 15 && caret > 0) {
        ops.push_back(TextOp().Retain(caret - 1).Delete(1));
        --caret;
        --len;
      } else {
        const char c = static_cast<char>('a' + rng() % 26);
        ops.push_back(TextOp().Retain(caret).Insert(std::string_view(&c, 1), 1));
        ++caret;
        ++len;
      }
    }
    return ops;
  }();
  return history;
}

// The stale client op: five components on the document before the history.
TextOp ClientOp() {
  return TextOp().Retain(1200).Insert("hello").Retain(2000).Insert("world").Delete(4);
}

void BM_TransformRandomPair(benchmark::State& state) {
  std::mt19937_64 rng(7);
  auto random_op = [&rng] {
    TextOp op;
    size_t left = 100;
    for (int i = 0; i < 3; ++i) {
      const size_t r = rng() % 30;
      op.Retain(std::min(r, left));
      left -= std::min(r, left);
      if (rng() % 2) {
        op.Insert("abc");
      } else {
        const size_t d = std::min<size_t>(1 + rng() % 5, left);
        op.Delete(d);
        left -= d;
      }
    }
    return op;
  };
  std::vector<std::pair<TextOp, TextOp>> pairs;
  for (int i = 0; i < 1024; ++i) pairs.emplace_back(random_op(), random_op());
  TextOp out;
  size_t i = 0;
  for (auto _ : state) {
    const auto& [a, b] = pairs[i++ & 1023];
    Transform(a, b, Side::kLeft, &out);
    benchmark::DoNotOptimize(out);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_TransformRandomPair);

// The baseline for Rebase: the same transforms with a fresh op each.
TextOp AllocatingRebase(const TextOp& op, const std::vector<TextOp>& history) {
  TextOp rebased = op;
  for (const TextOp& h : history) rebased = Transform(rebased, h, Side::kLeft);
  return rebased;
}

// One stale op across 10,000 keystrokes, one transform each, as a server
// catches up an op (ShareDB's convention: the arriving op is kLeft).
void BM_RebaseOneByOne(benchmark::State& state) {
  const std::vector<TextOp>& history = KeystrokeHistory();
  const TextOp op = ClientOp();
  if (!(Rebase(op, history) == AllocatingRebase(op, history))) {
    state.SkipWithError("Rebase differs from the transforms one by one");
  }
  for (auto _ : state) {
    TextOp rebased = Rebase(op, history);
    benchmark::DoNotOptimize(rebased);
  }
  state.SetItemsProcessed(state.iterations() * history.size());
  state.SetLabel("items = history ops transformed across");
}
BENCHMARK(BM_RebaseOneByOne)->Unit(benchmark::kMicrosecond);

// Baseline for the one above, in the same run: a fresh op per transform.
void BM_RebaseAllocating(benchmark::State& state) {
  const std::vector<TextOp>& history = KeystrokeHistory();
  const TextOp op = ClientOp();
  for (auto _ : state) {
    TextOp rebased = AllocatingRebase(op, history);
    benchmark::DoNotOptimize(rebased);
  }
  state.SetItemsProcessed(state.iterations() * history.size());
}
BENCHMARK(BM_RebaseAllocating)->Unit(benchmark::kMicrosecond);

// Both of the above in every iteration, so the ratio compares like with
// like on this noisy machine. The reported time is Rebase's.
void BM_RebaseVsAllocating(benchmark::State& state) {
  using Clock = std::chrono::steady_clock;
  const std::vector<TextOp>& history = KeystrokeHistory();
  const TextOp op = ClientOp();
  double rebase_us = 0;
  double baseline_us = 0;
  for (auto _ : state) {
    Clock::time_point start = Clock::now();
    TextOp rebased = Rebase(op, history);
    benchmark::DoNotOptimize(rebased);
    const double rebase = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    start = Clock::now();
    TextOp baseline = AllocatingRebase(op, history);
    benchmark::DoNotOptimize(baseline);
    baseline_us += std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    rebase_us += rebase;
    state.SetIterationTime(rebase / 1e6);
  }
  state.counters["rebase_us"] = benchmark::Counter(rebase_us, benchmark::Counter::kAvgIterations);
  state.counters["baseline_us"] =
      benchmark::Counter(baseline_us, benchmark::Counter::kAvgIterations);
  state.counters["ratio_vs_baseline"] = baseline_us > 0 ? rebase_us / baseline_us : 0;
}
BENCHMARK(BM_RebaseVsAllocating)->UseManualTime()->Unit(benchmark::kMicrosecond);

// The same rebase by composing the history first (timed), then one transform.
void BM_RebaseComposeFirst(benchmark::State& state) {
  const std::vector<TextOp>& history = KeystrokeHistory();
  const TextOp op = ClientOp();
  for (auto _ : state) {
    const TextOp composed = ComposeAll(history);
    TextOp rebased = Transform(op, composed, Side::kLeft);
    benchmark::DoNotOptimize(rebased);
  }
  state.SetItemsProcessed(state.iterations() * history.size());
}
BENCHMARK(BM_RebaseComposeFirst)->Unit(benchmark::kMicrosecond);

// Composing 10,000 keystrokes into one op: balanced (ComposeAll) ...
void BM_ComposeAll10k(benchmark::State& state) {
  const std::vector<TextOp>& history = KeystrokeHistory();
  for (auto _ : state) {
    TextOp all = ComposeAll(history);
    benchmark::DoNotOptimize(all);
  }
  state.SetItemsProcessed(state.iterations() * history.size());
}
BENCHMARK(BM_ComposeAll10k)->Unit(benchmark::kMicrosecond);

// ... and as a left fold, the naive baseline, in the same run.
void BM_ComposeFold10k(benchmark::State& state) {
  const std::vector<TextOp>& history = KeystrokeHistory();
  for (auto _ : state) {
    TextOp all;
    for (const TextOp& op : history) all = Compose(all, op);
    benchmark::DoNotOptimize(all);
  }
  state.SetItemsProcessed(state.iterations() * history.size());
}
BENCHMARK(BM_ComposeFold10k)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace quire::ot

BENCHMARK_MAIN();
