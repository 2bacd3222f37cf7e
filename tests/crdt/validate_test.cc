// TextDoc::ValidateChange: a change checked against its causal past
// (issue 8, item 6). Honest changes pass (the randomized tests of
// replicas.h check every delivery); these are the crafted ones it refuses.
#include <gtest/gtest.h>

#include "crdt/text_doc.h"

namespace quire::crdt {
namespace {

void ExpectRefused(TextDoc& doc, const Change& c, const std::string& message) {
  const std::string text = doc.Text();
  const Status s = doc.ValidateChange(c);
  EXPECT_EQ(s.code(), StatusCode::kFailedPrecondition) << s.ToString();
  EXPECT_EQ(s.message(), message);
  EXPECT_EQ(doc.Text(), text);
}

Op Insert(std::string text, Id left, Id right) {
  Op op;
  op.text = std::move(text);
  op.origin_left = left;
  op.origin_right = right;
  return op;
}

constexpr AgentId kA{1}, kB{2}, kC{3};

TEST(ValidateChangeTest, OriginsFarApartAreRefused) {
  TextDoc a(kA), server(kC);
  ASSERT_TRUE(server.Apply(a.Insert(0, "abc")).ok());
  // 'x' between 'a' and 'c': 'b' lies between them in the version it names.
  Change c{Id{kB, 0}, server.GetFrontier(), {Insert("x", Id{kA, 0}, Id{kA, 2})}};
  ExpectRefused(server, c,
                "the origins of the insert at (2, 0) are not adjacent in the change's causal past");
  // Apply alone places it deterministically (between its origins).
  TextDoc trusting = server;
  ASSERT_TRUE(trusting.Apply(c).ok());
  // The honest one passes.
  c.ops[0].origin_right = Id{kA, 1};
  EXPECT_TRUE(server.ValidateChange(c).ok());
}

TEST(ValidateChangeTest, ConcurrentCharactersBetweenTheOriginsAreFine) {
  TextDoc a(kA), b(kB), server(kC);
  const Change base = a.Insert(0, "[]");
  ASSERT_TRUE(b.Apply(base).ok());
  ASSERT_TRUE(server.Apply(base).ok());
  const Change from_a = a.Insert(1, "alpha");
  const Change from_b = b.Insert(1, "bravo");
  ASSERT_TRUE(server.ValidateChange(from_a).ok());
  ASSERT_TRUE(server.Apply(from_a).ok());
  // "alpha" now lies between '[' and ']', but not in b's version.
  EXPECT_TRUE(server.ValidateChange(from_b).ok());
  ASSERT_TRUE(server.Apply(from_b).ok());
  EXPECT_EQ(server.Text(), "[alphabravo]");
}

TEST(ValidateChangeTest, ReferencesOutsideTheCausalPastAreRefused) {
  TextDoc a(kA), b(kB), server(kC);
  const Change base = a.Insert(0, "ab");
  ASSERT_TRUE(b.Apply(base).ok());
  ASSERT_TRUE(server.Apply(base).ok());
  const Change z = b.Insert(1, "z");  // Concurrent with what a does next.
  ASSERT_TRUE(server.Apply(z).ok());
  // a names z, which it has not seen (its parents are the base).
  Change c{Id{kA, 2}, a.GetFrontier(), {Insert("y", Id{kB, 0}, Id{kA, 1})}};
  ExpectRefused(server, c, "left origin (2, 0) is outside the change's causal past");
  Op del;
  del.kind = Op::Kind::kDelete;
  del.target = Id{kB, 0};
  del.len = 1;
  c.ops = {del};
  ExpectRefused(server, c, "delete target (2, 0) is outside the change's causal past");
}

TEST(ValidateChangeTest, AChangeMustFollowItsAgentsPreviousOp) {
  TextDoc a(kA), server(kC);
  ASSERT_TRUE(server.Apply(a.Insert(0, "ab")).ok());
  // (1, 2) claims to be made on the empty document.
  Change c{Id{kA, 2}, {}, {Insert("x", Id::Root(), Id::Root())}};
  ExpectRefused(server, c, "the agent's previous op (1, 1) is outside the change's causal past");
}

TEST(ValidateChangeTest, OriginsInsideTheChangeMustBeAdjacentToo) {
  TextDoc a(kA), server(kC);
  ASSERT_TRUE(server.Apply(a.Insert(0, "ab")).ok());
  const Frontier parents = server.GetFrontier();
  // "XY" between a and b, then "Z" claiming a and b are still adjacent.
  Change c{
      Id{kB, 0}, parents, {Insert("XY", Id{kA, 0}, Id{kA, 1}), Insert("Z", Id{kA, 0}, Id{kA, 1})}};
  ExpectRefused(server, c,
                "the origins of the insert at (2, 2) are not adjacent in the change's causal past");
  // Between X and Y, which it made itself: fine.
  c.ops[1] = Insert("Z", Id{kB, 0}, Id{kB, 1});
  EXPECT_TRUE(server.ValidateChange(c).ok());
  ASSERT_TRUE(server.Apply(c).ok());
  EXPECT_EQ(server.Text(), "aXZYb");
}

TEST(ValidateChangeTest, MissingDependenciesAndDuplicates) {
  TextDoc a(kA), server(kC);
  const Change first = a.Insert(0, "a");
  const Change second = a.Insert(1, "b");
  const Status missing = server.ValidateChange(second);
  EXPECT_EQ(missing.code(), StatusCode::kNotFound);
  EXPECT_EQ(missing.message(), "change (1, 1) waits for (1, 0)");
  ASSERT_TRUE(server.Apply(first).ok());
  EXPECT_TRUE(server.ValidateChange(first).ok());  // A duplicate changes nothing.
  EXPECT_TRUE(server.ValidateChange(second).ok());
  // What Apply would refuse, ValidateChange refuses.
  Change bad = second;
  bad.ops[0].origin_left = Id{kB, 7};
  EXPECT_EQ(server.ValidateChange(bad).message(), "left origin (2, 7) is not known");
}

// A batch that overlaps what the receiver has is checked from where it
// continues (its previous op is then its past).
TEST(ValidateChangeTest, APartlyKnownBatchIsCheckedFromWhereItContinues) {
  TextDoc a(kA), server(kC);
  ASSERT_TRUE(server.Apply(a.Insert(0, "[]")).ok());
  const Version v = a.GetVersion();
  a.LocalInsert(1, "ab");
  const std::vector<Change> early = a.ChangesSince(v);
  a.LocalInsert(2, "X");  // Inside the batch.
  a.LocalInsert(4, "cd");
  const std::vector<Change> late = a.ChangesSince(v);
  ASSERT_EQ(late.size(), 1u);
  ASSERT_TRUE(server.Apply(early[0]).ok());
  EXPECT_TRUE(server.ValidateChange(late[0]).ok());
  ASSERT_TRUE(server.Apply(late[0]).ok());
  EXPECT_EQ(server.Text(), a.Text());
}

}  // namespace
}  // namespace quire::crdt
