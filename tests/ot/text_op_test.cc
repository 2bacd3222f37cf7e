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
  // Nothing moves: as in ot-text-unicode, delete-then-insert and
  // insert-then-delete are different ops (they transform differently).
  EXPECT_EQ(Op().Retain(1).Delete(2).Insert("x").ToJson(), "[1,{\"d\":2},\"x\"]");
  EXPECT_NE(Op().Retain(1).Delete(2).Insert("x"), Op().Retain(1).Insert("x").Delete(2));
  EXPECT_EQ(Op().Insert("a").Delete(1).Insert("b").ToJson(), "[\"a\",{\"d\":1},\"b\"]");
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
  EXPECT_EQ(*ok, Op().Retain(1).Delete(1).Insert("\xF0\x9F\x98\x80"));
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
  // Component for component, as ot-text-unicode's invertWithDoc.
  const TextOp op = Op().Retain(6).Insert("big ").Delete(5).Insert("!");
  Result<TextOp> inv = Invert(op, text);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->ToJson(), "[6,{\"d\":4},\"world\",{\"d\":1}]");
  EXPECT_EQ(ApplyOk(ApplyOk(text, op), *inv), text);
  inv = Invert(Op().Retain(6).Insert("big !").Delete(5), text);
  ASSERT_TRUE(inv.ok());
  EXPECT_EQ(inv->ToJson(), "[6,{\"d\":5},\"world\"]");
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

TEST(TextOpTest, ComposeOrdersLikeOtTextUnicode) {
  // b's insert goes before a's delete at the same place, unless b's retain
  // has already passed over that delete.
  EXPECT_EQ(Compose(Op().Delete(1), Op().Insert("x")).ToJson(), "[\"x\",{\"d\":1}]");
  EXPECT_EQ(Compose(Op().Retain(1).Delete(1), Op().Retain(1).Insert("x")).ToJson(),
            "[1,\"x\",{\"d\":1}]");
  EXPECT_EQ(Compose(Op().Retain(1).Delete(1), Op().Retain(2).Insert("x")).ToJson(),
            "[1,{\"d\":1},1,\"x\"]");
}

TEST(TextOpTest, TransformXGivesTheLocalOpLeft) {
  // A client with pending "A" at 2 hears of the server's "B" at 2.
  TextOp local = Op().Retain(2).Insert("A");
  TextOp remote = Op().Retain(2).Insert("B");
  TransformX(&local, &remote);
  EXPECT_EQ(local, Op().Retain(2).Insert("A"));
  EXPECT_EQ(remote, Op().Retain(3).Insert("B"));
  // The server, receiving "A" after it accepted "B", gets the same text.
  const TextOp server = Op().Retain(2).Insert("B");
  EXPECT_EQ(Rebase(Op().Retain(2).Insert("A"), {&server, 1}), local);
  EXPECT_EQ(ApplyOk(ApplyOk("xyz", Op().Retain(2).Insert("A")), remote), "xyABz");
}

// Issue 7, item 0: the regression cases, each with what ot-text-unicode
// 4.0.0 gives (tests/ot/vectors.json holds them too, computed by it).
TEST(TextOpTest, Issue7ClientAndServerAgreeOnQWithDeleteThenInsert) {
  // Document "Q": a = [{d:1},"x"] (the server accepted it), b = [1,"y"]
  // arrives. The server rebases b with ShareDB's convention (b left); the
  // client of b, an ot-text-unicode client, transforms a with 'right'.
  const TextOp a = Op().Delete(1).Insert("x");
  const TextOp b = Op().Retain(1).Insert("y");
  const TextOp server_b = Rebase(b, {&a, 1});
  EXPECT_EQ(server_b.ToJson(), "[\"y\"]");
  EXPECT_EQ(ApplyOk(ApplyOk("Q", a), server_b), "yx");
  TextOp local = b;
  TextOp remote = a;
  TransformX(&local, &remote);
  EXPECT_EQ(remote.ToJson(), "[{\"d\":1},1,\"x\"]");
  EXPECT_EQ(ApplyOk(ApplyOk("Q", b), remote), "yx");
}

TEST(TextOpTest, Issue7InsertAgainstDeleteThenInsertWithShareDbConvention) {
  // Document "Q", a = [{d:1},"x"], b = ["y"]: the server accepted b, a
  // arrives. Quire's old normal form made a ["x",{d:1}] and gave "xy".
  const TextOp a = Op().Delete(1).Insert("x");
  const TextOp b = Op().Insert("y");
  const TextOp server_a = Rebase(a, {&b, 1});
  EXPECT_EQ(server_a.ToJson(), "[1,{\"d\":1},\"x\"]");
  EXPECT_EQ(ApplyOk(ApplyOk("Q", b), server_a), "yx");
  TextOp local = a;
  TextOp remote = b;
  TransformX(&local, &remote);
  EXPECT_EQ(local, server_a);
  EXPECT_EQ(ApplyOk(ApplyOk("Q", a), remote), "yx");
}

TEST(TextOpTest, Issue7RebaseAcrossAHistory) {
  // Document "ab", a = [{d:1},1,"x"], history [[1,{d:1}],[1,"y"]] ("a",
  // then "ay"). ot-text-unicode folds 'right' to [{d:1},1,"x"] ("yx"),
  // 'left', the server's convention, to [{d:1},"x"] ("xy").
  const TextOp a = Op().Delete(1).Retain(1).Insert("x");
  const std::vector<TextOp> history = {Op().Retain(1).Delete(1), Op().Retain(1).Insert("y")};
  TextOp right = a;
  for (const TextOp& h : history) right = Transform(right, h, Side::kRight);
  EXPECT_EQ(right.ToJson(), "[{\"d\":1},1,\"x\"]");
  EXPECT_EQ(ApplyOk("ay", right), "yx");
  const TextOp rebased = Rebase(a, history);
  EXPECT_EQ(rebased.ToJson(), "[{\"d\":1},\"x\"]");
  EXPECT_EQ(ApplyOk("ay", rebased), "xy");
}

TEST(TextOpTest, Issue7TransformPositionFollowsComponentOrder) {
  EXPECT_EQ(TransformPosition(1, Op().Delete(1).Insert("x"), Stick::kBefore), 0u);
  EXPECT_EQ(TransformPosition(1, Op().Insert("x").Delete(1), Stick::kBefore), 1u);
  EXPECT_EQ(TransformPosition(1, Op().Delete(1).Insert("x"), Stick::kAfter), 1u);
}

}  // namespace
}  // namespace quire::ot
