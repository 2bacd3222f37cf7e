#include "ot/text_op.h"

#include <gtest/gtest.h>

namespace quire::ot {
namespace {

TextOp Op() { return TextOp(); }

std::string ApplyOk(std::string_view text, const TextOp& op) {
  Result<std::string> r = Apply(text, op);
  EXPECT_TRUE(r.ok()) << r.status().ToString() << " applying " << op << " to '" << text << "'";
  return r.ok() ? *r : std::string();
}

TEST(TextOpTest, BuildersNormalize) {
  // Adjacent components merge, empty ones vanish, trailing retains go.
  EXPECT_EQ(Op().Retain(2).Retain(3).Insert("a").Insert("").Insert("b").Delete(1).Delete(2).Retain(4),
            Op().Retain(5).Insert("ab").Delete(3));
  EXPECT_TRUE(Op().Retain(7).IsNoop());
  EXPECT_EQ(Op().Retain(7).ToJson(), "[]");
  // Delete then insert in one gap becomes insert then delete.
  EXPECT_EQ(Op().Retain(1).Delete(2).Insert("x"), Op().Retain(1).Insert("x").Delete(2));
  EXPECT_EQ(Op().Insert("a").Delete(1).Insert("b").ToJson(), "[\"ab\",{\"d\":1}]");
}

TEST(TextOpTest, FromComponentsRejectsBadInput) {
  auto code = [](std::vector<Component> c) {
    return TextOp::FromComponents(std::move(c)).status().code();
  };
  EXPECT_EQ(code({Component::Retain(0)}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({Component::Delete(0)}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({Component{Component::Kind::kInsert, 0, ""}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({Component{Component::Kind::kInsert, 0, "\xC3"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({Component{Component::Kind::kInsert, 2, "a"}}), StatusCode::kInvalidArgument);
  EXPECT_EQ(code({Component::Retain(kMaxLength), Component::Delete(1)}),
            StatusCode::kInvalidArgument);
  Result<TextOp> ok = TextOp::FromComponents(
      {Component::Retain(1), Component::Delete(1), Component::Insert("\xF0\x9F\x98\x80")});
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, Op().Retain(1).Insert("\xF0\x9F\x98\x80").Delete(1));
}

TEST(TextOpTest, ApplyCountsCodePoints) {
  // "héllo 😀!" : the emoji is one code point, four bytes.
  const std::string text = "h\xC3\xA9llo \xF0\x9F\x98\x80!";
  EXPECT_EQ(ApplyOk(text, Op().Retain(6).Delete(1).Insert("\xE4\xB8\xAD")),
            "h\xC3\xA9llo \xE4\xB8\xAD!");
  EXPECT_EQ(ApplyOk(text, Op().Insert(">")), ">" + text);
  EXPECT_EQ(ApplyOk(text, Op().Retain(8).Insert("?")), text + "?");
  EXPECT_EQ(ApplyOk("", Op()), "");
}

TEST(TextOpTest, ApplyRejectsOpsThatDoNotFit) {
  Result<std::string> r = Apply("abc", Op().Retain(4).Insert("x"));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
  r = Apply("abc", Op().Retain(1).Delete(3));
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kOutOfRange);
  EXPECT_EQ(ApplyOk("abc", Op().Retain(1).Delete(2)), "a");
}

TEST(TextOpTest, TransformTieBreakPutsLeftFirst) {
  const TextOp a = Op().Retain(2).Insert("A");
  const TextOp b = Op().Retain(2).Insert("B");
  EXPECT_EQ(Transform(a, b, Side::kLeft), Op().Retain(2).Insert("A"));
  EXPECT_EQ(Transform(b, a, Side::kRight), Op().Retain(3).Insert("B"));
  EXPECT_EQ(ApplyOk(ApplyOk("xyz", b), Transform(a, b, Side::kLeft)), "xyABz");
  EXPECT_EQ(ApplyOk(ApplyOk("xyz", a), Transform(b, a, Side::kRight)), "xyABz");
}

TEST(TextOpTest, TransformInsertInsideConcurrentDelete) {
  // a types into a word that b deletes: a's text survives where the word was.
  const TextOp a = Op().Retain(3).Insert("X");
  const TextOp b = Op().Retain(1).Delete(4);
  EXPECT_EQ(Transform(a, b, Side::kLeft), Op().Retain(1).Insert("X"));
  EXPECT_EQ(Transform(b, a, Side::kRight), Op().Retain(1).Delete(2).Retain(1).Delete(2));
  EXPECT_EQ(ApplyOk(ApplyOk("abcdef", b), Transform(a, b, Side::kLeft)), "aXf");
}

TEST(TextOpTest, TransformOverlappingDeletes) {
  const TextOp a = Op().Retain(1).Delete(3);  // abcdef -> aef
  const TextOp b = Op().Retain(2).Delete(3);  // abcdef -> abf
  EXPECT_EQ(Transform(a, b, Side::kLeft), Op().Retain(1).Delete(1));
  EXPECT_EQ(Transform(b, a, Side::kRight), Op().Retain(1).Delete(1));
  EXPECT_EQ(ApplyOk(ApplyOk("abcdef", a), Transform(b, a, Side::kRight)), "af");
}

TEST(TextOpTest, ComposeMergesTyping) {
  const TextOp a = Op().Retain(5).Insert("a");
  const TextOp b = Op().Retain(6).Insert("b");
  EXPECT_EQ(Compose(a, b), Op().Retain(5).Insert("ab"));
  // b deletes what a inserted: nothing remains of either.
  EXPECT_EQ(Compose(Op().Retain(2).Insert("xyz"), Op().Retain(2).Delete(3)), Op());
  // a's retained tail followed by an insert in b.
  EXPECT_EQ(Compose(Op().Insert("x"), Op().Retain(4).Insert("y")),
            Op().Insert("x").Retain(3).Insert("y"));
  EXPECT_EQ(Compose(Op().Retain(5).Insert("x"), Op()), Op().Retain(5).Insert("x"));
  EXPECT_EQ(Compose(Op().Delete(2), Op().Delete(2)), Op().Delete(4));
}

TEST(TextOpTest, InvertUndoes) {
  const std::string text = "hello world";
  const TextOp op = Op().Retain(6).Insert("big ").Delete(5).Insert("!");
  // Normalized: retain 6, insert "big !", delete 5.
  EXPECT_EQ(op, Op().Retain(6).Insert("big !").Delete(5));
  Result<TextOp> inv = Invert(op, text);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(*inv, Op().Retain(6).Insert("world").Delete(5));
  EXPECT_EQ(ApplyOk(ApplyOk(text, op), *inv), text);
  EXPECT_EQ(Invert(Op().Retain(12), text).status().code(), StatusCode::kOk);  // Trailing retain dropped.
  EXPECT_EQ(Invert(Op().Retain(11).Delete(1), text).status().code(), StatusCode::kOutOfRange);
}

TEST(TextOpTest, TransformPositionStickiness) {
  const TextOp op = Op().Retain(3).Insert("XY");
  EXPECT_EQ(TransformPosition(2, op, Stick::kBefore), 2u);
  EXPECT_EQ(TransformPosition(3, op, Stick::kBefore), 3u);
  EXPECT_EQ(TransformPosition(3, op, Stick::kAfter), 5u);
  EXPECT_EQ(TransformPosition(4, op, Stick::kBefore), 6u);
  // Inside a deleted range: to the deletion point, after text inserted there.
  const TextOp replace = Op().Retain(1).Insert("Z").Delete(3);
  EXPECT_EQ(TransformPosition(1, replace, Stick::kBefore), 1u);
  EXPECT_EQ(TransformPosition(1, replace, Stick::kAfter), 2u);
  EXPECT_EQ(TransformPosition(3, replace, Stick::kBefore), 2u);
  EXPECT_EQ(TransformPosition(4, replace, Stick::kBefore), 2u);
  EXPECT_EQ(TransformPosition(6, replace, Stick::kBefore), 4u);
}

}  // namespace
}  // namespace quire::ot
