// Remote changes: FugueMax placement and integration (pass 2; resolve.cc is
// pass 1), the changes held back for missing dependencies, and the
// decoder's replay.
#include <algorithm>
#include <cstdlib>
#include <utility>

#include "crdt/internal/doc_state.h"

namespace quire::crdt::internal {

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

DocState::Readiness DocState::CheckReady(const Change& change, uint64_t len, Id* waits_for) const {
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

Status DocState::IntegrateResolved(const Change& change, const ResolvedChange& r, bool check_order,
                                   std::vector<ot::TextOp>* patches) {
  const uint32_t agent = history_.AddAgent(change.id.agent);
  std::vector<Lv>& parents = parents_;
  parents = r.parents;
  for (const ResolvedChange::Step& step : r.steps) {
    if (step.is_insert) {
      const ResolvedChange::Insert& ins = r.inserts[step.index];
      if (check_order) QUIRE_RETURN_IF_ERROR(CheckOriginOrder(ins.origin_left, ins.origin_right));
      IntegrateInsert(agent, parents, ins.len, ins.origin_left, ins.origin_right, ins.text,
                      ins.ascii, patches);
    } else {
      for (size_t i = step.index; i < step.index + step.count; ++i) {
        const ResolvedChange::Delete& d = r.deletes[i];
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
  ResolvedChange& r = resolved_;
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
  const uint32_t right =
      origin_right == kRootLv ? tree_.total_len() : RawPosOf(tree_, origin_right);
  bool scanning = false;
  Cursor dest = c;
  while (true) {
    const bool more = tree_.Normalize(&c);
    if (!scanning) dest = c;
    if (!more) break;
    const Lv other = tree_.LvAt(c);
    if (other == origin_right) break;
    const Lv other_left = history_.OriginLeft(other);
    const uint32_t other_left_pos = other_left == kRootLv ? 0 : RawPosOf(tree_, other_left) + 1;
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
            other_right == kRootLv ? tree_.total_len() : RawPosOf(tree_, other_right);
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
    const Cursor dest =
        FindInsertPlace(run.ins.origin_left, run.ins.origin_right, id.agent, id.seq);
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
