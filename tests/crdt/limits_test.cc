// DocLimits (issue 7, item 5): every way a document grows stops at its
// limits with ResourceExhausted and leaves it as it was, and a document
// within its limits always decodes again under them.
#include <gtest/gtest.h>

#include <random>

#include "base/coding.h"
#include "crdt/text_doc.h"

namespace quire::crdt {
namespace {

DocLimits Limits(uint64_t max_bytes, uint64_t max_ops = DocLimits::kMaxOps) {
  DocLimits l;
  l.max_bytes = max_bytes;
  l.max_ops = max_ops;
  return l;
}

size_t EncodedBodySize(const TextDoc& doc) {
  const std::string bytes = doc.Encode();
  std::string_view in(bytes);
  in.remove_prefix(6);
  uint64_t n = 0;
  EXPECT_TRUE(GetVarint(&in, &n));
  return n;
}

TEST(LimitsTest, LimitsAreClampedToWhatTheStructuresHold) {
  TextDoc doc(AgentId{1}, Limits(uint64_t{1} << 40, uint64_t{1} << 40));
  EXPECT_EQ(doc.limits().max_bytes, DocLimits::kMaxBytes);  // Text offsets are 32-bit.
  EXPECT_EQ(doc.limits().max_ops, DocLimits::kMaxOps);      // So are LVs.
  EXPECT_EQ(TextDoc(AgentId{1}).limits(), DocLimits());
}

TEST(LimitsTest, LocalEditsStopAtTheByteLimit) {
  TextDoc doc(AgentId{1}, Limits(4096));
  const std::string line(100, 'x');
  int accepted = 0;
  while (true) {
    const std::string before = doc.Text();
    Result<std::vector<Change>> r = doc.ApplyLocalOp(ot::TextOp().Retain(doc.size()).Insert(line));
    if (!r.ok()) {
      EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
      EXPECT_EQ(r.status().message(), "the document would be larger than 4096 bytes");
      EXPECT_EQ(doc.Text(), before);
      break;
    }
    ++accepted;
  }
  EXPECT_GE(accepted, 30);
  EXPECT_LE(doc.ByteSize(), 4096u);
  EXPECT_LE(EncodedBodySize(doc), doc.ByteSize());
  // A delete grows the history too.
  while (doc.ApplyLocalOp(ot::TextOp().Delete(1)).ok()) {
  }
  EXPECT_LE(doc.ByteSize(), 4096u);
  // What fits decodes under the same limits.
  Result<TextDoc> back = TextDoc::Decode(doc.Encode(), AgentId{2}, doc.limits());
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Text(), doc.Text());
}

TEST(LimitsTest, LocalEditsStopAtTheOpLimit) {
  TextDoc doc(AgentId{1}, Limits(DocLimits().max_bytes, 10));
  ASSERT_TRUE(doc.ApplyLocalOp(ot::TextOp().Insert("0123456789")).ok());
  Result<std::vector<Change>> r = doc.ApplyLocalOp(ot::TextOp().Delete(1));
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(r.status().message(), "the document would hold more than 10 ops");
  EXPECT_EQ(doc.Text(), "0123456789");
}

TEST(LimitsTest, ApplyAndMergeStopAtTheLimits) {
  TextDoc big(AgentId{1});
  const Change c1 = big.Insert(0, std::string(1000, 'a'));
  const Change c2 = big.Insert(0, std::string(2000, 'b'));
  TextDoc small(AgentId{2}, Limits(2048));
  ASSERT_TRUE(small.Apply(c1).ok());
  const Version version = small.GetVersion();
  Result<ot::TextOp> r = small.Apply(c2);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(small.Text(), std::string(1000, 'a'));
  EXPECT_EQ(small.GetVersion(), version);
  small.CheckInvariants();

  TextDoc empty(AgentId{3}, Limits(2048));
  EXPECT_EQ(empty.Merge(big).code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(empty.Text(), "");
  TextDoc few_ops(AgentId{3}, Limits(DocLimits().max_bytes, 999));
  EXPECT_EQ(few_ops.Apply(c1).status().message(), "the document would hold more than 999 ops");
}

TEST(LimitsTest, DecodeRefusesWhatPassesTheCallersLimits) {
  TextDoc doc(AgentId{1});
  doc.Insert(0, std::string(10000, 'z'));
  const std::string bytes = doc.Encode();
  const Result<TextDoc> too_big = TextDoc::Decode(bytes, AgentId{2}, Limits(5000));
  EXPECT_EQ(too_big.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(too_big.status().message(), "document: 10020 bytes, more than the limit of 5000");
  const Result<TextDoc> too_long = TextDoc::Decode(bytes, AgentId{2}, Limits(1 << 20, 9999));
  EXPECT_EQ(too_long.status().message(), "document: 10000 ops, more than the limit of 9999");
  Result<TextDoc> fits = TextDoc::Decode(bytes, AgentId{2}, Limits(10020, 10000));
  ASSERT_TRUE(fits.ok());
  EXPECT_EQ(fits->limits(), Limits(10020, 10000));  // The decoded document keeps them.
}

// ByteSize() bounds the encoding from above whatever the edits, so a
// document that fits its limit always loads again under it.
TEST(LimitsTest, ByteSizeBoundsTheEncoding) {
  std::mt19937_64 rng(7);
  std::printf("seed 7\n");
  TextDoc a(AgentId{1}), b(AgentId{2});
  for (int step = 0; step < 400; ++step) {
    TextDoc& doc = step % 3 == 0 ? b : a;
    const size_t pos = rng() % (doc.size() + 1);
    if (doc.size() > 0 && rng() % 3 == 0) {
      const size_t len =
          1 + rng() % std::min<size_t>(doc.size() - std::min(pos, doc.size() - 1), 5);
      doc.LocalRemove(std::min(pos, doc.size() - 1), len);
    } else {
      doc.LocalInsert(pos, rng() % 2 ? "ab" : "\xC3\xA9");
    }
    if (step % 25 == 0) {
      ASSERT_TRUE(a.Merge(b).ok());
      ASSERT_TRUE(b.Merge(a).ok());
    }
    ASSERT_LE(EncodedBodySize(a), a.ByteSize()) << "step " << step;
    ASSERT_LE(EncodedBodySize(b), b.ByteSize()) << "step " << step;
  }
  Result<TextDoc> d = TextDoc::Decode(a.Encode(), AgentId{3});
  ASSERT_TRUE(d.ok());
  EXPECT_LE(EncodedBodySize(*d), d->ByteSize());
  std::printf("body %zu bytes, bound %llu\n", EncodedBodySize(a),
              static_cast<unsigned long long>(a.ByteSize()));
}

}  // namespace
}  // namespace quire::crdt
