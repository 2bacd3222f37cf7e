// Local versions (LVs): a replica's dense numbering of the ops it holds, in
// the order it received them (a causal order: an op's parents, origins and
// targets have smaller LVs). LVs never leave the replica; ids do.
//
// Most structures of a document are runs over LVs (or over seqs, or
// offsets) that tile a range in order; RunHolding is the one lookup they
// share.
//
// Thread safety: constants and pure functions.
#ifndef QUIRE_CRDT_INTERNAL_LV_H_
#define QUIRE_CRDT_INTERNAL_LV_H_

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <iterator>
#include <utility>
#include <vector>

namespace quire::crdt::internal {

using Lv = uint32_t;

// The document's start (as a left origin) or end (as a right origin).
inline constexpr Lv kRootLv = UINT32_MAX;

// Among runs [first, last) sorted by their start, the one holding `key`:
// the last whose start (`start_of(run)`) is <= key.
// REQUIRES: first != last and start_of(*first) <= key.
template <typename It, typename Key, typename StartOf>
It RunHolding(It first, It last, Key key, StartOf start_of) {
  return std::prev(std::upper_bound(
      first, last, key, [&start_of](const Key& k, const auto& run) { return k < start_of(run); }));
}

// Sorts (LV, value) pairs by LV < end: an LSD radix sort, a byte a pass,
// linear where std::sort is not. Stable.
inline void SortByLv(std::vector<std::pair<Lv, uint32_t>>* pairs, Lv end) {
  std::vector<std::pair<Lv, uint32_t>> tmp(pairs->size());
  for (int shift = 0; shift < 32 && (end >> shift) != 0; shift += 8) {
    size_t count[257] = {};
    for (const auto& e : *pairs) ++count[((e.first >> shift) & 0xFF) + 1];
    for (int b = 0; b < 256; ++b) count[b + 1] += count[b];
    for (const auto& e : *pairs) tmp[count[(e.first >> shift) & 0xFF]++] = e;
    pairs->swap(tmp);
  }
}

}  // namespace quire::crdt::internal

#endif  // QUIRE_CRDT_INTERNAL_LV_H_
