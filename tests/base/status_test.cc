#include "base/status.h"

#include <gtest/gtest.h>

#include "base/result.h"

namespace quire {
namespace {

Result<int> Half(int v) {
  if (v % 2 != 0) return InvalidArgument("odd: " + std::to_string(v));
  return v / 2;
}

Result<int> Quarter(int v) {
  QUIRE_ASSIGN_OR_RETURN(int half, Half(v));
  return Half(half);
}

TEST(StatusTest, OkAndErrorsPrintTheirCode) {
  EXPECT_TRUE(Status::Ok().ok());
  EXPECT_EQ(Status::Ok().ToString(), "OK");
  Status s = OutOfRange("op deletes past the end");
  EXPECT_FALSE(s.ok());
  EXPECT_EQ(s.code(), StatusCode::kOutOfRange);
  EXPECT_EQ(s.ToString(), "OutOfRange: op deletes past the end");
}

TEST(ResultTest, CarriesValueOrStatus) {
  Result<int> q = Quarter(8);
  ASSERT_TRUE(q.ok());
  EXPECT_EQ(*q, 2);
  Result<int> bad = Quarter(6);  // 6 / 2 = 3 is odd.
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(), "odd: 3");
}

}  // namespace
}  // namespace quire
