// Anchors (TextDoc::IdAt, TextDoc::PositionOf): a place attached to a
// character stays on it while others edit, and stays where the character
// was once it is deleted.
#include <gtest/gtest.h>

#include "crdt/text_doc.h"

namespace quire::crdt {
namespace {

TEST(AnchorTest, AnAnchorFollowsItsCharacter) {
  TextDoc a(AgentId{1}), b(AgentId{2});
  ASSERT_TRUE(b.Apply(a.Insert(0, "abcdef")).ok());
  const Id c = a.IdAt(2);
  ASSERT_EQ(*a.PositionOf(c, false), 2u);
  ASSERT_EQ(*a.PositionOf(c, true), 3u);

  ASSERT_TRUE(a.Apply(b.Insert(0, "XY")).ok());    // Before it: it moves right.
  ASSERT_TRUE(a.Apply(b.Insert(8, "tail")).ok());  // After it: it stays.
  EXPECT_EQ(a.Text(), "XYabcdeftail");
  EXPECT_EQ(*a.PositionOf(c, false), 4u);
  EXPECT_EQ(*a.PositionOf(c, true), 5u);
  EXPECT_EQ(*b.PositionOf(c, false), 4u);  // Any replica that has it agrees.

  ASSERT_TRUE(a.Apply(b.Remove(1, 2)).ok());  // "Ya" goes: it moves left.
  EXPECT_EQ(a.Text(), "Xbcdeftail");
  EXPECT_EQ(*a.PositionOf(c, false), 2u);
}

TEST(AnchorTest, ADeletedCharacterKeepsItsPlace) {
  TextDoc a(AgentId{1});
  a.Insert(0, "abcdef");
  const Id c = a.IdAt(2);
  a.Remove(2, 1);  // "abdef"
  EXPECT_EQ(*a.PositionOf(c, false), 2u);
  EXPECT_EQ(*a.PositionOf(c, true), 2u);
  a.Remove(0, 2);  // "def": everything before it is gone too.
  EXPECT_EQ(*a.PositionOf(c, false), 0u);
  a.Insert(0, "12");  // Text inserted before its place pushes it.
  EXPECT_EQ(a.Text(), "12def");
  EXPECT_EQ(*a.PositionOf(c, false), 2u);
}

TEST(AnchorTest, UnknownIdsAndDeletesAreNotFound) {
  TextDoc a(AgentId{1});
  a.Insert(0, "ab");
  const Change del = a.Remove(0, 1);
  EXPECT_EQ(a.PositionOf(Id{AgentId{9}, 0}, false).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(a.PositionOf(del.id, false).status().code(), StatusCode::kNotFound);
}

TEST(AnchorTest, PositionsAgreeWithTheTextOnManyEdits) {
  TextDoc a(AgentId{1});
  a.Insert(0, "0123456789");
  std::vector<std::pair<Id, char>> anchors;
  for (size_t i = 0; i < 10; ++i) anchors.emplace_back(a.IdAt(i), static_cast<char>('0' + i));
  a.Insert(5, "--");
  a.Remove(0, 1);
  a.Insert(0, "ab");
  a.Remove(8, 2);
  const std::string text = a.Text();
  for (const auto& [id, ch] : anchors) {
    const size_t pos = *a.PositionOf(id, false);
    if (text.find(ch) != std::string::npos) {
      EXPECT_EQ(text[pos], ch) << "anchor of '" << ch << "' in " << text;
    }
  }
}

}  // namespace
}  // namespace quire::crdt
