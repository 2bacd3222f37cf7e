#include "crdt/internal/span_tree.h"

#include <algorithm>
#include <cassert>
#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace quire::crdt::internal {
namespace {

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "SpanTree invariant broken: %s\n", what);
  std::abort();
}

}  // namespace

SpanTree::SpanTree() { leaves_.emplace_back(); }

Cursor SpanTree::Start() const { return Cursor{first_leaf_, 0, 0}; }

Cursor SpanTree::AtVisible(uint32_t pos) {
  uint32_t id;
  if (hint_leaf_ != kNil && pos >= hint_start_ && pos - hint_start_ < hint_visible_) {
    id = hint_leaf_;
    pos -= hint_start_;
  } else {
    FlushCounts();
    const uint32_t target = pos;
    uint32_t leaf_visible = visible_;
    id = root_;
    for (uint32_t h = height_; h > 0; --h) {
      const Node& nd = nodes_[id];
      uint32_t i = 0;
      while (i + 1 < nd.n && pos >= nd.visible[i]) pos -= nd.visible[i++];
      leaf_visible = nd.visible[i];
      id = nd.child[i];
    }
    hint_leaf_ = id;
    hint_start_ = target - pos;
    hint_visible_ = leaf_visible;
  }
  const Leaf& leaf = leaves_[id];
  uint32_t i = 0;
  while (i + 1 < leaf.n && pos >= leaf.spans[i].visible()) pos -= leaf.spans[i++].visible();
  return Cursor{id, i, pos};
}

Cursor SpanTree::AfterVisible(uint32_t pos) {
  if (pos == 0) return Start();
  Cursor c = AtVisible(pos - 1);
  ++c.offset;
  return c;
}

bool SpanTree::Find(Lv lv, Cursor* out) const {
  const uint32_t l = index_.Find(lv);
  if (l == LvIndex::kNone || l >= leaves_.size()) return false;
  const Leaf& leaf = leaves_[l];
  for (uint32_t i = 0; i < leaf.n; ++i) {
    const Span& s = leaf.spans[i];
    if (lv >= s.lv && lv - s.lv < s.len()) {
      *out = Cursor{l, i, lv - s.lv};
      return true;
    }
  }
  return false;
}

bool SpanTree::Normalize(Cursor* c) const {
  while (true) {
    const Leaf& leaf = leaves_[c->leaf];
    if (c->idx < leaf.n) {
      if (c->offset < leaf.spans[c->idx].len()) return true;
      ++c->idx;
      c->offset = 0;
      continue;
    }
    if (leaf.next == kNil) return false;
    *c = Cursor{leaf.next, 0, 0};
  }
}

const Span& SpanTree::SpanAt(const Cursor& c) const { return leaves_[c.leaf].spans[c.idx]; }

uint32_t SpanTree::RawPos(const Cursor& c) const {
  assert(lazy_leaf_ == kNil);
  const Leaf& leaf = leaves_[c.leaf];
  uint32_t pos = 0;
  for (uint32_t i = 0; i < c.idx && i < leaf.n; ++i) pos += leaf.spans[i].len();
  if (c.idx < leaf.n) pos += c.offset;
  uint32_t slot = leaf.slot;
  for (uint32_t p = leaf.parent; p != kNil; slot = nodes_[p].slot, p = nodes_[p].parent) {
    const Node& nd = nodes_[p];
    for (uint32_t i = 0; i < slot; ++i) pos += nd.total[i];
  }
  return pos;
}

uint32_t SpanTree::VisiblePos(const Cursor& c) const {
  assert(lazy_leaf_ == kNil);
  const Leaf& leaf = leaves_[c.leaf];
  uint32_t pos = 0;
  for (uint32_t i = 0; i < c.idx && i < leaf.n; ++i) pos += leaf.spans[i].visible();
  if (c.idx < leaf.n && !leaf.spans[c.idx].deleted()) pos += c.offset;
  uint32_t slot = leaf.slot;
  for (uint32_t p = leaf.parent; p != kNil; slot = nodes_[p].slot, p = nodes_[p].parent) {
    const Node& nd = nodes_[p];
    for (uint32_t i = 0; i < slot; ++i) pos += nd.visible[i];
  }
  return pos;
}

void SpanTree::AddCounts(uint32_t leaf, int64_t dvisible, int64_t dtotal) {
  visible_ = static_cast<uint32_t>(visible_ + dvisible);
  total_ = static_cast<uint32_t>(total_ + dtotal);
  if (leaf == hint_leaf_) {
    hint_visible_ = static_cast<uint32_t>(hint_visible_ + dvisible);
  } else if (dvisible != 0) {
    hint_leaf_ = kNil;  // Positions after this leaf moved.
  }
  uint32_t slot = leaves_[leaf].slot;
  for (uint32_t p = leaves_[leaf].parent; p != kNil; slot = nodes_[p].slot, p = nodes_[p].parent) {
    Node& nd = nodes_[p];
    nd.visible[slot] = static_cast<uint32_t>(nd.visible[slot] + dvisible);
    nd.total[slot] = static_cast<uint32_t>(nd.total[slot] + dtotal);
  }
}

uint32_t SpanTree::LeafVisible(const Leaf& leaf) const {
  uint32_t n = 0;
  for (uint32_t i = 0; i < leaf.n; ++i) n += leaf.spans[i].visible();
  return n;
}

uint32_t SpanTree::LeafTotal(const Leaf& leaf) const {
  uint32_t n = 0;
  for (uint32_t i = 0; i < leaf.n; ++i) n += leaf.spans[i].len();
  return n;
}

void SpanTree::InsertChild(uint32_t left, uint32_t right, bool is_leaf, uint32_t v,
                           uint32_t t) {
  auto parent_of = [&](uint32_t id) -> uint32_t& {
    return is_leaf ? leaves_[id].parent : nodes_[id].parent;
  };
  auto slot_of = [&](uint32_t id) -> uint32_t& {
    return is_leaf ? leaves_[id].slot : nodes_[id].slot;
  };
  uint32_t p = parent_of(left);
  if (p == kNil) {  // left was the root: grow a level.
    Node root;
    root.n = 2;
    root.child[0] = left;
    root.child[1] = right;
    root.visible[0] = visible_ - v;
    root.total[0] = total_ - t;
    root.visible[1] = v;
    root.total[1] = t;
    root_ = static_cast<uint32_t>(nodes_.size());
    nodes_.push_back(root);
    parent_of(left) = root_;
    parent_of(right) = root_;
    slot_of(left) = 0;
    slot_of(right) = 1;
    ++height_;
    return;
  }
  uint32_t slot = slot_of(left);
  nodes_[p].visible[slot] -= v;
  nodes_[p].total[slot] -= t;
  if (nodes_[p].n == kNodeCap) {
    const uint32_t half = kNodeCap / 2;
    Node upper;
    uint32_t qv = 0, qt = 0;
    for (uint32_t i = half; i < kNodeCap; ++i) {
      upper.child[i - half] = nodes_[p].child[i];
      upper.visible[i - half] = nodes_[p].visible[i];
      upper.total[i - half] = nodes_[p].total[i];
      qv += nodes_[p].visible[i];
      qt += nodes_[p].total[i];
    }
    upper.n = kNodeCap - half;
    const auto q = static_cast<uint32_t>(nodes_.size());
    nodes_.push_back(upper);
    nodes_[p].n = half;
    for (uint32_t i = 0; i < nodes_[q].n; ++i) {
      parent_of(nodes_[q].child[i]) = q;
      slot_of(nodes_[q].child[i]) = i;
    }
    // `right` will join q when `left` moved there: count it in q's entry
    // of the grandparent (p's entry still holds it, inside left's count).
    const bool into_q = slot >= half;
    InsertChild(p, q, /*is_leaf=*/false, qv + (into_q ? v : 0), qt + (into_q ? t : 0));
    if (into_q) {
      p = q;
      slot -= half;
    }
  }
  Node& nd = nodes_[p];
  for (uint32_t i = nd.n; i > slot + 1; --i) {
    nd.child[i] = nd.child[i - 1];
    nd.visible[i] = nd.visible[i - 1];
    nd.total[i] = nd.total[i - 1];
    slot_of(nd.child[i]) = i;
  }
  slot_of(right) = slot + 1;
  nd.child[slot + 1] = right;
  nd.visible[slot + 1] = v;
  nd.total[slot + 1] = t;
  ++nd.n;
  parent_of(right) = p;
}

void SpanTree::EnsureRoom(Cursor* c, uint32_t needed) {
  if (leaves_[c->leaf].n + needed <= kLeafCap) return;
  FlushCounts();
  hint_leaf_ = kNil;
  const uint32_t old_id = c->leaf;
  const auto new_id = static_cast<uint32_t>(leaves_.size());
  leaves_.emplace_back();
  Leaf& old_leaf = leaves_[old_id];
  Leaf& new_leaf = leaves_[new_id];
  // Split in the middle, but when the edit is at the leaf's end (typing at
  // the end of a run), move only what follows it: the old leaf stays full
  // and fewer spans change leaves.
  const uint32_t half = c->idx + 2 >= old_leaf.n && c->idx > 0 ? c->idx : old_leaf.n / 2;
  uint32_t v = 0, t = 0;
  Lv run_start = 0;  // LV-contiguous moved spans update the index at once.
  uint32_t run_len = 0;
  for (uint32_t i = half; i < old_leaf.n; ++i) {
    const Span& s = old_leaf.spans[i];
    new_leaf.spans[i - half] = s;
    v += s.visible();
    t += s.len();
    if (run_len > 0 && run_start + run_len == s.lv) {
      run_len += s.len();
    } else {
      if (run_len > 0) index_.Set(run_start, run_len, new_id);
      run_start = s.lv;
      run_len = s.len();
    }
  }
  if (run_len > 0) index_.Set(run_start, run_len, new_id);
  new_leaf.n = old_leaf.n - half;
  old_leaf.n = half;
  new_leaf.next = old_leaf.next;
  old_leaf.next = new_id;
  InsertChild(old_id, new_id, /*is_leaf=*/true, v, t);
  if (c->idx >= half) {
    c->leaf = new_id;
    c->idx -= half;
  }
}

void SpanTree::RemoveSpan(Leaf* leaf, uint32_t idx) {
  std::memmove(&leaf->spans[idx], &leaf->spans[idx + 1], (leaf->n - idx - 1) * sizeof(Span));
  --leaf->n;
}

void SpanTree::InsertSpanAt(Cursor* c, Span s) {
  Leaf& leaf = leaves_[c->leaf];
  std::memmove(&leaf.spans[c->idx + 1], &leaf.spans[c->idx], (leaf.n - c->idx) * sizeof(Span));
  leaf.spans[c->idx] = s;
  ++leaf.n;
}

Cursor SpanTree::Insert(const Cursor& at, Lv lv, uint32_t len) {
  Cursor c = at;
  {
    const Leaf& leaf = leaves_[c.leaf];
    // Where in the leaf the new span goes; split a span we land inside.
    if (c.idx < leaf.n && c.offset > 0) {
      const Span& s = leaf.spans[c.idx];
      if (c.offset < s.len()) {
        EnsureRoom(&c, 2);
        Leaf& l = leaves_[c.leaf];
        Span& left = l.spans[c.idx];
        const Span right = Span::Make(left.lv + c.offset, left.len() - c.offset, left.deleted());
        left = Span::Make(left.lv, c.offset, left.deleted());
        Cursor r{c.leaf, c.idx + 1, 0};
        InsertSpanAt(&r, right);
      }
      ++c.idx;
      c.offset = 0;
    }
  }
  // Run-length: continue the span before when its LVs run on into ours.
  if (c.idx > 0) {
    Span& prev = leaves_[c.leaf].spans[c.idx - 1];
    if (!prev.deleted() && prev.lv + prev.len() == lv) {
      prev.Grow(len);
      index_.Set(lv, len, c.leaf);
      AddCounts(c.leaf, len, len);
      return Cursor{c.leaf, c.idx - 1, prev.len()};
    }
  }
  EnsureRoom(&c, 1);
  InsertSpanAt(&c, Span::Make(lv, len, false));
  index_.Set(lv, len, c.leaf);
  AddCounts(c.leaf, len, len);
  return Cursor{c.leaf, c.idx, len};
}

void SpanTree::Extend(Cursor* c, uint32_t len) {
  Span& s = leaves_[c->leaf].spans[c->idx];
  index_.Set(s.lv + s.len(), len, c->leaf);
  s.Grow(len);
  c->offset += len;
  visible_ += len;
  total_ += len;
  if (c->leaf == hint_leaf_) {
    hint_visible_ += len;
  } else {
    hint_leaf_ = kNil;
  }
  if (lazy_leaf_ != c->leaf) {
    FlushCounts();
    lazy_leaf_ = c->leaf;
  }
  lazy_added_ += len;  // Visible and total alike: Extend adds visible text.
}

void SpanTree::FlushCounts() {
  if (lazy_leaf_ == kNil) return;
  const uint32_t leaf = lazy_leaf_;
  const uint32_t n = lazy_added_;
  lazy_leaf_ = kNil;
  lazy_added_ = 0;
  uint32_t slot = leaves_[leaf].slot;
  for (uint32_t p = leaves_[leaf].parent; p != kNil; slot = nodes_[p].slot, p = nodes_[p].parent) {
    nodes_[p].visible[slot] += n;
    nodes_[p].total[slot] += n;
  }
}

uint32_t SpanTree::Delete(const Cursor& at, uint32_t max, uint32_t* newly_deleted,
                          Cursor* before) {
  if (before != nullptr) before->leaf = kNil;
  Cursor c = at;
  Span s = SpanAt(c);
  const uint32_t k = std::min(max, s.len() - c.offset);
  *newly_deleted = 0;
  if (s.deleted() || k == 0) return k;
  *newly_deleted = k;
  const bool has_left = c.offset > 0;
  const bool has_right = c.offset + k < s.len();
  Leaf* leaf = &leaves_[c.leaf];
  // Run-length: join a deleted neighbour whose LVs are contiguous.
  if (!has_left && c.idx > 0) {
    Span& prev = leaf->spans[c.idx - 1];
    if (prev.deleted() && prev.lv + prev.len() == s.lv) {
      prev.Grow(k);
      if (has_right) {
        leaf->spans[c.idx] = Span::Make(s.lv + k, s.len() - k, false);
      } else {
        RemoveSpan(leaf, c.idx);
      }
      AddCounts(c.leaf, -static_cast<int64_t>(k), 0);
      return k;
    }
  }
  if (!has_right && c.idx + 1 < leaf->n) {
    Span& next = leaf->spans[c.idx + 1];
    if (next.deleted() && s.lv + s.len() == next.lv) {
      next = Span::Make(next.lv - k, next.len() + k, true);
      if (has_left) {
        leaf->spans[c.idx] = Span::Make(s.lv, c.offset, false);
        if (before != nullptr) *before = Cursor{c.leaf, c.idx, c.offset - 1};
      } else {
        RemoveSpan(leaf, c.idx);
      }
      AddCounts(c.leaf, -static_cast<int64_t>(k), 0);
      return k;
    }
  }
  EnsureRoom(&c, 2);
  leaf = &leaves_[c.leaf];
  uint32_t i = c.idx;
  if (has_left) {
    leaf->spans[i] = Span::Make(s.lv, c.offset, false);
    if (before != nullptr) *before = Cursor{c.leaf, i, c.offset - 1};
    Cursor ins{c.leaf, ++i, 0};
    InsertSpanAt(&ins, Span::Make(s.lv + c.offset, k, true));
  } else {
    leaf->spans[i] = Span::Make(s.lv, k, true);
  }
  if (has_right) {
    Cursor ins{c.leaf, i + 1, 0};
    InsertSpanAt(&ins, Span::Make(s.lv + c.offset + k, s.len() - c.offset - k, false));
  }
  AddCounts(c.leaf, -static_cast<int64_t>(k), 0);
  return k;
}

void SpanTree::BuildFrom(const std::vector<Span>& spans) {
  // Leaves three quarters full, so the edits that follow rarely split.
  constexpr uint32_t kFill = kLeafCap * 3 / 4;
  constexpr uint32_t kNodeFill = kNodeCap * 3 / 4;
  leaves_.clear();
  nodes_.clear();
  // Exact sizes up front: no regrowing (and re-faulting) of big arrays.
  const size_t n_leaves = std::max<size_t>(1, (spans.size() + kFill - 1) / kFill);
  leaves_.reserve(n_leaves);
  nodes_.reserve(n_leaves / (kNodeFill - 1) + 8);
  std::vector<std::pair<Lv, uint32_t>> index;
  index.reserve(spans.size());
  std::vector<uint32_t> level;  // Ids of the level being built.
  std::vector<uint32_t> vis, tot;
  visible_ = total_ = 0;
  for (size_t i = 0; i < spans.size() || leaves_.empty(); i += kFill) {
    const auto id = static_cast<uint32_t>(leaves_.size());
    leaves_.emplace_back();
    Leaf& leaf = leaves_.back();
    leaf.n = static_cast<uint32_t>(
        std::min<size_t>(kFill, spans.size() - std::min(i, spans.size())));
    uint32_t v = 0, t = 0;
    for (uint32_t k = 0; k < leaf.n; ++k) {
      leaf.spans[k] = spans[i + k];
      v += spans[i + k].visible();
      t += spans[i + k].len();
      index.emplace_back(spans[i + k].lv, id);
    }
    if (id > 0) leaves_[id - 1].next = id;
    level.push_back(id);
    vis.push_back(v);
    tot.push_back(t);
    visible_ += v;
    total_ += t;
    if (spans.empty()) break;
  }
  first_leaf_ = 0;
  height_ = 0;
  bool leaf_level = true;
  while (level.size() > 1) {
    std::vector<uint32_t> up, up_vis, up_tot;
    for (size_t i = 0; i < level.size();) {
      const auto id = static_cast<uint32_t>(nodes_.size());
      nodes_.emplace_back();
      Node& nd = nodes_.back();
      size_t take = std::min<size_t>(kNodeFill, level.size() - i);
      if (level.size() - i - take == 1) ++take;  // Leave no lone child for a last node.
      nd.n = static_cast<uint32_t>(take);
      uint32_t v = 0, t = 0;
      for (uint32_t k = 0; k < nd.n; ++k) {
        const uint32_t child = level[i + k];
        nd.child[k] = child;
        nd.visible[k] = vis[i + k];
        nd.total[k] = tot[i + k];
        v += vis[i + k];
        t += tot[i + k];
        if (leaf_level) {
          leaves_[child].parent = id;
          leaves_[child].slot = k;
        } else {
          nodes_[child].parent = id;
          nodes_[child].slot = k;
        }
      }
      i += take;
      up.push_back(id);
      up_vis.push_back(v);
      up_tot.push_back(t);
    }
    level = std::move(up);
    vis = std::move(up_vis);
    tot = std::move(up_tot);
    leaf_level = false;
    ++height_;
  }
  root_ = level[0];
  Lv end = 0;
  for (const Span& sp : spans) end = std::max(end, sp.lv + sp.len());
  SortByLv(&index, end);
  index_.BuildFrom(index, end);
  hint_leaf_ = kNil;
  lazy_leaf_ = kNil;
  lazy_added_ = 0;
}

size_t SpanTree::MemoryUsage() const {
  return leaves_.capacity() * sizeof(Leaf) + nodes_.capacity() * sizeof(Node) +
         index_.MemoryUsage();
}

uint32_t SpanTree::CheckNode(uint32_t id, uint32_t depth, uint32_t* vis, uint32_t* tot,
                             bool* has_lazy) const {
  if (depth == height_) {
    const Leaf& leaf = leaves_[id];
    if (leaf.n == 0 && !(id == root_ && height_ == 0)) Fail("empty leaf");
    for (uint32_t i = 0; i < leaf.n; ++i) {
      const Span& s = leaf.spans[i];
      if (s.len() == 0) Fail("empty span");
      if (index_.Find(s.lv) != id || index_.Find(s.lv + s.len() - 1) != id) {
        Fail("LV index does not point at the span's leaf");
      }
    }
    *vis = LeafVisible(leaf);
    *tot = LeafTotal(leaf);
    *has_lazy = id == lazy_leaf_;
    return 1;
  }
  const Node& nd = nodes_[id];
  if (nd.n == 0) Fail("empty node");
  *vis = 0;
  *tot = 0;
  *has_lazy = false;
  uint32_t leaves = 0;
  for (uint32_t i = 0; i < nd.n; ++i) {
    uint32_t v, t;
    bool lazy;
    const uint32_t child = nd.child[i];
    const uint32_t parent = depth + 1 == height_ ? leaves_[child].parent : nodes_[child].parent;
    if (parent != id) Fail("wrong parent pointer");
    const uint32_t slot = depth + 1 == height_ ? leaves_[child].slot : nodes_[child].slot;
    if (slot != i) Fail("wrong slot");
    leaves += CheckNode(child, depth + 1, &v, &t, &lazy);
    // Counts Extend() left pending are missing from the stored ones.
    const uint32_t pending = lazy ? lazy_added_ : 0;
    if (v != nd.visible[i] + pending || t != nd.total[i] + pending) Fail("wrong child counts");
    *vis += v;
    *tot += t;
    *has_lazy = *has_lazy || lazy;
  }
  return leaves;
}

void SpanTree::CheckInvariants() const {
  uint32_t v, t;
  bool lazy;
  const uint32_t leaves = CheckNode(root_, 0, &v, &t, &lazy);
  if (v != visible_ || t != total_) Fail("wrong document counts");
  uint32_t linked = 0;
  for (uint32_t l = first_leaf_; l != kNil; l = leaves_[l].next) ++linked;
  if (linked != leaves) Fail("leaf chain does not match the tree");
}

}  // namespace quire::crdt::internal
