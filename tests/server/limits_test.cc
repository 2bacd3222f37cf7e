// server/limits.h with a fake clock: budgets refill at their rate, are
// shared by a user's sessions and outlive them; address slots count.
#include "server/limits.h"

#include <gtest/gtest.h>

namespace quire::server {
namespace {

using std::chrono::milliseconds;

RateLimits Small() {
  RateLimits r;
  r.edits_per_s = 10;
  r.edits_burst = 5;
  r.bytes_per_s = 1000;
  r.bytes_burst = 2000;
  return r;
}

TEST(BudgetTest, BurstThenRate) {
  const SteadyTime t0{};
  Budget b(Small(), t0);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(b.TryTake(10, t0), 0) << i;
  const int64_t wait = b.TryTake(10, t0);
  EXPECT_GE(wait, 99);  // One edit refills in 100 ms.
  EXPECT_LE(wait, 101);
  EXPECT_GT(b.TryTake(10, t0 + milliseconds(50)), 0);
  EXPECT_EQ(b.TryTake(10, t0 + milliseconds(100)), 0);
}

TEST(BudgetTest, BytesAreLimitedToo) {
  const SteadyTime t0{};
  Budget b(Small(), t0);
  EXPECT_EQ(b.TryTake(1500, t0), 0);
  const int64_t wait = b.TryTake(1000, t0);  // 500 left; 500 more take 500 ms.
  EXPECT_GE(wait, 499);
  EXPECT_LE(wait, 501);
  // Nothing was taken by the refusal: the edit bucket still has 4.
  for (int i = 0; i < 4; ++i) EXPECT_EQ(b.TryTake(1, t0), 0);
  EXPECT_GT(b.TryTake(1, t0), 0);
}

TEST(BudgetTest, AnEditLargerThanTheBurstPassesAfterAPause) {
  const SteadyTime t0{};
  Budget b(Small(), t0);
  EXPECT_EQ(b.TryTake(1'000'000, t0), 0);  // Charged as a full bucket.
  EXPECT_GT(b.TryTake(1, t0), 0);
  EXPECT_EQ(b.TryTake(1'000'000, t0 + milliseconds(2000)), 0);
}

TEST(UserBudgetsTest, OneBudgetPerUserThatOutlivesItsSessions) {
  UserBudgets budgets(Small());
  const SteadyTime t0{};
  {
    std::shared_ptr<Budget> first = budgets.For("alice", t0);
    for (int i = 0; i < 5; ++i) EXPECT_EQ(first->TryTake(1, t0), 0);
  }
  // "Reconnecting": the same user gets the same, spent, budget.
  EXPECT_GT(budgets.For("alice", t0)->TryTake(1, t0), 0);
  EXPECT_EQ(budgets.For("bob", t0)->TryTake(1, t0), 0);
  // Once refilled and unheld, budgets are forgotten (memory stays bounded).
  for (int i = 0; i < 600; ++i) budgets.For("user" + std::to_string(i), t0);
  budgets.For("x", t0 + std::chrono::hours(1));
  EXPECT_LT(budgets.size(), 600u);
}

TEST(AddressSlotsTest, CountsPerAddress) {
  AddressSlots slots(2);
  EXPECT_TRUE(slots.Take("10.0.0.1"));
  EXPECT_TRUE(slots.Take("10.0.0.1"));
  EXPECT_FALSE(slots.Take("10.0.0.1"));
  EXPECT_TRUE(slots.Take("10.0.0.2"));
  slots.Give("10.0.0.1");
  EXPECT_TRUE(slots.Take("10.0.0.1"));
  EXPECT_EQ(slots.total(), 3u);
  AddressSlots unlimited(0);
  for (int i = 0; i < 1000; ++i) EXPECT_TRUE(unlimited.Take("a"));
}

TEST(OriginTest, AllowList) {
  EXPECT_TRUE(OriginAllowed({}, "https://evil.example"));
  EXPECT_TRUE(OriginAllowed({"https://app.example"}, "https://app.example"));
  EXPECT_FALSE(OriginAllowed({"https://app.example"}, "https://evil.example"));
  EXPECT_FALSE(OriginAllowed({"https://app.example"}, "https://app.example.evil"));
  EXPECT_TRUE(OriginAllowed({"https://app.example"}, ""));  // Not a browser.
  EXPECT_TRUE(OriginAllowed({"*"}, "https://any.example"));
}

}  // namespace
}  // namespace quire::server
