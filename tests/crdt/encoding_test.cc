// The byte examples of docs/crdt_format.md, checked.
#include <gtest/gtest.h>
#include <zstd.h>

#include "base/coding.h"
#include "crdt/change_codec.h"
#include "crdt/internal/encoding.h"
#include "crdt/text_doc.h"

namespace quire::crdt {
namespace {

using namespace std::string_literals;

std::string Body(const std::string& encoded) {
  std::string_view in(encoded);
  in.remove_prefix(6);
  uint64_t raw_len;
  EXPECT_TRUE(GetVarint(&in, &raw_len));
  in.remove_suffix(4);
  std::string body(raw_len, '\0');
  EXPECT_EQ(ZSTD_decompress(body.data(), body.size(), in.data(), in.size()), raw_len);
  return body;
}

TEST(EncodingTest, DocumentExampleFromTheFormatDoc) {
  TextDoc doc(AgentId{5});
  doc.Insert(0, "hi");
  doc.Remove(0, 1);
  const std::string encoded = doc.Encode();
  EXPECT_EQ(encoded.substr(0, 6), "QDOC\x01\x01"s);
  EXPECT_EQ(Body(encoded), "\x01\x05" "\x01\x00\x03" "\x01\x03\x00" "\x02\x08\x05" "\x00"
                           "\x01\x00\x02" "\x02hi"s);
  Result<TextDoc> back = TextDoc::Decode(encoded, AgentId{6});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Text(), "i");
}

TEST(EncodingTest, ChangeExampleFromTheFormatDoc) {
  TextDoc doc(AgentId{1});
  EXPECT_EQ(EncodeChange(doc.Insert(0, "hi")),
            "\x94\x01\x00\x90\x91\x94\x00\xc0\xc0\xa2hi"s);
}

TEST(EncodingTest, ConcurrentHistoriesKeepTheirOrigins) {
  // Concurrent inserts at one place cannot all have implied origins; the
  // decoded document must still integrate later changes like the original.
  TextDoc a(AgentId{1}), b(AgentId{2}), c(AgentId{3});
  a.Insert(0, "[]");
  ASSERT_TRUE(b.Merge(a).ok());
  ASSERT_TRUE(c.Merge(a).ok());
  a.Insert(1, "aaa");
  b.Insert(1, "bbb");
  c.Insert(1, "ccc");
  ASSERT_TRUE(a.Merge(b).ok());
  ASSERT_TRUE(a.Merge(c).ok());
  Result<TextDoc> d = TextDoc::Decode(a.Encode(), AgentId{4});
  ASSERT_TRUE(d.ok());
  EXPECT_EQ(d->Text(), a.Text());
  // A fourth concurrent insert at the same place lands the same way in both.
  TextDoc e(AgentId{0});
  ASSERT_TRUE(e.Merge(c).ok());
  const Change late = e.Insert(1, "eee");
  ASSERT_TRUE(a.Apply(late).ok());
  ASSERT_TRUE(d->Apply(late).ok());
  EXPECT_EQ(d->Text(), a.Text());
  EXPECT_EQ(d->ChangesSince(Version()).size(), a.ChangesSince(Version()).size());
}

// A document from a raw body (flags 0: not compressed), CRC and all, so a
// test can say exactly which bytes a decoder meets.
std::string Raw(const std::string& body) {
  std::string out = "QDOC\x01\x00"s;
  PutVarint(&out, body.size());
  out += body;
  PutFixed32(&out, Crc32(out));
  return out;
}

std::string Varints(std::initializer_list<uint64_t> values) {
  std::string out;
  for (uint64_t v : values) PutVarint(&out, v);
  return out;
}

TEST(EncodingTest, RawBodyRoundTripsLikeTheEncoder) {
  // The format doc's example, uncompressed.
  const std::string body = Varints({1, 5, 1, 0, 3, 1, 3, 0, 2, 8, 5, 0, 1, 0, 2, 2}) + "hi";
  Result<TextDoc> doc = TextDoc::Decode(Raw(body), AgentId{6});
  ASSERT_TRUE(doc.ok()) << doc.status().ToString();
  EXPECT_EQ(doc->Text(), "i");
}

TEST(EncodingTest, LengthsThatWrapAroundAreRejected) {
  const uint64_t kHuge = UINT64_MAX;
  struct Case {
    std::string body;
    std::string message;
  };
  const Case cases[] = {
      // Agent runs 1 + (2^64 - 1) + 1 wrap to 1.
      {Varints({1, 7, 3, 0, 1, 0, kHuge, 0, 1}), "document: bad agent run"},
      // A graph entry longer than what is left.
      {Varints({1, 7, 1, 0, 2, 1, kHuge, 0}), "document: bad graph entry"},
      // An op run longer than what is left.
      {Varints({1, 7, 1, 0, 2, 1, 2, 0, 1, kHuge}), "document: bad op run"},
      // 2^31 - 1 inserts claimed by a 20-byte body.
      {Varints({1, 7, 1, 0, (1u << 31) - 2, 1, (1u << 31) - 2, 0, 1, ((1ull << 31) - 2) << 2}),
       "document: more inserts than bytes"},
      // Order runs that wrap: LV 0 twice, LV 1 never.
      {Varints({1, 7, 1, 0, 2, 1, 2, 0, 1, 2 << 2, 3, 0, 1, ZigZag(-1), kHuge, 0, 1}) + "" "ab",
       "document: document order does not place each character once"},
  };
  for (const Case& c : cases) {
    Result<TextDoc> doc = TextDoc::Decode(Raw(c.body), AgentId{6});
    ASSERT_FALSE(doc.ok()) << c.message;
    EXPECT_EQ(doc.status().code(), StatusCode::kCorruption);
    EXPECT_EQ(doc.status().message(), c.message);
  }
}

TEST(EncodingTest, AnOrderThatContradictsTheOriginsIsRejected) {
  // Agent 7 typed "abc" as one run; the order says c, a, b.
  const std::string body =
      Varints({1, 7, 1, 0, 3, 1, 3, 0, 1, 3 << 2, 2, ZigZag(2), 1, ZigZag(-3), 2, 3}) + "abc";
  Result<TextDoc> doc = TextDoc::Decode(Raw(body), AgentId{6});
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().message(), "document: document order breaks a typed run");
}

TEST(EncodingTest, AnOrderPuttingARunPastItsRightOriginIsRejected) {
  // "Y" typed first, then "ab" before it; the order says a, Y, b: b would
  // sit past the run's right origin Y.
  const std::string body = Varints({1, 7, 1, 0, 3, 1, 3, 0, 2, 1 << 2, 2 << 2, 3, ZigZag(1), 1,
                                    ZigZag(-2), 1, ZigZag(1), 1, 3}) +
                           "Yab";
  Result<TextDoc> doc = TextDoc::Decode(Raw(body), AgentId{6});
  ASSERT_FALSE(doc.ok());
  EXPECT_EQ(doc.status().message(), "document: document order does not agree with the origins");
  // The honest order, a b Y, decodes.
  const std::string good = Varints({1, 7, 1, 0, 3, 1, 3, 0, 2, 1 << 2, 2 << 2, 2, ZigZag(1), 2,
                                    ZigZag(-3), 1, 3}) +
                           "Yab";
  Result<TextDoc> ok = TextDoc::Decode(Raw(good), AgentId{6});
  ASSERT_TRUE(ok.ok()) << ok.status().ToString();
  EXPECT_EQ(ok->Text(), "abY");
}

// Issue 7, item 1: agents 1 and 2 each insert one character at the start,
// concurrently (both origins the root). Integration puts the lower agent
// first: "ab" on every replica. A hand-built document with the same ops and
// version but the order b, a used to decode to "ba", and that replica then
// refused honest changes forever.
TEST(EncodingTest, AnOrderIntegrationCannotGiveIsRejected) {
  // LV 0 = 'a' (agent 1, origins implied), LV 1 = 'b' (agent 2, explicit
  // origins root/root: the order alone would make 'a' its left origin).
  const std::string history = Varints({2, 1, 2,          // agents 1, 2
                                       2, 0, 1, 1, 1,    // agent runs
                                       2, 1, 0, 1, 0,    // graph: no parents
                                       2, 1 << 2, 1 << 2 | 2,  // op runs
                                       0, 0});           // b's origins: the root
  const std::string ba = history + Varints({2, ZigZag(1), 1, ZigZag(-2), 1, 2}) + "ab";
  Result<TextDoc> bad = TextDoc::Decode(Raw(ba), AgentId{9});
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kCorruption);
  EXPECT_EQ(bad.status().message(),
            "document: the order is not the one its inserts integrate to");

  // The honest order decodes, and takes an honest later change.
  const std::string ab = history + Varints({1, ZigZag(0), 2, 2}) + "ab";
  Result<TextDoc> good = TextDoc::Decode(Raw(ab), AgentId{9});
  ASSERT_TRUE(good.ok()) << good.status().ToString();
  EXPECT_EQ(good->Text(), "ab");
  TextDoc a(AgentId{1}), b(AgentId{2});
  const Change ca = a.Insert(0, "a");
  const Change cb = b.Insert(0, "b");
  ASSERT_TRUE(a.Apply(cb).ok());
  EXPECT_EQ(a.Text(), "ab");
  EXPECT_EQ(a.Encode(), TextDoc::Decode(a.Encode(), AgentId{9})->Encode());
  const Change later = a.Insert(1, "x");  // Between a and b: origins a, b.
  ASSERT_TRUE(good->Apply(later).ok());
  EXPECT_EQ(good->Text(), "axb");
}

std::string Zstd(const std::string& body) {
  std::string out = "QDOC\x01\x01"s;
  PutVarint(&out, body.size());
  std::string frame(ZSTD_compressBound(body.size()), '\0');
  frame.resize(ZSTD_compress(frame.data(), frame.size(), body.data(), body.size(), 19));
  out += frame;
  PutFixed32(&out, Crc32(out));
  return out;
}

// Issue 7, item 2: a few dozen bytes of zstd that decode to a document of 2
// billion ops (one agent typed 80,000 characters and deleted them all 26,000
// times; each delete run is bounded by the inserts, but the runs were not).
// Nothing in Decode is sized by the op count any more; past the caller's op
// limit it is refused as soon as the agent runs are read.
TEST(EncodingTest, ManyDeleteRunsOverFewCharacters) {
  constexpr uint64_t kChars = 80000, kRuns = 26000;
  std::string body = Varints({1, 7, 1, 0, kChars * (kRuns + 1), 1, kChars * (kRuns + 1), 0,
                              kRuns + 1, kChars << 2});
  for (uint64_t i = 0; i < kRuns; ++i) body += Varints({kChars << 2 | 1});
  // Each run deletes 0..kChars-1: forwards from 0, then -kChars back to it.
  body += Varints({0});
  for (uint64_t i = 1; i < kRuns; ++i) body += Varints({ZigZag(-int64_t{kChars}) << 1});
  body += Varints({1, ZigZag(0), kChars, kChars}) + std::string(kChars, 'a');
  const std::string doc = Zstd(body);
  EXPECT_LT(doc.size(), 200u);

  DocLimits server;
  server.max_ops = 10'000'000;
  Result<TextDoc> refused = TextDoc::Decode(doc, AgentId{9}, server);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "document: 2080080000 ops, more than the limit of 10000000");

  // Under the default limits it decodes, into a small document.
  Result<TextDoc> decoded = TextDoc::Decode(doc, AgentId{9});
  ASSERT_TRUE(decoded.ok()) << decoded.status().ToString();
  EXPECT_EQ(decoded->OpCount(), kChars * (kRuns + 1));
  EXPECT_EQ(decoded->Text(), "");
  EXPECT_LT(decoded->MemoryUsage(), size_t{4} << 20);
  decoded->CheckInvariants();
}

// When the ops far outnumber the body's bytes, Decode finds runs through
// buckets rather than a bit per op; crowded buckets are searched. 1,000
// characters typed backwards (a run each), then deleted by 300 agents.
TEST(EncodingTest, HistoriesOfMostlyDeletesRoundTrip) {
  TextDoc a(AgentId{1});
  for (int i = 0; i < 1000; ++i) a.LocalInsert(0, i % 2 ? "x" : "\xC3\xA9");
  TextDoc doc = a;
  for (uint64_t agent = 2; agent < 302; ++agent) {
    Op del;
    del.kind = Op::Kind::kDelete;
    del.target = Id{AgentId{1}, 0};
    del.len = 1000;
    ASSERT_TRUE(doc.Apply(Change{Id{AgentId{agent}, 0}, a.GetFrontier(), {del}}).ok());
  }
  doc.LocalInsert(0, "end");
  ASSERT_EQ(doc.OpCount(), 301'003u);
  const std::string bytes = doc.Encode();
  ASSERT_LT(Body(bytes).size() * 8, doc.OpCount());  // The bucketed path.
  Result<TextDoc> back = TextDoc::Decode(bytes, AgentId{9});
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(back->Text(), "end");
  EXPECT_EQ(back->GetVersion(), doc.GetVersion());
  EXPECT_EQ(back->Encode(), bytes);
  back->CheckInvariants();
}

// A document whose stated size is past the limit is refused before
// anything is decompressed: here the header of an honest document of 250
// million characters (one agent's text and one concurrent insert), whose
// real frame is 7 KB (decode_memory_test.cc decodes it).
TEST(EncodingTest, AStatedSizePastTheLimitIsRefusedUpFront) {
  constexpr uint64_t kChars = 250'000'000;
  std::string doc = "QDOC\x01\x01"s;
  const std::string head = Varints({2, 7, 8, 2, 0, kChars, 1, 1, 2, kChars, 0, 1, 0, 2,
                                    kChars << 2, 1 << 2 | 2, 0, 0, 1, 0, kChars + 1,
                                    kChars + 1});
  PutVarint(&doc, head.size() + kChars + 1);
  doc += "frame bytes the decoder never reads";
  PutFixed32(&doc, Crc32(doc));
  DocLimits server;
  server.max_bytes = 64 << 20;
  Result<TextDoc> refused = TextDoc::Decode(doc, AgentId{9}, server);
  ASSERT_FALSE(refused.ok());
  EXPECT_EQ(refused.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(refused.status().message(),
            "document: 250000039 bytes, more than the limit of 67108864");
}

TEST(EncodingTest, HeldBackChangesArrivingNewestFirstDrainInOnePass) {
  TextDoc a(AgentId{1});
  std::vector<Change> changes;
  for (int i = 0; i < 3000; ++i) changes.push_back(a.Insert(a.size(), "x"));
  TextDoc b(AgentId{2});
  for (size_t i = changes.size() - 1; i > 0; --i) ASSERT_TRUE(b.Apply(changes[i]).ok());
  EXPECT_EQ(b.PendingCount(), 2999u);
  Result<ot::TextOp> patch = b.Apply(changes[0]);
  ASSERT_TRUE(patch.ok());
  EXPECT_EQ(patch->ToJson(), "[\"" + std::string(3000, 'x') + "\"]");
  EXPECT_EQ(b.PendingCount(), 0u);
}

}  // namespace
}  // namespace quire::crdt
