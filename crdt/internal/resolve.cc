// Pass 1 of integrating a remote change: every id resolved to an LV, every
// reference checked, the limits checked, before anything changes.
#include <algorithm>
#include <cstdlib>

#include "base/utf8.h"
#include "crdt/internal/doc_state.h"

namespace quire::crdt::internal {

Status ValidateShape(const Change& change, uint64_t* len) {
  if (change.id.agent.value == kRootAgent) return InvalidArgument("change has the root agent");
  uint64_t total = 0;
  for (const Id& p : change.parents) {
    if (p.IsRoot()) return InvalidArgument("a parent is the root id");
    if (p.agent == change.id.agent && p.seq >= change.id.seq) {
      return InvalidArgument("a parent " + ToString(p) + " is not before the change");
    }
  }
  for (const Op& op : change.ops) {
    if (op.kind == Op::Kind::kInsert) {
      if (op.text.empty()) return InvalidArgument("insert of empty text");
      Result<size_t> n = utf8::Validate(op.text);
      if (!n.ok()) return InvalidArgument("insert text: " + n.status().message());
      total += *n;
    } else if (op.kind == Op::Kind::kDelete) {
      if (op.len == 0) return InvalidArgument("delete of length 0");
      if (op.len > DocLimits::kMaxOps) return InvalidArgument("delete longer than the limit");
      if (op.target.IsRoot()) return InvalidArgument("delete target is the root id");
      if (op.backward ? op.target.seq < op.len - 1 : op.target.seq > UINT64_MAX - op.len) {
        return InvalidArgument("delete target range overflows");
      }
      total += op.len;
    } else {
      return InvalidArgument("unknown op kind");
    }
    if (total > DocLimits::kMaxOps) return InvalidArgument("change longer than the limit");
  }
  if (change.id.seq > UINT64_MAX - total) return InvalidArgument("change seq range overflows");
  *len = total;
  return Status::Ok();
}

uint32_t RawPosOf(const SpanTree& tree, Lv lv) {
  Cursor c;
  if (!tree.Find(lv, &c)) std::abort();  // Callers pass characters in the tree.
  return tree.RawPos(c);
}

Status CheckOriginOrder(const SpanTree& tree, Lv origin_left, Lv origin_right) {
  if (origin_left == origin_right && origin_left != kRootLv) {
    return InvalidArgument("left and right origins are the same character");
  }
  if (origin_right == kRootLv) return Status::Ok();
  Cursor c = tree.Start();
  if (origin_left != kRootLv) {
    tree.Find(origin_left, &c);
    ++c.offset;
  }
  Cursor probe = c;
  if (tree.Normalize(&probe) && tree.LvAt(probe) == origin_right) return Status::Ok();
  const uint32_t left_pos = origin_left == kRootLv ? 0 : tree.RawPos(c);
  if (RawPosOf(tree, origin_right) < left_pos) {
    return InvalidArgument("right origin lies before the left origin");
  }
  return Status::Ok();
}

namespace {

// Stand-ins for the root as a left origin (the document's start) and as a
// right one (its end) where both meet: no LV is this large.
constexpr Lv kStart = kRootLv - 1;
constexpr Lv kEnd = kRootLv;

// Resolves one ready change against a document it only reads. Ops the
// document already holds (a batch overlapping what it has) are trimmed.
class ChangeResolver {
 public:
  ChangeResolver(const History& history, const SpanTree& tree, const Change& change,
                 ResolvedChange* out)
      : history_(history), tree_(tree), change_(change), out_(*out) {
    const int a = history.FindAgent(change.id.agent);
    have_ = a < 0 ? 0 : history.agents()[a].next_seq;
    out_.base_lv = history.size();
  }

  // Fills *out; *text_bytes and *pieces count what the change adds.
  Status Run(uint64_t* text_bytes, uint64_t* pieces);

 private:
  Status ResolveId(const Id& id, const char* what, Lv* lv) const;
  Status ResolveInsert(const Op& op, uint64_t drop, uint64_t len);
  Status ResolveDelete(const Op& op, uint64_t drop, uint64_t len);
  void ResolveParents();
  // Whether each insert whose origins the change itself made provably lies
  // after its left origin and before its right one (see Before()).
  bool ProveOrder() const;
  // True when `a` provably lies before `b`, in at most *budget steps.
  bool Before(Lv a, Lv b, int* budget) const;
  const ResolvedChange::Insert* InsertOf(Lv x) const;
  const ResolvedChange::Step& StepAt(uint64_t offset) const {
    return *RunHolding(out_.steps.begin(), out_.steps.end(), offset,
                       [](const ResolvedChange::Step& s) { return s.offset; });
  }

  const History& history_;
  const SpanTree& tree_;
  const Change& change_;
  ResolvedChange& out_;
  uint64_t have_ = 0;    // The change's agent's ops the document holds.
  uint64_t offset_ = 0;  // Ops resolved so far (after the trimmed ones).
};

Status ChangeResolver::Run(uint64_t* text_bytes, uint64_t* pieces) {
  const uint64_t skip = have_ - change_.id.seq;  // Ops the document holds already.
  uint64_t skipped = 0;
  out_.steps.reserve(change_.ops.size());
  for (const Op& op : change_.ops) {
    uint64_t len = op.Length();
    uint64_t drop = 0;
    if (skipped < skip) {  // Trim what we already hold.
      drop = std::min(len, skip - skipped);
      skipped += drop;
      if (drop == len) continue;
      len -= drop;
    }
    if (op.kind == Op::Kind::kInsert) {
      QUIRE_RETURN_IF_ERROR(ResolveInsert(op, drop, len));
      *text_bytes += out_.inserts.back().text.size();
    } else {
      const size_t before = out_.deletes.size();
      QUIRE_RETURN_IF_ERROR(ResolveDelete(op, drop, len));
      *pieces += out_.deletes.size() - before;
    }
    offset_ += len;
  }
  out_.len = offset_;
  ResolveParents();
  if (out_.origins_in_change) out_.order_proven = ProveOrder();
  return Status::Ok();
}

// An id's LV: known before this change, or an earlier insert of it.
Status ChangeResolver::ResolveId(const Id& id, const char* what, Lv* lv) const {
  auto fail = [&](const char* why) {
    return InvalidArgument(std::string(what) + " " + ToString(id) + why);
  };
  if (id.agent == change_.id.agent && id.seq >= have_) {
    const uint64_t o = id.seq - have_;
    if (o >= offset_) return fail(" is not an earlier op of the change");
    if (!StepAt(o).is_insert) return fail(" is not an insert");
    *lv = out_.base_lv + static_cast<Lv>(o);
    return Status::Ok();
  }
  if (!history_.LvOf(id, lv)) return fail(" is not known");
  if (!history_.IsInsert(*lv)) return fail(" is not an insert");
  return Status::Ok();
}

Status ChangeResolver::ResolveInsert(const Op& op, uint64_t drop, uint64_t len) {
  ResolvedChange::Insert ins{};
  ins.lv = out_.base_lv + static_cast<Lv>(offset_);
  ins.len = static_cast<uint32_t>(len);
  size_t byte = 0;
  utf8::Advance(op.text, &byte, drop);
  ins.text = std::string_view(op.text).substr(byte);
  ins.ascii = ins.text.size() == len;
  // A trimmed insert continues after the last character we hold.
  const Id left = drop > 0 ? Id{change_.id.agent, have_ - 1} : op.origin_left;
  ins.origin_left = kRootLv;
  ins.origin_right = kRootLv;
  if (!left.IsRoot()) QUIRE_RETURN_IF_ERROR(ResolveId(left, "left origin", &ins.origin_left));
  if (!op.origin_right.IsRoot()) {
    QUIRE_RETURN_IF_ERROR(ResolveId(op.origin_right, "right origin", &ins.origin_right));
  }
  if (ins.origin_left == ins.origin_right && ins.origin_left != kRootLv) {
    return InvalidArgument("left and right origins are the same character");
  }
  auto in_change = [this](Lv x) { return x != kRootLv && x >= out_.base_lv; };
  if (in_change(ins.origin_left) || in_change(ins.origin_right)) {
    out_.origins_in_change = true;  // Not in the tree yet: ProveOrder() or pass 2.
  } else {
    QUIRE_RETURN_IF_ERROR(CheckOriginOrder(tree_, ins.origin_left, ins.origin_right));
  }
  out_.steps.push_back({offset_, len, true, out_.inserts.size(), 1});
  out_.inserts.push_back(ins);
  return Status::Ok();
}

Status ChangeResolver::ResolveDelete(const Op& op, uint64_t drop, uint64_t len) {
  // Op k (after the trim) removes target seq +- (drop + k), as pieces whose
  // targets are consecutive LVs.
  const bool back = op.backward;
  uint64_t seq = back ? op.target.seq - drop : op.target.seq + drop;
  const size_t first = out_.deletes.size();
  for (uint64_t left = len; left > 0;) {
    const Id id{op.target.agent, seq};
    Lv lv;
    QUIRE_RETURN_IF_ERROR(ResolveId(id, "delete target", &lv));
    uint64_t run_len;  // Consecutive targets available from here.
    if (lv >= out_.base_lv) {
      const uint64_t o = lv - out_.base_lv;
      const ResolvedChange::Step& s = StepAt(o);
      run_len = back ? o - s.offset + 1 : s.offset + s.len - o;
    } else {
      const AgentRun& run = history_.AgentRunAt(lv);
      run_len = back ? lv - run.lv + 1 : run.lv + run.len - lv;
      const auto n = static_cast<uint32_t>(std::min(run_len, left));
      if (!history_.AllInserts(back ? lv - n + 1 : lv, n)) {
        return InvalidArgument("delete target " + ToString(id) + " runs over non-inserts");
      }
    }
    const auto n = static_cast<uint32_t>(std::min(run_len, left));
    out_.deletes.push_back(ResolvedChange::Delete{n, lv, back && n > 1});
    left -= n;
    seq = back ? seq - n : seq + n;
  }
  out_.steps.push_back({offset_, len, false, first, out_.deletes.size() - first});
  return Status::Ok();
}

void ChangeResolver::ResolveParents() {
  std::vector<Lv>& parents = out_.parents;
  Lv lv;
  if (have_ > change_.id.seq) {  // Trimmed: it continues from our last op of its agent.
    history_.LvOf(Id{change_.id.agent, have_ - 1}, &lv);
    parents.assign(1, lv);
    return;
  }
  for (const Id& p : change_.parents) {
    history_.LvOf(p, &lv);  // The change is ready: every parent is known.
    parents.push_back(lv);
  }
  std::sort(parents.begin(), parents.end());
  parents.erase(std::unique(parents.begin(), parents.end()), parents.end());
}

const ResolvedChange::Insert* ChangeResolver::InsertOf(Lv x) const {
  if (x >= kStart || x < out_.base_lv) return nullptr;
  return &out_.inserts[StepAt(x - out_.base_lv).index];
}

// Each insert of a change lands between its origins, so its order with
// respect to them is known before it is integrated: it lies after its left
// origin and before its right one, and its characters are in LV order.
// Before() chains those facts; characters the document already holds
// compare by their places in it.
bool ChangeResolver::Before(Lv a, Lv b, int* budget) const {
  if (a == kStart || b == kEnd) return a != b;
  if (a == kEnd || b == kStart || a == b || --*budget < 0) return false;
  const ResolvedChange::Insert* ia = InsertOf(a);
  const ResolvedChange::Insert* ib = InsertOf(b);
  if (ia == nullptr && ib == nullptr) return RawPosOf(tree_, a) < RawPosOf(tree_, b);
  if (ia != nullptr && ia == ib) return a < b;
  // b's insert lies after its left origin: a at or before that suffices.
  // a's insert lies before its right origin: that at or before b suffices.
  // The one-step proofs first, then each chained further.
  const Lv b_left = ib == nullptr ? kEnd : ib->origin_left == kRootLv ? kStart : ib->origin_left;
  const Lv a_right = ia == nullptr ? kStart : ia->origin_right == kRootLv ? kEnd : ia->origin_right;
  if ((ib != nullptr && a == b_left) || (ia != nullptr && a_right == b)) return true;
  return (ib != nullptr && Before(a, b_left, budget)) ||
         (ia != nullptr && Before(a_right, b, budget));
}

// A change a TextDoc made names, for each insert, origins that were next
// to each other where it was made; of the two, the one inserted later
// names the other as its origin, or both lie in one insert. So one step of
// Before() proves the order of every such change, and only a crafted
// change takes pass 2's checked path.
bool ChangeResolver::ProveOrder() const {
  for (const ResolvedChange::Insert& ins : out_.inserts) {
    const bool in_change = (ins.origin_left != kRootLv && ins.origin_left >= out_.base_lv) ||
                           (ins.origin_right != kRootLv && ins.origin_right >= out_.base_lv);
    const Lv left = ins.origin_left == kRootLv ? kStart : ins.origin_left;
    const Lv right = ins.origin_right == kRootLv ? kEnd : ins.origin_right;
    int budget = 16;  // Steps per insert: the proof stays linear in the change.
    if (in_change && !Before(left, right, &budget)) return false;
  }
  return true;
}

}  // namespace

Status DocState::Resolve(const Change& change, ResolvedChange* out) const {
  out->Clear();
  uint64_t text_bytes = 0, pieces = 0;
  QUIRE_RETURN_IF_ERROR(ChangeResolver(history_, tree_, change, out).Run(&text_bytes, &pieces));
  // Limits: ops, and an upper bound of the bytes the change adds (its
  // text, a record per insert and delete piece, a new agent, its parents).
  const bool new_agent = history_.FindAgent(change.id.agent) < 0;
  const uint64_t bytes = text_bytes + out->inserts.size() * kInsertBytes + pieces * kRecordBytes +
                         (new_agent ? History::kAgentBytes : 0) +
                         History::kParentBytes * out->parents.size();
  return CheckGrowth(out->len, bytes);
}

}  // namespace quire::crdt::internal
