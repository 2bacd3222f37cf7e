// Randomized convergence: replicas edit concurrently, messages arrive late,
// out of order and twice; all replicas must end with the same text. Every
// failure names its seed; QUIRE_SEED picks another sequence.
#include <gtest/gtest.h>

#include <cstdlib>

#include "tests/crdt/replicas.h"
#include "tests/testutil.h"

namespace quire::crdt {
namespace {

uint64_t BaseSeed() {
  const char* env = std::getenv("QUIRE_SEED");
  return env ? std::strtoull(env, nullptr, 10) : 20261122;
}

test::Replicas::FailFn GtestFail(uint64_t seed) {
  return [seed](const std::string& what) { ADD_FAILURE() << "seed " << seed << ": " << what; };
}

TEST(ConvergenceTest, RandomEditsConvergeInAnyDeliveryOrder) {
  const uint64_t base = BaseSeed();
  std::printf("convergence base seed %llu (set QUIRE_SEED to change)\n",
              static_cast<unsigned long long>(base));
  for (uint64_t i = 0; i < quire::test::Cases(10000) && !::testing::Test::HasFailure(); ++i) {
    const uint64_t seed = base + i;
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    test::Replicas r(/*count=*/2 + static_cast<int>(seed % 4), seed, GtestFail(seed));
    r.RandomEdits(/*steps=*/20 + static_cast<int>(seed % 40));
    r.DeliverAllShuffledWithDuplicates();
    r.ExpectConverged();
  }
}

TEST(ConvergenceTest, LongSessionsConverge) {
  const uint64_t base = BaseSeed() * 7919;
  for (uint64_t i = 0; i < quire::test::Cases(20) && !::testing::Test::HasFailure(); ++i) {
    const uint64_t seed = base + i;
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    test::Replicas r(3, seed, GtestFail(seed));
    for (int round = 0; round < 10; ++round) r.RandomEdits(200);
    r.DeliverAllShuffledWithDuplicates();
    r.ExpectConverged();
  }
}

}  // namespace
}  // namespace quire::crdt
