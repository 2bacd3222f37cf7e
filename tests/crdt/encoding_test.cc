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
