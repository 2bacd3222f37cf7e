#include "base/msgpack.h"

#include <gtest/gtest.h>

#include <limits>

namespace quire::msgpack {
namespace {

TEST(MsgpackTest, IntegersRoundTripInTheShortestForm) {
  const int64_t values[] = {0, 1, 127, 128, 255, 256, 65535, 65536, -1, -32, -33,
                            -128, -129, -32768, -32769, std::numeric_limits<int64_t>::min(),
                            std::numeric_limits<int64_t>::max()};
  for (int64_t v : values) {
    std::string buf;
    Writer w(&buf);
    w.Int(v);
    Reader r(buf);
    int64_t got;
    ASSERT_TRUE(r.Int(&got)) << v;
    EXPECT_EQ(got, v);
    EXPECT_TRUE(r.done());
  }
  std::string buf;
  Writer(&buf).Int(5);
  EXPECT_EQ(buf, "\x05");
  buf.clear();
  Writer(&buf).Int(-3);
  EXPECT_EQ(buf, "\xFD");
}

TEST(MsgpackTest, StringsArraysAndMaps) {
  std::string buf;
  Writer w(&buf);
  w.ArrayHeader(3);
  w.Str("hi");
  w.Str(std::string(40, 'x'));
  w.MapHeader(1);
  w.Uint(7);
  w.Bool(true);
  Reader r(buf);
  uint32_t n;
  ASSERT_TRUE(r.ArrayHeader(&n));
  EXPECT_EQ(n, 3u);
  std::string_view s;
  ASSERT_TRUE(r.Str(&s));
  EXPECT_EQ(s, "hi");
  ASSERT_TRUE(r.Str(&s));
  EXPECT_EQ(s, std::string(40, 'x'));
  ASSERT_TRUE(r.MapHeader(&n));
  uint64_t k;
  bool b;
  ASSERT_TRUE(r.Uint(&k));
  ASSERT_TRUE(r.Bool(&b));
  EXPECT_TRUE(b);
  EXPECT_TRUE(r.done());
}

TEST(MsgpackTest, RejectsLiesAboutSizesAndTruncation) {
  // array32 claiming 4 billion elements in a 5-byte input.
  Reader huge(std::string_view("\xDD\xFF\xFF\xFF\xFF", 5));
  uint32_t n;
  EXPECT_FALSE(huge.ArrayHeader(&n));
  EXPECT_TRUE(huge.failed());
  // str8 of length 10 with 2 bytes present.
  Reader cut(std::string_view("\xD9\x0A" "ab", 4));
  std::string_view s;
  EXPECT_FALSE(cut.Str(&s));
  // uint64 above INT64_MAX is not an Int.
  Reader big(std::string_view("\xCF\xFF\xFF\xFF\xFF\xFF\xFF\xFF\xFF", 9));
  int64_t v;
  EXPECT_FALSE(big.Int(&v));
  // Once failed, a reader stays failed.
  EXPECT_FALSE(big.Nil());
  // Skip refuses nesting deeper than its limit.
  std::string deep(100, '\x91');
  deep.push_back('\xC0');
  Reader d(deep);
  EXPECT_FALSE(d.Skip());
}

}  // namespace
}  // namespace quire::msgpack
