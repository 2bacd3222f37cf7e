#include "crdt/internal/doc_state.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "base/utf8.h"
#include "crdt/internal/bits.h"

namespace quire::crdt::internal {
namespace {


std::string IdString(const Id& id) {
  // Appends rather than operator+: GCC 12 -O3 warns falsely (-Wrestrict) on the chain.
  std::string s = "(";
  s += std::to_string(id.agent.value);
  s += ", ";
  s += std::to_string(id.seq);
  s += ")";
  return s;
}

// An op of a change after validation: references resolved to LVs.
struct Resolved {
  Op::Kind kind = Op::Kind::kInsert;
  uint64_t offset = 0;  // First op within the (trimmed) change.
  uint32_t len = 0;
  Lv origin_left = kRootLv;
  Lv origin_right = kRootLv;
  std::string_view text;
  bool ascii = true;
  size_t first_piece = 0;  // kDelete: pieces_[first_piece, first_piece + piece_count).
  size_t piece_count = 0;
};

struct Piece {  // Consecutive delete ops whose targets are consecutive LVs.
  Lv target;
  uint32_t len;
  bool backward;
};

}  // namespace

uint32_t DocState::LocalAgent() {
  if (local_agent_ < 0) local_agent_ = static_cast<int>(history_.AddAgent(agent_));
  return static_cast<uint32_t>(local_agent_);
}

std::vector<Id> DocState::IdsOf(const std::vector<Lv>& lvs) const {
  std::vector<Id> ids;
  ids.reserve(lvs.size());
  for (Lv lv : lvs) ids.push_back(history_.IdOf(lv));
  std::sort(ids.begin(), ids.end());
  return ids;
}

Change DocState::NewChange() {
  Change change;
  change.id = Id{agent_, history_.agents()[LocalAgent()].next_seq};
  change.parents = IdsOf(history_.frontier());
  return change;
}

void DocState::LocalInsert(uint32_t pos, std::string_view utf8, uint32_t n, Lv* origin_left,
                           Lv* origin_right) {
  const uint32_t agent = LocalAgent();
  const Lv lv = history_.size();
  const bool ascii = n == utf8.size();
  const bool after_backspace = del_cache_valid_ && pos == del_cache_pos_ + 1;
  del_cache_valid_ = false;
  if (cache_valid_ && pos == cache_pos_) {
    // Typing on at the caret: the run we just inserted grows, in the tree
    // and in the history, with no lookup.
    *origin_left = lv - 1;
    *origin_right = cache_origin_right_;
    tree_.Extend(&cache_cursor_, n);
    cache_pos_ = pos + n;
    if (ascii && cache_ascii_) {
      history_.ExtendAsciiInsert(agent, n, utf8);
      return;
    }
    history_.AppendInsert(agent, history_.frontier(), n, *origin_left, *origin_right, utf8, ascii);
    cache_ascii_ = false;
    return;
  }
  tree_.FlushCounts();
  // After a backspace the caret sits right after the character it kept.
  Cursor at = after_backspace ? del_cache_cursor_ : tree_.AfterVisible(pos);
  if (after_backspace) ++at.offset;
  *origin_left = pos == 0 ? kRootLv : tree_.SpanAt(at).lv + at.offset - 1;
  Cursor next = at;
  *origin_right = tree_.Normalize(&next) ? tree_.LvAt(next) : kRootLv;
  cache_cursor_ = tree_.Insert(at, lv, n);
  cache_origin_right_ = *origin_right;
  cache_valid_ = true;
  cache_pos_ = pos + n;
  history_.AppendInsert(agent, history_.frontier(), n, *origin_left, *origin_right, utf8, ascii);
  // ExtendAsciiInsert may continue only an ASCII run that is the history's
  // last (AppendInsert extended it or started it).
  const OpRun& run = history_.runs().back();
  cache_ascii_ = (run.flags & OpRun::kNonAscii) == 0 && run.kind == OpRun::kInsert;
}

void DocState::LocalRemove(uint32_t pos, uint32_t len, Change* change) {
  const uint32_t agent = LocalAgent();
  tree_.FlushCounts();
  // A backspace deletes the character before the caret: the one just typed,
  // or the one before the last backspace.
  Cursor at;
  bool cached = false;
  if (len == 1 && cache_valid_ && pos + 1 == cache_pos_) {
    at = cache_cursor_;
    --at.offset;
    cached = true;
  } else if (len == 1 && del_cache_valid_ && pos == del_cache_pos_) {
    at = del_cache_cursor_;
    cached = true;
  }
  cache_valid_ = false;
  del_cache_valid_ = false;
  while (len > 0) {
    if (!cached) at = tree_.AtVisible(pos);
    cached = false;
    const Lv target = tree_.LvAt(at);
    uint32_t newly;
    Cursor before;
    const uint32_t k = tree_.Delete(at, len, &newly, &before);
    if (len == k && tree_.Valid(before) && pos > 0) {
      del_cache_valid_ = true;
      del_cache_cursor_ = before;
      del_cache_pos_ = pos - 1;
    }
    history_.AppendDelete(agent, history_.frontier(), k, target, false);
    len -= k;
    if (change == nullptr) continue;
    // The Change names targets by id: split where the LVs change agent.
    for (Lv t = target; t < target + k;) {
      const AgentRun& run = history_.AgentRunAt(t);
      const uint32_t piece = std::min(target + k, run.lv + run.len) - t;
      Op op;
      op.kind = Op::Kind::kDelete;
      op.target = history_.IdOf(t);
      op.len = piece;
      change->ops.push_back(std::move(op));
      t += piece;
    }
  }
}

Change DocState::Insert(uint32_t pos, std::string_view utf8) {
  Change change = NewChange();
  const auto n = static_cast<uint32_t>(utf8::CountCodePoints(utf8));
  if (n == 0) return change;
  Lv origin_left, origin_right;
  LocalInsert(pos, utf8, n, &origin_left, &origin_right);
  Op op;
  op.kind = Op::Kind::kInsert;
  op.origin_left = history_.IdOrRoot(origin_left);
  op.origin_right = history_.IdOrRoot(origin_right);
  op.text.assign(utf8);
  change.ops.push_back(std::move(op));
  return change;
}

Change DocState::Remove(uint32_t pos, uint32_t len) {
  Change change = NewChange();
  LocalRemove(pos, len, &change);
  return change;
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

uint32_t DocState::RawPosOf(Lv lv) const {
  Cursor c;
  if (!tree_.Find(lv, &c)) std::abort();  // Callers pass known inserts.
  return tree_.RawPos(c);
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
    uint32_t skip = std::min(span.len() - c.offset, run.lv + run.len - other);
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

void DocState::IntegrateInsert(uint32_t agent, const std::vector<Lv>& parents, uint32_t len,
                               Lv origin_left, Lv origin_right, std::string_view text, bool ascii,
                               std::vector<ot::TextOp>* patches) {
  const AgentInfo& info = history_.agents()[agent];
  const Cursor dest = FindInsertPlace(origin_left, origin_right, info.id, info.next_seq);
  const uint32_t pos = patches != nullptr ? tree_.VisiblePos(dest) : 0;
  const Lv lv = history_.AppendInsert(agent, parents, len, origin_left, origin_right, text, ascii);
  tree_.Insert(dest, lv, len);
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
    if (!tree_.Find(x, &c)) std::abort();  // Validated by the caller.
    const uint32_t pos = patches != nullptr ? tree_.VisiblePos(c) : 0;
    uint32_t newly;
    const uint32_t k = tree_.Delete(c, len, &newly);
    if (newly > 0 && patches != nullptr) patches->push_back(ot::TextOp().Retain(pos).Delete(newly));
    x += k;
    len -= k;
  }
  cache_valid_ = false;
  del_cache_valid_ = false;
}

DocState::Readiness DocState::CheckReady(const Change& change, uint64_t len) const {
  const int a = history_.FindAgent(change.id.agent);
  const uint64_t have = a < 0 ? 0 : history_.agents()[a].next_seq;
  if (change.id.seq + len <= have) return Readiness::kDuplicate;
  if (change.id.seq > have) return Readiness::kMissing;
  if (change.id.seq == have) {
    Lv lv;
    for (const Id& p : change.parents) {
      if (!history_.LvOf(p, &lv)) return Readiness::kMissing;
    }
  }
  return Readiness::kReady;
}

Status DocState::Integrate(const Change& change, std::vector<ot::TextOp>* patches) {
  tree_.FlushCounts();
  const int a = history_.FindAgent(change.id.agent);
  const uint64_t have = a < 0 ? 0 : history_.agents()[a].next_seq;
  const uint64_t skip = have - change.id.seq;  // Ops we hold already.
  const uint64_t start_seq = have;
  const Lv base_lv = history_.size();

  // Pass 1: resolve every reference; nothing changes until all are valid.
  std::vector<Resolved> ops;
  std::vector<Piece> pieces;
  ops.reserve(change.ops.size());
  uint64_t offset = 0;  // Ops resolved so far (after the skipped ones).
  uint64_t skipped = 0;

  // An id's LV: known before this change, or an earlier op of it.
  auto resolve = [&](const Id& id, const char* what, Lv* out) -> Status {
    if (id.agent == change.id.agent && id.seq >= start_seq) {
      const uint64_t o = id.seq - start_seq;
      if (o >= offset) {
        return InvalidArgument(std::string(what) + " " + IdString(id) +
                               " is not an earlier op of the change");
      }
      auto it = std::upper_bound(ops.begin(), ops.end(), o,
                                 [](uint64_t v, const Resolved& r) { return v < r.offset; });
      if (std::prev(it)->kind != Op::Kind::kInsert) {
        return InvalidArgument(std::string(what) + " " + IdString(id) + " is not an insert");
      }
      *out = base_lv + static_cast<Lv>(o);
      return Status::Ok();
    }
    if (!history_.LvOf(id, out)) {
      return InvalidArgument(std::string(what) + " " + IdString(id) + " is not known");
    }
    if (!history_.IsInsert(*out)) {
      return InvalidArgument(std::string(what) + " " + IdString(id) + " is not an insert");
    }
    return Status::Ok();
  };

  for (const Op& op : change.ops) {
    uint64_t len = op.Length();
    uint64_t drop = 0;
    if (skipped < skip) {  // Trim what we already hold.
      drop = std::min(len, skip - skipped);
      skipped += drop;
      if (drop == len) continue;
      len -= drop;
    }
    Resolved r;
    r.kind = op.kind;
    r.offset = offset;
    r.len = static_cast<uint32_t>(len);
    if (op.kind == Op::Kind::kInsert) {
      size_t byte = 0;
      utf8::Advance(op.text, &byte, drop);
      r.text = std::string_view(op.text).substr(byte);
      r.ascii = r.text.size() == len;
      Id left = op.origin_left;
      if (drop > 0) left = Id{change.id.agent, change.id.seq + (have - change.id.seq) - 1};
      if (left.IsRoot()) {
        r.origin_left = kRootLv;
      } else {
        QUIRE_RETURN_IF_ERROR(resolve(left, "left origin", &r.origin_left));
      }
      if (op.origin_right.IsRoot()) {
        r.origin_right = kRootLv;
      } else {
        QUIRE_RETURN_IF_ERROR(resolve(op.origin_right, "right origin", &r.origin_right));
      }
      if (r.origin_left == r.origin_right && r.origin_left != kRootLv) {
        return InvalidArgument("left and right origins are the same character");
      }
      // Origins already in the document must be in order. Origins made by
      // earlier ops of this change are not in the tree yet and are not
      // checked; a change that orders them wrongly still integrates
      // deterministically.
      if ((r.origin_left < base_lv || r.origin_left == kRootLv) &&
          (r.origin_right < base_lv || r.origin_right == kRootLv)) {
        QUIRE_RETURN_IF_ERROR(CheckOriginOrder(r.origin_left, r.origin_right));
      }
    } else {
      // Delete: op k (after the trim) removes target seq ± (drop + k).
      const bool back = op.backward;
      uint64_t seq = back ? op.target.seq - drop : op.target.seq + drop;
      r.first_piece = pieces.size();
      for (uint64_t left = len; left > 0;) {
        const Id id{op.target.agent, seq};
        Lv lv;
        uint64_t run_len;  // Consecutive targets available from here.
        if (id.agent == change.id.agent && seq >= start_seq) {
          QUIRE_RETURN_IF_ERROR(resolve(id, "delete target", &lv));
          const uint64_t o = seq - start_seq;
          auto it = std::prev(std::upper_bound(
              ops.begin(), ops.end(), o, [](uint64_t v, const Resolved& x) { return v < x.offset; }));
          run_len = back ? o - it->offset + 1 : it->offset + it->len - o;
        } else {
          QUIRE_RETURN_IF_ERROR(resolve(id, "delete target", &lv));
          const AgentRun& run = history_.AgentRunAt(lv);
          run_len = back ? lv - run.lv + 1 : run.lv + run.len - lv;
          const uint32_t n = static_cast<uint32_t>(std::min(run_len, left));
          if (!history_.AllInserts(back ? lv - n + 1 : lv, n)) {
            return InvalidArgument("delete target " + IdString(id) + " runs over non-inserts");
          }
        }
        const auto n = static_cast<uint32_t>(std::min(run_len, left));
        pieces.push_back(Piece{lv, n, back && n > 1});
        left -= n;
        seq = back ? seq - n : seq + n;
      }
      r.piece_count = pieces.size() - r.first_piece;
    }
    offset += len;
    ops.push_back(r);
  }
  if (uint64_t{base_lv} + offset > DocState::kMaxOps) return ResourceExhausted("document has too many ops");

  // Pass 2: integrate. Origins made by earlier ops of this change are in
  // the tree only as pass 2 goes, so their order is checked then; a change
  // that has such origins integrates into a copy that replaces this state
  // only if every op is valid (a batch from ChangesSince pays one copy).
  bool in_change_origins = false;
  for (const Resolved& r : ops) {
    if (r.kind == Op::Kind::kInsert &&
        ((r.origin_left != kRootLv && r.origin_left >= base_lv) ||
         (r.origin_right != kRootLv && r.origin_right >= base_lv))) {
      in_change_origins = true;
      break;
    }
  }
  auto integrate_all = [&](DocState& doc, std::vector<ot::TextOp>* out) -> Status {
    const uint32_t agent = doc.history_.AddAgent(change.id.agent);
    std::vector<Lv> parents;
    if (skip > 0) {
      Lv lv;
      doc.history_.LvOf(Id{change.id.agent, have - 1}, &lv);
      parents.push_back(lv);
    } else {
      for (const Id& p : change.parents) {
        Lv lv;
        doc.history_.LvOf(p, &lv);
        parents.push_back(lv);
      }
      std::sort(parents.begin(), parents.end());
      parents.erase(std::unique(parents.begin(), parents.end()), parents.end());
    }
    for (const Resolved& r : ops) {
      if (r.kind == Op::Kind::kInsert) {
        if (in_change_origins) {
          QUIRE_RETURN_IF_ERROR(doc.CheckOriginOrder(r.origin_left, r.origin_right));
        }
        doc.IntegrateInsert(agent, parents, r.len, r.origin_left, r.origin_right, r.text,
                            r.ascii, out);
      } else {
        for (size_t i = r.first_piece; i < r.first_piece + r.piece_count; ++i) {
          const Piece& p = pieces[i];
          doc.IntegrateDelete(agent, parents, p.len, p.target, p.backward, out);
          parents.assign(1, doc.history_.size() - 1);
        }
      }
      parents.assign(1, doc.history_.size() - 1);
    }
    return Status::Ok();
  };
  if (!in_change_origins) return integrate_all(*this, patches);  // Cannot fail.
  DocState copy(*this);
  std::vector<ot::TextOp> copy_patches;
  QUIRE_RETURN_IF_ERROR(integrate_all(copy, patches != nullptr ? &copy_patches : nullptr));
  *this = std::move(copy);
  if (patches != nullptr) {
    for (ot::TextOp& op : copy_patches) patches->push_back(std::move(op));
  }
  return Status::Ok();
}

namespace {

// Checks what can be checked without the document: lengths, UTF-8, ids.
// Sets *len to the change's ops.
Status ValidateShape(const Change& change, uint64_t* len) {
  if (change.id.agent.value == kRootAgent) return InvalidArgument("change has the root agent");
  uint64_t total = 0;
  for (const Id& p : change.parents) {
    if (p.IsRoot()) return InvalidArgument("a parent is the root id");
    if (p.agent == change.id.agent && p.seq >= change.id.seq) {
      return InvalidArgument("a parent " + IdString(p) + " is not before the change");
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
      if (op.len > DocState::kMaxOps) return InvalidArgument("delete longer than the limit");
      if (op.target.IsRoot()) return InvalidArgument("delete target is the root id");
      if (op.backward ? op.target.seq < op.len - 1 : op.target.seq > UINT64_MAX - op.len) {
        return InvalidArgument("delete target range overflows");
      }
      total += op.len;
    } else {
      return InvalidArgument("unknown op kind");
    }
    if (total > DocState::kMaxOps) return InvalidArgument("change longer than the limit");
  }
  if (change.id.seq > UINT64_MAX - total) return InvalidArgument("change seq range overflows");
  *len = total;
  return Status::Ok();
}

size_t ChangeBytes(const Change& change) {
  size_t n = sizeof(Change) + change.parents.size() * sizeof(Id);
  for (const Op& op : change.ops) n += sizeof(Op) + op.text.size();
  return n;
}

}  // namespace

Status DocState::HoldBack(const Change& change, uint64_t len) {
  const size_t bytes = ChangeBytes(change);
  if (pending_.size() >= kMaxPendingChanges || pending_bytes_ + bytes > kMaxPendingBytes) {
    return ResourceExhausted("too many changes held back waiting for their dependencies");
  }
  // Kept in (agent, seq) order, so one pass integrates a run of changes
  // that arrived newest first.
  Pending p{change, len, bytes};
  auto at = std::upper_bound(pending_.begin(), pending_.end(), p.change.id,
                             [](const Id& id, const Pending& q) { return id < q.change.id; });
  pending_.insert(at, std::move(p));
  pending_bytes_ += bytes;
  return Status::Ok();
}

void DocState::DrainPending(std::vector<ot::TextOp>* patches) {
  // The queue moves out while it drains: Integrate() may replace this whole
  // state (a checked change integrates into a copy).
  std::vector<Pending> waiting = std::move(pending_);
  pending_.clear();
  bool progress = true;
  while (progress && !waiting.empty()) {
    progress = false;
    std::vector<Pending> kept;
    kept.reserve(waiting.size());
    for (Pending& p : waiting) {
      const Readiness r = CheckReady(p.change, p.len);
      if (r == Readiness::kMissing) {
        kept.push_back(std::move(p));
        continue;
      }
      if (r == Readiness::kReady) {
        // A held-back change found invalid once ready is dropped: it was
        // accepted for holding only, and the Apply that queued it is gone.
        (void)Integrate(p.change, patches);
        progress = true;
      }
    }
    waiting = std::move(kept);
  }
  pending_ = std::move(waiting);
  pending_bytes_ = 0;
  for (const Pending& p : pending_) pending_bytes_ += p.bytes;
}

Status DocState::Apply(const Change& change, ot::TextOp* patch) {
  uint64_t len = 0;
  QUIRE_RETURN_IF_ERROR(ValidateShape(change, &len));
  std::vector<ot::TextOp> patches;
  std::vector<ot::TextOp>* p = patch != nullptr ? &patches : nullptr;
  switch (CheckReady(change, len)) {
    case Readiness::kDuplicate:
      break;
    case Readiness::kMissing:
      QUIRE_RETURN_IF_ERROR(HoldBack(change, len));
      break;
    case Readiness::kReady:
      QUIRE_RETURN_IF_ERROR(Integrate(change, p));
      if (!pending_.empty()) DrainPending(p);
      break;
  }
  if (patch != nullptr) {
    *patch = patches.size() == 1 ? std::move(patches[0]) : ot::ComposeAll(patches);
  }
  return Status::Ok();
}

std::vector<Change> DocState::ChangesSince(const Version& version) const {
  std::vector<Change> out;
  std::vector<Lv> parents;
  uint64_t last_end_seq = 0;  // Of out.back().
  Lv last_end_lv = 0;         // One past out.back()'s last op.
  const auto& graph = history_.graph();
  for (const AgentRun& ar : history_.agent_runs()) {
    const AgentId agent = history_.agents()[ar.agent].id;
    const uint64_t have = version.Get(agent);
    if (have >= ar.seq + ar.len) continue;
    Lv x = ar.lv + (have > ar.seq ? static_cast<Lv>(have - ar.seq) : 0);
    const Lv end = ar.lv + ar.len;
    while (x < end) {
      auto g = std::prev(std::upper_bound(graph.begin(), graph.end(), x,
                                          [](Lv v, const GraphEntry& e) { return v < e.lv; }));
      const Lv seg_end = std::min(end, g->lv + g->len);
      history_.ParentsOf(x, &parents);
      const uint64_t seq = ar.seq + (x - ar.lv);
      const bool continues = !out.empty() && out.back().id.agent == agent && last_end_seq == seq &&
                             last_end_lv == x && parents.size() == 1 && parents[0] == x - 1;
      if (!continues) {
        out.push_back(Change{Id{agent, seq}, IdsOf(parents), {}});
      }
      Change& ch = out.back();
      // The ops of [x, seg_end), from the op runs.
      for (Lv u = x; u < seg_end;) {
        const OpRun& run = history_.RunAt(u);
        const Lv w = std::min(seg_end, run.lv + run.len);
        if (run.kind == OpRun::kInsert) {
          Op op;
          op.kind = Op::Kind::kInsert;
          op.origin_left = history_.IdOrRoot(u == run.lv ? run.a : u - 1);
          op.origin_right = history_.IdOrRoot(run.b);
          op.text.assign(history_.Content(u, w - u));
          ch.ops.push_back(std::move(op));
        } else {
          const bool back = run.backward();
          Lv t = run.TargetAt(u - run.lv);
          for (uint32_t left = w - u; left > 0;) {
            const AgentRun& tr = history_.AgentRunAt(t);
            const uint32_t n = std::min(left, back ? t - tr.lv + 1 : tr.lv + tr.len - t);
            Op op;
            op.kind = Op::Kind::kDelete;
            op.target = history_.IdOf(t);
            op.len = n;
            op.backward = back && n > 1;
            ch.ops.push_back(std::move(op));
            left -= n;
            t = back ? t - n : t + n;
          }
        }
        u = w;
      }
      last_end_seq = seq + (seg_end - x);
      last_end_lv = seg_end;
      x = seg_end;
    }
  }
  return out;
}

Status DocState::Merge(const DocState& other) {
  const Version mine = GetVersion();
  if (mine.IsSubsetOf(other.GetVersion())) {
    // We hold nothing the other lacks: take its state whole. The state is
    // a function of the set of ops, so this equals integrating them.
    std::vector<Pending> pending = std::move(pending_);
    const AgentId agent = agent_;
    *this = other;
    agent_ = agent;
    local_agent_ = -1;
    del_cache_valid_ = false;
    pending_ = std::move(pending);
    pending_bytes_ = 0;
    for (const Pending& p : pending_) pending_bytes_ += p.bytes;
    cache_valid_ = false;
    if (!pending_.empty()) DrainPending(nullptr);
    return Status::Ok();
  }
  for (const Change& change : other.ChangesSince(mine)) {
    QUIRE_RETURN_IF_ERROR(Apply(change, nullptr));
  }
  return Status::Ok();
}

Version DocState::GetVersion() const {
  Version v;
  for (const AgentInfo& a : history_.agents()) v.Set(a.id, a.next_seq);
  return v;
}

Frontier DocState::GetFrontier() const { return IdsOf(history_.frontier()); }

std::vector<Id> DocState::MissingDependencies() const {
  // Ops arrive in seq order per agent, so the first missing seq of each
  // agent names everything a held-back change waits for.
  auto first_missing = [this](AgentId agent) {
    const int a = history_.FindAgent(agent);
    return Id{agent, a < 0 ? 0 : history_.agents()[a].next_seq};
  };
  std::vector<Id> out;
  for (const Pending& pending : pending_) {
    const Change& c = pending.change;
    const Id need = first_missing(c.id.agent);
    if (c.id.seq > need.seq) out.push_back(need);
    Lv lv;
    for (const Id& p : c.parents) {
      if (!history_.LvOf(p, &lv)) out.push_back(first_missing(p.agent));
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string DocState::Text() const {
  std::string out;
  out.reserve(tree_.visible_len());
  // When every inserted character is one byte, an insert's text sits at its
  // rank among the inserts: a bit per LV and a count per 64 of them find it
  // without looking up op runs.
  const History& h = history_;
  Bits inserts(h.size());
  uint64_t inserted = 0;
  for (const OpRun& r : h.runs()) {
    if (r.kind != OpRun::kInsert) continue;
    inserted += r.len;
    inserts.Set(r.lv, r.len);
  }
  if (inserted != h.content().size()) {
    tree_.ForEach([&](const Span& s) {
      if (!s.deleted()) h.AppendContent(s.lv, s.len(), &out);
    });
    return out;
  }
  inserts.Index();
  const char* content = h.content().data();
  tree_.ForEach([&](const Span& s) {
    if (!s.deleted()) out.append(content + inserts.Rank(s.lv), s.len());
  });
  return out;
}

size_t DocState::MemoryUsage() const {
  size_t n = sizeof(*this) + history_.MemoryUsage() + tree_.MemoryUsage() +
             scratch_parents_.capacity() * sizeof(Lv);
  for (const Pending& p : pending_) n += p.bytes;
  return n;
}

void DocState::CheckInvariants() const {
  tree_.CheckInvariants();
  auto fail = [](const char* what) {
    std::fprintf(stderr, "DocState invariant broken: %s\n", what);
    std::abort();
  };
  // Every insert LV is in the tree exactly once; no delete LV is.
  uint64_t inserts = 0;
  for (const OpRun& r : history_.runs()) {
    if (r.kind == OpRun::kInsert) inserts += r.len;
  }
  if (inserts != tree_.total_len()) fail("tree length differs from the inserted ops");
  tree_.ForEach([&](const Span& s) {
    if (!history_.AllInserts(s.lv, s.len())) fail("a span holds a non-insert LV");
    Cursor c;
    if (!tree_.Find(s.lv, &c) || tree_.LvAt(c) != s.lv) fail("span not found by its LV");
  });
  uint64_t seqs = 0;
  for (const AgentInfo& a : history_.agents()) seqs += a.next_seq;
  if (seqs != history_.size()) fail("agent seqs do not cover the LVs");
  // Agent runs, graph entries and op runs each cover [0, size) in order.
  Lv next = 0;
  for (const AgentRun& r : history_.agent_runs()) {
    if (r.lv != next || r.len == 0) fail("agent runs do not tile the LVs");
    next = r.lv + r.len;
  }
  if (next != history_.size()) fail("agent runs do not cover the LVs");
  next = 0;
  for (const GraphEntry& e : history_.graph()) {
    if (e.lv != next || e.len == 0) fail("graph entries do not tile the LVs");
    for (uint32_t i = 0; i < e.parents_count; ++i) {
      if (history_.parent_pool()[e.parents_start + i] >= e.lv) fail("a parent is not earlier");
    }
    next = e.lv + e.len;
  }
  if (next != history_.size()) fail("graph entries do not cover the LVs");
  for (Lv f : history_.frontier()) {
    if (f >= history_.size()) fail("frontier past the LVs");
  }
  // Every inserted LV sits in the tree exactly once.
  std::vector<bool> seen(history_.size());
  tree_.ForEach([&](const Span& s) {
    for (Lv x = s.lv; x < s.lv + s.len(); ++x) {
      if (x >= seen.size() || seen[x]) fail("an LV is in the tree twice or out of range");
      seen[x] = true;
    }
  });
}

}  // namespace quire::crdt::internal
