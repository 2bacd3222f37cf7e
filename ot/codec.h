// The wire form of a TextOp: one MessagePack array whose elements are the
// components in order: a positive integer retains that many code points, a
// string inserts its UTF-8 text, a negative integer deletes -n code points.
// [3, "ab", -2] retains 3, inserts "ab", deletes 2. docs/ot.md has the bytes.
//
// Decoding validates everything (types, zero lengths, UTF-8, limits) and
// returns the op normalized; encoding writes the normalized op. Decoding
// grows the op as it reads, never by a count the input claims, so memory
// is bounded by the components the input actually holds.
//
// Thread safety: functions of their arguments only.
#ifndef QUIRE_OT_CODEC_H_
#define QUIRE_OT_CODEC_H_

#include <string>
#include <string_view>

#include "base/result.h"
#include "base/wire.h"
#include "ot/text_op.h"

namespace quire::ot {

// Components an op from outside may have; a larger op is ResourceExhausted.
inline constexpr size_t kMaxWireComponents = 1 << 20;

void EncodeOp(const TextOp& op, wire::Packer& packer);
std::string EncodeOp(const TextOp& op);

// Reads one op from `reader` (as a field inside a larger message).
Result<TextOp> ReadOp(wire::Reader& reader);
// Decodes bytes that hold exactly one op; trailing bytes are an error.
Result<TextOp> DecodeOp(std::string_view bytes);

}  // namespace quire::ot

#endif  // QUIRE_OT_CODEC_H_
