// Remote changes: validation, resolution of ids to LVs, FugueMax placement
// and integration, and the changes held back for missing dependencies.
#include <algorithm>
#include <cstdlib>
#include <utility>

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

namespace {

// Stand-ins for the root as a left origin (the document's start) and as a
// right one (its end) where both meet: no LV is this large.
constexpr Lv kStart = kRootLv - 1;
constexpr Lv kEnd = kRootLv;

}  // namespace

Status DocState::CheckGrowth(uint64_t ops, uint64_t bytes) const {
  if (uint64_t{history_.size()} + ops > limits_.max_ops) {
    return ResourceExhausted("the document would hold more than " +
                             std::to_string(limits_.max_ops) + " ops");
  }
  if (EncodedBytesBound() + bytes > limits_.max_bytes) {
    return ResourceExhausted("the document would be larger than " +
                             std::to_string(limits_.max_bytes) + " bytes");
  }
  return Status::Ok();
}

DocState::Readiness DocState::CheckReady(const Change& change, uint64_t len,
                                         Id* waits_for) const {
  const int a = history_.FindAgent(change.id.agent);
  const uint64_t have = a < 0 ? 0 : history_.agents()[a].next_seq;
  if (change.id.seq + len <= have) return Readiness::kDuplicate;
  if (change.id.seq > have) {
    *waits_for = Id{change.id.agent, change.id.seq - 1};
    return Readiness::kMissing;
  }
  if (change.id.seq == have) {
    Lv lv;
    for (const Id& p : change.parents) {
      if (!history_.LvOf(p, &lv)) {
        *waits_for = p;
        return Readiness::kMissing;
      }
    }
  }
  return Readiness::kReady;
}

Status DocState::Resolve(const Change& change, Resolved* out) const {
  const int a = history_.FindAgent(change.id.agent);
  const uint64_t have = a < 0 ? 0 : history_.agents()[a].next_seq;
  const uint64_t skip = have - change.id.seq;  // Ops we hold already.
  const Lv base_lv = history_.size();
  out->base_lv = base_lv;
  std::vector<Resolved::Step>& steps = out->steps;
  steps.reserve(change.ops.size());
  uint64_t offset = 0;  // Ops resolved so far (after the skipped ones).

  // An id's LV: known before this change, or an earlier insert of it.
  auto resolve = [&](const Id& id, const char* what, Lv* lv) -> Status {
    auto fail = [&](const char* why) {
      return InvalidArgument(std::string(what) + " " + ToString(id) + why);
    };
    if (id.agent == change.id.agent && id.seq >= have) {
      const uint64_t o = id.seq - have;
      if (o >= offset) return fail(" is not an earlier op of the change");
      auto step = RunHolding(steps.begin(), steps.end(), o,
                             [](const Resolved::Step& s) { return s.offset; });
      if (!step->is_insert) return fail(" is not an insert");
      *lv = base_lv + static_cast<Lv>(o);
      return Status::Ok();
    }
    if (!history_.LvOf(id, lv)) return fail(" is not known");
    if (!history_.IsInsert(*lv)) return fail(" is not an insert");
    return Status::Ok();
  };

  uint64_t skipped = 0;
  uint64_t text_bytes = 0;
  uint64_t pieces = 0;  // Delete pieces: each may add an op record.
  for (const Op& op : change.ops) {
    uint64_t len = op.Length();
    uint64_t drop = 0;
    if (skipped < skip) {  // Trim what we already hold.
      drop = std::min(len, skip - skipped);
      skipped += drop;
      if (drop == len) continue;
      len -= drop;
    }
    Resolved::Step step{offset, len, op.kind == Op::Kind::kInsert, 0, 1};
    if (op.kind == Op::Kind::kInsert) {
      Resolved::Insert ins{};
      ins.lv = base_lv + static_cast<Lv>(offset);
      ins.len = static_cast<uint32_t>(len);
      size_t byte = 0;
      utf8::Advance(op.text, &byte, drop);
      ins.text = std::string_view(op.text).substr(byte);
      ins.ascii = ins.text.size() == len;
      const Id left = drop > 0 ? Id{change.id.agent, have - 1} : op.origin_left;
      ins.origin_left = kRootLv;
      ins.origin_right = kRootLv;
      if (!left.IsRoot()) QUIRE_RETURN_IF_ERROR(resolve(left, "left origin", &ins.origin_left));
      if (!op.origin_right.IsRoot()) {
        QUIRE_RETURN_IF_ERROR(resolve(op.origin_right, "right origin", &ins.origin_right));
      }
      if (ins.origin_left == ins.origin_right && ins.origin_left != kRootLv) {
        return InvalidArgument("left and right origins are the same character");
      }
      const bool left_in_change = ins.origin_left != kRootLv && ins.origin_left >= base_lv;
      const bool right_in_change = ins.origin_right != kRootLv && ins.origin_right >= base_lv;
      if (left_in_change || right_in_change) {
        // Not in the tree yet: ProveOrder() below, or IntegrateResolved().
        out->origins_in_change = true;
      } else {
        QUIRE_RETURN_IF_ERROR(CheckOriginOrder(ins.origin_left, ins.origin_right));
      }
      text_bytes += ins.text.size();
      step.index = out->inserts.size();
      out->inserts.push_back(ins);
    } else {
      // Delete: op k (after the trim) removes target seq +- (drop + k).
      const bool back = op.backward;
      uint64_t seq = back ? op.target.seq - drop : op.target.seq + drop;
      step.index = out->deletes.size();
      for (uint64_t left = len; left > 0;) {
        const Id id{op.target.agent, seq};
        Lv lv;
        QUIRE_RETURN_IF_ERROR(resolve(id, "delete target", &lv));
        uint64_t run_len;  // Consecutive targets available from here.
        if (lv >= base_lv) {
          const uint64_t o = lv - base_lv;
          auto s = RunHolding(steps.begin(), steps.end(), o,
                              [](const Resolved::Step& x) { return x.offset; });
          run_len = back ? o - s->offset + 1 : s->offset + s->len - o;
        } else {
          const AgentRun& run = history_.AgentRunAt(lv);
          run_len = back ? lv - run.lv + 1 : run.lv + run.len - lv;
          const auto n = static_cast<uint32_t>(std::min(run_len, left));
          if (!history_.AllInserts(back ? lv - n + 1 : lv, n)) {
            return InvalidArgument("delete target " + ToString(id) + " runs over non-inserts");
          }
        }
        const auto n = static_cast<uint32_t>(std::min(run_len, left));
        out->deletes.push_back(Resolved::Delete{n, lv, back && n > 1});
        ++pieces;
        left -= n;
        seq = back ? seq - n : seq + n;
      }
      step.count = out->deletes.size() - step.index;
    }
    offset += len;
    steps.push_back(step);
  }
  out->len = offset;

  if (skip > 0) {
    Lv lv;
    history_.LvOf(Id{change.id.agent, have - 1}, &lv);
    out->parents.assign(1, lv);
  } else {
    for (const Id& p : change.parents) {
      Lv lv;
      history_.LvOf(p, &lv);  // CheckReady found every parent.
      out->parents.push_back(lv);
    }
    std::sort(out->parents.begin(), out->parents.end());
    out->parents.erase(std::unique(out->parents.begin(), out->parents.end()),
                       out->parents.end());
  }
  if (out->origins_in_change) out->order_proven = ProveOrder(*out);

  // Limits: ops, and an upper bound of the bytes the change adds (its
  // text, a record per insert and delete piece, a new agent, its parents).
  const uint64_t bytes = text_bytes + out->inserts.size() * kInsertBytes + pieces * kRecordBytes +
                         (a < 0 ? History::kAgentBytes : 0) +
                         History::kParentBytes * out->parents.size();
  return CheckGrowth(out->len, bytes);
}

// Each insert of a change lands between its origins, so its order with
// respect to them is known before it is integrated: it lies after its left
// origin and before its right one, and its characters are in LV order.
// Before() chains those facts; characters the document already holds
// compare by their places in it. A change a TextDoc made names, for each
// insert, origins that were next to each other where it was made, and
// either the insert placed later names the other as its origin, or both
// lie in one insert: one step always proves the order.
bool DocState::ProveOrder(const Resolved& r) const {
  auto insert_of = [&](Lv x) -> const Resolved::Insert* {
    if (x >= kStart || x < r.base_lv) return nullptr;
    auto step = RunHolding(r.steps.begin(), r.steps.end(), uint64_t{x - r.base_lv},
                           [](const Resolved::Step& s) { return s.offset; });
    return &r.inserts[step->index];
  };
  auto left = [](Lv x) { return x == kRootLv ? kStart : x; };
  auto right = [](Lv x) { return x == kRootLv ? kEnd : x; };
  // True when `a` provably lies before `b`.
  auto before = [&](auto&& self, Lv a, Lv b, int depth) -> bool {
    if (a == kStart || b == kEnd) return a != b;
    if (a == kEnd || b == kStart || a == b || depth > 8) return false;
    const Resolved::Insert* ia = insert_of(a);
    const Resolved::Insert* ib = insert_of(b);
    if (ia == nullptr && ib == nullptr) return RawPosOf(a) < RawPosOf(b);
    if (ia != nullptr && ia == ib) return a < b;
    // b's insert lies after its left origin: a at or before that suffices.
    if (ib != nullptr) {
      const Lv b_left = left(ib->origin_left);
      if (a == b_left || self(self, a, b_left, depth + 1)) return true;
    }
    // a's insert lies before its right origin: that at or before b suffices.
    if (ia != nullptr) {
      const Lv a_right = right(ia->origin_right);
      if (a_right == b || self(self, a_right, b, depth + 1)) return true;
    }
    return false;
  };
  for (const Resolved::Insert& ins : r.inserts) {
    const bool in_change = (ins.origin_left != kRootLv && ins.origin_left >= r.base_lv) ||
                           (ins.origin_right != kRootLv && ins.origin_right >= r.base_lv);
    if (in_change && !before(before, left(ins.origin_left), right(ins.origin_right), 0)) {
      return false;
    }
  }
  return true;
}

Status DocState::IntegrateResolved(const Change& change, const Resolved& r, bool check_order,
                                   std::vector<ot::TextOp>* patches) {
  const uint32_t agent = history_.AddAgent(change.id.agent);
  std::vector<Lv> parents = r.parents;
  for (const Resolved::Step& step : r.steps) {
    if (step.is_insert) {
      const Resolved::Insert& ins = r.inserts[step.index];
      if (check_order) QUIRE_RETURN_IF_ERROR(CheckOriginOrder(ins.origin_left, ins.origin_right));
      IntegrateInsert(agent, parents, ins.len, ins.origin_left, ins.origin_right, ins.text,
                      ins.ascii, patches);
    } else {
      for (size_t i = step.index; i < step.index + step.count; ++i) {
        const Resolved::Delete& d = r.deletes[i];
        IntegrateDelete(agent, parents, d.len, d.target, d.backward, patches);
        parents.assign(1, history_.size() - 1);
      }
    }
    parents.assign(1, history_.size() - 1);
  }
  return Status::Ok();
}

Status DocState::Integrate(const Change& change, std::vector<ot::TextOp>* patches) {
  tree_.FlushCounts();
  Resolved r;
  QUIRE_RETURN_IF_ERROR(Resolve(change, &r));
  if (r.order_proven) return IntegrateResolved(change, r, /*check_order=*/false, patches);
  // A change whose origins made by the change itself cannot be shown in
  // order before they are in the tree (no TextDoc makes one): integrate into
  // a copy, which replaces this state only if every op is valid.
  PendingChanges pending = std::move(pending_);
  pending_ = PendingChanges();
  DocState copy(*this);
  pending_ = std::move(pending);
  std::vector<ot::TextOp> copy_patches;
  QUIRE_RETURN_IF_ERROR(copy.IntegrateResolved(change, r, /*check_order=*/true,
                                               patches != nullptr ? &copy_patches : nullptr));
  copy.pending_ = std::move(pending_);
  *this = std::move(copy);
  if (patches != nullptr) {
    for (ot::TextOp& op : copy_patches) patches->push_back(std::move(op));
  }
  return Status::Ok();
}

Status DocState::Apply(const Change& change, ot::TextOp* patch) {
  uint64_t len = 0;
  QUIRE_RETURN_IF_ERROR(ValidateShape(change, &len));
  std::vector<ot::TextOp> patches;
  std::vector<ot::TextOp>* p = patch != nullptr ? &patches : nullptr;
  Id waits_for;
  switch (CheckReady(change, len, &waits_for)) {
    case Readiness::kDuplicate:
      break;
    case Readiness::kMissing:
      QUIRE_RETURN_IF_ERROR(
          pending_.Add({change, len, PendingChanges::BytesOf(change), waits_for}));
      break;
    case Readiness::kReady:
      QUIRE_RETURN_IF_ERROR(Integrate(change, p));
      if (!pending_.empty()) Unblock(change.id.agent, p);
      break;
  }
  if (patch != nullptr) {
    *patch = patches.size() == 1 ? std::move(patches[0]) : ot::ComposeAll(patches);
  }
  return Status::Ok();
}

void DocState::Unblock(AgentId agent, std::vector<ot::TextOp>* patches) {
  std::vector<PendingChanges::Entry> ready;
  pending_.TakeReady(agent, history_.agents()[history_.FindAgent(agent)].next_seq, &ready);
  if (!ready.empty()) Recheck(std::move(ready), patches);
}

void DocState::Recheck(std::vector<PendingChanges::Entry> entries,
                       std::vector<ot::TextOp>* patches) {
  // A worklist rather than recursion: a long chain of held-back changes
  // (one per keystroke, arriving newest first) unblocks one at a time.
  std::vector<PendingChanges::Entry> work = std::move(entries);
  std::reverse(work.begin(), work.end());  // Taken from the back: oldest first.
  while (!work.empty()) {
    PendingChanges::Entry e = std::move(work.back());
    work.pop_back();
    switch (CheckReady(e.change, e.len, &e.waits_for)) {
      case Readiness::kDuplicate:
        break;
      case Readiness::kMissing:
        // Cannot fail: it was counted in the limits before it was taken out.
        (void)pending_.Add(std::move(e));
        break;
      case Readiness::kReady: {
        // A held-back change found invalid once ready is dropped: it was
        // accepted for holding only, and the Apply that queued it is gone.
        if (!Integrate(e.change, patches).ok()) break;
        const AgentId agent = e.change.id.agent;
        std::vector<PendingChanges::Entry> more;
        pending_.TakeReady(agent, history_.agents()[history_.FindAgent(agent)].next_seq, &more);
        for (auto it = more.rbegin(); it != more.rend(); ++it) work.push_back(std::move(*it));
        break;
      }
    }
  }
}

uint32_t DocState::RawPosOf(Lv lv) const {
  Cursor c;
  if (!tree_.Find(lv, &c)) std::abort();  // Callers pass characters in the tree.
  return tree_.RawPos(c);
}

Status DocState::CheckOriginOrder(Lv origin_left, Lv origin_right) const {
  if (origin_left == origin_right && origin_left != kRootLv) {
    return InvalidArgument("left and right origins are the same character");
  }
  if (origin_right == kRootLv) return Status::Ok();
  Cursor c = tree_.Start();
  if (origin_left != kRootLv) {
    tree_.Find(origin_left, &c);
    ++c.offset;
  }
  Cursor probe = c;
  if (tree_.Normalize(&probe) && tree_.LvAt(probe) == origin_right) return Status::Ok();
  const uint32_t left_pos = origin_left == kRootLv ? 0 : tree_.RawPos(c);
  if (RawPosOf(origin_right) < left_pos) {
    return InvalidArgument("right origin lies before the left origin");
  }
  return Status::Ok();
}

// FugueMax / YjsMod integration (docs/crdt.md): start just after the left
// origin and scan right over concurrent inserts until the right origin.
Cursor DocState::FindInsertPlace(Lv origin_left, Lv origin_right, AgentId agent,
                                 uint64_t seq) const {
  Cursor c;
  uint32_t left = 0;  // Raw position just after the left origin.
  if (origin_left == kRootLv) {
    c = tree_.Start();
  } else {
    tree_.Find(origin_left, &c);
    ++c.offset;
  }
  Cursor probe = c;
  if (!tree_.Normalize(&probe) || tree_.LvAt(probe) == origin_right) return c;  // No concurrency.
  if (origin_left != kRootLv) left = tree_.RawPos(c);
  const uint32_t right = origin_right == kRootLv ? tree_.total_len() : RawPosOf(origin_right);
  bool scanning = false;
  Cursor dest = c;
  while (true) {
    const bool more = tree_.Normalize(&c);
    if (!scanning) dest = c;
    if (!more) break;
    const Lv other = tree_.LvAt(c);
    if (other == origin_right) break;
    const Lv other_left = history_.OriginLeft(other);
    const uint32_t other_left_pos = other_left == kRootLv ? 0 : RawPosOf(other_left) + 1;
    if (other_left_pos < left) break;  // Other's subtree ends here.
    if (other_left_pos == left) {
      const Lv other_right = history_.OriginRight(other);
      if (other_right == origin_right) {
        // Same origins: siblings ordered by agent, then seq.
        const Id other_id = history_.IdOf(other);
        if (agent < other_id.agent || (agent == other_id.agent && seq < other_id.seq)) break;
        scanning = false;
      } else {
        const uint32_t other_right_pos =
            other_right == kRootLv ? tree_.total_len() : RawPosOf(other_right);
        if (other_right_pos < right) {
          if (!scanning) {
            scanning = true;
            dest = c;
          }
        } else {
          scanning = false;
        }
      }
    }
    // The rest of other's op run has other's characters as left origins,
    // which lie right of ours: skip it whole.
    const OpRun& run = history_.RunAt(other);
    const Span& span = tree_.SpanAt(c);
    uint32_t skip = std::min(span.len() - c.offset, run.end() - other);
    // Never skip past the right origin. It heads a run whenever the origins
    // were adjacent when the insert was made; a change whose origins were
    // not must still land between them.
    if (origin_right != kRootLv && origin_right > other && origin_right - other < skip) {
      skip = origin_right - other;
    }
    c.offset += skip;
  }
  return dest;
}

Cursor DocState::TreeInsert(const Cursor& at, Lv lv, uint32_t len) {
  const Cursor after = tree_.Insert(at, lv, len);
  // Extending the span before (whose LVs ended at lv) adds no order run:
  // the character after it never continued its LVs. Anything else splits
  // at most one run and starts one.
  if (after.offset == len) order_runs_bound_ += 2;
  return after;
}

void DocState::IntegrateInsert(uint32_t agent, const std::vector<Lv>& parents, uint32_t len,
                               Lv origin_left, Lv origin_right, std::string_view text, bool ascii,
                               std::vector<ot::TextOp>* patches) {
  const AgentInfo& info = history_.agents()[agent];
  const Cursor dest = FindInsertPlace(origin_left, origin_right, info.id, info.next_seq);
  const uint32_t pos = patches != nullptr ? tree_.VisiblePos(dest) : 0;
  const Lv lv = history_.AppendInsert(agent, parents, len, origin_left, origin_right, text, ascii);
  TreeInsert(dest, lv, len);
  if (patches != nullptr) patches->push_back(ot::TextOp().Retain(pos).Insert(text, len));
  cache_valid_ = false;
  del_cache_valid_ = false;
}

void DocState::IntegrateDelete(uint32_t agent, const std::vector<Lv>& parents, uint32_t len,
                               Lv target, bool backward, std::vector<ot::TextOp>* patches) {
  history_.AppendDelete(agent, parents, len, target, backward);
  Lv x = backward ? target - len + 1 : target;
  while (len > 0) {
    Cursor c;
    if (!tree_.Find(x, &c)) std::abort();  // Resolved by the caller.
    const uint32_t pos = patches != nullptr ? tree_.VisiblePos(c) : 0;
    uint32_t newly;
    const uint32_t k = tree_.Delete(c, len, &newly);
    if (newly > 0 && patches != nullptr) {
      patches->push_back(ot::TextOp().Retain(pos).Delete(newly));
    }
    x += k;
    len -= k;
  }
  cache_valid_ = false;
  del_cache_valid_ = false;
}

bool DocState::ReplayGivesOrder(const std::vector<Span>& spans) {
  for (const OpRun& run : history_.runs()) {
    if (!run.is_insert()) continue;
    if (!CheckOriginOrder(run.ins.origin_left, run.ins.origin_right).ok()) return false;
    const Id id = history_.IdOf(run.lv);
    const Cursor dest = FindInsertPlace(run.ins.origin_left, run.ins.origin_right, id.agent,
                                        id.seq);
    tree_.Insert(dest, run.lv, run.len);
  }
  // Both as maximal runs of consecutive LVs, deleted flags aside.
  std::vector<std::pair<Lv, uint32_t>> replayed;
  tree_.ForEach([&](const Span& s) {
    if (!replayed.empty() && replayed.back().first + replayed.back().second == s.lv) {
      replayed.back().second += s.len();
    } else {
      replayed.emplace_back(s.lv, s.len());
    }
  });
  size_t i = 0;
  Lv lv = 0;
  uint32_t len = 0;
  for (const Span& s : spans) {
    if (len > 0 && lv + len == s.lv) {
      len += s.len();
      continue;
    }
    if (len > 0 && (i == replayed.size() || replayed[i++] != std::make_pair(lv, len))) {
      return false;
    }
    lv = s.lv;
    len = s.len();
  }
  if (len > 0 && (i == replayed.size() || replayed[i++] != std::make_pair(lv, len))) return false;
  return i == replayed.size();
}

Result<std::unique_ptr<DocState>> DocState::FromDecoded(AgentId agent, const DocLimits& limits,
                                                        History history,
                                                        const std::vector<Span>& spans,
                                                        uint64_t order_runs, bool replay) {
  auto doc = std::make_unique<DocState>(agent, limits);
  doc->history_ = std::move(history);
  if (replay) {
    if (!doc->ReplayGivesOrder(spans)) {
      return Corruption("document: the order is not the one its inserts integrate to");
    }
    doc->tree_ = SpanTree();
  }
  doc->tree_.BuildFrom(spans);
  doc->order_runs_bound_ = order_runs;
  return doc;
}

}  // namespace quire::crdt::internal
