// Checks the C++ OT module against tests/ot/vectors.json, reference cases
// computed by ot-text-unicode 4.0.0 itself (tests/ot/gen_vectors.js; the
// ctest test ot_vectors_match_ot_text_unicode keeps the file in step with
// the package). This test needs no Node.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>

#include "tests/ot/case_runner.h"

namespace quire::ot {
namespace {

using nlohmann::json;

// The keys of a case that are its input; every other key is a value
// ot-text-unicode computed.
const std::set<std::string> kInputs = {"name", "doc", "a", "b", "c", "h"};

TEST(OtVectorsTest, MatchOtTextUnicode) {
  std::ifstream in(QUIRE_OT_VECTORS);
  ASSERT_TRUE(in) << "cannot open " << QUIRE_OT_VECTORS;
  const json root = json::parse(in);
  ASSERT_EQ(root.at("version"), 2);
  ASSERT_EQ(root.at("reference"), "ot-text-unicode@4.0.0");
  const json& cases = root.at("cases");
  ASSERT_GE(cases.size(), 400u);
  for (const json& c : cases) {
    SCOPED_TRACE(c.at("name").get<std::string>());
    Result<json> got = test::RunCase(c);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    size_t checked = 0;
    for (const auto& [key, want] : c.items()) {
      if (kInputs.count(key) != 0) continue;
      ++checked;
      ASSERT_TRUE(got->contains(key)) << "ot/ computes no " << key;
      EXPECT_EQ(got->at(key).dump(), want.dump()) << key;
    }
    EXPECT_EQ(checked, got->size()) << "the vector lacks values that ot/ computes";
  }
}

}  // namespace
}  // namespace quire::ot
