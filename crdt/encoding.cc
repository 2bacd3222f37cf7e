#include "crdt/encoding.h"

#include <zstd.h>

#include <algorithm>
#include <unordered_set>

#include "base/coding.h"
#include "base/utf8.h"
#include "crdt/internal/doc_state.h"
#include "crdt/text_doc.h"

namespace quire::crdt {
namespace internal {
namespace {

constexpr uint8_t kFlagZstd = 1;
constexpr int kZstdLevel = 19;

// Origins and parents are written as distances back from the op's own LV
// (0 = the root), which are small for the common cases.
uint64_t Back(Lv lv, Lv x) { return x == kRootLv ? 0 : lv - x; }

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
  // Op runs as columns: kind and length, then insert origins, then delete
  // targets (as the distance from where the previous delete run ended).
  PutVarint(&out, h.runs().size());
  for (const OpRun& r : h.runs()) PutVarint(&out, uint64_t{r.len} << 1 | r.kind);
  for (const OpRun& r : h.runs()) {
    if (r.kind != OpRun::kInsert) continue;
    PutVarint(&out, Back(r.lv, r.a));
    PutVarint(&out, Back(r.lv, r.b));
  }
  int64_t prev_end = 0;
  for (const OpRun& r : h.runs()) {
    if (r.kind != OpRun::kDelete) continue;
    PutVarint(&out, ZigZag(int64_t{r.a} - prev_end) << 1 | (r.backward() ? 1 : 0));
    prev_end = r.backward() ? int64_t{r.a} - r.len : int64_t{r.a} + r.len;
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
  struct Run {
    uint32_t agent;
    uint64_t len;
  };
  uint64_t n_runs;
  if (!in.Count(&n_runs, 2)) return Bad("truncated agent runs");
  std::vector<Run> agent_runs(n_runs);
  uint64_t total = 0;
  for (Run& r : agent_runs) {
    uint64_t a;
    if (!in.Varint(&a) || !in.Varint(&r.len)) return Bad("truncated agent runs");
    if (a >= n_agents || r.len == 0) return Bad("bad agent run");
    r.agent = agent_index[a];
    total += r.len;
    if (total >= (uint64_t{1} << 31)) return Bad("too many ops");
  }
  struct Entry {
    uint64_t len;
    std::vector<Lv> parents;
  };
  uint64_t n_entries;
  if (!in.Count(&n_entries, 2)) return Bad("truncated graph");
  std::vector<Entry> graph(n_entries);
  uint64_t lv = 0;
  for (Entry& e : graph) {
    uint64_t count;
    if (!in.Varint(&e.len) || !in.Count(&count, 1)) return Bad("truncated graph");
    if (e.len == 0 || lv + e.len > total) return Bad("bad graph entry");
    for (uint64_t i = 0; i < count; ++i) {
      uint64_t back;
      if (!in.Varint(&back)) return Bad("truncated graph");
      if (back == 0 || back > lv) return Bad("parent not before its op");
      e.parents.push_back(static_cast<Lv>(lv - back));
    }
    std::sort(e.parents.begin(), e.parents.end());
    if (std::adjacent_find(e.parents.begin(), e.parents.end()) != e.parents.end()) {
      return Bad("repeated parent");
    }
    lv += e.len;
  }
  if (lv != total) return Bad("graph does not cover the ops");

  uint64_t n_ops;
  if (!in.Count(&n_ops, 1)) return Bad("truncated ops");
  std::vector<OpRun> ops(n_ops);
  lv = 0;
  for (OpRun& r : ops) {
    uint64_t v;
    if (!in.Varint(&v)) return Bad("truncated ops");
    r.kind = static_cast<uint8_t>(v & 1);
    v >>= 1;
    if (v == 0 || lv + v > total) return Bad("bad op run length");
    r.lv = static_cast<Lv>(lv);
    r.len = static_cast<uint32_t>(v);
    lv += v;
  }
  if (lv != total) return Bad("op runs do not cover the ops");
  for (OpRun& r : ops) {
    if (r.kind != OpRun::kInsert) continue;
    uint64_t left, right;
    if (!in.Varint(&left) || !in.Varint(&right)) return Bad("truncated origins");
    if (left > r.lv || right > r.lv) return Bad("origin not before its op");
    r.a = left == 0 ? kRootLv : r.lv - static_cast<Lv>(left);
    r.b = right == 0 ? kRootLv : r.lv - static_cast<Lv>(right);
  }
  int64_t prev_end = 0;
  for (OpRun& r : ops) {
    if (r.kind != OpRun::kDelete) continue;
    uint64_t v;
    if (!in.Varint(&v)) return Bad("truncated delete targets");
    const bool backward = v & 1;
    const int64_t target = prev_end + UnZigZag(v >> 1);
    const int64_t low = backward ? target - r.len + 1 : target;
    if (low < 0 || (backward ? target : target + r.len - 1) >= int64_t{r.lv}) {
      return Bad("delete target not before its op");
    }
    r.a = static_cast<Lv>(target);
    r.flags = backward && r.len > 1 ? OpRun::kBackward : 0;
    prev_end = backward ? target - r.len : target + r.len;
  }
  uint64_t content_len;
  std::string_view content;
  if (!in.Varint(&content_len) || !in.Bytes(content_len, &content)) return Bad("truncated text");
  if (!in.done()) return Bad("trailing bytes");
  Result<size_t> cps = utf8::Validate(content);
  if (!cps.ok()) return Bad("text: " + cps.status().message());

  // Integrate the ops in LV order (a causal order), one segment per
  // agent run, graph entry and op run.
  size_t ai = 0, gi = 0, oi = 0;
  uint64_t a_start = 0, g_start = 0;
  size_t byte = 0;
  uint64_t text_cps = 0;
  std::vector<Lv> parents;
  for (lv = 0; lv < total;) {
    while (a_start + agent_runs[ai].len <= lv) a_start += agent_runs[ai++].len;
    while (g_start + graph[gi].len <= lv) g_start += graph[gi++].len;
    while (ops[oi].lv + ops[oi].len <= lv) ++oi;
    const OpRun& r = ops[oi];
    const uint64_t end = std::min({a_start + agent_runs[ai].len, g_start + graph[gi].len,
                                   uint64_t{r.lv} + r.len});
    const auto len = static_cast<uint32_t>(end - lv);
    const auto here = static_cast<Lv>(lv);
    if (lv == g_start) {
      parents = graph[gi].parents;
    } else {
      parents.assign(1, here - 1);
    }
    const uint32_t agent_idx = agent_runs[ai].agent;
    if (r.kind == OpRun::kInsert) {
      const Lv left = here == r.lv ? r.a : here - 1;
      const Lv right = r.b;
      if ((left != kRootLv && !h.IsInsert(left)) || (right != kRootLv && !h.IsInsert(right))) {
        return Bad("origin is not an inserted character");
      }
      if (Status s = doc->CheckOriginOrder(left, right); !s.ok()) return Bad(s.message());
      const size_t start = byte;
      if (!utf8::Advance(content, &byte, len)) return Bad("text shorter than the inserts");
      text_cps += len;
      const std::string_view text = content.substr(start, byte - start);
      doc->IntegrateInsert(agent_idx, parents, len, left, right, text, text.size() == len,
                           nullptr);
    } else {
      const bool backward = r.backward();
      const Lv target = r.TargetAt(here - r.lv);
      if (!h.AllInserts(backward ? target - len + 1 : target, len)) {
        return Bad("delete target is not an inserted character");
      }
      doc->IntegrateDelete(agent_idx, parents, len, target, backward && len > 1, nullptr);
    }
    lv = end;
  }
  if (text_cps != *cps) return Bad("text longer than the inserts");
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
