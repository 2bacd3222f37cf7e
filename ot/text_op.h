// TextOp is an operational-transformation text operation over Unicode code
// points: a list of retain(n), insert(text) and delete(n) components that
// walks a document from its start. The rest of the document after the last
// component is implicitly retained.
//
// Every TextOp is in ot-text-unicode's normal form (the builders keep it
// so): no empty components, no two adjacent components of one kind, no
// trailing retain. Components are never reordered: [{d:1}, "x"] and
// ["x", {d:1}] give the same text but are different ops, and Transform and
// TransformPosition treat them differently, as ot-text-unicode does.
//
// Every function gives exactly what the npm package ot-text-unicode 4.0.0
// (ShareDB's text type) gives for the same normalized ops, component for
// component and position for position; tests/ot/ot_diff.js checks this
// against the package itself. docs/ot.md explains the model with worked
// examples.
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

// ot-text-unicode's 'left' and 'right': which op's text goes first when two
// ops insert at the same place. Transform(a, b, kLeft) puts a's text before
// b's; the other op of the pair is transformed with kRight. ShareDB's
// convention, which Quire follows: the op that is being caught up is kLeft.
// A server transforms an arriving op with kLeft against the ops it already
// accepted (Rebase); a client transforms its own pending op with kLeft and
// the server's op with kRight (TransformX).
enum class Side : uint8_t { kLeft, kRight };

// Where a caret exactly at an insertion point ends up. kBefore keeps it
// before the inserted text: ot-text-unicode's transformPosition, for remote
// cursors. kAfter (Quire's addition, ot-text-unicode has no equivalent)
// moves it past, for a user's own caret over their own typing.
enum class Stick : uint8_t { kBefore, kAfter };

class TextOp {
 public:
  TextOp() = default;

  // Validates components from outside (zero lengths, invalid UTF-8,
  // lengths over kMaxLength) and returns them normalized exactly as
  // ot-text-unicode's normalize() does (merge neighbours of one kind, drop
  // the trailing retain; nothing moves). ShareDB clients normalize before
  // they send, so their ops arrive unchanged.
  static Result<TextOp> FromComponents(std::vector<Component> components);

  // Builders append and keep the op normalized: a component of the kind of
  // the last one merges into it, any other is appended after it (as
  // ot-text-unicode's append). Zero lengths are no-ops.
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
// op retains or deletes past the end of the text (ot-text-unicode throws for
// the retain but cuts an overlong delete short; Quire refuses both).
Result<std::string> Apply(std::string_view text, const TextOp& op);

// Returns a' such that applying a' after b has a's intent: ot-text-unicode's
// transform(a, b, side). a and b were made on the same document. TP1 holds:
// with opposite sides,
// Apply(Apply(s, a), Transform(b, a, right)) == Apply(Apply(s, b), Transform(a, b, left)).
TextOp Transform(const TextOp& a, const TextOp& b, Side side);
// The same, writing into *out and reusing its storage (hot loops).
void Transform(const TextOp& a, const TextOp& b, Side side, TextOp* out);

// A client's catch-up, ShareDB's transformX: `local` (its pending op) and
// `remote` (an op the server accepted) were made on the same document.
// Afterwards *local applies after the remote op (transformed with kLeft)
// and *remote after the local one (with kRight); both orders reach the
// same text as the server's Rebase does.
void TransformX(TextOp* local, TextOp* remote);

// Returns one op with the effect of a then b (b was made on a's result):
// ot-text-unicode's compose(a, b).
TextOp Compose(const TextOp& a, const TextOp& b);

// Compose of a whole history, oldest first, as a balanced tree of pairwise
// composes: O(n log n) where a left fold is O(n^2) for scattered edits. The
// result equals the left fold (ot-text-unicode's compose is associative
// component for component; the differential test checks it).
TextOp ComposeAll(std::span<const TextOp> ops);

// The server's call: transforms `op`, made before `history` (the ops
// accepted since, oldest first), across all of it with ShareDB's server
// convention, op kLeft against each accepted op. So at one insertion point
// the arriving op's text goes before text accepted earlier, and the server
// ends where every ShareDB-style client (TransformX) ends.
TextOp Rebase(TextOp op, std::span<const TextOp> history);

// Returns the op that undoes `op`, given the text it was applied to:
// ot-text-unicode's invertWithDoc(op, text) with the deleted text dropped
// from the delete components (stripInvertible). OutOfRange when the op does
// not fit `text`.
Result<TextOp> Invert(const TextOp& op, std::string_view text);

// Where code point position `pos` of the document before `op` lies after
// it. With kBefore this is ot-text-unicode's transformPosition(pos, op)
// (and transformSelection, one end at a time): text inserted before pos
// moves it right, deleted text before it moves it left, and a position
// inside deleted text moves to where the deletion was. Which side of text
// inserted there it lands on follows the op's component order:
// TransformPosition(1, [{d:1}, "x"], kBefore) == 0, but 1 for ["x", {d:1}].
size_t TransformPosition(size_t pos, const TextOp& op, Stick stick);

}  // namespace quire::ot

#endif  // QUIRE_OT_TEXT_OP_H_
