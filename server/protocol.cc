#include "server/protocol.h"

#include <utility>

#include "base/utf8.h"
#include "base/wire.h"
#include "crdt/change_codec.h"
#include "ot/codec.h"
#include "server/protocol_presence.h"

namespace quire::server {
namespace {

// Nesting a client message may have: a change is 4 levels deep inside
// its message, a hello's agent 3.
constexpr uint32_t kMaxDepth = 16;
// Strings in hello.
constexpr size_t kMaxNameBytes = 64;
constexpr size_t kMaxTokenBytes = 8 << 10;
constexpr size_t kMaxTicketBytes = 64;

// ---- Decoding helpers ----

ProtocolError Err(ErrorCode code, std::string message) {
  return ProtocolError{code, std::move(message), std::nullopt, std::nullopt};
}

// Reads the fields of one message after its type. Each Read* returns
// false after recording why in `error`.
class Fields {
 public:
  Fields(wire::Reader& r, uint32_t count, std::string what)
      : r_(r), left_(count - 1), what_(std::move(what)) {}

  std::optional<ProtocolError> error;
  std::optional<uint16_t> channel;
  std::optional<uint64_t> ref;

  // The next field must exist.
  bool Need(std::string_view field) {
    if (left_ == 0) return Bad(std::string(field) + " is missing");
    --left_;
    return true;
  }
  bool Uint(std::string_view field, uint64_t* v) {
    return Need(field) && (r_.Uint(v) || Bad(std::string(field) + " is not an unsigned integer"));
  }
  bool Channel() {
    uint64_t v;
    if (!Uint("channel", &v)) return false;
    if (v > UINT16_MAX) return Bad("channel is above 65535");
    channel = static_cast<uint16_t>(v);
    return true;
  }
  bool Ref() {
    uint64_t v;
    if (!Uint("ref", &v)) return false;
    ref = v;
    return true;
  }
  bool Str(std::string_view field, size_t max, std::string* out) {
    std::string_view s;
    if (!Need(field)) return false;
    if (!r_.Str(&s)) return Bad(std::string(field) + " is not a string");
    if (s.size() > max) return Bad(std::string(field) + " is longer than " + std::to_string(max) + " bytes");
    if (!utf8::Validate(s).ok()) return Bad(std::string(field) + " is not valid UTF-8");
    out->assign(s);
    return true;
  }
  bool Version(crdt::Version* out) {
    uint32_t n;
    if (!Need("version")) return false;
    if (!r_.ArrayHeader(&n)) return Bad("version is not an array");
    for (uint32_t i = 0; i < n; ++i) {
      uint32_t pair;
      uint64_t agent, next;
      if (!r_.ArrayHeader(&pair) || pair != 2 || !r_.Uint(&agent) || !r_.Uint(&next)) {
        return Bad("version entry " + std::to_string(i) + " is not [agent, next_seq]");
      }
      if (agent == crdt::kRootAgent) return Bad("version names the root agent");
      if (out->Get(crdt::AgentId{agent}) != 0) return Bad("version names an agent twice");
      out->Set(crdt::AgentId{agent}, next);
    }
    return true;
  }
  // Gives the raw reader to a codec for the next field.
  wire::Reader* Raw(std::string_view field) { return Need(field) ? &r_ : nullptr; }
  // Extra trailing fields (a later minor revision) are skipped; then the
  // frame must end.
  bool Finish() {
    for (; left_ > 0; --left_) {
      if (!r_.Skip()) return Bad("a trailing field is malformed");
    }
    if (!r_.done()) {
      error = Err(ErrorCode::kMalformed, "bytes after the message");
      return false;
    }
    return true;
  }
  bool Bad(std::string message) {
    const bool malformed = r_.error() == wire::Error::kTruncated ||
                           r_.error() == wire::Error::kMalformed ||
                           r_.error() == wire::Error::kLimit;
    error = Err(malformed ? ErrorCode::kMalformed : ErrorCode::kBadField,
                std::string(what_) + ": " + std::move(message) +
                    (malformed ? std::string(" (") + std::string(wire::ErrorName(r_.error())) + ")"
                               : std::string()));
    return false;
  }

 private:
  wire::Reader& r_;
  uint32_t left_;
  std::string what_;
};

bool ReadHelloOptions(wire::Reader& r, Fields& f, HelloMsg* m) {
  uint32_t n;
  if (!f.Need("options")) return false;
  if (!r.MapHeader(&n)) return f.Bad("options is not a map");
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view key;
    if (!r.Str(&key)) return f.Bad("an option key is not a string");
    if (key == "token" || key == "name" || key == "client") {
      std::string_view v;
      const size_t max = key == "token" ? kMaxTokenBytes : kMaxNameBytes;
      if (!r.Str(&v) || v.size() > max || !utf8::Validate(v).ok()) {
        return f.Bad(std::string(key) + " is not a string of at most " + std::to_string(max) +
                     " bytes of UTF-8");
      }
      (key == "token" ? m->token : key == "name" ? m->name : m->client).assign(v);
    } else if (key == "agent") {
      uint32_t pair;
      AgentTicket a;
      std::string_view ticket;
      if (!r.ArrayHeader(&pair) || pair != 2 || !r.Uint(&a.agent) || !r.Bin(&ticket) ||
          ticket.size() > kMaxTicketBytes) {
        return f.Bad("agent is not [agent, ticket]");
      }
      a.ticket.assign(ticket);
      m->agent = std::move(a);
    } else if (!r.Skip()) {
      return f.Bad("option " + std::to_string(i) + " is malformed");
    }
  }
  return true;
}

bool ReadClient(std::string_view frame, wire::Reader& r, uint64_t type, Fields& f,
                ClientMessage* out) {
  switch (static_cast<MsgType>(type)) {
    case MsgType::kHello: {
      HelloMsg m;
      if (!f.Uint("version", &m.version) || !ReadHelloOptions(r, f, &m)) return false;
      *out = std::move(m);
      return true;
    }
    case MsgType::kOpen: {
      OpenMsg m;
      uint64_t mode;
      if (!f.Channel() || !f.Str("doc", 1024, &m.doc) || !f.Uint("mode", &mode)) return false;
      if (mode > 1) return f.Bad("mode is not 0 (CRDT) or 1 (OT)");
      m.channel = *f.channel;
      m.mode = static_cast<Mode>(mode);
      if (!f.Uint("epoch", &m.epoch)) return false;
      if (m.mode == Mode::kCrdt ? !f.Version(&m.version) : !f.Uint("have", &m.seq)) return false;
      *out = std::move(m);
      return true;
    }
    case MsgType::kClose: {
      if (!f.Channel()) return false;
      *out = CloseMsg{*f.channel};
      return true;
    }
    case MsgType::kChange: {
      ChangeMsg m;
      if (!f.Channel() || !f.Ref()) return false;
      wire::Reader* raw = f.Raw("change");
      if (raw == nullptr) return false;
      const size_t start = raw->position();
      Result<crdt::Change> change = crdt::ReadChange(*raw);
      if (!change.ok()) return f.Bad(change.status().message());
      m.channel = *f.channel;
      m.ref = *f.ref;
      m.change = std::move(*change);
      m.change_bytes.assign(frame.substr(start, raw->position() - start));
      *out = std::move(m);
      return true;
    }
    case MsgType::kOp: {
      OpMsg m;
      if (!f.Channel() || !f.Ref() || !f.Uint("base_seq", &m.base_seq)) return false;
      wire::Reader* raw = f.Raw("op");
      if (raw == nullptr) return false;
      Result<ot::TextOp> op = ot::ReadOp(*raw);
      if (!op.ok()) return f.Bad(op.status().message());
      m.op = std::move(*op);
      if (!f.Uint("agent_seq", &m.agent_seq)) return false;
      m.channel = *f.channel;
      m.ref = *f.ref;
      *out = std::move(m);
      return true;
    }
    case MsgType::kPing:
    case MsgType::kPong: {
      uint64_t nonce;
      if (!f.Uint("nonce", &nonce)) return false;
      if (static_cast<MsgType>(type) == MsgType::kPing) {
        *out = PingMsg{nonce};
      } else {
        *out = PongMsg{nonce};
      }
      return true;
    }
    case MsgType::kRefresh: {
      RefreshMsg m;
      if (!f.Str("token", kMaxTokenBytes, &m.token)) return false;
      *out = std::move(m);
      return true;
    }
    case MsgType::kPresenceSet: {
      PresenceSetMsg m;
      if (!f.Channel() || !f.Uint("seq", &m.seq)) return false;
      wire::Reader* raw = f.Raw("state");
      if (raw == nullptr) return false;
      if (std::string why = ReadWireState(*raw, &m.state); !why.empty()) return f.Bad(why);
      m.channel = *f.channel;
      *out = std::move(m);
      return true;
    }
    case MsgType::kBroadcast: {
      BroadcastMsg m;
      if (!f.Channel()) return false;
      wire::Reader* raw = f.Raw("payload");
      std::string_view payload;
      if (raw == nullptr) return false;
      if (!raw->Skip(&payload)) return f.Bad("payload is malformed");
      m.channel = *f.channel;
      m.payload.assign(payload);
      *out = std::move(m);
      return true;
    }
    default:
      f.error = Err(ErrorCode::kUnknownType, "unknown message type " + std::to_string(type));
      return false;
  }
}

}  // namespace

std::string_view ErrorCodeName(ErrorCode code) {
  switch (code) {
    case ErrorCode::kMalformed: return "malformed";
    case ErrorCode::kHelloFirst: return "hello_first";
    case ErrorCode::kVersion: return "version";
    case ErrorCode::kUnknownType: return "unknown_type";
    case ErrorCode::kBadField: return "bad_field";
    case ErrorCode::kTextFrame: return "text_frame";
    case ErrorCode::kUnknownChannel: return "unknown_channel";
    case ErrorCode::kDoesNotFit: return "does_not_fit";
    case ErrorCode::kWrongAgent: return "wrong_agent";
    case ErrorCode::kNotCausal: return "not_causal";
    case ErrorCode::kStaleEpoch: return "stale_epoch";
    case ErrorCode::kBadSeq: return "bad_seq";
    case ErrorCode::kOpInFlight: return "op_in_flight";
    case ErrorCode::kChannelInUse: return "channel_in_use";
    case ErrorCode::kBadDocName: return "bad_doc_name";
    case ErrorCode::kUnavailable: return "unavailable";
    case ErrorCode::kUnauthorized: return "unauthorized";
    case ErrorCode::kTokenExpired: return "token_expired";
    case ErrorCode::kForbidden: return "forbidden";
    case ErrorCode::kTooManyDocs: return "too_many_docs";
    case ErrorCode::kDocTooLarge: return "doc_too_large";
    case ErrorCode::kRateLimited: return "rate_limited";
    case ErrorCode::kRoomFull: return "room_full";
    case ErrorCode::kTooLarge: return "too_large";
    case ErrorCode::kInternal: return "internal";
    case ErrorCode::kShuttingDown: return "shutting_down";
  }
  return "unknown";
}

std::optional<ProtocolError> DecodeClientMessage(std::string_view frame, ClientMessage* out) {
  wire::Reader r(frame, wire::Limits{.max_depth = kMaxDepth});
  uint32_t n;
  uint64_t type;
  if (!r.ArrayHeader(&n) || n == 0) return Err(ErrorCode::kMalformed, "not a msgpack array");
  if (!r.Uint(&type)) return Err(ErrorCode::kMalformed, "the first element is not a type number");
  Fields f(r, n, "message " + std::to_string(type));
  if (!ReadClient(frame, r, type, f, out) || !f.Finish()) {
    ProtocolError e = std::move(*f.error);
    e.channel = f.channel;
    e.ref = f.ref;
    return e;
  }
  return std::nullopt;
}

}  // namespace quire::server
