#include "crdt/change_codec.h"

#include <gtest/gtest.h>

#include "crdt/text_doc.h"
#include "tests/testutil.h"

namespace quire::crdt {
namespace {

using namespace std::string_literals;
using test::Hex;

TEST(ChangeCodecTest, RoundTripsWhatDocumentsMake) {
  TextDoc a(AgentId{7});
  std::vector<Change> changes;
  changes.push_back(a.Insert(0, "hello w\xC3\xB6rld"));
  changes.push_back(a.Insert(5, ","));
  changes.push_back(a.Remove(0, 3));
  for (const Change& c : a.ChangesSince(Version())) changes.push_back(c);
  for (const Change& c : changes) {
    Result<Change> back = DecodeChange(EncodeChange(c));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, c);
  }
  TextDoc b(AgentId{8});
  for (const Change& c : a.ChangesSince(Version())) {
    ASSERT_TRUE(b.Apply(*DecodeChange(EncodeChange(c))).ok());
  }
  EXPECT_EQ(b.Text(), a.Text());
}

// Exact bytes, written by hand from the spec, at the msgpack boundaries a
// change's fields cross: the wire (and stored) format must not change with
// the msgpack implementation.
TEST(ChangeCodecTest, EncodesTheDocumentedBytesAtEveryBoundary) {
  Change c;
  c.id = Id{AgentId{127}, 128};
  c.parents = {Id{AgentId{1}, 255}, Id{AgentId{65536}, 256}};
  Op a;  // Insert between the start and (2, 65535).
  a.origin_right = Id{AgentId{2}, 65535};
  a.text = std::string(31, 'x');
  Op b;  // Insert after (1, 0), up to the end.
  b.origin_left = Id{AgentId{1}, 0};
  b.text = std::string(32, 'y');
  Op d;  // Backwards delete with the largest ids.
  d.kind = Op::Kind::kDelete;
  d.target = Id{AgentId{UINT64_MAX - 1}, uint64_t{1} << 32};
  d.len = 15;
  d.backward = true;
  Op e;
  e.kind = Op::Kind::kDelete;
  e.target = Id{AgentId{3}, 0};
  e.len = 65536;
  c.ops = {a, b, d, e};
  const std::string bytes = EncodeChange(c);
  // [agent 127, seq 128, [[1, 255], [65536, 256]], [
  std::string expected = "94 7f cc 80 92 92 01 cc ff 92 ce 00 01 00 00 cd 01 00 94";
  // [0, nil, [2, 65535], fixstr(31) "xx..."],
  expected += " 94 00 c0 92 02 cd ff ff bf";
  for (int k = 0; k < 31; ++k) expected += " 78";
  // [0, [1, 0], nil, str8(32) "yy..."],
  expected += " 94 00 92 01 00 c0 d9 20";
  for (int k = 0; k < 32; ++k) expected += " 79";
  // [1, [2^64 - 2, 2^32], 15, true], [1, [3, 0], 65536, false]]]
  expected += " 94 01 92 cf ff ff ff ff ff ff ff fe cf 00 00 00 01 00 00 00 00 0f c3";
  expected += " 94 01 92 03 00 ce 00 01 00 00 c2";
  EXPECT_EQ(Hex(bytes), expected);
  Result<Change> back = DecodeChange(bytes);
  ASSERT_TRUE(back.ok()) << back.status().ToString();
  EXPECT_EQ(*back, c);
}

TEST(ChangeCodecTest, EncodesFifteenAndSixteenElementArrays) {
  for (uint32_t n : {15u, 16u}) {
    Change c;
    c.id = Id{AgentId{1}, 0};
    Op del;
    del.kind = Op::Kind::kDelete;
    del.target = Id{AgentId{2}, 0};
    del.len = 1;
    for (uint32_t k = 0; k < n; ++k) {
      c.parents.push_back(Id{AgentId{k}, 0});
      c.ops.push_back(del);
    }
    const std::string header = n == 15 ? "9f" : "dc 00 10";
    std::string expected = "94 01 00 " + header;
    for (uint32_t k = 0; k < n; ++k)
      expected += " 92 " + Hex(std::string(1, static_cast<char>(k))) + " 00";
    expected += " " + header;
    for (uint32_t k = 0; k < n; ++k) expected += " 94 01 92 02 00 01 c2";
    const std::string bytes = EncodeChange(c);
    EXPECT_EQ(Hex(bytes), expected) << n;
    EXPECT_EQ(DecodeChange(bytes).value(), c) << n;
  }
}

TEST(ChangeCodecTest, RefusesMoreOpsThanTheLimit) {
  // 2^20 + 1 one-byte "ops": the count fits the bytes but not the limit.
  std::string bytes = "\x94\x01\x00\x90\xDD\x00\x10\x00\x01"s;
  bytes += std::string(kMaxWireOps + 1, '\xC0');
  Result<Change> r = DecodeChange(bytes);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kResourceExhausted);
  EXPECT_EQ(r.status().message(), "change: too many ops");
}

TEST(ChangeCodecTest, RejectsMalformedInput) {
  struct Case {
    std::string bytes;
    std::string message;
  };
  const Case cases[] = {
      {"", "change: expected [agent, seq, parents, ops]"},
      {"\x93\x01\x02\x90", "change: expected [agent, seq, parents, ops]"},
      {"\x94\xA1x\x00\x90\x90"s, "change: bad agent or seq"},
      {"\x94\x01\x00\x91\xC0\x90"s, "change: parent 0 is not an [agent, seq] id"},
      {"\x94\x01\x00\x90\x91\x94\x02\xC0\xC0\xA1x"s, "change: op 0 is not [0|1, ...]"},
      {"\x94\x01\x00\x90\x91\x94\x00\xC0\xC0\x05"s, "change: op 0 text is not a string"},
      {"\x94\x01\x00\x90\x91\x94\x01\x92\x01\x00\xFF\xC2"s,
       "change: op 0 length or direction is malformed"},
      {"\x94\x01\x00\x90\x90\x90"s, "change: trailing bytes"},
      // Truncated inside an op's text; a byte msgpack never uses; a count
      // of ops that the bytes cannot hold.
      {"\x94\x01\x00\x90\x91\x94\x00\xC0\xC0\xA3xy"s, "change: op 0 text is not a string"},
      {"\x94\x01\x00\x90\x91\x94\x01\xC1\x01\xC2"s,
       "change: op 0 target is not an [agent, seq] id"},
      {"\x94\x01\x00\x90\xDD\x00\x00\x01\x00\x94"s, "change: ops is not an array"},
  };
  for (const Case& c : cases) {
    Result<Change> r = DecodeChange(c.bytes);
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.message);
  }
}

}  // namespace
}  // namespace quire::crdt
