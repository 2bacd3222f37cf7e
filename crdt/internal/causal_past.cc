// Validation of a change against its causal past (docs/crdt.md,
// "Validating untrusted changes"): what a server checks before it
// integrates a change from a client it does not trust.
#include <algorithm>
#include <map>
#include <utility>

#include "crdt/internal/doc_state.h"

namespace quire::crdt::internal {
namespace {

constexpr Lv kEnd = kRootLv;  // The document's end, as a right origin.

// The ops in the causal past of `heads` (the heads included), found lazily:
// Contains(v) walks the graph back from the heads only as far as v, never
// over an entry twice, and stops at the first closed entry (whose past is
// everything before it: where an up-to-date replica's change arrived).
class CausalPast {
 public:
  CausalPast(const History& h, const std::vector<Lv>& heads) : h_(h), todo_(heads) {
    std::make_heap(todo_.begin(), todo_.end());
  }

  bool Contains(Lv v) {
    if (all_below_ != kRootLv && v <= all_below_) return true;
    while (!todo_.empty() && todo_.front() >= v) {
      std::pop_heap(todo_.begin(), todo_.end());
      const Lv x = todo_.back();
      todo_.pop_back();
      // Popped in decreasing order: x is covered when it lies in the last
      // interval found (which ends at or above it).
      if (!found_.empty() && x >= found_.back().first) continue;
      // Ops of one entry form a chain: x's past holds the entry up to x.
      const GraphEntry& e = h_.EntryAt(x);
      if (e.closed) {
        // x's past is every op up to x: nothing below needs walking.
        all_below_ = x;
        todo_.clear();
        break;
      }
      found_.emplace_back(e.lv, x);
      for (uint32_t i = 0; i < e.parents_count; ++i) {
        todo_.push_back(h_.parent_pool()[e.parents_start + i]);
        std::push_heap(todo_.begin(), todo_.end());
      }
    }
    if (all_below_ != kRootLv && v <= all_below_) return true;
    // found_ holds disjoint intervals in decreasing order.
    auto it = std::partition_point(found_.begin(), found_.end(),
                                   [v](const std::pair<Lv, Lv>& f) { return f.first > v; });
    return it != found_.end() && it->second >= v;
  }

  // Whether all of [lo, hi] is in the past: within one graph entry, the
  // ops in the past are a prefix, so its highest LV of the range decides.
  bool ContainsAll(Lv lo, Lv hi) {
    for (Lv x = lo; x <= hi;) {
      const GraphEntry& e = h_.EntryAt(x);
      const Lv last = std::min(hi, e.lv + e.len - 1);
      if (!Contains(last)) return false;
      x = last + 1;
    }
    return true;
  }

  // The first LV of [lo, hi) in the past, or kRootLv.
  Lv FirstIn(Lv lo, Lv hi) {
    for (Lv x = lo; x < hi;) {
      const GraphEntry& e = h_.EntryAt(x);
      if (Contains(x)) return x;
      x = std::min(hi, e.lv + e.len);
    }
    return kRootLv;
  }

 private:
  const History& h_;
  std::vector<Lv> todo_;                  // A max-heap of LVs to walk back from.
  std::vector<std::pair<Lv, Lv>> found_;  // [first, last] in the past, decreasing.
  Lv all_below_ = kRootLv;  // Once a closed entry is met: every op up to it is in the past.
};

// The order of the version a change's op k was made on: the characters of
// its causal past (in the document's order, which the document already
// has) with the change's earlier inserts placed in the gaps between them.
// Each insert goes right after its left origin (which the check made
// adjacent to its right one), so the gaps are small lists.
class VersionOrder {
 public:
  VersionOrder(const SpanTree& tree, CausalPast& past, Lv base_lv)
      : tree_(tree), past_(past), base_lv_(base_lv) {}

  // The character after `x` (kRootLv: the start) in this version, or kEnd.
  Lv Next(Lv x) {
    if (InChange(x)) {
      const Node& n = nodes_[NodeOf(x)];
      if (x + 1 < n.lv + n.len) return x + 1;
      return n.next >= 0 ? nodes_[n.next].lv : n.gap_end;
    }
    const Lv v = NextInPast(x);
    auto gap = gaps_.find(v);
    return gap != gaps_.end() ? nodes_[gap->second].lv : v;
  }

  // Places the run [lv, lv + len) right after `x`.
  void InsertAfter(Lv x, Lv lv, uint32_t len) {
    Node node{lv, len, -1, kEnd};
    const int id = static_cast<int>(nodes_.size());
    if (InChange(x)) {
      const int at = NodeOf(x);
      if (x + 1 < nodes_[at].lv + nodes_[at].len) {  // Split the run after x.
        Node tail{x + 1, nodes_[at].lv + nodes_[at].len - (x + 1), nodes_[at].next,
                  nodes_[at].gap_end};
        nodes_[at].len = x + 1 - nodes_[at].lv;
        nodes_[at].next = id + 1;
        by_lv_.emplace(tail.lv, id + 1);
        node.next = id + 1;
        node.gap_end = tail.gap_end;
        nodes_.push_back(node);
        nodes_.push_back(tail);
      } else {
        node.next = nodes_[at].next;
        node.gap_end = nodes_[at].gap_end;
        nodes_.push_back(node);
      }
      nodes_[at].next = id;
    } else {
      const Lv v = NextInPast(x);
      auto [gap, added] = gaps_.emplace(v, id);
      if (!added) {
        node.next = gap->second;
        gap->second = id;
      }
      node.gap_end = v;
      nodes_.push_back(node);
    }
    by_lv_.emplace(lv, id);
  }

 private:
  struct Node {  // A run of the change's inserts, and what follows it.
    Lv lv;
    uint32_t len;
    int next;    // The next run in the same gap, or -1.
    Lv gap_end;  // The past's character that ends the gap (kEnd: the document's end).
  };

  bool InChange(Lv x) const { return x != kRootLv && x >= base_lv_; }
  int NodeOf(Lv x) const { return std::prev(by_lv_.upper_bound(x))->second; }

  // The first character of the causal past after `x` (kRootLv: the start)
  // in the document, or kEnd. Characters not in the past (concurrent
  // ones) are skipped a span at a time.
  Lv NextInPast(Lv x) {
    Cursor c = tree_.Start();
    if (x != kRootLv) {
      tree_.Find(x, &c);
      ++c.offset;
    }
    while (tree_.Normalize(&c)) {
      const Span& s = tree_.SpanAt(c);
      const Lv first = past_.FirstIn(s.lv + c.offset, s.end());
      if (first != kRootLv) return first;
      c.offset = s.len();
    }
    return kEnd;
  }

  const SpanTree& tree_;
  CausalPast& past_;
  Lv base_lv_;
  std::vector<Node> nodes_;
  std::map<Lv, int> by_lv_;  // First LV of each run -> its node.
  std::map<Lv, int> gaps_;   // The past's character after a gap -> the gap's first run.
};

}  // namespace

Status DocState::ValidateCausalPast(const Change& change) {
  uint64_t len = 0;
  QUIRE_RETURN_IF_ERROR(ValidateShape(change, &len));
  Id waits_for;
  switch (CheckReady(change, len, &waits_for)) {
    case Readiness::kDuplicate:
      return Status::Ok();
    case Readiness::kMissing:
      return NotFound("change " + ToString(change.id) + " waits for " + ToString(waits_for));
    case Readiness::kReady:
      break;
  }
  tree_.FlushCounts();
  ResolvedChange r;
  QUIRE_RETURN_IF_ERROR(Resolve(change, &r));
  CausalPast past(history_, r.parents);
  auto outside = [&](const char* what, Lv lv) {
    return FailedPrecondition(std::string(what) + " " + ToString(history_.IdOf(lv)) +
                              " is outside the change's causal past");
  };
  // Its agent's ops form a chain: the one before the change is in its past.
  Lv prev;
  if (change.id.seq > 0 && history_.LvOf(Id{change.id.agent, change.id.seq - 1}, &prev) &&
      prev < r.base_lv && !past.Contains(prev)) {
    return outside("the agent's previous op", prev);
  }
  VersionOrder order(tree_, past, r.base_lv);
  for (const ResolvedChange::Step& step : r.steps) {
    if (!step.is_insert) {
      for (size_t i = step.index; i < step.index + step.count; ++i) {
        const ResolvedChange::Delete& d = r.deletes[i];
        const Lv lo = d.backward ? d.target - (d.len - 1) : d.target;
        if (lo < r.base_lv && !past.ContainsAll(lo, std::min<Lv>(lo + d.len, r.base_lv) - 1)) {
          return outside("delete target", lo);
        }
      }
      continue;
    }
    const ResolvedChange::Insert& ins = r.inserts[step.index];
    for (Lv origin : {ins.origin_left, ins.origin_right}) {
      if (origin != kRootLv && origin < r.base_lv && !past.Contains(origin)) {
        return outside(origin == ins.origin_left ? "left origin" : "right origin", origin);
      }
    }
    if (order.Next(ins.origin_left) != ins.origin_right) {
      return FailedPrecondition(
          "the origins of the insert at " +
          ToString(Id{change.id.agent, change.id.seq + (ins.lv - r.base_lv) + (len - r.len)}) +
          " are not adjacent in the change's causal past");
    }
    order.InsertAfter(ins.origin_left, ins.lv, ins.len);
  }
  return Status::Ok();
}

}  // namespace quire::crdt::internal
