#include "ot/codec.h"

#include <algorithm>
#include <vector>

namespace quire::ot {
namespace {

// The vector reserves at most this many components up front and grows as
// they arrive, so a count the input claims costs nothing by itself.
constexpr uint32_t kReserveAtMost = 16;

std::string ComponentName(uint32_t i) { return "op: component " + std::to_string(i); }

}  // namespace

void EncodeOp(const TextOp& op, wire::Packer& pk) {
  pk.pack_array(static_cast<uint32_t>(op.components().size()));
  for (const Component& c : op.components()) {
    switch (c.kind) {
      case Component::Kind::kRetain:
        pk.pack_uint64(c.count);
        break;
      case Component::Kind::kInsert:
        wire::PackStr(pk, c.text);
        break;
      case Component::Kind::kDelete:
        pk.pack_int64(-static_cast<int64_t>(c.count));
        break;
    }
  }
}

std::string EncodeOp(const TextOp& op) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  EncodeOp(op, pk);
  return buf.Take();
}

Result<TextOp> ReadOp(wire::Reader& reader) {
  uint32_t n;
  if (reader.Peek() != wire::Type::kArray) {
    return InvalidArgument("op: expected an array of components");
  }
  if (!reader.ArrayHeader(&n)) {
    if (reader.error() == wire::Error::kLimit) {
      return ResourceExhausted("op: more components than the reader's limit");
    }
    return InvalidArgument(
        "op: array header is truncated or claims more components than there are bytes");
  }
  if (n > kMaxWireComponents) {
    return ResourceExhausted("op: more than " + std::to_string(kMaxWireComponents) + " components");
  }
  std::vector<Component> components;
  components.reserve(std::min(n, kReserveAtMost));
  for (uint32_t i = 0; i < n; ++i) {
    switch (reader.Peek()) {
      case wire::Type::kInt: {
        int64_t v;
        if (!reader.Int(&v)) {
          return InvalidArgument(ComponentName(i) + " is not a 64-bit signed integer");
        }
        if (v == 0) return InvalidArgument(ComponentName(i) + " has length 0");
        // -v cannot overflow: v >= INT64_MIN + 1 is checked by the limit first.
        if (v < -static_cast<int64_t>(kMaxLength) || v > static_cast<int64_t>(kMaxLength)) {
          return InvalidArgument(ComponentName(i) + " is longer than the limit");
        }
        components.push_back(v > 0 ? Component::Retain(static_cast<size_t>(v))
                                   : Component::Delete(static_cast<size_t>(-v)));
        break;
      }
      case wire::Type::kStr: {
        std::string_view s;
        if (!reader.Str(&s)) {
          return ResourceExhausted(ComponentName(i) + " is longer than the reader's limit");
        }
        components.push_back(Component{Component::Kind::kInsert, 0, std::string(s)});
        break;
      }
      case wire::Type::kInvalid:  // The reader has failed and knows why.
        return InvalidArgument(ComponentName(i) + " is " +
                               std::string(wire::ErrorName(reader.error())));
      default:
        return InvalidArgument(ComponentName(i) + " is neither an integer nor a string");
    }
  }
  Result<TextOp> op = TextOp::FromComponents(std::move(components));
  if (!op.ok()) return Status(op.status().code(), "op: " + op.status().message());
  return op;
}

Result<TextOp> DecodeOp(std::string_view bytes) {
  wire::Reader reader(bytes);
  Result<TextOp> op = ReadOp(reader);
  if (op.ok() && !reader.done()) return InvalidArgument("op: trailing bytes after the op");
  return op;
}

}  // namespace quire::ot
