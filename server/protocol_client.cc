// Decoding server-to-client frames: what the C++ client (and the tests)
// read. A client checks the server's bytes as strictly as the server
// checks a client's.
#include "base/utf8.h"
#include "base/wire.h"
#include "crdt/change_codec.h"
#include "ot/codec.h"
#include "server/protocol.h"
#include "server/protocol_presence.h"

namespace quire::server {
namespace {

Status Bad(std::string what) { return InvalidArgument("server frame: " + std::move(what)); }

bool ReadOptUint(wire::Reader& r, std::optional<uint64_t>* out) {
  if (r.Peek() == wire::Type::kNil) return r.Nil();
  uint64_t v;
  if (!r.Uint(&v)) return false;
  *out = v;
  return true;
}

bool ReadChannel(wire::Reader& r, uint16_t* out) {
  uint64_t v;
  if (!r.Uint(&v) || v > UINT16_MAX) return false;
  *out = static_cast<uint16_t>(v);
  return true;
}

bool ReadVersion(wire::Reader& r, crdt::Version* out) {
  uint32_t n;
  if (!r.ArrayHeader(&n)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t pair;
    uint64_t agent, next;
    if (!r.ArrayHeader(&pair) || pair != 2 || !r.Uint(&agent) || !r.Uint(&next) ||
        agent == crdt::kRootAgent) {
      return false;
    }
    out->Set(crdt::AgentId{agent}, next);
  }
  return true;
}

bool ReadString(wire::Reader& r, std::string* out) {
  std::string_view s;
  if (!r.Str(&s) || !utf8::Validate(s).ok()) return false;
  out->assign(s);
  return true;
}

bool ReadWelcome(wire::Reader& r, WelcomeMsg* m) {
  uint32_t n;
  if (!r.Uint(&m->version) || !r.MapHeader(&n)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view key;
    if (!r.Str(&key)) return false;
    bool ok = true;
    if (key == "session") {
      ok = r.Uint(&m->session);
    } else if (key == "user") {
      ok = ReadString(r, &m->user);
    } else if (key == "name") {
      ok = ReadString(r, &m->name);
    } else if (key == "agent") {
      ok = r.Uint(&m->agent);
    } else if (key == "ticket") {
      std::string_view t;
      ok = r.Bin(&t);
      m->ticket.assign(t);
    } else if (key == "ping_ms") {
      ok = r.Uint(&m->ping_ms);
    } else if (key == "server") {
      ok = ReadString(r, &m->server);
    } else if (key == "limits") {
      uint32_t k;
      ok = r.MapHeader(&k);
      for (uint32_t j = 0; ok && j < k; ++j) {
        std::string_view lk;
        uint64_t v = 0;
        ok = r.Str(&lk) && (r.Peek() == wire::Type::kInt ? r.Uint(&v) : r.Skip());
        if (lk == "max_frame") m->max_frame = v;
        if (lk == "max_doc_bytes") m->max_doc_bytes = v;
        if (lk == "max_open_docs") m->max_open_docs = v;
        if (lk == "max_queue") m->max_queue = v;
      }
    } else {
      ok = r.Skip();
    }
    if (!ok) return false;
  }
  return true;
}

bool ReadError(wire::Reader& r, ErrorMsg* m) {
  uint64_t code;
  std::optional<uint64_t> channel;
  if (!r.Uint(&code) || code > UINT16_MAX || !ReadString(r, &m->message) ||
      !ReadOptUint(r, &channel) || !ReadOptUint(r, &m->ref) ||
      (channel && *channel > UINT16_MAX)) {
    return false;
  }
  m->code = static_cast<ErrorCode>(code);
  if (channel) m->channel = static_cast<uint16_t>(*channel);
  if (r.Peek() == wire::Type::kNil) return r.Nil();
  uint32_t n;
  if (!r.MapHeader(&n)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view key;
    if (!r.Str(&key)) return false;
    if (key == "epoch") {
      uint64_t e;
      if (!r.Uint(&e)) return false;
      m->epoch = e;
    } else if (!r.Skip()) {
      return false;
    }
  }
  return true;
}

// One message whose array header has been read (n elements).
Result<ServerMessage> ReadBody(wire::Reader& r, uint32_t n, uint64_t type) {
  const std::string what = "message " + std::to_string(type);
  auto bad = [&] { return Bad(what + " is malformed"); };
  ServerMessage out;
  bool ok = false;
  size_t used = 1;
  switch (static_cast<MsgType>(type)) {
    case MsgType::kWelcome: {
      WelcomeMsg m;
      ok = n >= 3 && ReadWelcome(r, &m);
      out = std::move(m), used = 3;
      break;
    }
    case MsgType::kError: {
      ErrorMsg m;
      ok = n >= 6 && ReadError(r, &m);
      out = std::move(m), used = 6;
      break;
    }
    case MsgType::kPing:
    case MsgType::kPong: {
      uint64_t nonce;
      ok = n >= 2 && r.Uint(&nonce);
      if (static_cast<MsgType>(type) == MsgType::kPing) {
        out = PingMsg{nonce};
      } else {
        out = PongMsg{nonce};
      }
      used = 2;
      break;
    }
    case MsgType::kRefreshed: {
      RefreshedMsg m;
      ok = n >= 2 && r.Uint(&m.exp);
      out = m, used = 2;
      break;
    }
    case MsgType::kOpened: {
      OpenedMsg m;
      ok = n >= 4 && ReadChannel(r, &m.channel) && r.Uint(&m.epoch) && r.Uint(&m.seq);
      out = m, used = 4;
      break;
    }
    case MsgType::kSnapshot: {
      SnapshotMsg m;
      std::string_view bytes;
      ok = n >= 4 && ReadChannel(r, &m.channel) && r.Uint(&m.seq) && r.Bin(&bytes);
      m.bytes.assign(bytes);
      out = std::move(m), used = 4;
      break;
    }
    case MsgType::kText: {
      TextMsg m;
      ok = n >= 4 && ReadChannel(r, &m.channel) && r.Uint(&m.seq) && ReadString(r, &m.text);
      out = std::move(m), used = 4;
      break;
    }
    case MsgType::kSynced: {
      SyncedMsg m;
      ok = n >= 5 && ReadChannel(r, &m.channel) && r.Uint(&m.seq);
      if (ok && r.Peek() == wire::Type::kNil) {
        ok = r.Nil();
      } else if (ok) {
        m.version.emplace();
        ok = ReadVersion(r, &*m.version);
      }
      ok = ok && r.Uint(&m.agent_next);
      out = std::move(m), used = 5;
      break;
    }
    case MsgType::kAck: {
      AckMsg m;
      ok = n >= 5 && ReadChannel(r, &m.channel) && r.Uint(&m.ref) && r.Uint(&m.seq) &&
           r.Uint(&m.agent_next);
      out = m, used = 5;
      break;
    }
    case MsgType::kRemoteChange: {
      RemoteChangeMsg m;
      ok = n >= 4 && ReadChannel(r, &m.channel) && r.Uint(&m.seq);
      if (ok) {
        Result<crdt::Change> c = crdt::ReadChange(r);
        if (!c.ok()) return Bad(what + ": " + c.status().message());
        m.change = std::move(*c);
      }
      out = std::move(m), used = 4;
      break;
    }
    case MsgType::kRemoteOp: {
      RemoteOpMsg m;
      ok = n >= 5 && ReadChannel(r, &m.channel) && r.Uint(&m.seq);
      if (ok) {
        Result<ot::TextOp> op = ot::ReadOp(r);
        if (!op.ok()) return Bad(what + ": " + op.status().message());
        m.op = std::move(*op);
        uint32_t pair;
        ok = r.ArrayHeader(&pair) && pair == 2 && r.Uint(&m.origin.agent.value) &&
             r.Uint(&m.origin.seq);
      }
      out = std::move(m), used = 5;
      break;
    }
    case MsgType::kNeed: {
      NeedMsg m;
      ok = n >= 4 && ReadChannel(r, &m.channel) && r.Uint(&m.ref) && ReadVersion(r, &m.version);
      out = std::move(m), used = 4;
      break;
    }
    case MsgType::kPresence: {
      PresenceMsg m;
      uint32_t count = 0;
      ok = n >= 4 && ReadChannel(r, &m.channel) && r.Uint(&m.seq) && r.ArrayHeader(&count);
      for (uint32_t i = 0; ok && i < count; ++i) {
        PresenceEntryMsg e;
        uint32_t parts;
        ok = r.ArrayHeader(&parts) && parts == 3 && r.Uint(&e.session) && r.Uint(&e.clock);
        if (ok && r.Peek() == wire::Type::kNil) {
          e.left = r.Nil();
        } else if (ok) {
          ok = ReadWireState(r, &e.state).empty();
        }
        if (ok) m.entries.push_back(std::move(e));
      }
      out = std::move(m), used = 4;
      break;
    }
    case MsgType::kBroadcasted: {
      BroadcastedMsg m;
      std::string_view payload;
      ok = n >= 4 && ReadChannel(r, &m.channel) && r.Uint(&m.session) && r.Skip(&payload);
      m.payload.assign(payload);
      out = std::move(m), used = 4;
      break;
    }
    default:
      return Bad("unknown message type " + std::to_string(type));
  }
  if (!ok) return bad();
  for (size_t i = used; i < n; ++i) {
    if (!r.Skip()) return bad();
  }
  return out;
}

}  // namespace

Result<std::vector<ServerMessage>> DecodeServerFrame(std::string_view frame) {
  wire::Reader r(frame, wire::Limits{.max_depth = 16});
  uint32_t n;
  uint64_t type;
  if (!r.ArrayHeader(&n) || n == 0 || !r.Uint(&type)) return Bad("not a [type, ...] array");
  std::vector<ServerMessage> out;
  if (type == static_cast<uint64_t>(MsgType::kBatch)) {
    for (uint32_t i = 1; i < n; ++i) {
      uint32_t m;
      uint64_t t;
      if (!r.ArrayHeader(&m) || m == 0 || !r.Uint(&t) ||
          t == static_cast<uint64_t>(MsgType::kBatch)) {
        return Bad("batch element " + std::to_string(i) + " is not a message");
      }
      QUIRE_ASSIGN_OR_RETURN(ServerMessage msg, ReadBody(r, m, t));
      out.push_back(std::move(msg));
    }
  } else {
    QUIRE_ASSIGN_OR_RETURN(ServerMessage msg, ReadBody(r, n, type));
    out.push_back(std::move(msg));
  }
  if (!r.done()) return Bad("bytes after the message");
  return out;
}

}  // namespace quire::server
