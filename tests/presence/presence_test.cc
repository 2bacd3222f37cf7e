#include "presence/presence.h"

#include <gtest/gtest.h>

namespace quire::presence {
namespace {

Update CursorAt(uint64_t seq) {
  Update u;
  u.keys = kCursor;
  u.cursor = Anchor{crdt::Id{crdt::AgentId{7}, seq}, false};
  return u;
}

TEST(PresenceTest, JoinsChangesAndLeavesAreReportedOnceEach) {
  RoomPresence p{Limits{}};
  p.Join(1, "alice", "Alice", 0);
  p.Join(2, "bob", "Bob", 0);
  std::vector<Entry> first = p.TakeChanges();
  ASSERT_EQ(first.size(), 2u);
  EXPECT_EQ(first[0].keys, kAllKeys);  // A join carries everything.
  EXPECT_EQ(first[0].state.name, "Alice");
  EXPECT_FALSE(p.dirty());

  ASSERT_TRUE(p.Apply(1, CursorAt(3), 10).ok());
  ASSERT_TRUE(p.Apply(1, CursorAt(4), 20).ok());  // Merged with the one before.
  std::vector<Entry> moved = p.TakeChanges();
  ASSERT_EQ(moved.size(), 1u);
  EXPECT_EQ(moved[0].keys, kCursor);
  EXPECT_EQ(moved[0].state.cursor->id.seq, 4u);
  EXPECT_GT(moved[0].clock, first[0].clock);

  ASSERT_TRUE(p.Apply(1, CursorAt(4), 30).ok());  // No change: nothing to send.
  EXPECT_FALSE(p.dirty());

  p.Leave(2);
  std::vector<Entry> left = p.TakeChanges();
  ASSERT_EQ(left.size(), 1u);
  EXPECT_TRUE(left[0].left);
  EXPECT_EQ(left[0].session, 2u);
  EXPECT_EQ(p.Snapshot().size(), 1u);
}

TEST(PresenceTest, ColorsComeFromTheUserAndStay) {
  EXPECT_EQ(ColorFor("alice"), ColorFor("alice"));
  RoomPresence p{Limits{}};
  p.Join(1, "alice", "Alice", 0);
  EXPECT_EQ(p.Snapshot()[0].state.color, ColorFor("alice"));
  EXPECT_EQ(ColorFor("alice").size(), 7u);
}

TEST(PresenceTest, TheBudgetRefusesAFloodAndRefills) {
  Limits limits;
  limits.updates_per_second = 10;
  limits.burst = 5;
  RoomPresence p{limits};
  p.Join(1, "u", "U", 0);
  for (uint64_t i = 0; i < 5; ++i) ASSERT_TRUE(p.Apply(1, CursorAt(i), 0).ok());
  EXPECT_EQ(p.Apply(1, CursorAt(9), 0).code(), StatusCode::kResourceExhausted);
  EXPECT_TRUE(p.Apply(1, CursorAt(9), 100).ok());  // 100 ms later: one more token.
}

TEST(PresenceTest, OversizedStateIsRefusedAndChangesNothing) {
  RoomPresence p{Limits{}};
  p.Join(1, "u", "U", 0);
  (void)p.TakeChanges();
  Update u;
  u.keys = kApp;
  u.app = std::string(2000, 'x');
  EXPECT_EQ(p.Apply(1, u, 0).code(), StatusCode::kInvalidArgument);
  Update sel;
  sel.keys = kSelections;
  sel.selections.resize(17);
  EXPECT_EQ(p.Apply(1, sel, 0).code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(p.dirty());
  EXPECT_TRUE(p.Snapshot()[0].state.app.empty());
}

TEST(PresenceTest, TypingRunsOutAndSilentMembersGo) {
  Limits limits;
  limits.typing_ms = 100;
  limits.ttl_ms = 1000;
  RoomPresence p{limits};
  p.Join(1, "u", "U", 0);
  p.Join(2, "v", "V", 0);
  (void)p.TakeChanges();
  p.Typed(1, 50);
  EXPECT_TRUE(p.Snapshot()[0].state.typing);
  p.Tick(120);
  EXPECT_TRUE(p.Snapshot()[0].state.typing);  // 50 + 100 is not yet past.
  p.Tick(151);
  EXPECT_FALSE(p.Snapshot()[0].state.typing);
  p.Touch(1, 900);
  EXPECT_EQ(p.Tick(1001), std::vector<uint64_t>{2});  // 2 said nothing for 1,001 ms.
  EXPECT_TRUE(p.present(1));
  EXPECT_FALSE(p.present(2));
}

}  // namespace
}  // namespace quire::presence
