// Local edits, ChangesSince, Merge and what reads the whole document.
// Remote changes are integrate.cc's; validation against the causal past
// is causal_past.cc's.
#include "crdt/internal/doc_state.h"

#include <algorithm>
#include <cstdio>
#include <cstdlib>

#include "base/utf8.h"
#include "crdt/internal/bits.h"

namespace quire::crdt::internal {

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
  cache_cursor_ = TreeInsert(at, lv, n);
  cache_origin_right_ = *origin_right;
  cache_valid_ = true;
  cache_pos_ = pos + n;
  history_.AppendInsert(agent, history_.frontier(), n, *origin_left, *origin_right, utf8, ascii);
  // ExtendAsciiInsert may continue only an ASCII run that is the history's
  // last (AppendInsert extended it or started it).
  const OpRun& run = history_.runs().back();
  cache_ascii_ = (run.flags & OpRun::kNonAscii) == 0 && run.is_insert();
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

Status DocState::CheckLocalEdit(const ot::TextOp& op) {
  // An insert adds its text and at most one record; a delete a record per
  // visible span it removes (LocalRemove appends one per span). Deletes
  // name characters of the document before the op.
  uint64_t bytes = (local_agent_ < 0 ? History::kAgentBytes : 0) +
                   History::kParentBytes * history_.frontier().size();
  uint64_t ops = 0;
  uint32_t inserted = 0;  // Characters the op inserted before the current place.
  uint32_t pos = 0;
  for (const ot::Component& c : op.components()) {
    switch (c.kind) {
      case ot::Component::Kind::kRetain:
        pos += static_cast<uint32_t>(c.count);
        break;
      case ot::Component::Kind::kInsert:
        bytes += c.text.size() + kInsertBytes;
        ops += c.count;
        pos += static_cast<uint32_t>(c.count);
        inserted += static_cast<uint32_t>(c.count);
        break;
      case ot::Component::Kind::kDelete: {
        ops += c.count;
        uint32_t left = static_cast<uint32_t>(c.count);
        Cursor at = tree_.AtVisible(pos - inserted);
        while (left > 0 && tree_.Normalize(&at)) {
          const Span& s = tree_.SpanAt(at);
          if (!s.deleted()) {
            left -= std::min(left, s.len() - at.offset);
            bytes += kRecordBytes;
          }
          at.offset = s.len();
        }
        break;
      }
    }
  }
  return CheckGrowth(ops, bytes);
}

std::vector<Change> DocState::ChangesSince(const Version& version) const {
  std::vector<Change> out;
  std::vector<Lv> parents;
  uint64_t last_end_seq = 0;  // Of out.back().
  Lv last_end_lv = 0;         // One past out.back()'s last op.
  for (const AgentRun& ar : history_.agent_runs()) {
    const AgentId agent = history_.agents()[ar.agent].id;
    const uint64_t have = version.Get(agent);
    if (have >= ar.seq + ar.len) continue;
    Lv x = ar.lv + (have > ar.seq ? static_cast<Lv>(have - ar.seq) : 0);
    const Lv end = ar.lv + ar.len;
    while (x < end) {
      const GraphEntry& g = history_.EntryAt(x);
      const Lv seg_end = std::min(end, g.lv + g.len);
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
        const Lv w = std::min(seg_end, run.end());
        if (run.is_insert()) {
          Op op;
          op.kind = Op::Kind::kInsert;
          op.origin_left = history_.IdOrRoot(u == run.lv ? run.ins.origin_left : u - 1);
          op.origin_right = history_.IdOrRoot(run.ins.origin_right);
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
    if (other.history_.size() > limits_.max_ops || other.EncodedBytesBound() > limits_.max_bytes) {
      return ResourceExhausted("the merged document would pass this document's limits");
    }
    std::vector<PendingChanges::Entry> pending = pending_.TakeAll();
    const AgentId agent = agent_;
    const DocLimits limits = limits_;
    *this = other;
    agent_ = agent;
    limits_ = limits;
    local_agent_ = -1;
    cache_valid_ = false;
    del_cache_valid_ = false;
    pending_ = PendingChanges();
    if (!pending.empty()) Recheck(std::move(pending), nullptr);
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
  pending_.ForEach([&](const PendingChanges::Entry& pending) {
    const Change& c = pending.change;
    const Id need = first_missing(c.id.agent);
    if (c.id.seq > need.seq) out.push_back(need);
    Lv lv;
    for (const Id& p : c.parents) {
      if (!history_.LvOf(p, &lv)) out.push_back(first_missing(p.agent));
    }
  });
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

std::string DocState::Text() const {
  std::string out;
  out.reserve(tree_.visible_len());
  const History& h = history_;
  // When every inserted character is one byte, an insert's text sits at its
  // rank among the inserts: a bit per LV and a count per 64 of them find it
  // without looking up op runs. Only when the bits are few next to the
  // text: a history of mostly deletes takes the other path.
  if (h.inserted() != h.content().size() || h.size() / 8 > h.inserted() + 4096) {
    tree_.ForEach([&](const Span& s) {
      if (!s.deleted()) h.AppendContent(s.lv, s.len(), &out);
    });
    return out;
  }
  Bits inserts(h.size());
  for (const OpRun& r : h.runs()) {
    if (r.is_insert()) inserts.Set(r.lv, r.len);
  }
  inserts.Index();
  const char* content = h.content().data();
  tree_.ForEach([&](const Span& s) {
    if (!s.deleted()) out.append(content + inserts.Rank(s.lv), s.len());
  });
  return out;
}

size_t DocState::MemoryUsage() const {
  return sizeof(*this) + history_.MemoryUsage() + tree_.MemoryUsage() + pending_.bytes();
}

void DocState::CheckInvariants() const {
  tree_.CheckInvariants();
  auto fail = [](const char* what) {
    std::fprintf(stderr, "DocState invariant broken: %s\n", what);
    std::abort();
  };
  if (history_.inserted() != tree_.total_len()) fail("tree length differs from the inserted ops");
  // Agent runs, graph entries and op runs each cover [0, size) in order.
  uint64_t seqs = 0;
  for (const AgentInfo& a : history_.agents()) seqs += a.next_seq;
  if (seqs != history_.size()) fail("agent seqs do not cover the LVs");
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
  next = 0;
  uint64_t inserted = 0;
  for (const OpRun& r : history_.runs()) {
    if (r.lv != next || r.len == 0) fail("op runs do not tile the LVs");
    if (r.is_insert()) inserted += r.len;
    next = r.end();
  }
  if (next != history_.size() || inserted != history_.inserted()) fail("op runs miscounted");
  for (Lv f : history_.frontier()) {
    if (f >= history_.size()) fail("frontier past the LVs");
  }
  // Every inserted LV sits in the tree exactly once, and nothing else: the
  // spans sorted by LV tile the insert runs. (By runs, not by LV: a
  // history of long delete runs is cheap to check.)
  std::vector<std::pair<Lv, uint32_t>> spans;
  uint64_t order_runs = 0;
  Lv prev_end = kRootLv;
  tree_.ForEach([&](const Span& s) {
    Cursor c;
    if (!tree_.Find(s.lv, &c) || tree_.LvAt(c) != s.lv) fail("span not found by its LV");
    if (s.lv != prev_end) ++order_runs;
    prev_end = s.end();
    spans.emplace_back(s.lv, s.len());
  });
  if (order_runs > order_runs_bound_) fail("more order runs than counted");
  std::sort(spans.begin(), spans.end());
  size_t i = 0;
  const std::vector<OpRun>& runs = history_.runs();
  for (size_t k = 0; k < runs.size();) {
    if (!runs[k].is_insert()) {
      ++k;
      continue;
    }
    const Lv start = runs[k].lv;  // A stretch of insert runs with no delete between.
    while (k < runs.size() && runs[k].is_insert()) ++k;
    const Lv end = runs[k - 1].end();
    for (Lv x = start; x < end;) {
      if (i == spans.size() || spans[i].first != x) fail("an insert is not in the tree once");
      x += spans[i++].second;
      if (x > end) fail("a span holds a non-insert LV");
    }
  }
  if (i != spans.size()) fail("the tree holds a non-insert LV");
}

Id DocState::IdAt(uint32_t pos) {
  const Cursor c = tree_.AtVisible(pos);
  return history_.IdOf(tree_.LvAt(c));
}

bool DocState::PositionOf(const Id& id, bool after, uint32_t* pos) {
  Lv lv;
  Cursor c;
  // Deletes have ids too, but no place in the text: Find fails for them.
  if (!history_.LvOf(id, &lv) || !tree_.Find(lv, &c)) return false;
  tree_.FlushCounts();
  *pos = tree_.VisiblePos(c) + (after && !tree_.SpanAt(c).deleted() ? 1 : 0);
  return true;
}

}  // namespace quire::crdt::internal
