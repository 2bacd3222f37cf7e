// The wire protocol of docs/protocol.md as C++ values: every message a
// client or the server sends, a decoder for each direction that validates
// everything (types, ranges, UTF-8, nesting, sizes) and an encoder for each.
// Shared by the server, the C++ client and the protocol fuzzer. No Boost,
// no sockets: bytes in, values out.
//
// Decoders never trust a count in the input: memory and time are bounded
// by the frame's length (which the transport bounds by max_frame).
//
// Thread safety: free functions on values; no shared state.
#ifndef QUIRE_SERVER_PROTOCOL_H_
#define QUIRE_SERVER_PROTOCOL_H_

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "crdt/change.h"
#include "crdt/id.h"
#include "ot/text_op.h"
#include "presence/presence.h"
#include "server/frame.h"

namespace quire::server {

inline constexpr uint64_t kProtocolVersion = 1;

enum class MsgType : uint8_t {
  kBatch = 0,
  kHello = 1,
  kWelcome = 2,
  kError = 3,
  kPing = 4,
  kPong = 5,
  kRefresh = 6,
  kRefreshed = 7,
  kOpen = 16,
  kOpened = 17,
  kClose = 18,
  kSnapshot = 19,
  kText = 20,
  kSynced = 21,
  kChange = 22,
  kOp = 23,
  kAck = 24,
  kRemoteChange = 25,
  kRemoteOp = 26,
  kNeed = 27,
  kPresenceSet = 48,
  kPresence = 49,
  kBroadcast = 50,
  kBroadcasted = 51,
};

// docs/protocol.md, "Error codes". Never renumber.
enum class ErrorCode : uint16_t {
  kMalformed = 100,
  kHelloFirst = 101,
  kVersion = 102,
  kUnknownType = 103,
  kBadField = 104,
  kTextFrame = 105,
  kUnknownChannel = 200,
  kDoesNotFit = 201,
  kWrongAgent = 202,
  kNotCausal = 203,
  kStaleEpoch = 204,
  kBadSeq = 205,
  kOpInFlight = 206,
  kChannelInUse = 207,
  kBadDocName = 208,
  kUnavailable = 209,
  kUnauthorized = 300,
  kTokenExpired = 301,
  kForbidden = 302,
  kTooManyDocs = 400,
  kDocTooLarge = 401,
  kRateLimited = 402,
  kRoomFull = 403,
  kTooLarge = 404,
  kInternal = 500,
  kShuttingDown = 501,
};
std::string_view ErrorCodeName(ErrorCode code);

// docs/protocol.md, "Close codes" (WebSocket close frames).
enum class CloseCode : uint16_t {
  kNormal = 1000,
  kGoingAway = 1001,
  kTooBig = 1009,
  kInternal = 1011,
  kVersion = 4000,
  kHello = 4001,
  kViolations = 4002,
  kUnauthorized = 4003,
  kTokenExpired = 4004,
  kSlowReader = 4005,
  kPingTimeout = 4006,
  kReplaced = 4007,
  kIdle = 4008,
};

enum class Mode : uint8_t { kCrdt = 0, kOt = 1 };

// ---- Client to server ----

struct AgentTicket {
  uint64_t agent = 0;
  std::string ticket;  // Bytes.
  friend bool operator==(const AgentTicket&, const AgentTicket&) = default;
};
struct HelloMsg {
  uint64_t version = kProtocolVersion;
  std::string token, name, client;
  std::optional<AgentTicket> agent;
  friend bool operator==(const HelloMsg&, const HelloMsg&) = default;
};
struct OpenMsg {
  uint16_t channel = 0;
  std::string doc;
  Mode mode = Mode::kCrdt;
  uint64_t epoch = 0;
  crdt::Version version;  // kCrdt: what the client holds.
  uint64_t seq = 0;       // kOt: the seq the client holds.
  friend bool operator==(const OpenMsg&, const OpenMsg&) = default;
};
struct CloseMsg {
  uint16_t channel = 0;
  friend bool operator==(const CloseMsg&, const CloseMsg&) = default;
};
struct ChangeMsg {
  uint16_t channel = 0;
  uint64_t ref = 0;
  crdt::Change change;
  std::string change_bytes;  // The change's own encoding, as received (stored and relayed as is).
  friend bool operator==(const ChangeMsg&, const ChangeMsg&) = default;
};
struct OpMsg {
  uint16_t channel = 0;
  uint64_t ref = 0;
  uint64_t base_seq = 0;
  ot::TextOp op;
  uint64_t agent_seq = 0;  // The agent_next the client last heard.
  friend bool operator==(const OpMsg&, const OpMsg&) = default;
};
struct PingMsg {
  uint64_t nonce = 0;
  friend bool operator==(const PingMsg&, const PingMsg&) = default;
};
struct PongMsg {
  uint64_t nonce = 0;
  friend bool operator==(const PongMsg&, const PongMsg&) = default;
};
struct RefreshMsg {
  std::string token;
  friend bool operator==(const RefreshMsg&, const RefreshMsg&) = default;
};

// A place in the text on the wire: a code point position (OT clients, at
// the message's seq) or an anchor (CRDT clients).
using WireAnchor = std::variant<uint64_t, presence::Anchor>;
struct WireSelection {
  WireAnchor anchor, head;
  friend bool operator==(const WireSelection&, const WireSelection&) = default;
};
// A presence state as it travels: only the keys in `keys` (presence::Key).
struct WireState {
  uint8_t keys = 0;
  std::string user_id;  // In `presence` only (the server sets it).
  std::optional<std::string> name, color;
  std::optional<WireAnchor> cursor;  // kCursor: nullopt is nil (no cursor).
  std::vector<WireSelection> selections;
  bool typing = false;
  std::string app;  // kApp: the encoded map; empty is nil.
  friend bool operator==(const WireState&, const WireState&) = default;
};
struct PresenceSetMsg {
  uint16_t channel = 0;
  uint64_t seq = 0;
  WireState state;
  friend bool operator==(const PresenceSetMsg&, const PresenceSetMsg&) = default;
};
struct BroadcastMsg {
  uint16_t channel = 0;
  std::string payload;  // One encoded msgpack value.
  friend bool operator==(const BroadcastMsg&, const BroadcastMsg&) = default;
};

using ClientMessage = std::variant<HelloMsg, OpenMsg, CloseMsg, ChangeMsg, OpMsg, PingMsg, PongMsg,
                                   RefreshMsg, PresenceSetMsg, BroadcastMsg>;

// Why a message was refused: what goes back in an `error` message.
struct ProtocolError {
  ErrorCode code = ErrorCode::kMalformed;
  std::string message;
  std::optional<uint16_t> channel;
  std::optional<uint64_t> ref;
};

// Decodes one client frame. On failure returns the error to send, naming
// the channel and ref when they could be read.
std::optional<ProtocolError> DecodeClientMessage(std::string_view frame, ClientMessage* out);
std::string EncodeClientMessage(const ClientMessage& message);

// ---- Server to client ----

struct WelcomeMsg {
  uint64_t version = kProtocolVersion;
  uint64_t session = 0;
  std::string user, name;
  uint64_t agent = 0;
  std::string ticket;
  uint64_t ping_ms = 0;
  uint64_t max_frame = 0, max_doc_bytes = 0, max_open_docs = 0, max_queue = 0;
  std::string server;
};
struct ErrorMsg {
  ErrorCode code = ErrorCode::kMalformed;
  std::string message;
  std::optional<uint16_t> channel;
  std::optional<uint64_t> ref;
  std::optional<uint64_t> epoch;  // detail.epoch (kStaleEpoch).
};
struct OpenedMsg {
  uint16_t channel = 0;
  uint64_t epoch = 0, seq = 0;
};
struct SnapshotMsg {
  uint16_t channel = 0;
  uint64_t seq = 0;
  std::string bytes;
};
struct TextMsg {
  uint16_t channel = 0;
  uint64_t seq = 0;
  std::string text;
};
struct SyncedMsg {
  uint16_t channel = 0;
  uint64_t seq = 0;
  std::optional<crdt::Version> version;
  uint64_t agent_next = 0;
};
struct AckMsg {
  uint16_t channel = 0;
  uint64_t ref = 0, seq = 0, agent_next = 0;
};
struct RemoteChangeMsg {
  uint16_t channel = 0;
  uint64_t seq = 0;
  crdt::Change change;
};
struct RemoteOpMsg {
  uint16_t channel = 0;
  uint64_t seq = 0;
  ot::TextOp op;
  crdt::Id origin;  // The change's id: [agent, agent_seq] of its first op.
};
struct NeedMsg {
  uint16_t channel = 0;
  uint64_t ref = 0;
  crdt::Version version;
};
struct RefreshedMsg {
  uint64_t exp = 0;
};
struct PresenceEntryMsg {
  uint64_t session = 0;
  uint64_t clock = 0;
  bool left = false;  // The state was nil.
  WireState state;
};
struct PresenceMsg {
  uint16_t channel = 0;
  uint64_t seq = 0;
  std::vector<PresenceEntryMsg> entries;
};
struct BroadcastedMsg {
  uint16_t channel = 0;
  uint64_t session = 0;
  std::string payload;
};

using ServerMessage =
    std::variant<WelcomeMsg, ErrorMsg, PingMsg, PongMsg, RefreshedMsg, OpenedMsg, SnapshotMsg,
                 TextMsg, SyncedMsg, AckMsg, RemoteChangeMsg, RemoteOpMsg, NeedMsg, PresenceMsg,
                 BroadcastedMsg>;

// Decodes one server frame into its messages (a batch holds several).
Result<std::vector<ServerMessage>> DecodeServerFrame(std::string_view frame);

// ---- Encoders the server uses. Each returns a Frame whose body can be shared. ----

Frame WelcomeFrame(const WelcomeMsg& m);
Frame ErrorFrame(const ProtocolError& e, std::optional<uint64_t> epoch = std::nullopt);
Frame PingFrame(uint64_t nonce);
Frame PongFrame(uint64_t nonce);
Frame RefreshedFrame(uint64_t exp);
Frame OpenedFrame(uint16_t channel, uint64_t epoch, uint64_t seq);
Frame SnapshotFrame(uint16_t channel, uint64_t seq, std::string_view bytes);
Frame TextFrame(uint16_t channel, uint64_t seq, std::string_view text);
Frame SyncedFrame(uint16_t channel, uint64_t seq, const crdt::Version* version,
                  uint64_t agent_next);
Frame AckFrame(uint16_t channel, uint64_t ref, uint64_t seq, uint64_t agent_next);
Frame NeedFrame(uint16_t channel, uint64_t ref, const crdt::Version& version);
// Relays: the body ([seq, change] / [seq, op]) is encoded once per room and
// shared; each recipient's Frame adds only its own type and channel.
std::shared_ptr<const std::string> RemoteChangeBody(uint64_t seq, std::string_view change_bytes);
std::shared_ptr<const std::string> RemoteOpBody(uint64_t seq, const ot::TextOp& op,
                                                const crdt::Id& origin);
Frame RelayFrame(MsgType type, uint16_t channel, std::shared_ptr<const std::string> body);
// The head of a `batch` message holding `count` messages; the messages'
// own bytes follow it.
std::string BatchHead(size_t count);
// The body of `presence` ([seq, entries]), encoded once per room and mode.
// With `position` (OT members), anchors go out as the positions it gives;
// without, as CRDT anchors.
std::shared_ptr<const std::string> PresenceBody(
    uint64_t seq, const std::vector<presence::Entry>& entries,
    const std::function<uint64_t(const presence::Anchor&)>* position);
// The body of `broadcasted` ([session, payload]).
std::shared_ptr<const std::string> BroadcastedBody(uint64_t session, std::string_view payload);

}  // namespace quire::server

#endif  // QUIRE_SERVER_PROTOCOL_H_
