#include "crdt/change_codec.h"

namespace quire::crdt {
namespace {

void WriteId(const Id& id, msgpack::Writer& w) {
  if (id.IsRoot()) return w.Nil();
  w.ArrayHeader(2);
  w.Uint(id.agent.value);
  w.Uint(id.seq);
}

Status ReadId(msgpack::Reader& r, bool allow_root, const std::string& what, Id* out) {
  if (allow_root && r.Peek() == msgpack::Type::kNil) {
    r.Nil();
    *out = Id::Root();
    return Status::Ok();
  }
  uint32_t n;
  uint64_t agent, seq;
  if (r.Peek() != msgpack::Type::kArray || !r.ArrayHeader(&n) || n != 2 || !r.Uint(&agent) ||
      !r.Uint(&seq)) {
    return InvalidArgument("change: " + what + " is not an [agent, seq] id");
  }
  if (agent == kRootAgent) return InvalidArgument("change: " + what + " uses the root agent");
  *out = Id{AgentId{agent}, seq};
  return Status::Ok();
}

}  // namespace

void EncodeChange(const Change& change, msgpack::Writer& w) {
  w.ArrayHeader(4);
  w.Uint(change.id.agent.value);
  w.Uint(change.id.seq);
  w.ArrayHeader(static_cast<uint32_t>(change.parents.size()));
  for (const Id& p : change.parents) WriteId(p, w);
  w.ArrayHeader(static_cast<uint32_t>(change.ops.size()));
  for (const Op& op : change.ops) {
    w.ArrayHeader(4);
    if (op.kind == Op::Kind::kInsert) {
      w.Uint(0);
      WriteId(op.origin_left, w);
      WriteId(op.origin_right, w);
      w.Str(op.text);
    } else {
      w.Uint(1);
      WriteId(op.target, w);
      w.Uint(op.len);
      w.Bool(op.backward);
    }
  }
}

std::string EncodeChange(const Change& change) {
  std::string out;
  msgpack::Writer w(&out);
  EncodeChange(change, w);
  return out;
}

Result<Change> ReadChange(msgpack::Reader& r) {
  Change c;
  uint32_t n;
  uint64_t agent;
  if (r.Peek() != msgpack::Type::kArray || !r.ArrayHeader(&n) || n != 4) {
    return InvalidArgument("change: expected [agent, seq, parents, ops]");
  }
  if (!r.Uint(&agent) || !r.Uint(&c.id.seq)) return InvalidArgument("change: bad agent or seq");
  if (agent == kRootAgent) return InvalidArgument("change: the root agent");
  c.id.agent = AgentId{agent};
  if (r.Peek() != msgpack::Type::kArray || !r.ArrayHeader(&n)) {
    return InvalidArgument("change: parents is not an array");
  }
  if (n > kMaxWireParents) return ResourceExhausted("change: too many parents");
  c.parents.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    QUIRE_RETURN_IF_ERROR(ReadId(r, false, "parent " + std::to_string(i), &c.parents[i]));
  }
  if (r.Peek() != msgpack::Type::kArray || !r.ArrayHeader(&n)) {
    return InvalidArgument("change: ops is not an array");
  }
  if (n > kMaxWireOps) return ResourceExhausted("change: too many ops");
  c.ops.resize(n);
  for (uint32_t i = 0; i < n; ++i) {
    const std::string where = "op " + std::to_string(i);
    Op& op = c.ops[i];
    uint32_t fields;
    uint64_t kind;
    if (r.Peek() != msgpack::Type::kArray || !r.ArrayHeader(&fields) || fields != 4 ||
        !r.Uint(&kind) || kind > 1) {
      return InvalidArgument("change: " + where + " is not [0|1, ...]");
    }
    if (kind == 0) {
      op.kind = Op::Kind::kInsert;
      QUIRE_RETURN_IF_ERROR(ReadId(r, true, where + " left origin", &op.origin_left));
      QUIRE_RETURN_IF_ERROR(ReadId(r, true, where + " right origin", &op.origin_right));
      std::string_view text;
      if (r.Peek() != msgpack::Type::kStr || !r.Str(&text)) {
        return InvalidArgument("change: " + where + " text is not a string");
      }
      op.text.assign(text);
    } else {
      op.kind = Op::Kind::kDelete;
      QUIRE_RETURN_IF_ERROR(ReadId(r, false, where + " target", &op.target));
      if (!r.Uint(&op.len) || !r.Bool(&op.backward)) {
        return InvalidArgument("change: " + where + " length or direction is malformed");
      }
    }
  }
  return c;
}

Result<Change> DecodeChange(std::string_view bytes) {
  msgpack::Reader r(bytes);
  Result<Change> c = ReadChange(r);
  if (c.ok() && !r.done()) return InvalidArgument("change: trailing bytes");
  return c;
}

}  // namespace quire::crdt
