#include "crdt/encoding.h"

#include <zstd.h>

#include <algorithm>
#include <bit>
#include <cassert>
#include <memory>
#include <unordered_set>

#include "base/coding.h"
#include "base/utf8.h"
#include "crdt/internal/bits.h"
#include "crdt/internal/doc_state.h"
#include "crdt/text_doc.h"

namespace quire::crdt {
namespace internal {
namespace {

constexpr uint8_t kFlagZstd = 1;
constexpr int kZstdLevel = 15;
// Op run kinds on disk: an insert whose origins the document order
// predicts, a delete, an insert with its origins written out.
constexpr uint64_t kPredictedInsert = 0;
constexpr uint64_t kDeleteRun = 1;
constexpr uint64_t kExplicitInsert = 2;

// Maximal runs of consecutive LVs in document order, deleted or not.
struct OrderRun {
  Lv lv;
  uint32_t len;
};


// The origins the document order implies for an insert run starting at x:
// the nearest character left of x with a smaller LV, and the nearest right
// of x with a smaller LV (kRootLv for none). They are the origins whenever
// x was inserted with no concurrent insert at that place: then everything
// between x and them came later. `queries` marks the run starts (indexed);
// results go to (*left)[rank], (*right)[rank].
//
// When right_run is given it gets, per query, the index in `order` of the
// order run holding the predicted right origin (kNoRun for the root).
constexpr uint32_t kNoRun = UINT32_MAX;

void PredictOrigins(const std::vector<OrderRun>& order, const Bits& queries, size_t count,
                    std::vector<Lv>* left, std::vector<Lv>* right,
                    std::vector<uint32_t>* right_run = nullptr) {
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
    if (queries.Get(a)) (*left)[queries.Rank(a)] = segs.empty() ? kRootLv : segs.back().second - 1;
    for (Lv x = a + 1; x < b; ++x) {  // Starts inside the run: the one before is smaller.
      x += static_cast<Lv>(queries.Run(x, b - x, false));
      if (x < b) (*left)[queries.Rank(x)] = x - 1;
    }
    segs.emplace_back(a, b);
  }
  // Right to left: a stack of values (with their order run) rising from
  // bottom to top.
  std::vector<std::pair<Lv, uint32_t>> stack;
  auto answer = [&](Lv x, const std::pair<Lv, uint32_t>* found) {
    const size_t q = queries.Rank(x);
    (*right)[q] = found == nullptr ? kRootLv : found->first;
    if (right_run != nullptr) (*right_run)[q] = found == nullptr ? kNoRun : found->second;
  };
  for (size_t j = order.size(); j-- > 0;) {
    const Lv a = order[j].lv, b = order[j].lv + order[j].len;
    for (Lv x = a + 1; x < b; ++x) {
      x += static_cast<Lv>(queries.Run(x, b - x, false));
      if (x >= b) break;
      auto below = std::lower_bound(stack.begin(), stack.end(), x,
                                    [](const std::pair<Lv, uint32_t>& e, Lv v) { return e.first < v; });
      answer(x, below == stack.begin() ? nullptr : &*std::prev(below));
    }
    while (!stack.empty() && stack.back().first >= a) stack.pop_back();
    if (queries.Get(a)) answer(a, stack.empty() ? nullptr : &stack.back());
    stack.emplace_back(a, static_cast<uint32_t>(j));
  }
}

// Origins and parents are written as distances back from the op's own LV
// (0 = the root), which are small for the common cases.
uint64_t Back(Lv lv, Lv x) { return x == kRootLv ? 0 : lv - x; }

std::vector<OrderRun> OrderRuns(const SpanTree& tree) {
  std::vector<OrderRun> order;
  tree.ForEach([&](const Span& s) {
    if (!order.empty() && order.back().lv + order.back().len == s.lv) {
      order.back().len += s.len();
    } else {
      order.push_back(OrderRun{s.lv, s.len()});
    }
  });
  return order;
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
  PutVarint(&out, h.graph().size());
  for (const GraphEntry& e : h.graph()) {
    PutVarint(&out, e.len);
    PutVarint(&out, e.parents_count);
    for (uint32_t i = 0; i < e.parents_count; ++i) {
      PutVarint(&out, e.lv - h.parent_pool()[e.parents_start + i]);
    }
  }
  const std::vector<OrderRun> order = OrderRuns(doc.tree());
  Bits starts(h.size());
  size_t n_starts = 0;
  for (const OpRun& r : h.runs()) {
    if (r.kind == OpRun::kInsert) starts.Set(r.lv, 1), ++n_starts;
  }
  starts.Index();
  std::vector<Lv> left, right;
  PredictOrigins(order, starts, n_starts, &left, &right);
  // Op runs as columns: kind and length, then the origins that differ from
  // the prediction, then delete targets (from where the last one ended).
  PutVarint(&out, h.runs().size());
  std::vector<bool> explicit_origins;
  size_t q = 0;
  for (const OpRun& r : h.runs()) {
    uint64_t kind = kDeleteRun;
    if (r.kind == OpRun::kInsert) {
      const bool predicted = left[q] == r.a && right[q] == r.b;
      kind = predicted ? kPredictedInsert : kExplicitInsert;
      explicit_origins.push_back(!predicted);
      ++q;
    }
    PutVarint(&out, uint64_t{r.len} << 2 | kind);
  }
  q = 0;
  for (const OpRun& r : h.runs()) {
    if (r.kind != OpRun::kInsert || !explicit_origins[q++]) continue;
    PutVarint(&out, Back(r.lv, r.a));
    PutVarint(&out, Back(r.lv, r.b));
  }
  int64_t prev_end = 0;
  for (const OpRun& r : h.runs()) {
    if (r.kind != OpRun::kDelete) continue;
    PutVarint(&out, ZigZag(int64_t{r.a} - prev_end) << 1 | (r.backward() ? 1 : 0));
    prev_end = r.backward() ? int64_t{r.a} - r.len : int64_t{r.a} + r.len;
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

Status Bad(const std::string& what) { return Corruption("document: " + what); }

class BodyReader {
 public:
  explicit BodyReader(std::string_view in) : in_(in) {}
  bool Varint(uint64_t* v) { return GetVarint(&in_, v); }
  // A count of items each at least `min_bytes` long: larger is a lie.
  bool Count(uint64_t* v, size_t min_bytes) {
    return Varint(v) && *v <= in_.size() / std::max<size_t>(min_bytes, 1);
  }
  bool Bytes(size_t n, std::string_view* out) {
    if (in_.size() < n) return false;
    *out = in_.substr(0, n);
    in_.remove_prefix(n);
    return true;
  }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

Status Decompress(std::string_view in, uint64_t raw_len, std::string* out) {
  if (raw_len > kMaxDocBodyBytes) return ResourceExhausted("document: body too large");
  // A plausible ratio: decompress in one call into a buffer of the stated
  // size. Otherwise stream, growing with the real output, so a few bytes
  // claiming a huge body cannot make us allocate it.
  if (raw_len <= in.size() * 64 && ZSTD_getFrameContentSize(in.data(), in.size()) == raw_len) {
    out->resize(raw_len);
    const size_t n = ZSTD_decompress(out->data(), out->size(), in.data(), in.size());
    if (ZSTD_isError(n) || n != raw_len) return Bad("compressed body does not decode");
    return Status::Ok();
  }
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  ZSTD_inBuffer input{in.data(), in.size(), 0};
  // Grow with the real output, never by what the header claims.
  out->resize(std::min<uint64_t>(raw_len, in.size() * 8 + 4096));
  size_t produced = 0;
  size_t ret = 1;
  while (ret != 0) {
    if (produced == out->size()) {
      if (out->size() >= raw_len) break;
      out->resize(std::min<uint64_t>(raw_len, out->size() * 2));
    }
    ZSTD_outBuffer output{out->data() + produced, out->size() - produced, 0};
    ret = ZSTD_decompressStream(ctx, &output, &input);
    produced += output.pos;
    if (ZSTD_isError(ret)) break;
    if (output.pos == 0 && input.pos == input.size && ret != 0 && produced < out->size()) break;
  }
  ZSTD_freeDCtx(ctx);
  if (ZSTD_isError(ret) || ret != 0 || produced != raw_len || input.pos != input.size) {
    return Bad("compressed body does not decode");
  }
  return Status::Ok();
}

}  // namespace

std::string EncodeDoc(const DocState& doc) {
  const std::string body = EncodeBody(doc);
  std::string out(kDocMagic, 4);
  out.push_back(static_cast<char>(kDocFormatVersion));
  out.push_back(static_cast<char>(kFlagZstd));
  PutVarint(&out, body.size());
  const size_t header = out.size();
  out.resize(header + ZSTD_compressBound(body.size()));
  const size_t n = ZSTD_compress(out.data() + header, out.size() - header, body.data(),
                                 body.size(), kZstdLevel);
  out.resize(header + n);  // ZSTD_compress cannot fail with a bound-sized buffer.
  PutFixed32(&out, Crc32(out));
  return out;
}

Result<std::unique_ptr<DocState>> DecodeDoc(std::string_view bytes, AgentId agent) {
  if (agent.value == kRootAgent) return InvalidArgument("document: the root agent");
  if (bytes.size() < 4 + 2 + 1 + 4 || bytes.substr(0, 4) != std::string_view(kDocMagic, 4)) {
    return Bad("not a Quire document (bad magic)");
  }
  std::string_view crc_bytes = bytes.substr(bytes.size() - 4);
  uint32_t crc;
  GetFixed32(&crc_bytes, &crc);
  if (Crc32(bytes.substr(0, bytes.size() - 4)) != crc) return Bad("checksum mismatch");
  const auto version = static_cast<uint8_t>(bytes[4]);
  if (version != kDocFormatVersion) {
    return Bad("unknown format version " + std::to_string(version));
  }
  const auto flags = static_cast<uint8_t>(bytes[5]);
  if ((flags & ~kFlagZstd) != 0) return Bad("unknown flags");
  std::string_view rest = bytes.substr(6, bytes.size() - 10);
  uint64_t raw_len;
  if (!GetVarint(&rest, &raw_len)) return Bad("truncated header");
  std::string decompressed;
  std::string_view body = rest;
  if (flags & kFlagZstd) {
    QUIRE_RETURN_IF_ERROR(Decompress(rest, raw_len, &decompressed));
    body = decompressed;
  } else if (raw_len != rest.size()) {
    return Bad("body length mismatch");
  }

  BodyReader in(body);
  auto doc = std::make_unique<DocState>(agent);
  History& h = doc->mutable_history();

  // Agents.
  uint64_t n_agents;
  if (!in.Count(&n_agents, 1)) return Bad("truncated agent table");
  std::vector<uint32_t> agent_index(n_agents);
  {
    std::unordered_set<uint64_t> seen;
    for (uint64_t i = 0; i < n_agents; ++i) {
      uint64_t id;
      if (!in.Varint(&id)) return Bad("truncated agent table");
      if (id == kRootAgent || !seen.insert(id).second) return Bad("bad agent id");
      agent_index[i] = h.AddAgent(AgentId{id});
    }
  }
  // Agent runs.
  uint64_t n_runs;
  if (!in.Count(&n_runs, 2)) return Bad("truncated agent runs");
  std::vector<AgentRun> agent_runs(n_runs);
  uint64_t total = 0;
  for (AgentRun& r : agent_runs) {
    uint64_t a, len;
    if (!in.Varint(&a) || !in.Varint(&len)) return Bad("truncated agent runs");
    if (a >= n_agents || len == 0 || len >= (uint64_t{1} << 31) - total) {
      return Bad("bad agent run");
    }
    r = AgentRun{static_cast<Lv>(total), static_cast<uint32_t>(len), agent_index[a], 0};
    total += len;
  }
  // Causal graph.
  uint64_t n_entries;
  if (!in.Count(&n_entries, 2)) return Bad("truncated graph");
  std::vector<GraphEntry> graph(n_entries);
  std::vector<Lv> pool;
  uint64_t lv = 0;
  for (GraphEntry& e : graph) {
    uint64_t len, count;
    if (!in.Varint(&len) || !in.Count(&count, 1)) return Bad("truncated graph");
    if (len == 0 || len > total - lv) return Bad("bad graph entry");
    e = GraphEntry{static_cast<Lv>(lv), static_cast<uint32_t>(len),
                   static_cast<uint32_t>(pool.size()), static_cast<uint32_t>(count)};
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t back;
      if (!in.Varint(&back)) return Bad("truncated graph");
      if (back == 0 || back > lv) return Bad("parent not before its op");
      pool.push_back(static_cast<Lv>(lv - back));
    }
    std::sort(pool.begin() + e.parents_start, pool.end());
    if (std::adjacent_find(pool.begin() + e.parents_start, pool.end()) != pool.end()) {
      return Bad("repeated parent");
    }
    lv += len;
  }
  if (lv != total) return Bad("graph does not cover the ops");

  // Op runs.
  uint64_t n_ops;
  if (!in.Count(&n_ops, 1)) return Bad("truncated ops");
  std::vector<OpRun> ops(n_ops);
  std::vector<uint8_t> kinds(n_ops);
  uint64_t n_inserts = 0;
  lv = 0;
  for (size_t i = 0; i < ops.size(); ++i) {
    uint64_t v;
    if (!in.Varint(&v)) return Bad("truncated ops");
    kinds[i] = static_cast<uint8_t>(v & 3);
    v >>= 2;
    if (kinds[i] > kExplicitInsert || v == 0 || v > total - lv) return Bad("bad op run");
    OpRun& r = ops[i];
    r = OpRun{static_cast<Lv>(lv), static_cast<uint32_t>(v), kRootLv, kRootLv, 0, 0,
              kinds[i] == kDeleteRun ? OpRun::kDelete : OpRun::kInsert, 0};
    if (r.kind == OpRun::kInsert) {
      n_inserts += v;
    } else if (v > n_inserts) {
      // A delete run removes that many distinct earlier inserts.
      return Bad("delete run longer than the inserts before it");
    }
    lv += v;
  }
  if (lv != total) return Bad("op runs do not cover the ops");
  // Each insert needs a byte of text further on: a small input cannot
  // claim a huge document (and make the bitsets below huge).
  if (n_inserts > body.size()) return Bad("more inserts than bytes");
  Bits inserts(total);
  Bits starts(total);  // First LV of each insert run.
  Bits ends(total);    // Last LV of each insert run.
  size_t n_insert_runs = 0;
  bool all_predicted = true;
  for (size_t i = 0; i < ops.size(); ++i) {
    const OpRun& r = ops[i];
    if (r.kind != OpRun::kInsert) continue;
    inserts.Set(r.lv, r.len);
    starts.Set(r.lv, 1);
    ends.Set(r.lv + r.len - 1, 1);
    ++n_insert_runs;
    all_predicted = all_predicted && kinds[i] == kPredictedInsert;
  }
  starts.Index();
  for (size_t i = 0; i < ops.size(); ++i) {
    if (kinds[i] != kExplicitInsert) continue;
    OpRun& r = ops[i];
    uint64_t left, right;
    if (!in.Varint(&left) || !in.Varint(&right)) return Bad("truncated origins");
    if (left > r.lv || right > r.lv) return Bad("origin not before its op");
    r.a = left == 0 ? kRootLv : r.lv - static_cast<Lv>(left);
    r.b = right == 0 ? kRootLv : r.lv - static_cast<Lv>(right);
    if ((r.a != kRootLv && !inserts.All(r.a, 1)) || (r.b != kRootLv && !inserts.All(r.b, 1))) {
      return Bad("origin is not an inserted character");
    }
    if (r.a == r.b && r.a != kRootLv) return Bad("left and right origins are one character");
  }
  Bits deleted(total);
  int64_t prev_end = 0;
  for (OpRun& r : ops) {
    if (r.kind != OpRun::kDelete) continue;
    uint64_t v;
    if (!in.Varint(&v)) return Bad("truncated delete targets");
    const bool backward = v & 1;
    if ((v >> 1) > (uint64_t{1} << 34)) return Bad("delete target out of range");
    const int64_t target = prev_end + UnZigZag(v >> 1);
    const int64_t low = backward ? target - r.len + 1 : target;
    if (low < 0 || low + r.len > int64_t{r.lv}) return Bad("delete target not before its op");
    if (!inserts.All(static_cast<size_t>(low), r.len)) {
      return Bad("delete target is not an inserted character");
    }
    deleted.Set(static_cast<size_t>(low), r.len);
    r.a = static_cast<Lv>(target);
    r.flags = backward && r.len > 1 ? OpRun::kBackward : 0;
    prev_end = backward ? target - r.len : target + r.len;
  }
  // Document order: every inserted LV exactly once.
  uint64_t n_order;
  if (!in.Count(&n_order, 2)) return Bad("truncated document order");
  std::vector<OrderRun> order(n_order);
  Bits seen(total);
  uint64_t placed = 0;
  int64_t prev = 0;
  for (OrderRun& r : order) {
    uint64_t delta, len;
    if (!in.Varint(&delta) || !in.Varint(&len)) return Bad("truncated document order");
    if (delta > (uint64_t{1} << 34)) return Bad("document order out of range");
    const int64_t start = prev + UnZigZag(delta);
    if (len == 0 || start < 0 || len > total || uint64_t(start) > total - len ||
        !inserts.All(static_cast<size_t>(start), len) || !seen.None(static_cast<size_t>(start), len)) {
      return Bad("document order does not place each character once");
    }
    // A typed run keeps its characters in LV order: the one before a
    // character that does not start its run was placed earlier.
    if (start > 0 && !starts.Get(static_cast<size_t>(start)) &&
        !seen.Get(static_cast<size_t>(start) - 1)) {
      return Bad("document order breaks a typed run");
    }
    seen.Set(static_cast<size_t>(start), len);
    placed += len;
    r = OrderRun{static_cast<Lv>(start), static_cast<uint32_t>(len)};
    prev = start + static_cast<int64_t>(len);
  }
  if (placed != n_inserts) return Bad("document order misses characters");
  uint64_t content_len;
  std::string_view content;
  if (!in.Varint(&content_len) || !in.Bytes(content_len, &content)) return Bad("truncated text");
  if (!in.done()) return Bad("trailing bytes");
  if (!utf8::IsAscii(content)) {  // ASCII is valid UTF-8; skip the slower check.
    Result<size_t> cps = utf8::Validate(content);
    if (!cps.ok()) return Bad("text: " + cps.status().message());
  }

  // Origins the order predicts, and the order checked against every
  // insert's origins: each run after its left origin and before its right
  // one (its characters in LV order was checked above). Predicted left
  // origins are left of their run by construction. (The order of
  // concurrent siblings is not re-derived; documents come from storage
  // with a CRC, or from a server.)
  if (all_predicted) {
    // Sequential histories: every right origin is predicted, so the check
    // is "the order run holding it comes after the one holding the run's
    // last character".
    std::vector<Lv> left, right;
    std::vector<uint32_t> right_run;
    PredictOrigins(order, starts, n_insert_runs, &left, &right, &right_run);
    std::vector<uint32_t> last_run(n_insert_runs);
    for (size_t j = 0; j < order.size(); ++j) {
      const Lv a = order[j].lv, b = a + order[j].len;
      for (Lv x = a; x < b; ++x) {
        x += static_cast<Lv>(ends.Run(x, b - x, false));
        if (x >= b) break;
        const size_t run = starts.Rank(x) - (starts.Get(x) ? 0 : 1);
        last_run[run] = static_cast<uint32_t>(j);
      }
    }
    for (size_t i = 0, q = 0; i < ops.size(); ++i) {
      if (ops[i].kind != OpRun::kInsert) continue;
      if (right_run[q] != kNoRun && right_run[q] <= last_run[q]) {
        return Bad("document order does not agree with the origins");
      }
      ops[i].a = left[q];
      ops[i].b = right[q++];
    }
  } else {
    Bits queries(total);
    size_t n_queries = 0;
    for (size_t i = 0; i < ops.size(); ++i) {
      if (kinds[i] == kPredictedInsert) queries.Set(ops[i].lv, 1), ++n_queries;
    }
    queries.Index();
    std::vector<Lv> left, right;
    PredictOrigins(order, queries, n_queries, &left, &right);
    for (size_t i = 0, q = 0; i < ops.size(); ++i) {
      if (kinds[i] != kPredictedInsert) continue;
      ops[i].a = left[q];
      ops[i].b = right[q++];
    }
    std::unique_ptr<uint32_t[]> run_of(new uint32_t[total]);  // Order run of each insert LV.
    for (size_t j = 0; j < order.size(); ++j) {
      std::fill_n(run_of.get() + order[j].lv, order[j].len, static_cast<uint32_t>(j));
    }
    auto before = [&](Lv x, Lv y) {
      return run_of[x] != run_of[y] ? run_of[x] < run_of[y] : x < y;
    };
    for (const OpRun& r : ops) {
      if (r.kind != OpRun::kInsert) continue;
      if ((r.a != kRootLv && !before(r.a, r.lv)) ||
          (r.b != kRootLv && !before(r.lv + r.len - 1, r.b))) {
        return Bad("document order does not agree with the origins");
      }
    }
  }
  // The text is the body's tail: reuse the decompressed buffer for it
  // rather than allocate and copy 100s of KB.
  std::string text;
  if (!decompressed.empty()) {
    const size_t at = static_cast<size_t>(content.data() - decompressed.data());
    decompressed.erase(0, at);
    decompressed.resize(content_len);
    text = std::move(decompressed);
  } else {
    text.assign(content);
  }
  if (!h.Restore(std::move(agent_runs), std::move(graph), std::move(pool), std::move(ops),
                 std::move(text))) {
    return Bad("text does not match the inserts");
  }
  // The tree: the order, split where characters are deleted.
  std::vector<Span> spans;
  spans.reserve(order.size() * 2);
  for (const OrderRun& r : order) {
    for (uint32_t done = 0; done < r.len;) {
      const bool del = deleted.Get(r.lv + done);
      const auto n = static_cast<uint32_t>(deleted.Run(r.lv + done, r.len - done, del));
      spans.push_back(Span::Make(r.lv + done, n, del));
      done += n;
    }
  }
  doc->mutable_tree().BuildFrom(spans);
  return doc;
}

}  // namespace internal

std::string TextDoc::Encode() const { return internal::EncodeDoc(*state_); }

Result<TextDoc> TextDoc::Decode(std::string_view bytes, AgentId agent) {
  QUIRE_ASSIGN_OR_RETURN(std::unique_ptr<internal::DocState> state,
                         internal::DecodeDoc(bytes, agent));
  return TextDoc(std::move(state));
}

}  // namespace quire::crdt
