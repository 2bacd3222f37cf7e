// The wire form of a Change: one MessagePack array (docs/crdt_format.md,
// "Changes on the wire"):
//
//   [agent, seq, [[p_agent, p_seq], ...], [op, ...]]
//   op = [0, left, right, text]      insert; left/right: [agent, seq] or nil (root)
//      | [1, [agent, seq], len, backward]   delete
//
// DecodeChange checks types and shapes (InvalidArgument naming the field);
// TextDoc::Apply checks what needs the document. Decoding grows the Change
// as it reads, never by a count the input claims: memory is bounded by the
// ops the input actually holds (and kMaxWireOps), and junk is refused at
// its first wrong byte.
//
// Thread safety: functions of their arguments only.
#ifndef QUIRE_CRDT_CHANGE_CODEC_H_
#define QUIRE_CRDT_CHANGE_CODEC_H_

#include <string>
#include <string_view>

#include "base/result.h"
#include "base/wire.h"
#include "crdt/change.h"

namespace quire::crdt {

// Ops and parents a change from outside may carry.
inline constexpr uint32_t kMaxWireOps = 1 << 20;
inline constexpr uint32_t kMaxWireParents = 1 << 10;

void EncodeChange(const Change& change, wire::Packer& packer);
std::string EncodeChange(const Change& change);
// Reads one change from `reader` (as a field inside a larger message).
Result<Change> ReadChange(wire::Reader& reader);
// Exactly one change; trailing bytes are an error.
Result<Change> DecodeChange(std::string_view bytes);

}  // namespace quire::crdt

#endif  // QUIRE_CRDT_CHANGE_CODEC_H_
