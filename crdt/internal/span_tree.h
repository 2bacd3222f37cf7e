// SpanTree holds a document's characters in document order, deleted ones
// (tombstones) included, as run-length encoded spans of consecutive LVs.
// It is a B+ tree whose inner nodes count, per child, the visible and the
// total characters below, so finding a visible position, or the raw
// position (tombstones counted) of a cursor, walks one root-to-leaf path.
// An LvIndex finds the leaf holding any LV.
//
// Thread safety: none; const methods are safe concurrently.
#ifndef QUIRE_CRDT_INTERNAL_SPAN_TREE_H_
#define QUIRE_CRDT_INTERNAL_SPAN_TREE_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "crdt/internal/lv.h"
#include "crdt/internal/lv_index.h"

namespace quire::crdt::internal {

// Characters [lv, lv + len()), all deleted or all visible, consecutive in
// the document. Eight bytes: the length and the deleted flag share a word.
struct Span {
  Lv lv;

  static Span Make(Lv lv, uint32_t len, bool deleted) {
    Span s;
    s.lv = lv;
    s.len_and_deleted_ = len | (deleted ? kDeletedBit : 0u);
    return s;
  }
  uint32_t len() const { return len_and_deleted_ & ~kDeletedBit; }
  bool deleted() const { return (len_and_deleted_ & kDeletedBit) != 0; }
  // len() when visible, else 0. Branch-free: position lookups sum it over
  // runs of spans.
  uint32_t visible() const {
    return len_and_deleted_ & ~kDeletedBit &
           ~static_cast<uint32_t>(static_cast<int32_t>(len_and_deleted_) >> 31);
  }
  Lv end() const { return lv + len(); }
  void Grow(uint32_t n) { len_and_deleted_ += n; }  // REQUIRES: len() + n < 2^31.

 private:
  static constexpr uint32_t kDeletedBit = 0x80000000u;
  uint32_t len_and_deleted_;
};

// A place in the document: character `offset` of span `idx` of `leaf`.
// offset == span length means just after that span; idx == leaf size means
// the end of that leaf (only the last leaf: the document's end).
struct Cursor {
  uint32_t leaf = 0;
  uint32_t idx = 0;
  uint32_t offset = 0;
};

class SpanTree {
 public:
  SpanTree();

  uint32_t visible_len() const { return visible_; }
  uint32_t total_len() const { return total_; }

  // The place just after visible character pos - 1 (the document's start
  // for pos == 0), where a local insert at visible position pos goes.
  // REQUIRES: pos <= visible_len().
  // Not const: they remember the leaf they found (edits cluster).
  Cursor AfterVisible(uint32_t pos);
  // The visible character at `pos`. REQUIRES: pos < visible_len().
  Cursor AtVisible(uint32_t pos);
  // The character with `lv`; false when no span holds it.
  bool Find(Lv lv, Cursor* out) const;
  Cursor Start() const;

  // Moves a cursor with offset == span length to the next span's start
  // (possibly in the next leaf). False at the document's end.
  bool Normalize(Cursor* c) const;
  const Span& SpanAt(const Cursor& c) const;
  Lv LvAt(const Cursor& c) const { return SpanAt(c).lv + c.offset; }

  // Characters before the cursor: all of them, and the visible ones.
  // REQUIRES: no pending counts (FlushCounts()).
  uint32_t RawPos(const Cursor& c) const;
  uint32_t VisiblePos(const Cursor& c) const;

  // Extend() leaves the inner nodes' counts for its leaf pending (typing
  // pays for one walk up per run instead of one per keystroke). This adds
  // them; everything that reads inner counts does it first.
  void FlushCounts();

  // Inserts the visible run [lv, lv + len) at `at`. Returns the cursor just
  // after it, for a following insert to extend.
  Cursor Insert(const Cursor& at, Lv lv, uint32_t len);
  // Extends the span ending at `c` (offset == its length, its LVs end at
  // `lv`) by `len` visible characters; updates c. The caller checked that
  // the span is visible and its LVs continue with lv.
  void Extend(Cursor* c, uint32_t len);
  // Marks up to `max` characters deleted from `at` (normalized) on, within
  // at's span. Returns how many it walked; *newly_deleted counts those that
  // were visible (all or none of them). Cursors into the leaf are stale after.
  // When the character before the deleted ones is in the same span, *before
  // (if given) points at it afterwards; else before->leaf is kNil.
  uint32_t Delete(const Cursor& at, uint32_t max, uint32_t* newly_deleted,
                  Cursor* before = nullptr);
  bool Valid(const Cursor& c) const { return c.leaf != kNil; }

  // Fills an empty tree with `spans` in document order (decoding).
  void BuildFrom(const std::vector<Span>& spans);

  // Calls f(const Span&) for every span in document order.
  template <typename F>
  void ForEach(F&& f) const {
    for (uint32_t l = first_leaf_; l != kNil; l = leaves_[l].next) {
      const Leaf& leaf = leaves_[l];
      for (uint32_t i = 0; i < leaf.n; ++i) f(leaf.spans[i]);
    }
  }

  size_t MemoryUsage() const;
  void CheckInvariants() const;

 private:
  static constexpr uint32_t kNil = UINT32_MAX;
  static constexpr uint32_t kLeafCap = 32;
  static constexpr uint32_t kNodeCap = 32;

  struct Leaf {
    uint32_t parent = kNil;
    uint32_t slot = 0;  // Index in the parent's child[].
    uint32_t next = kNil;
    uint32_t n = 0;
    Span spans[kLeafCap];
  };
  struct Node {
    uint32_t parent = kNil;
    uint32_t slot = 0;
    uint32_t n = 0;
    uint32_t child[kNodeCap];
    uint32_t visible[kNodeCap];
    uint32_t total[kNodeCap];
  };

  // Adds to the counts on the path from `leaf` to the root.
  void AddCounts(uint32_t leaf, int64_t dvisible, int64_t dtotal);
  // Makes room for one more span in the leaf of *c, splitting it when full;
  // *c is moved to the leaf that now holds its position.
  void EnsureRoom(Cursor* c, uint32_t needed);
  // Inserts `right` (a new leaf or node holding v visible and t total
  // characters taken from `left`) after `left` in left's parent.
  void InsertChild(uint32_t left, uint32_t right, bool is_leaf, uint32_t v, uint32_t t);
  void InsertSpanAt(Cursor* c, Span s);  // At c.idx; c points at it after.
  void RemoveSpan(Leaf* leaf, uint32_t idx);  // Its counts are the caller's.
  uint32_t LeafVisible(const Leaf& leaf) const;
  uint32_t LeafTotal(const Leaf& leaf) const;
  uint32_t CheckNode(uint32_t id, uint32_t depth, uint32_t* vis, uint32_t* tot,
                     bool* has_lazy) const;

  std::vector<Leaf> leaves_;
  std::vector<Node> nodes_;
  uint32_t root_ = 0;
  uint32_t height_ = 0;  // 0: the root is a leaf.
  uint32_t first_leaf_ = 0;
  uint32_t visible_ = 0;
  uint32_t total_ = 0;
  LvIndex index_;
  // Counts Extend() added to lazy_leaf_ but not yet to its ancestors.
  uint32_t lazy_leaf_ = kNil;
  uint32_t lazy_added_ = 0;
  // The leaf AtVisible() found last, the visible characters before it and
  // in it. Any change elsewhere in the tree clears it (kNil).
  uint32_t hint_leaf_ = kNil;
  uint32_t hint_start_ = 0;
  uint32_t hint_visible_ = 0;
};

}  // namespace quire::crdt::internal

#endif  // QUIRE_CRDT_INTERNAL_SPAN_TREE_H_
