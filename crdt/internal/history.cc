#include "crdt/internal/history.h"

#include <algorithm>
#include <set>

#include "base/utf8.h"

namespace quire::crdt::internal {

int History::FindAgent(AgentId agent) const {
  // Changes come in runs from one agent: check the last answer first.
  const size_t hint = last_agent_.get();
  if (hint < agents_.size() && agents_[hint].id == agent) return static_cast<int>(hint);
  auto it = agent_index_.find(agent.value);
  if (it == agent_index_.end()) return -1;
  last_agent_.set(it->second);
  return static_cast<int>(it->second);
}

uint32_t History::AddAgent(AgentId agent) {
  const int found = FindAgent(agent);
  if (found >= 0) return static_cast<uint32_t>(found);
  const auto index = static_cast<uint32_t>(agents_.size());
  agents_.push_back(AgentInfo{agent, 0, {}});
  agent_index_.emplace(agent.value, index);
  return index;
}

bool History::LvOf(const Id& id, Lv* lv) const {
  const int a = FindAgent(id.agent);
  if (a < 0) return false;
  const AgentInfo& info = agents_[a];
  if (id.seq >= info.next_seq) return false;
  const AgentRun& run = agent_runs_[*RunHolding(info.runs.begin(), info.runs.end(), id.seq,
                                                [this](uint32_t r) { return agent_runs_[r].seq; })];
  *lv = run.lv + static_cast<Lv>(id.seq - run.seq);
  return true;
}

const AgentRun& History::AgentRunAt(Lv lv) const {
  return *RunHolding(agent_runs_.begin(), agent_runs_.end(), lv,
                     [](const AgentRun& r) { return r.lv; });
}

const GraphEntry& History::EntryAt(Lv lv) const {
  return *RunHolding(graph_.begin(), graph_.end(), lv, [](const GraphEntry& e) { return e.lv; });
}

Id History::IdOf(Lv lv) const {
  const AgentRun& run = AgentRunAt(lv);
  return Id{agents_[run.agent].id, run.seq + (lv - run.lv)};
}

void History::PushRun(const OpRun& run) {
  if (runs_.size() % kSampleEvery == 0) run_sample_.push_back(run.lv);
  runs_.push_back(run);
}

size_t History::RunIndex(Lv lv) const {
  const size_t i = last_run_.get();
  if (i < runs_.size() && runs_[i].lv <= lv) {
    if (lv - runs_[i].lv < runs_[i].len) return i;
    if (i + 1 < runs_.size() && lv - runs_[i + 1].lv < runs_[i + 1].len) {
      last_run_.set(i + 1);
      return i + 1;
    }
  }
  // Two levels: the sampled starts fit in cache, then one block of runs.
  const auto block = static_cast<size_t>(
      RunHolding(run_sample_.begin(), run_sample_.end(), lv, [](Lv start) { return start; }) -
      run_sample_.begin());
  const auto first = runs_.begin() + static_cast<ptrdiff_t>(block * kSampleEvery);
  const auto last = runs_.begin() + static_cast<ptrdiff_t>(
                                        std::min(runs_.size(), (block + 1) * kSampleEvery));
  const auto found = static_cast<size_t>(
      RunHolding(first, last, lv, [](const OpRun& r) { return r.lv; }) - runs_.begin());
  last_run_.set(found);
  return found;
}

const OpRun& History::RunAt(Lv lv) const { return runs_[RunIndex(lv)]; }

bool History::AllInserts(Lv lv, uint32_t len) const {
  const uint64_t end = uint64_t{lv} + len;
  if (end > next_lv_) return false;
  for (uint64_t x = lv; x < end;) {
    const OpRun& r = RunAt(static_cast<Lv>(x));
    if (!r.is_insert()) return false;
    x = uint64_t{r.lv} + r.len;
  }
  return true;
}

Lv History::OriginLeft(Lv lv) const {
  const OpRun& r = RunAt(lv);
  return lv == r.lv ? r.ins.origin_left : lv - 1;
}

Lv History::OriginRight(Lv lv) const { return RunAt(lv).ins.origin_right; }

uint32_t History::ByteOffset(const OpRun& run, uint32_t k) const {
  if ((run.flags & OpRun::kNonAscii) == 0) return k;
  const uint32_t j = k / 64;
  size_t off = j == 0 ? 0 : checkpoints_[run.ins.first_checkpoint + j - 1];
  const std::string_view text = std::string_view(content_).substr(run.ins.content);
  utf8::Advance(text, &off, k - j * 64);
  return static_cast<uint32_t>(off);
}

std::string_view History::Content(Lv lv, uint32_t len) const {
  const OpRun& first = RunAt(lv);
  const uint32_t start = first.ins.content + ByteOffset(first, lv - first.lv);
  const Lv last_lv = lv + len - 1;
  const OpRun& last = RunAt(last_lv);
  uint32_t end = last.ins.content + ByteOffset(last, last_lv - last.lv);
  end += static_cast<uint32_t>(utf8::SequenceLength(static_cast<uint8_t>(content_[end])));
  return std::string_view(content_).substr(start, end - start);
}

void History::AppendContent(Lv lv, uint32_t len, std::string* out) const {
  const OpRun& r = RunAt(lv);
  if ((r.flags & OpRun::kNonAscii) == 0 && lv + len <= r.end()) {
    out->append(content_, r.ins.content + (lv - r.lv), len);
    return;
  }
  out->append(Content(lv, len));
}

void History::ParentsOf(Lv lv, std::vector<Lv>* out) const {
  out->clear();
  const GraphEntry& e = EntryAt(lv);
  if (lv != e.lv) {
    out->push_back(lv - 1);
    return;
  }
  out->assign(parent_pool_.begin() + e.parents_start,
              parent_pool_.begin() + e.parents_start + e.parents_count);
}

Lv History::Append(uint32_t agent, const std::vector<Lv>& parents, uint32_t len) {
  const Lv lv = next_lv_;
  AgentInfo& info = agents_[agent];
  if (!agent_runs_.empty()) {
    AgentRun& last = agent_runs_.back();
    if (last.agent == agent && last.lv + last.len == lv && last.seq + last.len == info.next_seq) {
      last.len += len;
    } else {
      info.runs.push_back(static_cast<uint32_t>(agent_runs_.size()));
      agent_runs_.push_back(AgentRun{lv, len, agent, info.next_seq});
    }
  } else {
    info.runs.push_back(0);
    agent_runs_.push_back(AgentRun{lv, len, agent, info.next_seq});
  }
  info.next_seq += len;

  if (parents.size() == 1 && parents[0] + 1 == lv && !graph_.empty() &&
      graph_.back().lv + graph_.back().len == lv) {
    graph_.back().len += len;
  } else {
    graph_.push_back(GraphEntry{lv, len, static_cast<uint32_t>(parent_pool_.size()),
                                static_cast<uint32_t>(parents.size()),
                                &parents == &frontier_ || parents == frontier_});
    parent_pool_.insert(parent_pool_.end(), parents.begin(), parents.end());
  }

  // The new op supersedes its parents in the frontier.
  if (&parents == &frontier_) {  // A local op, made on the whole frontier.
    frontier_.assign(1, lv + len - 1);
  } else if (frontier_.size() == 1 && parents.size() == 1 && frontier_[0] == parents[0]) {
    frontier_[0] = lv + len - 1;
  } else {
    std::erase_if(frontier_, [&](Lv f) {
      return std::binary_search(parents.begin(), parents.end(), f);
    });
    frontier_.push_back(lv + len - 1);  // The largest LV: stays sorted.
  }
  next_lv_ += len;
  return lv;
}

void History::AddCheckpoints(OpRun& run, uint32_t from_len) {
  // The run holds checkpoints for code points 64, 128, ... below from_len;
  // add those below run.len. It is the last run, so its checkpoints are
  // the last ones in checkpoints_.
  const uint32_t existing = from_len == 0 ? 0 : (from_len - 1) / 64;
  uint32_t at = existing * 64;
  size_t off = existing == 0 ? 0 : checkpoints_[run.ins.first_checkpoint + existing - 1];
  const std::string_view text = std::string_view(content_).substr(run.ins.content);
  for (uint32_t next = at + 64; next < run.len; next += 64) {
    utf8::Advance(text, &off, next - at);
    at = next;
    checkpoints_.push_back(static_cast<uint32_t>(off));
  }
}

Lv History::AppendInsert(uint32_t agent, const std::vector<Lv>& parents, uint32_t len,
                         Lv origin_left, Lv origin_right, std::string_view text, bool ascii) {
  const Lv lv = Append(agent, parents, len);
  inserted_ += len;
  if (!runs_.empty()) {
    OpRun& last = runs_.back();
    if (last.is_insert() && last.end() == lv && origin_left == lv - 1 &&
        origin_right == last.ins.origin_right) {
      const uint32_t old_len = last.len;
      if (!ascii && (last.flags & OpRun::kNonAscii) == 0) {
        // The run stops being ASCII: index what it holds so far.
        last.flags |= OpRun::kNonAscii;
        last.ins.first_checkpoint = static_cast<uint32_t>(checkpoints_.size());
        for (uint32_t c = 64; c < old_len; c += 64) checkpoints_.push_back(c);
      }
      content_.append(text);
      last.len += len;
      if (last.flags & OpRun::kNonAscii) AddCheckpoints(last, old_len);
      return lv;
    }
  }
  OpRun run = OpRun::Insert(lv, len, origin_left, origin_right);
  run.ins.content = static_cast<uint32_t>(content_.size());
  run.ins.first_checkpoint = static_cast<uint32_t>(checkpoints_.size());
  run.flags = ascii ? 0 : OpRun::kNonAscii;
  content_.append(text);
  PushRun(run);
  if (!ascii) AddCheckpoints(runs_.back(), 0);
  return lv;
}

Lv History::AppendDelete(uint32_t agent, const std::vector<Lv>& parents, uint32_t len, Lv target,
                         bool backward) {
  const Lv lv = Append(agent, parents, len);
  if (!runs_.empty()) {
    OpRun& last = runs_.back();
    if (!last.is_insert() && last.end() == lv) {
      const int64_t t = target;
      const int64_t first = last.del.target;
      const bool fwd_ok = t == first + last.len && (last.len == 1 || !last.backward()) &&
                          (len == 1 || !backward);
      const bool bwd_ok = t == first - last.len && (last.len == 1 || last.backward()) &&
                          (len == 1 || backward);
      if (fwd_ok || bwd_ok) {
        last.flags = fwd_ok ? 0 : OpRun::kBackward;
        last.len += len;
        return lv;
      }
    }
  }
  PushRun(OpRun::Delete(lv, len, target, backward));
  return lv;
}

bool History::Restore(std::vector<AgentRun> agent_runs, std::vector<GraphEntry> graph,
                      std::vector<Lv> parent_pool, std::vector<OpRun> runs,
                      std::string content) {
  agent_runs_ = std::move(agent_runs);
  for (size_t i = 0; i < agent_runs_.size(); ++i) {
    AgentRun& r = agent_runs_[i];
    AgentInfo& info = agents_[r.agent];
    r.seq = info.next_seq;
    info.next_seq += r.len;
    info.runs.push_back(static_cast<uint32_t>(i));
    next_lv_ = r.lv + r.len;
  }
  graph_ = std::move(graph);
  parent_pool_ = std::move(parent_pool);
  // The heads after each entry, as Append() keeps them, to know which
  // entries were closed; the last are the frontier.
  std::set<Lv> heads;
  for (GraphEntry& e : graph_) {
    const Lv* parents = parent_pool_.data() + e.parents_start;
    e.closed = e.parents_count == heads.size() &&
               std::all_of(parents, parents + e.parents_count,
                           [&heads](Lv p) { return heads.count(p) != 0; });
    for (uint32_t i = 0; i < e.parents_count; ++i) heads.erase(parents[i]);
    heads.insert(e.lv + e.len - 1);
  }
  frontier_.assign(heads.begin(), heads.end());
  runs_ = std::move(runs);
  run_sample_.clear();
  for (size_t i = 0; i < runs_.size(); i += kSampleEvery) run_sample_.push_back(runs_[i].lv);
  content_ = std::move(content);
  checkpoints_.clear();
  inserted_ = 0;
  for (const OpRun& r : runs_) inserted_ += r.is_insert() ? r.len : 0;
  if (inserted_ == content_.size() && utf8::IsAscii(content_)) {  // Offsets are counts.
    uint32_t offset = 0;
    for (OpRun& r : runs_) {
      if (!r.is_insert()) continue;
      r.ins.content = offset;
      r.ins.first_checkpoint = 0;
      r.flags = 0;
      offset += r.len;
    }
    return true;
  }
  size_t byte = 0;
  for (OpRun& r : runs_) {
    if (!r.is_insert()) continue;
    const size_t start = byte;
    if (!utf8::Advance(content_, &byte, r.len)) return false;
    r.ins.content = static_cast<uint32_t>(start);
    r.ins.first_checkpoint = static_cast<uint32_t>(checkpoints_.size());
    r.flags = byte - start == r.len ? 0 : OpRun::kNonAscii;
    if (r.flags & OpRun::kNonAscii) AddCheckpoints(r, 0);
  }
  return byte == content_.size();
}

size_t History::MemoryUsage() const {
  size_t n = agents_.capacity() * sizeof(AgentInfo) + agent_runs_.capacity() * sizeof(AgentRun) +
             runs_.capacity() * sizeof(OpRun) + run_sample_.capacity() * sizeof(Lv) +
             content_.capacity() +
             checkpoints_.capacity() * sizeof(uint32_t) + graph_.capacity() * sizeof(GraphEntry) +
             parent_pool_.capacity() * sizeof(Lv) + frontier_.capacity() * sizeof(Lv) +
             agent_index_.size() * 32;
  for (const AgentInfo& a : agents_) n += a.runs.capacity() * sizeof(uint32_t);
  return n;
}

}  // namespace quire::crdt::internal
