// Checks the C++ OT module against tests/ot/vectors.json, reference cases
// computed by an independent per-character model (tests/ot/gen_vectors.py).
// The JS client checks itself against the same file.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "ot/text_op.h"

namespace quire::ot {
namespace {

using nlohmann::json;

TextOp OpFromJson(const json& j) {
  std::vector<Component> comps;
  for (const json& c : j) {
    if (c.is_number_unsigned()) {
      comps.push_back(Component::Retain(c.get<size_t>()));
    } else if (c.is_string()) {
      comps.push_back(Component::Insert(c.get<std::string>()));
    } else {
      comps.push_back(Component::Delete(c.at("d").get<size_t>()));
    }
  }
  Result<TextOp> op = TextOp::FromComponents(std::move(comps));
  EXPECT_TRUE(op.ok()) << op.status().ToString() << " in " << j.dump();
  // Vectors are normalized: building must not change them.
  if (op.ok()) {
    EXPECT_EQ(op->ToJson(), j.dump()) << "vector op is not normalized";
  }
  return op.ok() ? *op : TextOp();
}

std::string MustApply(std::string_view text, const TextOp& op) {
  Result<std::string> r = Apply(text, op);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return r.ok() ? *r : std::string();
}

TEST(OtVectorsTest, MatchReferenceModel) {
  std::ifstream in(QUIRE_OT_VECTORS);
  ASSERT_TRUE(in) << "cannot open " << QUIRE_OT_VECTORS;
  const json root = json::parse(in);
  ASSERT_EQ(root.at("version"), 1);
  const json& cases = root.at("cases");
  ASSERT_GE(cases.size(), 300u);
  for (const json& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    const std::string doc = c.at("doc");
    const TextOp a = OpFromJson(c.at("a"));
    const TextOp b = OpFromJson(c.at("b"));
    EXPECT_EQ(MustApply(doc, a), c.at("apply_a").get<std::string>());
    EXPECT_EQ(MustApply(doc, b), c.at("apply_b").get<std::string>());
    EXPECT_EQ(Transform(a, b, Side::kLeft), OpFromJson(c.at("a_over_b_left")));
    EXPECT_EQ(Transform(a, b, Side::kRight), OpFromJson(c.at("a_over_b_right")));
    EXPECT_EQ(Transform(b, a, Side::kLeft), OpFromJson(c.at("b_over_a_left")));
    EXPECT_EQ(Transform(b, a, Side::kRight), OpFromJson(c.at("b_over_a_right")));
    EXPECT_EQ(MustApply(c.at("apply_b").get<std::string>(), Transform(a, b, Side::kLeft)),
              c.at("merged_a_left").get<std::string>());
    EXPECT_EQ(MustApply(c.at("apply_b").get<std::string>(), Transform(a, b, Side::kRight)),
              c.at("merged_a_right").get<std::string>());
    EXPECT_EQ(Compose(a, Transform(b, a, Side::kRight)), OpFromJson(c.at("compose")));
    const TextOp c_op = OpFromJson(c.at("c"));  // Made on apply_a.
    EXPECT_EQ(Compose(a, c_op), OpFromJson(c.at("compose_a_c")));
    Result<TextOp> inv = Invert(a, doc);
    ASSERT_TRUE(inv.ok());
    EXPECT_EQ(*inv, OpFromJson(c.at("invert_a")));
    const json& before = c.at("positions_before");
    const json& after = c.at("positions_after");
    for (size_t p = 0; p < before.size(); ++p) {
      EXPECT_EQ(TransformPosition(p, a, Stick::kBefore), before[p].get<size_t>()) << "pos " << p;
      EXPECT_EQ(TransformPosition(p, a, Stick::kAfter), after[p].get<size_t>()) << "pos " << p;
    }
  }
}

}  // namespace
}  // namespace quire::ot
