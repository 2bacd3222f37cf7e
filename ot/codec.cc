#include "ot/codec.h"

#include <vector>

namespace quire::ot {

void EncodeOp(const TextOp& op, msgpack::Writer& writer) {
  writer.ArrayHeader(static_cast<uint32_t>(op.components().size()));
  for (const Component& c : op.components()) {
    switch (c.kind) {
      case Component::Kind::kRetain: writer.Uint(c.count); break;
      case Component::Kind::kInsert: writer.Str(c.text); break;
      case Component::Kind::kDelete: writer.Int(-static_cast<int64_t>(c.count)); break;
    }
  }
}

std::string EncodeOp(const TextOp& op) {
  std::string out;
  msgpack::Writer writer(&out);
  EncodeOp(op, writer);
  return out;
}

Result<TextOp> ReadOp(msgpack::Reader& reader) {
  uint32_t n;
  if (reader.Peek() != msgpack::Type::kArray) {
    return InvalidArgument("op: expected an array of components");
  }
  if (!reader.ArrayHeader(&n)) {
    return InvalidArgument(
        "op: array header is truncated or claims more components than there are bytes");
  }
  if (n > kMaxWireComponents) {
    return ResourceExhausted("op: more than " + std::to_string(kMaxWireComponents) +
                             " components");
  }
  std::vector<Component> components;
  components.reserve(n);
  for (uint32_t i = 0; i < n; ++i) {
    const std::string where = "op: component " + std::to_string(i);
    switch (reader.Peek()) {
      case msgpack::Type::kInt: {
        int64_t v;
        if (!reader.Int(&v)) return InvalidArgument(where + " is not a 64-bit signed integer");
        if (v == 0) return InvalidArgument(where + " has length 0");
        // -v cannot overflow: v >= INT64_MIN + 1 is checked by the limit first.
        if (v < -static_cast<int64_t>(kMaxLength) || v > static_cast<int64_t>(kMaxLength)) {
          return InvalidArgument(where + " is longer than the limit");
        }
        components.push_back(v > 0 ? Component::Retain(static_cast<size_t>(v))
                                   : Component::Delete(static_cast<size_t>(-v)));
        break;
      }
      case msgpack::Type::kStr: {
        std::string_view s;
        if (!reader.Str(&s)) return InvalidArgument(where + " is a truncated string");
        components.push_back(Component{Component::Kind::kInsert, 0, std::string(s)});
        break;
      }
      default:
        return InvalidArgument(where + " is neither an integer nor a string");
    }
  }
  Result<TextOp> op = TextOp::FromComponents(std::move(components));
  if (!op.ok()) return Status(op.status().code(), "op: " + op.status().message());
  return op;
}

Result<TextOp> DecodeOp(std::string_view bytes) {
  msgpack::Reader reader(bytes);
  Result<TextOp> op = ReadOp(reader);
  if (op.ok() && !reader.done()) return InvalidArgument("op: trailing bytes after the op");
  return op;
}

}  // namespace quire::ot
