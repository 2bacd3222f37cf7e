#include "crdt/text_doc.h"

#include <gtest/gtest.h>

#include <string>

#include "tests/crdt/replicas.h"
#include "tests/testutil.h"

namespace quire::crdt {
namespace {

std::string Apply(TextDoc& doc, const Change& c) {
  Result<ot::TextOp> patch = doc.Apply(c);
  EXPECT_TRUE(patch.ok()) << patch.status().ToString();
  return patch.ok() ? patch->ToJson() : "";
}

TEST(TextDocTest, LocalEditsAndText) {
  TextDoc doc(AgentId{1});
  doc.Insert(0, "hello world");
  doc.Insert(5, ",");
  doc.Remove(0, 1);
  doc.Insert(0, "H");
  doc.Insert(doc.size(), " \xF0\x9F\x98\x80");  // An emoji is one code point.
  EXPECT_EQ(doc.Text(), "Hello, world \xF0\x9F\x98\x80");
  EXPECT_EQ(doc.size(), 14u);
  doc.Remove(12, 2);
  EXPECT_EQ(doc.Text(), "Hello, world");
  doc.CheckInvariants();
}

TEST(TextDocTest, RemoteChangeReturnsItsPatch) {
  TextDoc a(AgentId{1});
  TextDoc b(AgentId{2});
  EXPECT_EQ(Apply(b, a.Insert(0, "abcdef")), "[\"abcdef\"]");
  EXPECT_EQ(Apply(b, a.Insert(3, "XY")), "[3,\"XY\"]");
  EXPECT_EQ(Apply(b, a.Remove(1, 3)), "[1,{\"d\":3}]");
  EXPECT_EQ(b.Text(), "aYdef");
  // A duplicate changes nothing.
  const Change c = a.Insert(5, "!");
  EXPECT_EQ(Apply(b, c), "[5,\"!\"]");
  EXPECT_EQ(Apply(b, c), "[]");
  EXPECT_EQ(b.Text(), "aYdef!");
}

// Two users type a word each at the same place at the same time, forwards
// or backwards: the words must not interleave.
void ExpectNoInterleaving(bool a_backwards, bool b_backwards) {
  SCOPED_TRACE(::testing::Message() << "a backwards " << a_backwards << ", b backwards "
                                    << b_backwards);
  TextDoc a(AgentId{1});
  TextDoc b(AgentId{2});
  const Change base = a.Insert(0, "[]");
  ASSERT_EQ(Apply(b, base), "[\"[]\"]");
  std::vector<Change> from_a, from_b;
  const std::string wa = "alpha";
  const std::string wb = "BRAVO";
  for (size_t i = 0; i < wa.size(); ++i) {
    // Backwards: each letter goes before the previous one (right to left).
    const size_t ia = a_backwards ? wa.size() - 1 - i : i;
    from_a.push_back(a.Insert(a_backwards ? 1 : 1 + i, wa.substr(ia, 1)));
    const size_t ib = b_backwards ? wb.size() - 1 - i : i;
    from_b.push_back(b.Insert(b_backwards ? 1 : 1 + i, wb.substr(ib, 1)));
  }
  ASSERT_EQ(a.Text(), "[alpha]");
  ASSERT_EQ(b.Text(), "[BRAVO]");
  for (const Change& c : from_b) Apply(a, c);
  for (const Change& c : from_a) Apply(b, c);
  EXPECT_EQ(a.Text(), b.Text());
  EXPECT_TRUE(a.Text() == "[alphaBRAVO]" || a.Text() == "[BRAVOalpha]") << a.Text();
}

TEST(TextDocTest, ConcurrentTypingAtOnePlaceNeverInterleaves) {
  ExpectNoInterleaving(false, false);
  ExpectNoInterleaving(true, true);
  ExpectNoInterleaving(false, true);
  ExpectNoInterleaving(true, false);
}

TEST(TextDocTest, ChangesWithMissingDependenciesAreHeldBack) {
  TextDoc a(AgentId{1});
  TextDoc b(AgentId{2});
  const Change c1 = a.Insert(0, "one ");
  const Change c2 = a.Insert(4, "two ");
  const Change c3 = a.Insert(8, "three");
  EXPECT_EQ(Apply(b, c3), "[]");
  EXPECT_EQ(Apply(b, c2), "[]");
  EXPECT_EQ(b.PendingCount(), 2u);
  EXPECT_EQ(b.MissingDependencies(), (std::vector<Id>{Id{AgentId{1}, 0}}));
  EXPECT_EQ(b.Text(), "");
  // The change that completes them brings their patches with it.
  EXPECT_EQ(Apply(b, c1), "[\"one two three\"]");
  EXPECT_EQ(b.PendingCount(), 0u);
  EXPECT_EQ(b.Text(), "one two three");
}

TEST(TextDocTest, HoldingBackIsBounded) {
  TextDoc a(AgentId{1});
  std::vector<Change> changes;
  for (int i = 0; i < 10002; ++i) changes.push_back(a.Insert(a.size(), "x"));
  TextDoc b(AgentId{2});
  for (int i = 1; i <= 10000; ++i) ASSERT_TRUE(b.Apply(changes[i]).ok());
  Result<ot::TextOp> r = b.Apply(changes[10001]);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  // The change that completes them brings all their text in one patch.
  EXPECT_EQ(Apply(b, changes[0]), "[\"" + std::string(10001, 'x') + "\"]");
  EXPECT_EQ(b.PendingCount(), 0u);
  EXPECT_EQ(Apply(b, changes[10001]), "[10001,\"x\"]");
  EXPECT_EQ(b.Text(), a.Text());
}

// Issue 7, item 4: one future change sent 10,000 times is held once, so the
// honest out-of-order change still finds room.
TEST(TextDocTest, DuplicatesOfAHeldBackChangeAreHeldOnce) {
  TextDoc a(AgentId{1});
  const Change c0 = a.Insert(0, "one ");
  const Change c1 = a.Insert(4, "two ");
  const Change c2 = a.Insert(8, "three");
  TextDoc b(AgentId{2});
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(b.Apply(c2).ok());
  EXPECT_EQ(b.PendingCount(), 1u);
  EXPECT_EQ(Apply(b, c1), "[]");
  EXPECT_EQ(b.PendingCount(), 2u);
  EXPECT_EQ(Apply(b, c0), "[\"one two three\"]");
  EXPECT_EQ(b.PendingCount(), 0u);
}

// A longer batch from the same place replaces a shorter one held back; a
// shorter one after a longer one adds nothing.
TEST(TextDocTest, ALongerHeldBackBatchReplacesAShorterOne) {
  TextDoc a(AgentId{1});
  const Change first = a.Insert(0, "x");
  const Version sent = a.GetVersion();
  a.LocalInsert(1, "ab");
  const std::vector<Change> short_batch = a.ChangesSince(sent);
  a.LocalInsert(3, "cd");
  const std::vector<Change> long_batch = a.ChangesSince(sent);
  ASSERT_EQ(short_batch.size(), 1u);
  ASSERT_EQ(long_batch.size(), 1u);
  ASSERT_EQ(short_batch[0].id, long_batch[0].id);
  TextDoc b(AgentId{2});
  EXPECT_EQ(Apply(b, short_batch[0]), "[]");
  EXPECT_EQ(Apply(b, long_batch[0]), "[]");
  EXPECT_EQ(Apply(b, short_batch[0]), "[]");
  EXPECT_EQ(b.PendingCount(), 1u);
  EXPECT_EQ(Apply(b, first), "[\"xabcd\"]");
  EXPECT_EQ(b.PendingCount(), 0u);
}

// A typo fixed inside its own batch: the fix names characters the same
// change inserts (issue 7, item 8: no copy of the document for it).
TEST(TextDocTest, ABatchThatFixesATypoInsideItselfIntegrates) {
  TextDoc a(AgentId{1});
  TextDoc b(AgentId{2});
  ASSERT_TRUE(b.Apply(a.Insert(0, "[]")).ok());
  const Version sent = a.GetVersion();
  a.LocalInsert(1, "helo wrld");
  a.LocalInsert(4, "l");   // Between 'l' and 'o' of this batch.
  a.LocalInsert(8, "o");   // Between 'w' and 'r'.
  a.LocalRemove(0, 1);     // And an old character.
  a.LocalInsert(0, "(");
  ASSERT_EQ(a.Text(), "(hello world]");
  const std::vector<Change> batch = a.ChangesSince(sent);
  ASSERT_EQ(batch.size(), 1u);
  ASSERT_EQ(batch[0].ops.size(), 5u);
  EXPECT_EQ(batch[0].ops[1].origin_left, (Id{AgentId{1}, 4}));  // The first 'l' of the batch.
  Result<ot::TextOp> patch = b.Apply(batch[0]);
  ASSERT_TRUE(patch.ok()) << patch.status().ToString();
  EXPECT_EQ(*ot::Apply("[]", *patch), "(hello world]");
  EXPECT_EQ(b.Text(), "(hello world]");
  b.CheckInvariants();
}

// Origins the change makes itself, given in an order that cannot be: the
// change is refused and nothing of it stays.
TEST(TextDocTest, OriginsInsideAChangeOutOfOrderAreRefused) {
  TextDoc a(AgentId{1});
  TextDoc b(AgentId{2});
  ASSERT_TRUE(b.Apply(a.Insert(0, "abc")).ok());
  Change c;
  c.id = Id{AgentId{3}, 0};
  c.parents = b.GetFrontier();
  Op x;  // "X" at the start: (3, 0).
  x.text = "X";
  x.origin_right = Id{AgentId{1}, 0};
  Op y;  // "Y" after 'c' and before X, which lies before 'c'.
  y.text = "Y";
  y.origin_left = Id{AgentId{1}, 2};
  y.origin_right = Id{AgentId{3}, 0};
  c.ops = {x, y};
  Result<ot::TextOp> r = b.Apply(c);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "right origin lies before the left origin");
  EXPECT_EQ(b.Text(), "abc");
  EXPECT_EQ(b.GetVersion(), a.GetVersion());
  b.CheckInvariants();
}

// Replicas that edit with LocalInsert/LocalRemove and send what they have
// in batches (ChangesSince of the last version sent, sometimes of an older
// one, so batches overlap what the peer has) converge: the trimming of
// partly known changes and the origins inside a batch are exercised by
// real deliveries, not only by traces.
TEST(TextDocTest, BatchedOverlappingDeliveriesConverge) {
  for (uint64_t seed = 0; seed < quire::test::Cases(300) && !::testing::Test::HasFailure(); ++seed) {
    SCOPED_TRACE(::testing::Message() << "seed " << seed);
    test::Replicas r(/*count=*/3, seed, [seed](const std::string& what) {
      ADD_FAILURE() << "seed " << seed << ": " << what;
    });
    r.RandomBatchedEdits(/*steps=*/120);
    r.SendAllBatches();
    r.DeliverAllShuffledWithDuplicates();
    r.ExpectConverged();
  }
}

TEST(TextDocTest, InvalidChangesAreRejectedAndChangeNothing) {
  TextDoc a(AgentId{1});
  TextDoc b(AgentId{2});
  Apply(b, a.Insert(0, "abc"));
  const std::string before = b.Text();
  const Version version = b.GetVersion();

  auto expect_invalid = [&](Change c, const std::string& message) {
    Result<ot::TextOp> r = b.Apply(c);
    ASSERT_FALSE(r.ok()) << message;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), message);
    EXPECT_EQ(b.Text(), before);
    EXPECT_EQ(b.GetVersion(), version);
    b.CheckInvariants();
  };
  Change good = a.Insert(3, "d");
  Change c = good;
  c.ops[0].text = "\xC3";
  expect_invalid(c, "insert text: truncated UTF-8 sequence at offset 0");
  c = good;
  c.ops[0].text = "";
  expect_invalid(c, "insert of empty text");
  c = good;
  c.ops[0].origin_left = Id{AgentId{1}, 99};
  expect_invalid(c, "left origin (1, 99) is not an earlier op of the change");
  c = good;
  c.ops[0].origin_left = Id{AgentId{7}, 0};
  expect_invalid(c, "left origin (7, 0) is not known");
  c = good;
  c.ops[0].origin_right = Id{AgentId{1}, 0};  // 'a' lies before the left origin 'c'.
  expect_invalid(c, "right origin lies before the left origin");
  c = good;
  c.id.agent = AgentId{kRootAgent};
  expect_invalid(c, "change has the root agent");
  c = good;
  c.parents = {Id{AgentId{1}, 5}};
  expect_invalid(c, "a parent (1, 5) is not before the change");
  EXPECT_EQ(Apply(b, good), "[3,\"d\"]");
  // Deletes of characters that do not exist, or of a delete op.
  const Change del = a.Remove(0, 1);
  c = del;
  c.ops[0].target = Id{AgentId{9}, 0};
  auto expect_invalid_now = [&](Change bad, const std::string& message) {
    const std::string text = b.Text();
    Result<ot::TextOp> r = b.Apply(bad);
    ASSERT_FALSE(r.ok()) << message;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), message);
    EXPECT_EQ(b.Text(), text);
  };
  expect_invalid_now(c, "delete target (9, 0) is not known");
  c = del;
  c.ops[0].target = Id{AgentId{1}, 4};  // The delete itself.
  expect_invalid_now(c, "delete target (1, 4) is not an earlier op of the change");
  EXPECT_EQ(Apply(b, del), "[{\"d\":1}]");
  EXPECT_EQ(b.Text(), "bcd");
}

TEST(TextDocTest, ChangesSinceGivesExactlyWhatIsMissing) {
  TextDoc a(AgentId{1});
  TextDoc b(AgentId{2});
  Apply(b, a.Insert(0, "shared "));
  const Version at = b.GetVersion();
  a.Insert(7, "text");
  a.Remove(0, 1);
  a.Insert(0, "S");
  b.Insert(7, "!");
  std::vector<Change> missing = a.ChangesSince(at);
  ASSERT_EQ(missing.size(), 1u);  // One agent, a straight line: one change.
  EXPECT_EQ(missing[0].id, (Id{AgentId{1}, 7}));
  EXPECT_EQ(missing[0].Length(), 6u);
  for (const Change& c : missing) Apply(b, c);
  for (const Change& c : b.ChangesSince(a.GetVersion())) Apply(a, c);
  EXPECT_EQ(a.Text(), b.Text());
  EXPECT_EQ(a.Text(), "Shared text!");
  EXPECT_TRUE(a.ChangesSince(b.GetVersion()).empty());
}

TEST(TextDocTest, MergeAndEncodeKeepEverything) {
  TextDoc a(AgentId{1});
  TextDoc b(AgentId{2});
  a.Insert(0, "caf\xC3\xA9 \xE4\xB8\xAD");
  ASSERT_TRUE(b.Merge(a).ok());
  b.Insert(b.size(), " b");
  a.Insert(0, "a ");
  ASSERT_TRUE(a.Merge(b).ok());
  ASSERT_TRUE(b.Merge(a).ok());
  EXPECT_EQ(a.Text(), b.Text());
  EXPECT_EQ(a.Text(), "a caf\xC3\xA9 \xE4\xB8\xAD b");
  Result<TextDoc> c = TextDoc::Decode(a.Encode(), AgentId{3});
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->Text(), a.Text());
  EXPECT_EQ(c->GetVersion(), a.GetVersion());
  c->CheckInvariants();
  // The decoded replica edits on and merges back.
  c->Insert(0, ">");
  ASSERT_TRUE(a.Merge(*c).ok());
  EXPECT_EQ(a.Text(), c->Text());
}

TEST(TextDocTest, DecodeRejectsDamage) {
  TextDoc a(AgentId{1});
  a.Insert(0, "some text worth keeping");
  const std::string bytes = a.Encode();
  for (size_t i = 0; i < bytes.size(); ++i) {
    std::string bad = bytes;
    bad[i] ^= 0x20;
    Result<TextDoc> d = TextDoc::Decode(bad, AgentId{2});
    ASSERT_FALSE(d.ok()) << "byte " << i;
    EXPECT_EQ(d.status().code(), StatusCode::kCorruption);
  }
  EXPECT_EQ(TextDoc::Decode(bytes.substr(0, bytes.size() - 1), AgentId{2}).status().code(),
            StatusCode::kCorruption);
  EXPECT_EQ(TextDoc::Decode("", AgentId{2}).status().message(),
            "document: not a Quire document (bad magic)");
}

TEST(TextDocTest, ApplyLocalOpTurnsAnOtOpIntoChanges) {
  TextDoc a(AgentId{1});
  a.Insert(0, "hello world");
  Result<std::vector<Change>> changes =
      a.ApplyLocalOp(ot::TextOp().Retain(6).Insert("big ").Delete(5).Insert("!"));
  ASSERT_TRUE(changes.ok());
  EXPECT_EQ(a.Text(), "hello big !");
  TextDoc b(AgentId{2});
  ASSERT_TRUE(b.Merge(a).ok());
  EXPECT_EQ(b.Text(), "hello big !");
  EXPECT_EQ(a.ApplyLocalOp(ot::TextOp().Retain(20).Insert("x")).status().code(),
            StatusCode::kOutOfRange);
  EXPECT_EQ(a.Text(), "hello big !");
}

}  // namespace
}  // namespace quire::crdt
