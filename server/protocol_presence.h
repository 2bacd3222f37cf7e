// Presence states and anchors on the wire: shared by the encoders and
// decoders of both directions (protocol*.cc). Internal to the protocol
// library.
#ifndef QUIRE_SERVER_PROTOCOL_PRESENCE_H_
#define QUIRE_SERVER_PROTOCOL_PRESENCE_H_

#include <functional>
#include <string>

#include "base/wire.h"
#include "presence/presence.h"
#include "server/protocol.h"

namespace quire::server {

// A position (an integer) or a CRDT anchor ([] or [agent, seq, side]).
bool ReadWireAnchor(wire::Reader& r, WireAnchor* out);
// A state map; returns what is wrong with it, or "" when it is fine.
std::string ReadWireState(wire::Reader& r, WireState* out);
// Writes `s`'s keys as a map (`buf` is the packer's buffer: the app map is
// copied in as it is).
void PackWireState(wire::Buffer& buf, wire::Packer& pk, const WireState& s);
// A member's state for the wire: its `keys`, anchors as they are or, with
// `position`, as the positions it gives.
WireState ToWire(const presence::State& s, uint8_t keys,
                 const std::function<uint64_t(const presence::Anchor&)>* position);

}  // namespace quire::server

#endif  // QUIRE_SERVER_PROTOCOL_PRESENCE_H_
