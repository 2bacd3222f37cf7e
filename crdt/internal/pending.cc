#include "crdt/internal/pending.h"

#include <utility>

namespace quire::crdt::internal {

size_t PendingChanges::BytesOf(const Change& change) {
  size_t n = sizeof(Entry) + change.parents.size() * sizeof(Id);
  for (const Op& op : change.ops) n += sizeof(Op) + op.text.size();
  return n;
}

Status PendingChanges::Add(Entry entry) {
  auto held = by_id_.find(entry.change.id);
  const size_t replaced = held == by_id_.end() ? 0 : held->second.bytes;
  // A copy (a duplicate sent again, or a shorter batch from the same
  // place) adds nothing; a longer batch from the same place supersedes it.
  if (held != by_id_.end() && held->second.len >= entry.len) return Status::Ok();
  if ((held == by_id_.end() && by_id_.size() >= kMaxChanges) ||
      bytes_ - replaced + entry.bytes > kMaxBytes) {
    return ResourceExhausted("too many changes held back waiting for their dependencies");
  }
  if (held != by_id_.end()) {
    Unfile(held->second);
    bytes_ -= held->second.bytes;
    by_id_.erase(held);
  }
  waiting_[entry.waits_for.agent.value].emplace(entry.waits_for.seq, entry.change.id);
  bytes_ += entry.bytes;
  const Id id = entry.change.id;
  by_id_.emplace(id, std::move(entry));
  return Status::Ok();
}

void PendingChanges::Unfile(const Entry& entry) {
  auto agent = waiting_.find(entry.waits_for.agent.value);
  if (agent == waiting_.end()) return;
  auto [first, last] = agent->second.equal_range(entry.waits_for.seq);
  for (auto it = first; it != last; ++it) {
    if (it->second == entry.change.id) {
      agent->second.erase(it);
      break;
    }
  }
  if (agent->second.empty()) waiting_.erase(agent);
}

void PendingChanges::TakeReady(AgentId agent, uint64_t next_seq, std::vector<Entry>* out) {
  auto waiting = waiting_.find(agent.value);
  if (waiting == waiting_.end() || waiting->second.begin()->first >= next_seq) return;
  std::multimap<uint64_t, Id>& seqs = waiting->second;
  auto end = seqs.lower_bound(next_seq);
  for (auto it = seqs.begin(); it != end; ++it) {
    auto held = by_id_.find(it->second);
    bytes_ -= held->second.bytes;
    out->push_back(std::move(held->second));
    by_id_.erase(held);
  }
  seqs.erase(seqs.begin(), end);
  if (seqs.empty()) waiting_.erase(waiting);
}

std::vector<PendingChanges::Entry> PendingChanges::TakeAll() {
  std::vector<Entry> out;
  out.reserve(by_id_.size());
  for (auto& [id, entry] : by_id_) out.push_back(std::move(entry));
  by_id_.clear();
  waiting_.clear();
  bytes_ = 0;
  return out;
}

}  // namespace quire::crdt::internal
