// Randomized checks of the OT laws over 100,000 seeded cases. Every failure
// names its seed; set QUIRE_SEED to run a different sequence.
#include <gtest/gtest.h>

#include "tests/testutil.h"

#include <algorithm>
#include <cstdlib>
#include <set>

#include "ot/text_op.h"
#include "tests/ot/random_op.h"

namespace quire::ot {
namespace {

const uint64_t kCases = quire::test::Cases(100000);

uint64_t BaseSeed() {
  const char* env = std::getenv("QUIRE_SEED");
  const uint64_t seed = env ? std::strtoull(env, nullptr, 10) : 20261122;
  std::printf("property_test base seed %llu (set QUIRE_SEED to change)\n",
              static_cast<unsigned long long>(seed));
  return seed;
}

struct Case {
  std::string doc;
  std::vector<char32_t> chars;
  int alphabet;
  TextOp a;
  TextOp b;
};

Case MakeCase(test::RandomText& rnd) {
  Case c;
  c.alphabet = static_cast<int>(rnd.Uniform(0, 4)) - 1;  // -1 mixes sizes.
  const size_t len = rnd.Uniform(0, 8) == 0 ? 0 : rnd.Uniform(1, 30);
  c.chars = rnd.Document(len, c.alphabet);
  c.doc = test::ToUtf8(c.chars);
  c.a = rnd.Op(c.chars.size(), c.alphabet);
  c.b = rnd.Op(c.chars.size(), c.alphabet);
  return c;
}

std::string MustApply(std::string_view text, const TextOp& op) {
  Result<std::string> r = Apply(text, op);
  if (!r.ok()) {
    ADD_FAILURE() << r.status().ToString() << " applying " << op;
    return "";
  }
  return *r;
}

TEST(OtPropertyTest, LawsHoldOnRandomCases) {
  const uint64_t base = BaseSeed();
  for (uint64_t i = 0; i < kCases && !::testing::Test::HasFailure(); ++i) {
    const uint64_t seed = base + i;
    test::RandomText rnd(seed);
    const Case c = MakeCase(rnd);
    SCOPED_TRACE(::testing::Message() << "seed " << seed << " doc '" << c.doc << "' a=" << c.a
                                      << " b=" << c.b);
    const std::string sa = MustApply(c.doc, c.a);
    const std::string sb = MustApply(c.doc, c.b);

    // TP1 with both tie-breaks.
    for (Side side : {Side::kLeft, Side::kRight}) {
      const Side other = side == Side::kLeft ? Side::kRight : Side::kLeft;
      const TextOp a2 = Transform(c.a, c.b, side);
      const TextOp b2 = Transform(c.b, c.a, other);
      EXPECT_EQ(MustApply(sb, a2), MustApply(sa, b2));
    }
    // ShareDB's conventions meet: the server's Rebase of a over b is the
    // client's TransformX of its pending a, and both reach the same text.
    TextOp local = c.a;
    TextOp remote = c.b;
    TransformX(&local, &remote);
    EXPECT_EQ(Rebase(c.a, {&c.b, 1}), local);
    EXPECT_EQ(MustApply(sb, local), MustApply(sa, remote));
    // Compose: one op with the effect of both.
    const TextOp b_after_a = Transform(c.b, c.a, Side::kRight);
    EXPECT_EQ(MustApply(c.doc, Compose(c.a, b_after_a)), MustApply(sa, b_after_a));
    // Compose with an op that edits a's result, including a's inserts.
    const TextOp c_on_a = rnd.Op(test::ToCodePoints(sa).size(), c.alphabet);
    EXPECT_EQ(MustApply(c.doc, Compose(c.a, c_on_a)), MustApply(sa, c_on_a)) << "c=" << c_on_a;
    // Invert undoes.
    Result<TextOp> inv = Invert(c.a, c.doc);
    ASSERT_TRUE(inv.ok()) << inv.status().ToString();
    EXPECT_EQ(MustApply(sa, *inv), c.doc);

    // TransformPosition agrees with where each character went: positions
    // keep their order; with kAfter the caret before a surviving character
    // stays right before it, and kBefore differs from kAfter only by text
    // inserted right there.
    const std::vector<char32_t> after = test::ToCodePoints(sa);
    const std::set<char32_t> old_chars(c.chars.begin(), c.chars.end());
    size_t prev_before = 0;
    size_t prev_after = 0;
    for (size_t p = 0; p <= c.chars.size(); ++p) {
      const size_t pb = TransformPosition(p, c.a, Stick::kBefore);
      const size_t pa = TransformPosition(p, c.a, Stick::kAfter);
      ASSERT_LE(pb, pa) << "pos " << p;
      ASSERT_LE(pa, after.size()) << "pos " << p;
      EXPECT_GE(pb, prev_before) << "pos " << p;
      EXPECT_GE(pa, prev_after) << "pos " << p;
      prev_before = pb;
      prev_after = pa;
      for (size_t k = pb; k < pa; ++k) {
        EXPECT_EQ(old_chars.count(after[k]), 0u) << "pos " << p << " skips old text";
      }
      if (p == c.chars.size()) {
        EXPECT_EQ(pa, after.size());
        continue;
      }
      auto it = std::find(after.begin(), after.end(), c.chars[p]);
      if (it != after.end()) {
        EXPECT_EQ(pa, static_cast<size_t>(it - after.begin())) << "pos " << p;
      }
    }
  }
}

TEST(OtPropertyTest, ComposeIsAssociativeOnTyping) {
  // A keystroke history composed in one go equals the ops applied in turn.
  test::RandomText rnd(BaseSeed());
  std::string doc;
  TextOp all;
  std::string applied;
  for (int i = 0; i < 2000; ++i) {
    const size_t len = test::ToCodePoints(applied).size();
    const TextOp op = rnd.Op(len, -1);
    applied = MustApply(applied, op);
    all = Compose(all, op);
  }
  EXPECT_EQ(MustApply(doc, all), applied);
}

}  // namespace
}  // namespace quire::ot
