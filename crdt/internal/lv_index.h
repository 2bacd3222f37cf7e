// LvIndex maps local versions (LVs: this replica's dense numbering of ops,
// in arrival order) to the leaf of the span tree that holds them. It is a
// piecewise-constant function stored as sorted (start, leaf) entries in
// small chunks, so a change in the middle moves at most one chunk.
//
// Thread safety: none (owned by one DocState).
#ifndef QUIRE_CRDT_INTERNAL_LV_INDEX_H_
#define QUIRE_CRDT_INTERNAL_LV_INDEX_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "crdt/internal/lv.h"

namespace quire::crdt::internal {

class LvIndex {
 public:
  static constexpr uint32_t kNone = UINT32_MAX;

  // The leaf last Set() for `lv`, or kNone.
  uint32_t Find(Lv lv) const;
  // Maps [start, start + len) to `leaf`.
  void Set(Lv start, uint32_t len, uint32_t leaf) {
    // Typing: new LVs after all others, in the leaf that holds the last
    // ones. Inline, as it runs once per keystroke.
    if (start >= end_ && !chunks_.empty() && chunks_.back().back().leaf == leaf) {
      end_ = start + len;
      return;
    }
    SetSlow(start, len, leaf);
  }

  // Replaces the contents with (start, leaf) pairs sorted by start; `end`
  // is one past the highest LV they cover.
  void BuildFrom(const std::vector<std::pair<Lv, uint32_t>>& sorted, Lv end);

  size_t MemoryUsage() const;

 private:
  struct Entry {
    Lv start;
    uint32_t leaf;
  };
  static constexpr size_t kMaxChunk = 128;

  // Index of the chunk whose range holds lv (the last chunk starting <= lv),
  // or -1 when lv comes before every entry.
  int ChunkFor(Lv lv) const;
  void SetSlow(Lv start, uint32_t len, uint32_t leaf);
  // Sets the value from start on (until the next entry).
  void InsertEntry(Lv start, uint32_t leaf);
  void SplitIfLarge(size_t chunk);
  void EraseAt(Lv start);   // Removes the entry starting exactly at `start`, if any.
  void Coalesce(Lv at);     // Drops the entry at `at` when it repeats the value before.
  // Set() for a range inside one entry's range, the common case (a span
  // moving to another leaf). False, changing nothing, otherwise.
  bool SetWithinEntry(Lv start, Lv end, uint32_t leaf);

  std::vector<std::vector<Entry>> chunks_;  // Non-empty, in order.
  std::vector<Lv> firsts_;                  // firsts_[i] == chunks_[i][0].start.
  Lv end_ = 0;                              // One past the highest LV ever set.
};

}  // namespace quire::crdt::internal

#endif  // QUIRE_CRDT_INTERNAL_LV_INDEX_H_
