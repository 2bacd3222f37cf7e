// TextDoc::Decode: every byte of docs/crdt_format.md checked, in time and
// memory linear in the decoded body (never in a count the body claims).
#include <zstd.h>

#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "base/coding.h"
#include "base/utf8.h"
#include "crdt/internal/bits.h"
#include "crdt/internal/doc_order.h"
#include "crdt/internal/doc_state.h"
#include "crdt/internal/encoding.h"
#include "crdt/text_doc.h"

namespace quire::crdt {
namespace internal {
namespace {

Status CorruptDoc(const std::string& what) { return Corruption("document: " + what); }

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
  size_t left() const { return in_.size(); }
  bool done() const { return in_.empty(); }

 private:
  std::string_view in_;
};

// Decompresses a zstd frame that claims `raw_len` bytes (the caller
// checked it against the limit), allocating no more than it really holds.
Status Decompress(std::string_view in, uint64_t raw_len, std::string* out) {
  // A plausible ratio: decompress in one call into a buffer of the stated
  // size. Otherwise stream, growing with the real output, so a few bytes
  // claiming a huge body cannot make us allocate it.
  if (raw_len <= in.size() * 64 && ZSTD_getFrameContentSize(in.data(), in.size()) == raw_len) {
    out->resize(raw_len);
    const size_t n = ZSTD_decompress(out->data(), out->size(), in.data(), in.size());
    if (ZSTD_isError(n) || n != raw_len) return CorruptDoc("compressed body does not decode");
    return Status::Ok();
  }
  ZSTD_DCtx* ctx = ZSTD_createDCtx();
  // A frame may ask for a window larger than its content, which zstd would
  // allocate: no honest frame needs more than the content's size.
  int window_log = 10;
  while (window_log < 31 && (uint64_t{1} << window_log) < raw_len) ++window_log;
  ZSTD_DCtx_setParameter(ctx, ZSTD_d_windowLogMax, window_log);
  ZSTD_inBuffer input{in.data(), in.size(), 0};
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
    return CorruptDoc("compressed body does not decode");
  }
  return Status::Ok();
}

// Reads a body section by section, checking each against what came
// before, then builds the document. Characters (inserted LVs) are
// indexed by rank (doc_order.h), so nothing here is sized by the op
// count: only by the body's bytes.
class Decoder {
 public:
  Decoder(std::string_view body, const DocLimits& limits)
      : in_(body), body_size_(body.size()), limits_(limits) {}

  Status ReadHistory() {
    QUIRE_RETURN_IF_ERROR(ReadAgents());
    QUIRE_RETURN_IF_ERROR(ReadAgentRuns());
    QUIRE_RETURN_IF_ERROR(ReadGraph());
    QUIRE_RETURN_IF_ERROR(ReadOpRuns());
    QUIRE_RETURN_IF_ERROR(ReadExplicitOrigins());
    return ReadDeleteTargets();
  }
  Status ReadOrderAndText() {
    QUIRE_RETURN_IF_ERROR(ReadOrder());
    return ReadText();
  }
  Status DeriveOrigins();
  // `buffer`: the decompressed body the decoder reads (empty when it was
  // not compressed), whose tail becomes the document's text without a copy.
  Result<std::unique_ptr<DocState>> Build(AgentId agent, std::string* buffer);

 private:
  Status ReadAgents();
  Status ReadAgentRuns();
  Status ReadGraph();
  Status ReadOpRuns();
  Status ReadExplicitOrigins();
  Status ReadDeleteTargets();
  Status ReadOrder();
  Status ReadText();

  // Where an LV's op run is found: when the LVs are few next to the body's
  // bytes (any history but one of long delete runs), a bit per LV marks
  // the inserts and ranks them directly; otherwise LVs are bucketed (2^shift_
  // a bucket, about as many buckets as runs), each bucket knowing the run
  // holding its first LV, and a bucket holding many runs is searched.
  // Either way, the tables are no larger than the body.
  void IndexRuns();
  size_t RunOf(Lv lv) const {  // REQUIRES: lv < total_, !by_bits_.
    const size_t b = lv >> shift_;
    size_t i = bucket_[b];
    const size_t last = bucket_[b + 1];
    if (last - i > 8) {
      return static_cast<size_t>(RunHolding(ops_.begin() + static_cast<ptrdiff_t>(i),
                                            ops_.begin() + static_cast<ptrdiff_t>(last) + 1, lv,
                                            [](const OpRun& r) { return r.lv; }) -
                                 ops_.begin());
    }
    while (ops_[i].end() <= lv) ++i;
    return i;
  }
  // The rank of lv when it is an insert. REQUIRES: lv < total_.
  bool RankOf(Lv lv, uint32_t* rank) const {
    if (by_bits_) {
      if (!lv_inserts_.Get(lv)) return false;
      *rank = static_cast<uint32_t>(lv_inserts_.Rank(lv));
      return true;
    }
    const size_t i = RunOf(lv);
    if (!ops_[i].is_insert()) return false;
    *rank = run_rank_[i] + (lv - ops_[i].lv);
    return true;
  }
  // Whether [lv, lv + len) holds only inserts (their ranks are then
  // consecutive from *rank). REQUIRES: len > 0, lv + len <= total_.
  bool RangeRank(Lv lv, uint32_t len, uint32_t* rank) const {
    if (by_bits_) {
      if (!lv_inserts_.All(lv, len)) return false;
      *rank = static_cast<uint32_t>(lv_inserts_.Rank(lv));
      return true;
    }
    uint32_t last;
    return RankOf(lv, rank) && RankOf(lv + len - 1, &last) && last - *rank == len - 1;
  }

  BodyReader in_;
  size_t body_size_;
  DocLimits limits_;
  History history_;     // Its agents, until Build() restores the rest.
  uint64_t total_ = 0;  // Ops.
  std::vector<AgentRun> agent_runs_;
  std::vector<GraphEntry> graph_;
  std::vector<Lv> pool_;
  std::vector<OpRun> ops_;
  std::vector<uint8_t> kinds_;
  std::vector<uint32_t> run_rank_;  // Per op run: the inserts before it.
  bool by_bits_ = false;            // See IndexRuns().
  Bits lv_inserts_{0};
  std::vector<uint32_t> bucket_;
  int shift_ = 0;
  uint64_t n_inserts_ = 0;
  size_t n_insert_runs_ = 0;
  bool all_predicted_ = true;
  // By rank: insert runs' first and last characters, deleted characters,
  // characters the order placed.
  Bits starts_{0}, ends_{0}, deleted_{0}, placed_{0};
  std::vector<OrderRun> order_;
  std::string_view content_;
};

Status Decoder::ReadAgents() {
  uint64_t n;
  if (!in_.Count(&n, 1)) return CorruptDoc("truncated agent table");
  history_.ReserveAgents(n);
  for (uint64_t i = 0; i < n; ++i) {
    uint64_t id;
    if (!in_.Varint(&id)) return CorruptDoc("truncated agent table");
    if (id == kRootAgent || history_.FindAgent(AgentId{id}) >= 0) return CorruptDoc("bad agent id");
    history_.AddAgent(AgentId{id});
  }
  return Status::Ok();
}

Status Decoder::ReadAgentRuns() {
  uint64_t n;
  if (!in_.Count(&n, 2)) return CorruptDoc("truncated agent runs");
  agent_runs_.resize(n);
  for (AgentRun& r : agent_runs_) {
    uint64_t a, len;
    if (!in_.Varint(&a) || !in_.Varint(&len)) return CorruptDoc("truncated agent runs");
    if (a >= history_.agents().size() || len == 0 || len > DocLimits::kMaxOps - total_) {
      return CorruptDoc("bad agent run");
    }
    r = AgentRun{static_cast<Lv>(total_), static_cast<uint32_t>(len), static_cast<uint32_t>(a), 0};
    total_ += len;
  }
  if (total_ > limits_.max_ops) {
    return ResourceExhausted("document: " + std::to_string(total_) +
                             " ops, more than the limit of " + std::to_string(limits_.max_ops));
  }
  return Status::Ok();
}

Status Decoder::ReadGraph() {
  uint64_t n;
  if (!in_.Count(&n, 2)) return CorruptDoc("truncated graph");
  graph_.resize(n);
  uint64_t lv = 0;
  for (GraphEntry& e : graph_) {
    uint64_t len, count;
    if (!in_.Varint(&len) || !in_.Count(&count, 1)) return CorruptDoc("truncated graph");
    if (len == 0 || len > total_ - lv) return CorruptDoc("bad graph entry");
    e = GraphEntry{static_cast<Lv>(lv), static_cast<uint32_t>(len),
                   static_cast<uint32_t>(pool_.size()), static_cast<uint32_t>(count), false};
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t back;
      if (!in_.Varint(&back)) return CorruptDoc("truncated graph");
      if (back == 0 || back > lv) return CorruptDoc("parent not before its op");
      pool_.push_back(static_cast<Lv>(lv - back));
    }
    std::sort(pool_.begin() + e.parents_start, pool_.end());
    if (std::adjacent_find(pool_.begin() + e.parents_start, pool_.end()) != pool_.end()) {
      return CorruptDoc("repeated parent");
    }
    lv += len;
  }
  if (lv != total_) return CorruptDoc("graph does not cover the ops");
  return Status::Ok();
}

Status Decoder::ReadOpRuns() {
  uint64_t n;
  if (!in_.Count(&n, 1)) return CorruptDoc("truncated ops");
  ops_.resize(n);
  kinds_.resize(n);
  run_rank_.resize(n);
  uint64_t lv = 0;
  for (size_t i = 0; i < n; ++i) {
    uint64_t v;
    if (!in_.Varint(&v)) return CorruptDoc("truncated ops");
    kinds_[i] = static_cast<uint8_t>(v & 3);
    const uint64_t len = v >> 2;
    if (kinds_[i] > kExplicitInsert || len == 0 || len > total_ - lv)
      return CorruptDoc("bad op run");
    run_rank_[i] = static_cast<uint32_t>(n_inserts_);
    if (kinds_[i] == kDeleteRun) {
      // A delete run removes that many distinct earlier inserts.
      if (len > n_inserts_) return CorruptDoc("delete run longer than the inserts before it");
      ops_[i] = OpRun::Delete(static_cast<Lv>(lv), static_cast<uint32_t>(len), 0, false);
    } else {
      ops_[i] = OpRun::Insert(static_cast<Lv>(lv), static_cast<uint32_t>(len), kRootLv, kRootLv);
      n_inserts_ += len;
      ++n_insert_runs_;
      all_predicted_ = all_predicted_ && kinds_[i] == kPredictedInsert;
    }
    lv += len;
  }
  if (lv != total_) return CorruptDoc("op runs do not cover the ops");
  IndexRuns();
  // Each insert needs a byte of text further on: a small input cannot
  // claim a large document.
  if (n_inserts_ > in_.left()) return CorruptDoc("more inserts than bytes");
  starts_ = Bits(n_inserts_);
  ends_ = Bits(n_inserts_);
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (!ops_[i].is_insert()) continue;
    starts_.Set(run_rank_[i], 1);
    ends_.Set(run_rank_[i] + ops_[i].len - 1, 1);
  }
  starts_.Index();
  return Status::Ok();
}

Status Decoder::ReadExplicitOrigins() {
  for (size_t i = 0; i < ops_.size(); ++i) {
    if (kinds_[i] != kExplicitInsert) continue;
    OpRun& r = ops_[i];
    uint64_t left, right;
    if (!in_.Varint(&left) || !in_.Varint(&right)) return CorruptDoc("truncated origins");
    if (left > r.lv || right > r.lv) return CorruptDoc("origin not before its op");
    r.ins.origin_left = left == 0 ? kRootLv : r.lv - static_cast<Lv>(left);
    r.ins.origin_right = right == 0 ? kRootLv : r.lv - static_cast<Lv>(right);
    uint32_t rank;
    for (Lv origin : {r.ins.origin_left, r.ins.origin_right}) {
      if (origin != kRootLv && !RankOf(origin, &rank)) {
        return CorruptDoc("origin is not an inserted character");
      }
    }
    if (r.ins.origin_left == r.ins.origin_right && r.ins.origin_left != kRootLv) {
      return CorruptDoc("left and right origins are one character");
    }
  }
  return Status::Ok();
}

void Decoder::IndexRuns() {
  if (total_ <= 8 * uint64_t{body_size_}) {
    by_bits_ = true;
    lv_inserts_ = Bits(total_);
    for (const OpRun& r : ops_) {
      if (r.is_insert()) lv_inserts_.Set(r.lv, r.len);
    }
    lv_inserts_.Index();
    return;
  }
  while ((total_ >> shift_) > ops_.size()) ++shift_;
  bucket_.resize((total_ >> shift_) + 2);
  size_t run = 0;
  for (size_t b = 0; b + 1 < bucket_.size(); ++b) {
    const uint64_t lv = uint64_t{b} << shift_;
    while (run + 1 < ops_.size() && ops_[run].end() <= lv) ++run;
    bucket_[b] = static_cast<uint32_t>(run);
  }
  bucket_.back() = static_cast<uint32_t>(ops_.empty() ? 0 : ops_.size() - 1);
}

Status Decoder::ReadDeleteTargets() {
  deleted_ = Bits(n_inserts_);
  int64_t prev_end = 0;
  for (OpRun& r : ops_) {
    if (r.is_insert()) continue;
    uint64_t v;
    if (!in_.Varint(&v)) return CorruptDoc("truncated delete targets");
    const bool backward = v & 1;
    if ((v >> 1) > (uint64_t{1} << 34)) return CorruptDoc("delete target out of range");
    const int64_t target = prev_end + UnZigZag(v >> 1);
    const int64_t low = backward ? target - r.len + 1 : target;
    if (low < 0 || low + r.len > int64_t{r.lv})
      return CorruptDoc("delete target not before its op");
    uint32_t rank;
    if (!RangeRank(static_cast<Lv>(low), r.len, &rank)) {
      return CorruptDoc("delete target is not an inserted character");
    }
    deleted_.Set(rank, r.len);
    r = OpRun::Delete(r.lv, r.len, static_cast<Lv>(target), backward);
    prev_end = backward ? target - r.len : target + r.len;
  }
  return Status::Ok();
}

Status Decoder::ReadOrder() {
  uint64_t n;
  if (!in_.Count(&n, 2)) return CorruptDoc("truncated document order");
  order_.resize(n);
  placed_ = Bits(n_inserts_);
  uint64_t placed = 0;
  int64_t prev = 0;
  for (OrderRun& r : order_) {
    uint64_t delta, len;
    if (!in_.Varint(&delta) || !in_.Varint(&len)) return CorruptDoc("truncated document order");
    if (delta > (uint64_t{1} << 34)) return CorruptDoc("document order out of range");
    const int64_t start = prev + UnZigZag(delta);
    uint32_t rank = 0;
    if (len == 0 || start < 0 || len > total_ || uint64_t(start) > total_ - len ||
        !RangeRank(static_cast<Lv>(start), static_cast<uint32_t>(len), &rank) ||
        !placed_.None(rank, len)) {
      return CorruptDoc("document order does not place each character once");
    }
    // A typed run keeps its characters in LV order: the one before a
    // character that does not start its run was placed earlier.
    if (!starts_.Get(rank) && !placed_.Get(rank - 1)) {
      return CorruptDoc("document order breaks a typed run");
    }
    placed_.Set(rank, len);
    placed += len;
    r = OrderRun{static_cast<Lv>(start), static_cast<uint32_t>(len), rank};
    prev = start + static_cast<int64_t>(len);
  }
  if (placed != n_inserts_) return CorruptDoc("document order misses characters");
  return Status::Ok();
}

Status Decoder::ReadText() {
  uint64_t len;
  if (!in_.Varint(&len) || !in_.Bytes(len, &content_)) return CorruptDoc("truncated text");
  if (!in_.done()) return CorruptDoc("trailing bytes");
  if (!utf8::IsAscii(content_)) {  // ASCII is valid UTF-8; skip the slower check.
    Result<size_t> cps = utf8::Validate(content_);
    if (!cps.ok()) return CorruptDoc("text: " + cps.status().message());
  }
  return Status::Ok();
}

Status Decoder::DeriveOrigins() {
  if (!all_predicted_) {
    // Concurrent inserts: derive the origins of the predicted runs; the
    // order is then checked by integrating every insert again (Build).
    Bits queries(n_inserts_);
    size_t n_queries = 0;
    for (size_t i = 0; i < ops_.size(); ++i) {
      if (kinds_[i] == kPredictedInsert) queries.Set(run_rank_[i], 1), ++n_queries;
    }
    queries.Index();
    std::vector<Lv> left, right;
    PredictOrigins(order_, queries, n_queries, &left, &right);
    for (size_t i = 0, q = 0; i < ops_.size(); ++i) {
      if (kinds_[i] != kPredictedInsert) continue;
      ops_[i].ins.origin_left = left[q];
      ops_[i].ins.origin_right = right[q++];
    }
    return Status::Ok();
  }
  // Sequential histories: every origin is the predicted one. Each run then
  // lies between its origins exactly when the order run holding its right
  // origin comes after the one holding its last character (predicted left
  // origins lie left of their run by construction), and integrating the
  // inserts again would give this order (docs/crdt_format.md).
  std::vector<Lv> left, right;
  std::vector<uint32_t> right_run;
  PredictOrigins(order_, starts_, n_insert_runs_, &left, &right, &right_run);
  std::vector<uint32_t> last_run(n_insert_runs_);
  for (size_t j = 0; j < order_.size(); ++j) {
    const size_t a = order_[j].rank, b = a + order_[j].len;
    for (size_t x = a; x < b; ++x) {
      x += ends_.Run(x, b - x, false);
      if (x >= b) break;
      const size_t run = starts_.Rank(x) - (starts_.Get(x) ? 0 : 1);
      last_run[run] = static_cast<uint32_t>(j);
    }
  }
  size_t q = 0;
  for (OpRun& r : ops_) {
    if (!r.is_insert()) continue;
    if (right_run[q] != kNoRun && right_run[q] <= last_run[q]) {
      return CorruptDoc("document order does not agree with the origins");
    }
    r.ins.origin_left = left[q];
    r.ins.origin_right = right[q++];
  }
  return Status::Ok();
}

Result<std::unique_ptr<DocState>> Decoder::Build(AgentId agent, std::string* buffer) {
  // The text is the body's tail: keep the decompressed buffer for it rather
  // than allocate and copy it.
  std::string text;
  if (!buffer->empty()) {
    const size_t at = static_cast<size_t>(content_.data() - buffer->data());
    const size_t len = content_.size();
    buffer->erase(0, at);
    buffer->resize(len);
    text = std::move(*buffer);
  } else {
    text.assign(content_);
  }
  if (!history_.Restore(std::move(agent_runs_), std::move(graph_), std::move(pool_),
                        std::move(ops_), std::move(text))) {
    return CorruptDoc("text does not match the inserts");
  }
  // The tree: the order, split where characters are deleted.
  std::vector<Span> spans;
  spans.reserve(order_.size() * 2);
  for (const OrderRun& r : order_) {
    for (uint32_t done = 0; done < r.len;) {
      const bool del = deleted_.Get(r.rank + done);
      const auto n = static_cast<uint32_t>(deleted_.Run(r.rank + done, r.len - done, del));
      spans.push_back(Span::Make(r.lv + done, n, del));
      done += n;
    }
  }
  return DocState::FromDecoded(agent, limits_, std::move(history_), spans, order_.size(),
                               /*replay=*/!all_predicted_);
}

}  // namespace

Result<std::unique_ptr<DocState>> DecodeDoc(std::string_view bytes, AgentId agent,
                                            const DocLimits& requested) {
  const DocLimits limits = requested.Clamped();
  if (agent.value == kRootAgent) return InvalidArgument("document: the root agent");
  if (bytes.size() < 4 + 2 + 1 + 4 || bytes.substr(0, 4) != std::string_view(kDocMagic, 4)) {
    return CorruptDoc("not a Quire document (bad magic)");
  }
  std::string_view crc_bytes = bytes.substr(bytes.size() - 4);
  uint32_t crc;
  GetFixed32(&crc_bytes, &crc);
  if (Crc32(bytes.substr(0, bytes.size() - 4)) != crc) return CorruptDoc("checksum mismatch");
  const auto version = static_cast<uint8_t>(bytes[4]);
  if (version != kDocFormatVersion) {
    return CorruptDoc("unknown format version " + std::to_string(version));
  }
  const auto flags = static_cast<uint8_t>(bytes[5]);
  if ((flags & ~kDocFlagZstd) != 0) return CorruptDoc("unknown flags");
  std::string_view rest = bytes.substr(6, bytes.size() - 10);
  uint64_t raw_len;
  if (!GetVarint(&rest, &raw_len)) return CorruptDoc("truncated header");
  if (raw_len > limits.max_bytes) {
    return ResourceExhausted("document: " + std::to_string(raw_len) +
                             " bytes, more than the limit of " + std::to_string(limits.max_bytes));
  }
  std::string decompressed;
  std::string_view body = rest;
  if (flags & kDocFlagZstd) {
    QUIRE_RETURN_IF_ERROR(Decompress(rest, raw_len, &decompressed));
    body = decompressed;
  } else if (raw_len != rest.size()) {
    return CorruptDoc("body length mismatch");
  }
  Decoder decoder(body, limits);
  QUIRE_RETURN_IF_ERROR(decoder.ReadHistory());
  QUIRE_RETURN_IF_ERROR(decoder.ReadOrderAndText());
  QUIRE_RETURN_IF_ERROR(decoder.DeriveOrigins());
  return decoder.Build(agent, &decompressed);
}

}  // namespace internal

Result<TextDoc> TextDoc::Decode(std::string_view bytes, AgentId agent, const DocLimits& limits) {
  QUIRE_ASSIGN_OR_RETURN(std::unique_ptr<internal::DocState> state,
                         internal::DecodeDoc(bytes, agent, limits));
  return TextDoc(std::move(state));
}

}  // namespace quire::crdt
