#include "base/utf8.h"

#include <gtest/gtest.h>

namespace quire::utf8 {
namespace {

TEST(Utf8Test, CountsCodePointsOfEverySize) {
  // a (1 byte), é (2), 中 (3), 😀 (4).
  const std::string s = "a\xC3\xA9\xE4\xB8\xAD\xF0\x9F\x98\x80";
  Result<size_t> n = Validate(s);
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 4u);
  EXPECT_EQ(CountCodePoints(s), 4u);
  EXPECT_EQ(ByteOffset(s, 0), 0u);
  EXPECT_EQ(ByteOffset(s, 1), 1u);
  EXPECT_EQ(ByteOffset(s, 2), 3u);
  EXPECT_EQ(ByteOffset(s, 3), 6u);
  EXPECT_EQ(ByteOffset(s, 4), 10u);
}

TEST(Utf8Test, RejectsInvalidSequencesWithTheirOffset) {
  struct Case {
    std::string bytes;
    std::string message;
  };
  const Case cases[] = {
      {"ab\x80", "invalid UTF-8 lead byte at offset 2"},
      {"\xC3", "truncated UTF-8 sequence at offset 0"},
      {"\xC3\x28", "invalid UTF-8 continuation byte at offset 1"},
      {"\xC0\xAF", "overlong UTF-8 sequence at offset 0"},
      {"\xE0\x80\xAF", "overlong UTF-8 sequence at offset 0"},
      {"\xED\xA0\x80", "UTF-16 surrogate encoded in UTF-8 at offset 0"},
      {"\xF4\x90\x80\x80", "code point above U+10FFFF at offset 0"},
      {"\xFF", "invalid UTF-8 lead byte at offset 0"},
  };
  for (const Case& c : cases) {
    Result<size_t> r = Validate(c.bytes);
    ASSERT_FALSE(r.ok()) << c.message;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(r.status().message(), c.message);
  }
}

TEST(Utf8Test, AdvanceStopsAtTheEnd) {
  const std::string s = "hello, world \xE2\x82\xAC!";  // 15 code points, 17 bytes.
  size_t off = 0;
  EXPECT_TRUE(Advance(s, &off, 15));
  EXPECT_EQ(off, s.size());
  off = 0;
  EXPECT_FALSE(Advance(s, &off, 16));
  EXPECT_EQ(off, s.size());
  // A truncated final sequence is never read past.
  const std::string cut = "ab\xF0\x9F";
  off = 0;
  EXPECT_FALSE(Advance(cut, &off, 3));
  EXPECT_EQ(off, cut.size());
}

TEST(Utf8Test, IsAsciiLooksAtEveryByte) {
  EXPECT_TRUE(IsAscii(""));
  EXPECT_TRUE(IsAscii("plain text, longer than eight bytes"));
  EXPECT_FALSE(IsAscii("plain text, then caf\xC3\xA9"));
  EXPECT_FALSE(IsAscii("\xC3\xA9 first"));
  EXPECT_FALSE(IsAscii("12345678\x80"));
}

TEST(Utf8Test, AppendAndNextRoundTrip) {
  for (char32_t cp : {U'a', U'\u00e9', U'\u4e2d', U'\U0001F600', U'\U0010FFFF'}) {
    std::string s;
    Append(s, cp);
    ASSERT_TRUE(Validate(s).ok());
    size_t off = 0;
    EXPECT_EQ(Next(s, &off), cp);
    EXPECT_EQ(off, s.size());
  }
}

}  // namespace
}  // namespace quire::utf8
