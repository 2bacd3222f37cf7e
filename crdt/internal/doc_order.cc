#include "crdt/internal/doc_order.h"

#include <algorithm>
#include <utility>

namespace quire::crdt::internal {

void PredictOrigins(const std::vector<OrderRun>& order, const Bits& queries, size_t count,
                    std::vector<Lv>* left, std::vector<Lv>* right,
                    std::vector<uint32_t>* right_run) {
  left->assign(count, kRootLv);
  right->assign(count, kRootLv);
  if (right_run != nullptr) right_run->assign(count, kNoRun);
  // Left to right: a stack of [start, end) segments whose values rise.
  std::vector<std::pair<Lv, Lv>> segs;
  for (const OrderRun& r : order) {
    const Lv a = r.lv, b = r.lv + r.len;
    while (!segs.empty()) {
      auto& [s, e] = segs.back();
      if (s >= a) {
        segs.pop_back();
        continue;
      }
      e = std::min(e, a);
      break;
    }
    if (queries.Get(r.rank)) {
      (*left)[queries.Rank(r.rank)] = segs.empty() ? kRootLv : segs.back().second - 1;
    }
    for (Lv x = a + 1; x < b; ++x) {  // Starts inside the run: the one before is smaller.
      x += static_cast<Lv>(queries.Run(r.rank + (x - a), b - x, false));
      if (x < b) (*left)[queries.Rank(r.rank + (x - a))] = x - 1;
    }
    segs.emplace_back(a, b);
  }
  // Right to left: a stack of values (with their order run) rising from
  // bottom to top.
  std::vector<std::pair<Lv, uint32_t>> stack;
  auto answer = [&](size_t rank, const std::pair<Lv, uint32_t>* found) {
    const size_t q = queries.Rank(rank);
    (*right)[q] = found == nullptr ? kRootLv : found->first;
    if (right_run != nullptr) (*right_run)[q] = found == nullptr ? kNoRun : found->second;
  };
  for (size_t j = order.size(); j-- > 0;) {
    const OrderRun& r = order[j];
    const Lv a = r.lv, b = r.lv + r.len;
    for (Lv x = a + 1; x < b; ++x) {
      x += static_cast<Lv>(queries.Run(r.rank + (x - a), b - x, false));
      if (x >= b) break;
      auto below =
          std::lower_bound(stack.begin(), stack.end(), x,
                           [](const std::pair<Lv, uint32_t>& e, Lv v) { return e.first < v; });
      answer(r.rank + (x - a), below == stack.begin() ? nullptr : &*std::prev(below));
    }
    while (!stack.empty() && stack.back().first >= a) stack.pop_back();
    if (queries.Get(r.rank)) answer(r.rank, stack.empty() ? nullptr : &stack.back());
    stack.emplace_back(a, static_cast<uint32_t>(j));
  }
}

}  // namespace quire::crdt::internal
