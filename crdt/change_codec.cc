#include "crdt/change_codec.h"

#include <algorithm>

namespace quire::crdt {
namespace {

// Vectors reserve at most this many elements up front and grow as
// elements arrive, so a count the input claims costs nothing by itself.
constexpr uint32_t kReserveAtMost = 16;

// A reader that failed on a caller's limit is ResourceExhausted; anything
// else wrong with the bytes is InvalidArgument.
Status Bad(const wire::Reader& r, std::string message) {
  return Status(r.error() == wire::Error::kLimit ? StatusCode::kResourceExhausted
                                                 : StatusCode::kInvalidArgument,
                "change: " + std::move(message));
}

// Names the field an id was read for, only when it is needed for an error:
// "parent 3", "op 7 left origin".
struct Field {
  const char* what;
  uint32_t index;
  const char* part;
  std::string Name() const { return what + (" " + std::to_string(index)) + part; }
};

void WriteId(const Id& id, wire::Packer& pk) {
  if (id.IsRoot()) {
    pk.pack_nil();
    return;
  }
  pk.pack_array(2);
  pk.pack_uint64(id.agent.value);
  pk.pack_uint64(id.seq);
}

Status ReadId(wire::Reader& r, bool allow_root, const Field& field, Id* out) {
  if (allow_root && r.TryNil()) {
    *out = Id::Root();
    return Status::Ok();
  }
  uint32_t n;
  uint64_t agent, seq;
  if (!r.ArrayHeader(&n) || n != 2 || !r.Uint(&agent) || !r.Uint(&seq)) {
    return Bad(r, field.Name() + " is not an [agent, seq] id");
  }
  if (agent == kRootAgent) return Bad(r, field.Name() + " uses the root agent");
  *out = Id{AgentId{agent}, seq};
  return Status::Ok();
}

Status ReadChangeOp(wire::Reader& r, uint32_t i, Op* op) {
  uint32_t fields;
  uint64_t kind;
  if (!r.ArrayHeader(&fields) || fields != 4 || !r.Uint(&kind) || kind > 1) {
    return Bad(r, "op " + std::to_string(i) + " is not [0|1, ...]");
  }
  if (kind == 0) {
    op->kind = Op::Kind::kInsert;
    QUIRE_RETURN_IF_ERROR(ReadId(r, true, {"op", i, " left origin"}, &op->origin_left));
    QUIRE_RETURN_IF_ERROR(ReadId(r, true, {"op", i, " right origin"}, &op->origin_right));
    std::string_view text;
    if (!r.Str(&text)) return Bad(r, "op " + std::to_string(i) + " text is not a string");
    op->text.assign(text);
    return Status::Ok();
  }
  op->kind = Op::Kind::kDelete;
  QUIRE_RETURN_IF_ERROR(ReadId(r, false, {"op", i, " target"}, &op->target));
  if (!r.Uint(&op->len) || !r.Bool(&op->backward)) {
    return Bad(r, "op " + std::to_string(i) + " length or direction is malformed");
  }
  return Status::Ok();
}

}  // namespace

void EncodeChange(const Change& change, wire::Packer& pk) {
  pk.pack_array(4);
  pk.pack_uint64(change.id.agent.value);
  pk.pack_uint64(change.id.seq);
  pk.pack_array(static_cast<uint32_t>(change.parents.size()));
  for (const Id& p : change.parents) WriteId(p, pk);
  pk.pack_array(static_cast<uint32_t>(change.ops.size()));
  for (const Op& op : change.ops) {
    pk.pack_array(4);
    if (op.kind == Op::Kind::kInsert) {
      pk.pack_uint64(0);
      WriteId(op.origin_left, pk);
      WriteId(op.origin_right, pk);
      wire::PackStr(pk, op.text);
    } else {
      pk.pack_uint64(1);
      WriteId(op.target, pk);
      pk.pack_uint64(op.len);
      wire::PackBool(pk, op.backward);
    }
  }
}

std::string EncodeChange(const Change& change) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  EncodeChange(change, pk);
  return buf.Take();
}

Result<Change> ReadChange(wire::Reader& r) {
  Change c;
  uint32_t n;
  uint64_t agent;
  if (!r.ArrayHeader(&n) || n != 4) return Bad(r, "expected [agent, seq, parents, ops]");
  if (!r.Uint(&agent) || !r.Uint(&c.id.seq)) return Bad(r, "bad agent or seq");
  if (agent == kRootAgent) return Bad(r, "the root agent");
  c.id.agent = AgentId{agent};
  if (!r.ArrayHeader(&n)) return Bad(r, "parents is not an array");
  if (n > kMaxWireParents) return ResourceExhausted("change: too many parents");
  c.parents.reserve(std::min(n, kReserveAtMost));
  for (uint32_t i = 0; i < n; ++i) {
    QUIRE_RETURN_IF_ERROR(ReadId(r, false, {"parent", i, ""}, &c.parents.emplace_back()));
  }
  if (!r.ArrayHeader(&n)) return Bad(r, "ops is not an array");
  if (n > kMaxWireOps) return ResourceExhausted("change: too many ops");
  c.ops.reserve(std::min(n, kReserveAtMost));
  for (uint32_t i = 0; i < n; ++i) QUIRE_RETURN_IF_ERROR(ReadChangeOp(r, i, &c.ops.emplace_back()));
  return c;
}

Result<Change> DecodeChange(std::string_view bytes) {
  wire::Reader r(bytes);
  Result<Change> c = ReadChange(r);
  if (c.ok() && !r.done()) return InvalidArgument("change: trailing bytes");
  return c;
}

}  // namespace quire::crdt
