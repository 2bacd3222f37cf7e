// TextDoc::Encode: the format of docs/crdt_format.md.
#include <zstd.h>

#include <string>
#include <vector>

#include "base/coding.h"
#include "crdt/internal/bits.h"
#include "crdt/internal/doc_order.h"
#include "crdt/internal/doc_state.h"
#include "crdt/internal/encoding.h"
#include "crdt/text_doc.h"

namespace quire::crdt {
namespace internal {
namespace {

constexpr int kZstdLevel = 15;

// Origins and parents are written as distances back from the op's own LV
// (0 = the root), which are small for the common cases.
uint64_t DistanceBack(Lv lv, Lv x) { return x == kRootLv ? 0 : lv - x; }

// The document order as maximal runs of consecutive LVs, with their ranks.
std::vector<OrderRun> OrderRunsOf(const History& h, const SpanTree& tree,
                                  const std::vector<uint32_t>& run_rank) {
  std::vector<OrderRun> order;
  tree.ForEach([&](const Span& s) {
    if (!order.empty() && order.back().lv + order.back().len == s.lv) {
      order.back().len += s.len();
      return;
    }
    const OpRun& run = h.RunAt(s.lv);
    const size_t index = static_cast<size_t>(&run - h.runs().data());
    order.push_back(OrderRun{s.lv, s.len(), run_rank[index] + (s.lv - run.lv)});
  });
  return order;
}

void EncodeGraph(const History& h, std::string* out) {
  PutVarint(out, h.graph().size());
  for (const GraphEntry& e : h.graph()) {
    PutVarint(out, e.len);
    PutVarint(out, e.parents_count);
    for (uint32_t i = 0; i < e.parents_count; ++i) {
      PutVarint(out, e.lv - h.parent_pool()[e.parents_start + i]);
    }
  }
}

std::string EncodeBody(const DocState& doc) {
  const History& h = doc.history();
  std::string out;
  PutVarint(&out, h.agents().size());
  for (const AgentInfo& a : h.agents()) PutVarint(&out, a.id.value);
  PutVarint(&out, h.agent_runs().size());
  for (const AgentRun& r : h.agent_runs()) {
    PutVarint(&out, r.agent);
    PutVarint(&out, r.len);
  }
  EncodeGraph(h, &out);
  // Each op run's first insert rank; the insert runs' starts as queries.
  std::vector<uint32_t> run_rank(h.runs().size());
  Bits starts(h.inserted());
  size_t n_starts = 0;
  uint32_t rank = 0;
  for (size_t i = 0; i < h.runs().size(); ++i) {
    const OpRun& r = h.runs()[i];
    run_rank[i] = rank;
    if (!r.is_insert()) continue;
    starts.Set(rank, 1);
    ++n_starts;
    rank += r.len;
  }
  starts.Index();
  const std::vector<OrderRun> order = OrderRunsOf(h, doc.tree(), run_rank);
  std::vector<Lv> left, right;
  PredictOrigins(order, starts, n_starts, &left, &right);
  // Op runs as columns: kind and length, then the origins that differ from
  // the prediction, then delete targets (from where the last one ended).
  PutVarint(&out, h.runs().size());
  std::vector<bool> explicit_origins;
  size_t q = 0;
  for (const OpRun& r : h.runs()) {
    uint64_t kind = kDeleteRun;
    if (r.is_insert()) {
      const bool predicted = left[q] == r.ins.origin_left && right[q] == r.ins.origin_right;
      kind = predicted ? kPredictedInsert : kExplicitInsert;
      explicit_origins.push_back(!predicted);
      ++q;
    }
    PutVarint(&out, uint64_t{r.len} << 2 | kind);
  }
  q = 0;
  for (const OpRun& r : h.runs()) {
    if (!r.is_insert() || !explicit_origins[q++]) continue;
    PutVarint(&out, DistanceBack(r.lv, r.ins.origin_left));
    PutVarint(&out, DistanceBack(r.lv, r.ins.origin_right));
  }
  int64_t prev_end = 0;
  for (const OpRun& r : h.runs()) {
    if (r.is_insert()) continue;
    const int64_t target = r.del.target;
    PutVarint(&out, ZigZag(target - prev_end) << 1 | (r.backward() ? 1 : 0));
    prev_end = r.backward() ? target - r.len : target + r.len;
  }
  // The document order.
  PutVarint(&out, order.size());
  int64_t prev = 0;
  for (const OrderRun& r : order) {
    PutVarint(&out, ZigZag(int64_t{r.lv} - prev));
    PutVarint(&out, r.len);
    prev = int64_t{r.lv} + r.len;
  }
  PutVarint(&out, h.content().size());
  out.append(h.content());
  return out;
}

}  // namespace

std::string EncodeDoc(const DocState& doc) {
  const std::string body = EncodeBody(doc);
  std::string out(kDocMagic, 4);
  out.push_back(static_cast<char>(kDocFormatVersion));
  out.push_back(static_cast<char>(kDocFlagZstd));
  PutVarint(&out, body.size());
  const size_t header = out.size();
  out.resize(header + ZSTD_compressBound(body.size()));
  const size_t n =
      ZSTD_compress(out.data() + header, out.size() - header, body.data(), body.size(), kZstdLevel);
  out.resize(header + n);  // ZSTD_compress cannot fail with a bound-sized buffer.
  PutFixed32(&out, Crc32(out));
  return out;
}

}  // namespace internal

std::string TextDoc::Encode() const { return internal::EncodeDoc(*state_); }

}  // namespace quire::crdt
