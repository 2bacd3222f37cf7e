// Server-to-client messages: the encoders the server uses (Frames whose
// bodies relays share) and the decoder the C++ client uses.
#include <cassert>
#include <cstring>

#include "base/utf8.h"
#include "base/wire.h"
#include "crdt/change_codec.h"
#include "ot/codec.h"
#include "server/protocol.h"
#include "server/protocol_presence.h"

namespace quire::server {
namespace {

// msgpack-c's output stream over a Frame's inline head.
class HeadSink {
 public:
  explicit HeadSink(Frame* f) : f_(f) {}
  void write(const char* data, size_t n) {
    assert(f_->head_len + n <= Frame::kMaxHead);
    std::memcpy(f_->head.data() + f_->head_len, data, n);
    f_->head_len = static_cast<uint8_t>(f_->head_len + n);
  }

 private:
  Frame* f_;
};

// The frame [type, (channel,) <body>] with `fields` elements in all.
Frame Make(uint32_t fields, MsgType type, std::optional<uint16_t> channel,
           std::shared_ptr<const std::string> body) {
  Frame f;
  HeadSink sink(&f);
  msgpack::packer<HeadSink> pk(sink);
  pk.pack_array(fields);
  pk.pack_uint8(static_cast<uint8_t>(type));
  if (channel) pk.pack_uint16(*channel);
  f.body = std::move(body);
  return f;
}

std::shared_ptr<const std::string> Share(wire::Buffer& buf) {
  return std::make_shared<const std::string>(buf.Take());
}

void PackVersion(wire::Packer& pk, const crdt::Version& v) {
  pk.pack_array(static_cast<uint32_t>(v.entries().size()));
  for (const auto& [agent, next] : v.entries()) {
    pk.pack_array(2);
    pk.pack_uint64(agent);
    pk.pack_uint64(next);
  }
}

template <typename T>
void PackOptional(wire::Packer& pk, const std::optional<T>& v) {
  if (v) {
    pk.pack_uint64(*v);
  } else {
    pk.pack_nil();
  }
}

}  // namespace

// ---- Encoders ----

std::string Frame::Bytes() const {
  std::string out = messages > 1 ? BatchHead(messages) : std::string();
  out += Head();
  out += Body();
  return out;
}

Frame WelcomeFrame(const WelcomeMsg& m) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  pk.pack_uint64(m.version);
  pk.pack_map(8);
  wire::PackStr(pk, "session");
  pk.pack_uint64(m.session);
  wire::PackStr(pk, "user");
  wire::PackStr(pk, m.user);
  wire::PackStr(pk, "name");
  wire::PackStr(pk, m.name);
  wire::PackStr(pk, "agent");
  pk.pack_uint64(m.agent);
  wire::PackStr(pk, "ticket");
  wire::PackBin(pk, m.ticket);
  wire::PackStr(pk, "ping_ms");
  pk.pack_uint64(m.ping_ms);
  wire::PackStr(pk, "limits");
  pk.pack_map(4);
  wire::PackStr(pk, "max_frame");
  pk.pack_uint64(m.max_frame);
  wire::PackStr(pk, "max_doc_bytes");
  pk.pack_uint64(m.max_doc_bytes);
  wire::PackStr(pk, "max_open_docs");
  pk.pack_uint64(m.max_open_docs);
  wire::PackStr(pk, "max_queue");
  pk.pack_uint64(m.max_queue);
  wire::PackStr(pk, "server");
  wire::PackStr(pk, m.server);
  return Make(3, MsgType::kWelcome, std::nullopt, Share(buf));
}

Frame ErrorFrame(const ProtocolError& e, std::optional<uint64_t> epoch) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  pk.pack_uint16(static_cast<uint16_t>(e.code));
  wire::PackStr(pk, e.message);
  PackOptional(pk, e.channel);
  PackOptional(pk, e.ref);
  if (epoch) {
    pk.pack_map(1);
    wire::PackStr(pk, "epoch");
    pk.pack_uint64(*epoch);
  } else {
    pk.pack_nil();
  }
  return Make(6, MsgType::kError, std::nullopt, Share(buf));
}

Frame PingFrame(uint64_t nonce) {
  wire::Buffer buf;
  wire::Packer(buf).pack_uint64(nonce);
  return Make(2, MsgType::kPing, std::nullopt, Share(buf));
}

Frame PongFrame(uint64_t nonce) {
  wire::Buffer buf;
  wire::Packer(buf).pack_uint64(nonce);
  return Make(2, MsgType::kPong, std::nullopt, Share(buf));
}

Frame RefreshedFrame(uint64_t exp) {
  wire::Buffer buf;
  wire::Packer(buf).pack_uint64(exp);
  return Make(2, MsgType::kRefreshed, std::nullopt, Share(buf));
}

Frame OpenedFrame(uint16_t channel, uint64_t epoch, uint64_t seq) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  pk.pack_uint64(epoch);
  pk.pack_uint64(seq);
  return Make(4, MsgType::kOpened, channel, Share(buf));
}

Frame SnapshotFrame(uint16_t channel, uint64_t seq, std::string_view bytes) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  pk.pack_uint64(seq);
  wire::PackBin(pk, bytes);
  return Make(4, MsgType::kSnapshot, channel, Share(buf));
}

Frame TextFrame(uint16_t channel, uint64_t seq, std::string_view text) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  pk.pack_uint64(seq);
  wire::PackStr(pk, text);
  return Make(4, MsgType::kText, channel, Share(buf));
}

Frame SyncedFrame(uint16_t channel, uint64_t seq, const crdt::Version* version,
                  uint64_t agent_next) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  pk.pack_uint64(seq);
  if (version != nullptr) {
    PackVersion(pk, *version);
  } else {
    pk.pack_nil();
  }
  pk.pack_uint64(agent_next);
  return Make(5, MsgType::kSynced, channel, Share(buf));
}

Frame AckFrame(uint16_t channel, uint64_t ref, uint64_t seq, uint64_t agent_next) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  pk.pack_uint64(ref);
  pk.pack_uint64(seq);
  pk.pack_uint64(agent_next);
  return Make(5, MsgType::kAck, channel, Share(buf));
}

Frame NeedFrame(uint16_t channel, uint64_t ref, const crdt::Version& version) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  pk.pack_uint64(ref);
  PackVersion(pk, version);
  return Make(4, MsgType::kNeed, channel, Share(buf));
}

std::shared_ptr<const std::string> RemoteChangeBody(uint64_t seq, std::string_view change_bytes) {
  wire::Buffer buf;
  buf.reserve(9 + change_bytes.size());
  wire::Packer(buf).pack_uint64(seq);
  buf.write(change_bytes.data(), change_bytes.size());  // Already msgpack.
  return Share(buf);
}

std::shared_ptr<const std::string> RemoteOpBody(uint64_t seq, const ot::TextOp& op,
                                                const crdt::Id& origin) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  pk.pack_uint64(seq);
  ot::EncodeOp(op, pk);
  pk.pack_array(2);
  pk.pack_uint64(origin.agent.value);
  pk.pack_uint64(origin.seq);
  return Share(buf);
}

Frame RelayFrame(MsgType type, uint16_t channel, std::shared_ptr<const std::string> body) {
  // [type, ch, seq, change] / [type, ch, seq, op, origin] / [type, ch, seq,
  // entries] / [type, ch, session, payload].
  return Make(type == MsgType::kRemoteOp ? 5 : 4, type, channel, std::move(body));
}

std::shared_ptr<const std::string> PresenceBody(
    uint64_t seq, const std::vector<presence::Entry>& entries,
    const std::function<uint64_t(const presence::Anchor&)>* position) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  pk.pack_uint64(seq);
  pk.pack_array(static_cast<uint32_t>(entries.size()));
  for (const presence::Entry& e : entries) {
    pk.pack_array(3);
    pk.pack_uint64(e.session);
    pk.pack_uint64(e.clock);
    if (e.left) {
      pk.pack_nil();
    } else {
      PackWireState(buf, pk, ToWire(e.state, e.keys, position));
    }
  }
  return Share(buf);
}

std::shared_ptr<const std::string> BroadcastedBody(uint64_t session, std::string_view payload) {
  wire::Buffer buf;
  wire::Packer(buf).pack_uint64(session);
  buf.write(payload.data(), payload.size());  // Already one msgpack value.
  return Share(buf);
}

std::string BatchHead(size_t count) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  pk.pack_array(static_cast<uint32_t>(count + 1));
  pk.pack_uint8(static_cast<uint8_t>(MsgType::kBatch));
  return buf.Take();
}

// ---- The client's side: encoding its messages ----

std::string EncodeClientMessage(const ClientMessage& message) {
  wire::Buffer buf;
  wire::Packer pk(buf);
  std::visit(
      [&](const auto& m) {
        using M = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<M, HelloMsg>) {
          pk.pack_array(3);
          pk.pack_uint8(static_cast<uint8_t>(MsgType::kHello));
          pk.pack_uint64(m.version);
          const uint32_t n = !m.token.empty() + !m.name.empty() + !m.client.empty() +
                             m.agent.has_value();
          pk.pack_map(n);
          if (!m.token.empty()) wire::PackStr(pk, "token"), wire::PackStr(pk, m.token);
          if (!m.name.empty()) wire::PackStr(pk, "name"), wire::PackStr(pk, m.name);
          if (!m.client.empty()) wire::PackStr(pk, "client"), wire::PackStr(pk, m.client);
          if (m.agent) {
            wire::PackStr(pk, "agent");
            pk.pack_array(2);
            pk.pack_uint64(m.agent->agent);
            wire::PackBin(pk, m.agent->ticket);
          }
        } else if constexpr (std::is_same_v<M, OpenMsg>) {
          pk.pack_array(6);
          pk.pack_uint8(static_cast<uint8_t>(MsgType::kOpen));
          pk.pack_uint16(m.channel);
          wire::PackStr(pk, m.doc);
          pk.pack_uint8(static_cast<uint8_t>(m.mode));
          pk.pack_uint64(m.epoch);
          if (m.mode == Mode::kCrdt) {
            PackVersion(pk, m.version);
          } else {
            pk.pack_uint64(m.seq);
          }
        } else if constexpr (std::is_same_v<M, CloseMsg>) {
          pk.pack_array(2);
          pk.pack_uint8(static_cast<uint8_t>(MsgType::kClose));
          pk.pack_uint16(m.channel);
        } else if constexpr (std::is_same_v<M, ChangeMsg>) {
          pk.pack_array(4);
          pk.pack_uint8(static_cast<uint8_t>(MsgType::kChange));
          pk.pack_uint16(m.channel);
          pk.pack_uint64(m.ref);
          crdt::EncodeChange(m.change, pk);
        } else if constexpr (std::is_same_v<M, OpMsg>) {
          pk.pack_array(6);
          pk.pack_uint8(static_cast<uint8_t>(MsgType::kOp));
          pk.pack_uint16(m.channel);
          pk.pack_uint64(m.ref);
          pk.pack_uint64(m.base_seq);
          ot::EncodeOp(m.op, pk);
          pk.pack_uint64(m.agent_seq);
        } else if constexpr (std::is_same_v<M, PingMsg> || std::is_same_v<M, PongMsg>) {
          pk.pack_array(2);
          pk.pack_uint8(static_cast<uint8_t>(std::is_same_v<M, PingMsg> ? MsgType::kPing
                                                                        : MsgType::kPong));
          pk.pack_uint64(m.nonce);
        } else if constexpr (std::is_same_v<M, PresenceSetMsg>) {
          pk.pack_array(4);
          pk.pack_uint8(static_cast<uint8_t>(MsgType::kPresenceSet));
          pk.pack_uint16(m.channel);
          pk.pack_uint64(m.seq);
          PackWireState(buf, pk, m.state);
        } else if constexpr (std::is_same_v<M, BroadcastMsg>) {
          pk.pack_array(3);
          pk.pack_uint8(static_cast<uint8_t>(MsgType::kBroadcast));
          pk.pack_uint16(m.channel);
          buf.write(m.payload.data(), m.payload.size());  // One msgpack value.
        } else {
          static_assert(std::is_same_v<M, RefreshMsg>);
          pk.pack_array(2);
          pk.pack_uint8(static_cast<uint8_t>(MsgType::kRefresh));
          wire::PackStr(pk, m.token);
        }
      },
      message);
  return buf.Take();
}

}  // namespace quire::server
