// The document order as the encoding stores it (docs/crdt_format.md,
// section 5): maximal runs of consecutive LVs, deleted or not, and the
// origins it implies for an insert run, which the encoder omits and the
// decoder derives.
//
// Sets over characters are indexed by rank (an insert's place among the
// inserts in LV order), not by LV: a history of long delete runs has far
// more LVs than characters, and the encoding's bytes bound the characters.
//
// Thread safety: pure functions.
#ifndef QUIRE_CRDT_INTERNAL_DOC_ORDER_H_
#define QUIRE_CRDT_INTERNAL_DOC_ORDER_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "crdt/internal/bits.h"
#include "crdt/internal/lv.h"

namespace quire::crdt::internal {

// Characters [lv, lv + len) in document order. Consecutive LVs in one run
// are inserts with no delete between, so their ranks are consecutive too:
// `rank` is lv's.
struct OrderRun {
  Lv lv;
  uint32_t len;
  uint32_t rank;
};

inline constexpr uint32_t kNoRun = UINT32_MAX;

// The origins the order implies for the insert runs starting at the ranks
// set in `queries` (after Index()): the nearest character left of the
// run's first with a smaller LV, and the nearest right of it with a
// smaller LV (kRootLv for none). They are the origins whenever the run was
// inserted with no concurrent insert at that place: then everything
// between it and them came later. Results go to (*left)[i], (*right)[i]
// for the i-th query in rank order. When right_run is given it gets, per
// query, the index in `order` of the run holding the right origin (kNoRun
// for the root).
void PredictOrigins(const std::vector<OrderRun>& order, const Bits& queries, size_t count,
                    std::vector<Lv>* left, std::vector<Lv>* right,
                    std::vector<uint32_t>* right_run = nullptr);

}  // namespace quire::crdt::internal

#endif  // QUIRE_CRDT_INTERNAL_DOC_ORDER_H_
