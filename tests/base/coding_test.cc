#include "base/coding.h"

#include <gtest/gtest.h>

#include <string>

namespace quire {
namespace {

// The checksum every stored record carries: it must stay the same
// function (CRC-32/ISO-HDLC, zlib's) or stored data stops reading.
TEST(Crc32Test, IsTheZlibCrcAndChains) {
  EXPECT_EQ(Crc32("123456789"), 0xCBF43926u);  // The standard check value.
  EXPECT_EQ(Crc32(""), 0u);
  EXPECT_EQ(Crc32(std::string(32, '\0')), 0x190A55ADu);
  std::string big(3 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>(i * 131 + i / 977);
  for (size_t cut : {size_t{0}, size_t{1}, size_t{7}, size_t{4096}, big.size() - 3}) {
    SCOPED_TRACE(cut);
    const std::string_view all(big);
    EXPECT_EQ(Crc32(all.substr(cut), Crc32(all.substr(0, cut))), Crc32(all));
  }
}

TEST(VarintTest, BoundariesRoundTripAndBadInputIsRefusedUntouched) {
  for (uint64_t v : {uint64_t{0}, uint64_t{127}, uint64_t{128}, uint64_t{16383}, uint64_t{16384},
                     uint64_t{1} << 32, ~uint64_t{0}}) {
    SCOPED_TRACE(v);
    std::string s;
    PutVarint(&s, v);
    s += "!";
    std::string_view in(s);
    uint64_t got = 0;
    ASSERT_TRUE(GetVarint(&in, &got));
    EXPECT_EQ(got, v);
    EXPECT_EQ(in, "!");
  }
  std::string max;
  PutVarint(&max, ~uint64_t{0});
  EXPECT_EQ(max.size(), 10u);
  uint64_t v = 0;
  const std::string over = "\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02";  // Above 64 bits.
  std::string_view in(over);
  EXPECT_FALSE(GetVarint(&in, &v));
  EXPECT_EQ(in.size(), over.size());
  const std::string eleven(10, '\x80');  // No last byte within 10.
  in = eleven;
  EXPECT_FALSE(GetVarint(&in, &v));
  in = std::string_view("\x80\x80", 2);  // Truncated.
  EXPECT_FALSE(GetVarint(&in, &v));
  EXPECT_EQ(in.size(), 2u);
  in = std::string_view();
  EXPECT_FALSE(GetVarint(&in, &v));
}

}  // namespace
}  // namespace quire
