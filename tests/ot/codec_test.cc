#include "ot/codec.h"

#include <gtest/gtest.h>

#include <cstdint>

#include "tests/testutil.h"

namespace quire::ot {
namespace {

using namespace std::string_literals;
using test::Hex;

TEST(CodecTest, EncodesTheDocumentedBytes) {
  const TextOp op = TextOp().Retain(3).Insert("ab").Delete(2);
  // fixarray(3), fixint 3, fixstr(2) "ab", negative fixint -2.
  EXPECT_EQ(EncodeOp(op), std::string("\x93\x03\xA2"
                                      "ab"
                                      "\xFE",
                                      6));
  EXPECT_EQ(EncodeOp(TextOp()), std::string("\x90", 1));
}

// Exact bytes at every msgpack boundary an op's components cross, written
// by hand from the spec: the wire format must not change with the msgpack
// implementation (it is byte-identical to the hand-written writer's). Each
// op avoids an insert next to a delete, whose order is normalization's
// business, not the codec's.
TEST(CodecTest, EncodesIntegerBoundariesInTheShortestForm) {
  const std::pair<uint64_t, std::string> retains[] = {
      {1, "01"},
      {127, "7f"},
      {128, "cc 80"},
      {255, "cc ff"},
      {256, "cd 01 00"},
      {65535, "cd ff ff"},
      {65536, "ce 00 01 00 00"},
      {(uint64_t{1} << 32) - 1, "ce ff ff ff ff"},
      {uint64_t{1} << 32, "cf 00 00 00 01 00 00 00 00"},
      {uint64_t{1} << 40, "cf 00 00 01 00 00 00 00 00"},  // kMaxLength.
  };
  for (const auto& [n, hex] : retains) {
    const TextOp op = TextOp().Retain(n).Insert("a");  // [n, "a"]
    const std::string bytes = EncodeOp(op);
    EXPECT_EQ(Hex(bytes), "92 " + hex + " a1 61") << n;
    EXPECT_EQ(DecodeOp(bytes).value(), op) << n;
  }
  // Deletes are negative integers.
  const std::pair<uint64_t, std::string> deletes[] = {
      {1, "ff"},
      {32, "e0"},
      {33, "d0 df"},
      {128, "d0 80"},
      {129, "d1 ff 7f"},
      {32768, "d1 80 00"},
      {32769, "d2 ff ff 7f ff"},
      {uint64_t{1} << 31, "d2 80 00 00 00"},
      {(uint64_t{1} << 31) + 1, "d3 ff ff ff ff 7f ff ff ff"},
      {uint64_t{1} << 40, "d3 ff ff ff 00 00 00 00 00"},
  };
  for (const auto& [n, hex] : deletes) {
    const TextOp op = TextOp().Delete(n);  // [-n]
    const std::string bytes = EncodeOp(op);
    EXPECT_EQ(Hex(bytes), "91 " + hex) << n;
    EXPECT_EQ(DecodeOp(bytes).value(), op) << n;
  }
}

TEST(CodecTest, EncodesStringAndArrayBoundariesInTheShortestForm) {
  const std::pair<size_t, std::string> inserts[] = {
      {1, "a1"},
      {31, "bf"},
      {32, "d9 20"},
      {255, "d9 ff"},
      {256, "da 01 00"},
      {65535, "da ff ff"},
      {65536, "db 00 01 00 00"},
  };
  for (const auto& [n, header] : inserts) {
    const TextOp op = TextOp().Insert(std::string(n, 'x'));
    const std::string bytes = EncodeOp(op);
    EXPECT_EQ(Hex(bytes.substr(0, bytes.size() - n)), "91 " + header) << n;
    EXPECT_EQ(bytes.substr(bytes.size() - n), std::string(n, 'x')) << n;
    EXPECT_EQ(DecodeOp(bytes).value(), op) << n;
  }
  // 15 components fit a fixarray; 16 need array16.
  TextOp fifteen = TextOp().Insert("a");
  for (int k = 0; k < 7; ++k) fifteen.Retain(1).Insert("a");
  EXPECT_EQ(Hex(EncodeOp(fifteen)),
            "9f a1 61 01 a1 61 01 a1 61 01 a1 61 01 a1 61 01 a1 61 01 a1 61 01 a1 61");
  TextOp sixteen;
  for (int k = 0; k < 8; ++k) sixteen.Retain(1).Insert("a");
  const std::string bytes = EncodeOp(sixteen);
  EXPECT_EQ(Hex(bytes),
            "dc 00 10 01 a1 61 01 a1 61 01 a1 61 01 a1 61 01 a1 61 01 a1 61 01 a1 61 01 a1 61");
  EXPECT_EQ(DecodeOp(bytes).value(), sixteen);
}

TEST(CodecTest, RoundTrips) {
  const TextOp ops[] = {
      TextOp(),
      TextOp().Insert("\xF0\x9F\x98\x80 emoji"),
      TextOp().Retain(300).Delete(70000),
      TextOp().Retain(1).Insert(std::string(1000, 'x')).Delete(5).Retain(2).Insert("\xC3\xA9"),
  };
  for (const TextOp& op : ops) {
    Result<TextOp> back = DecodeOp(EncodeOp(op));
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(*back, op);
  }
}

TEST(CodecTest, NormalizesValidButUncanonicalInput) {
  // [1, 1, -1, "x", 5]: split retain, delete before insert, trailing retain.
  Result<TextOp> op = DecodeOp(std::string("\x95\x01\x01\xFF\xA1x\x05", 7));
  ASSERT_TRUE(op.ok()) << op.status().ToString();
  EXPECT_EQ(*op, TextOp().Retain(2).Delete(1).Insert("x"));
}

TEST(CodecTest, RejectsMalformedInputWithAnError) {
  struct Case {
    std::string bytes;
    StatusCode code;
    std::string message;
  };
  const Case cases[] = {
      {"", StatusCode::kInvalidArgument, "op: expected an array of components"},
      {"\x05", StatusCode::kInvalidArgument, "op: expected an array of components"},
      {std::string("\x91\x00", 2), StatusCode::kInvalidArgument, "op: component 0 has length 0"},
      {"\x91\xA0", StatusCode::kInvalidArgument, "op: component 0 inserts empty text"},
      {"\x91\xA1\xFF", StatusCode::kInvalidArgument,
       "op: component 0: invalid UTF-8 lead byte at offset 0"},
      {"\x92\x01\xC0", StatusCode::kInvalidArgument,
       "op: component 1 is neither an integer nor a string"},
      {"\x92\x01", StatusCode::kInvalidArgument,
       "op: array header is truncated or claims more components than there are bytes"},
      {"\x91\xA3"
       "ab",
       StatusCode::kInvalidArgument, "op: component 0 is truncated"},
      {"\x92\x01\xC1", StatusCode::kInvalidArgument, "op: component 1 is malformed"},
      {"\x91\xCF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", StatusCode::kInvalidArgument,
       "op: component 0 is not a 64-bit signed integer"},
      {"\x91\xCF\x00\x00\x7F\xFF\xFF\xFF\xFF\xFF"s, StatusCode::kInvalidArgument,
       "op: component 0 is longer than the limit"},
      {"\x91\xD3\x80\x00\x00\x00\x00\x00\x00\x00"s, StatusCode::kInvalidArgument,
       "op: component 0 is longer than the limit"},
      {"\x90\x90", StatusCode::kInvalidArgument, "op: trailing bytes after the op"},
      {"\xDD\xFF\xFF\xFF\xFF", StatusCode::kInvalidArgument,
       "op: array header is truncated or claims more components than there are bytes"},
  };
  for (const Case& c : cases) {
    Result<TextOp> op = DecodeOp(c.bytes);
    ASSERT_FALSE(op.ok()) << c.message;
    EXPECT_EQ(op.status().code(), c.code) << c.message;
    EXPECT_EQ(op.status().message(), c.message);
  }
}

}  // namespace
}  // namespace quire::ot
