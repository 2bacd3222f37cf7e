#include "crdt/internal/lv_index.h"

#include <algorithm>

namespace quire::crdt::internal {

int LvIndex::ChunkFor(Lv lv) const {
  if (firsts_.empty() || lv < firsts_[0]) return -1;
  return static_cast<int>(
      RunHolding(firsts_.begin(), firsts_.end(), lv, [](Lv start) { return start; }) -
      firsts_.begin());
}

uint32_t LvIndex::Find(Lv lv) const {
  const int c = ChunkFor(lv);
  if (c < 0) return kNone;
  const std::vector<Entry>& chunk = chunks_[c];
  return RunHolding(chunk.begin(), chunk.end(), lv, [](const Entry& e) { return e.start; })->leaf;
}

void LvIndex::SplitIfLarge(size_t c) {
  if (chunks_[c].size() <= kMaxChunk) return;
  std::vector<Entry> upper(chunks_[c].begin() + kMaxChunk / 2, chunks_[c].end());
  chunks_[c].resize(kMaxChunk / 2);
  firsts_.insert(firsts_.begin() + c + 1, upper[0].start);
  chunks_.insert(chunks_.begin() + c + 1, std::move(upper));
}

void LvIndex::InsertEntry(Lv start, uint32_t leaf) {
  int c = ChunkFor(start);
  if (c < 0) {
    if (chunks_.empty()) {
      chunks_.push_back({{start, leaf}});
      firsts_.push_back(start);
      return;
    }
    c = 0;
    firsts_[0] = start;
  }
  std::vector<Entry>& chunk = chunks_[c];
  auto it = std::lower_bound(chunk.begin(), chunk.end(), start,
                             [](const Entry& e, Lv v) { return e.start < v; });
  if (it != chunk.end() && it->start == start) {
    it->leaf = leaf;
  } else {
    chunk.insert(it, Entry{start, leaf});
    SplitIfLarge(c);
  }
}

void LvIndex::EraseAt(Lv start) {
  const int c = ChunkFor(start);
  if (c < 0) return;
  std::vector<Entry>& chunk = chunks_[c];
  auto it = std::lower_bound(chunk.begin(), chunk.end(), start,
                             [](const Entry& e, Lv v) { return e.start < v; });
  if (it == chunk.end() || it->start != start) return;
  chunk.erase(it);
  if (chunk.empty()) {
    chunks_.erase(chunks_.begin() + c);
    firsts_.erase(firsts_.begin() + c);
  } else {
    firsts_[c] = chunk.front().start;
  }
}

void LvIndex::Coalesce(Lv at) {
  if (at == 0) return;
  const uint32_t here = Find(at);
  if (here != kNone && Find(at - 1) == here) EraseAt(at);
}

bool LvIndex::SetWithinEntry(Lv start, Lv end, uint32_t leaf) {
  const int c = ChunkFor(start);
  if (c < 0) return false;
  std::vector<Entry>& chunk = chunks_[c];
  auto it = RunHolding(chunk.begin(), chunk.end(), start, [](const Entry& e) { return e.start; });
  size_t i = static_cast<size_t>(it - chunk.begin());
  // Where entry i's range ends: the next entry, or (the last) end_.
  const bool last_chunk = static_cast<size_t>(c) + 1 == chunks_.size();
  const Lv next = i + 1 < chunk.size() ? chunk[i + 1].start : last_chunk ? end_ : firsts_[c + 1];
  if (end > next) return false;  // The range covers several entries.
  const uint32_t old = chunk[i].leaf;
  if (old == leaf) return true;
  const bool to_end = end == next;
  if (chunk[i].start == start) {
    chunk[i].leaf = leaf;
  } else {
    chunk.insert(chunk.begin() + static_cast<ptrdiff_t>(++i), Entry{start, leaf});
  }
  if (!to_end) {
    chunk.insert(chunk.begin() + static_cast<ptrdiff_t>(i + 1), Entry{end, old});
  } else if (i + 1 < chunk.size() && chunk[i + 1].leaf == leaf) {
    chunk.erase(chunk.begin() + static_cast<ptrdiff_t>(i + 1));  // Joins the entry after.
  }
  if (i > 0 && chunk[i - 1].leaf == leaf) {
    chunk.erase(chunk.begin() + static_cast<ptrdiff_t>(i));  // Joins the entry before.
  }
  SplitIfLarge(c);
  // Joins across chunk boundaries are left alone: correct, just one entry more.
  return true;
}

void LvIndex::SetSlow(Lv start, uint32_t len, uint32_t leaf) {
  if (len == 0) return;
  const Lv end = start + len;
  // Fast path: LVs never mapped before, after all the others.
  if (start >= end_ && !chunks_.empty()) {
    end_ = end;
    std::vector<Entry>& last = chunks_.back();
    if (last.back().leaf == leaf) return;
    last.push_back(Entry{start, leaf});
    SplitIfLarge(chunks_.size() - 1);
    return;
  }
  if (SetWithinEntry(start, end, leaf)) return;
  const uint32_t after = end < end_ ? Find(end) : kNone;
  end_ = std::max(end_, end);
  // Remove entries starting inside [start, end].
  for (int c = std::max(ChunkFor(start), 0); c < static_cast<int>(chunks_.size());) {
    std::vector<Entry>& chunk = chunks_[c];
    if (chunk.front().start > end) break;
    auto first = std::lower_bound(chunk.begin(), chunk.end(), start,
                                  [](const Entry& e, Lv v) { return e.start < v; });
    auto last = std::upper_bound(first, chunk.end(), end,
                                 [](Lv v, const Entry& e) { return v < e.start; });
    chunk.erase(first, last);
    if (chunk.empty()) {
      chunks_.erase(chunks_.begin() + c);
      firsts_.erase(firsts_.begin() + c);
      continue;
    }
    firsts_[c] = chunk.front().start;
    ++c;
  }
  InsertEntry(start, leaf);
  if (after != kNone) InsertEntry(end, after);
  Coalesce(end);
  Coalesce(start);
}

void LvIndex::BuildFrom(const std::vector<std::pair<Lv, uint32_t>>& sorted, Lv end) {
  chunks_.clear();
  firsts_.clear();
  for (const auto& [start, leaf] : sorted) {
    if (!chunks_.empty() && chunks_.back().back().leaf == leaf) continue;
    if (chunks_.empty() || chunks_.back().size() >= kMaxChunk / 2) {
      chunks_.emplace_back();
      firsts_.push_back(start);
    }
    chunks_.back().push_back(Entry{start, leaf});
  }
  end_ = end;
}

size_t LvIndex::MemoryUsage() const {
  size_t n = firsts_.capacity() * sizeof(Lv) + chunks_.capacity() * sizeof(chunks_[0]);
  for (const auto& c : chunks_) n += c.capacity() * sizeof(Entry);
  return n;
}

}  // namespace quire::crdt::internal
