#include "ot/codec.h"

#include <gtest/gtest.h>

namespace quire::ot {
namespace {

using namespace std::string_literals;

TEST(CodecTest, EncodesTheDocumentedBytes) {
  const TextOp op = TextOp().Retain(3).Insert("ab").Delete(2);
  // fixarray(3), fixint 3, fixstr(2) "ab", negative fixint -2.
  EXPECT_EQ(EncodeOp(op), std::string("\x93\x03\xA2" "ab" "\xFE", 6));
  EXPECT_EQ(EncodeOp(TextOp()), std::string("\x90", 1));
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
      {"\x91\xA3" "ab", StatusCode::kInvalidArgument, "op: component 0 is a truncated string"},
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
