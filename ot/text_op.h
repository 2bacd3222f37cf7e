// TextOp is an operational-transformation text operation over Unicode code
// points: a list of retain(n), insert(text) and delete(n) components that
// walks a document from its start. The rest of the document after the last
// component is implicitly retained.
//
// Every TextOp is normalized (the builders keep it so): no empty
// components, no two adjacent components of one kind, inserted text before
// deleted text wherever the two meet between retains, and no trailing
// retain. So two ops that do the same thing to every document compare
// equal. docs/ot.md explains the model with worked examples; the semantic
// reference is the npm package ot-text-unicode (ShareDB's text type).
//
// Thread safety: a value type. Const methods may run concurrently.
#ifndef QUIRE_OT_TEXT_OP_H_
#define QUIRE_OT_TEXT_OP_H_

#include <cstddef>
#include <cstdint>
#include <ostream>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/result.h"

namespace quire::ot {

// Lengths larger than this are rejected from outside input, so sums over
// any op or document never overflow 64 bits.
inline constexpr size_t kMaxLength = size_t{1} << 40;

struct Component {
  enum class Kind : uint8_t { kRetain, kInsert, kDelete };
  Kind kind = Kind::kRetain;
  size_t count = 0;  // Code points retained, inserted or deleted.
  std::string text;  // kInsert only: the inserted text, UTF-8.

  static Component Retain(size_t n) { return {Kind::kRetain, n, {}}; }
  static Component Delete(size_t n) { return {Kind::kDelete, n, {}}; }
  // REQUIRES: `utf8` is valid UTF-8.
  static Component Insert(std::string_view utf8);

  friend bool operator==(const Component&, const Component&) = default;
};

// Which op's insert goes first when two ops insert at the same position:
// Transform(a, b, kLeft) puts a's text before b's. The two sides of one
// pair must differ (a server picks: the op it already accepted is kLeft).
enum class Side : uint8_t { kLeft, kRight };

// Where a cursor at an insertion point ends up: kBefore keeps it before the
// inserted text, kAfter moves it past (a user's own caret when they type).
enum class Stick : uint8_t { kBefore, kAfter };

class TextOp {
 public:
  TextOp() = default;

  // Validates components from outside (zero lengths, invalid UTF-8,
  // lengths over kMaxLength) and returns them normalized.
  static Result<TextOp> FromComponents(std::vector<Component> components);

  // Builders append and keep the op normalized. Zero lengths are no-ops.
  TextOp& Retain(size_t n);
  // REQUIRES: valid UTF-8. The two-argument form takes the code point count
  // when the caller knows it.
  TextOp& Insert(std::string_view utf8);
  TextOp& Insert(std::string_view utf8, size_t code_points);
  TextOp& Delete(size_t n);

  const std::vector<Component>& components() const { return components_; }
  bool IsNoop() const { return components_.empty(); }
  // The shortest document this op fits: retained plus deleted code points.
  size_t BaseLength() const;
  size_t InsertedLength() const;
  size_t DeletedLength() const;

  friend bool operator==(const TextOp& a, const TextOp& b) {
    return a.components_ == b.components_;
  }
  // JSON in ot-text-unicode's form: [3, "ab", {"d": 2}].
  std::string ToJson() const;

 private:
  void FlushRetain();
  friend void Transform(const TextOp&, const TextOp&, Side, TextOp*);

  std::vector<Component> components_;
  // A retain is held back until something follows it, so an op never ends
  // in a retain. Not part of the op's value.
  size_t pending_retain_ = 0;
};

std::ostream& operator<<(std::ostream& os, const TextOp& op);

// The text after applying `op` to `text` (valid UTF-8). OutOfRange when the
// op retains or deletes past the end of the text.
Result<std::string> Apply(std::string_view text, const TextOp& op);

// Returns a' such that applying a' after b has a's intent. a and b were made
// on the same document. TP1 holds: with opposite sides,
// Apply(Apply(s, a), Transform(b, a, right)) == Apply(Apply(s, b), Transform(a, b, left)).
TextOp Transform(const TextOp& a, const TextOp& b, Side side);
// The same, writing into *out and reusing its storage (hot loops).
void Transform(const TextOp& a, const TextOp& b, Side side, TextOp* out);

// Returns one op with the effect of a then b (b was made on a's result).
TextOp Compose(const TextOp& a, const TextOp& b);

// Compose of a whole history, oldest first, as a balanced tree of pairwise
// composes: O(n log n) where a left fold is O(n^2) for scattered edits.
TextOp ComposeAll(std::span<const TextOp> ops);

// Transforms `op`, made before `history` (oldest first), across all of it:
// what a server does with a client op that is behind. `side` is op's side
// against each history op (a server passes kRight: accepted ops go first).
TextOp Rebase(TextOp op, std::span<const TextOp> history, Side side);

// Returns the op that undoes `op`, given the text it was applied to.
// OutOfRange when the op does not fit `text`.
Result<TextOp> Invert(const TextOp& op, std::string_view text);

// Where code point position `pos` of the document before `op` lies after
// it. A position inside deleted text moves to where the deletion was.
size_t TransformPosition(size_t pos, const TextOp& op, Stick stick);

}  // namespace quire::ot

#endif  // QUIRE_OT_TEXT_OP_H_
