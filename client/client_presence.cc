// Presence in the client: this client's own cursor, selections, typing flag
// and app map, sent as presence_set; the others' states from `presence`,
// kept as positions in this client's text (OT) or as anchors (CRDT).
#include <boost/asio/post.hpp>

#include "base/utf8.h"
#include "client/client_impl.h"

namespace quire::client {
namespace asio = boost::asio;

namespace {

constexpr auto kHeartbeat = std::chrono::seconds(10);

// Where position `pos` of the text after `op` was in the text before it.
// A position inside text the op inserted goes to where the insert was.
size_t Before(size_t pos, const ot::TextOp& op) {
  size_t before = 0, after = 0;
  for (const ot::Component& c : op.components()) {
    switch (c.kind) {
      case ot::Component::Kind::kRetain:
        if (pos <= after + c.count) return before + (pos - after);
        before += c.count;
        after += c.count;
        break;
      case ot::Component::Kind::kInsert:
        if (pos <= after + c.count) return before;
        after += c.count;
        break;
      case ot::Component::Kind::kDelete:
        before += c.count;
        break;
    }
  }
  return before + (pos - after);
}

}  // namespace

std::optional<server::WireAnchor> Client::Impl::AnchorFor(Doc& d, size_t pos) {
  if (d.mode == Mode::kOt) return server::WireAnchor(uint64_t{pos});
  if (!d.crdt || pos > d.crdt->size()) return std::nullopt;
  const size_t size = d.crdt->size();
  if (pos < size) return server::WireAnchor(presence::Anchor{d.crdt->IdAt(pos), false});
  if (size == 0) return server::WireAnchor(presence::Anchor{});
  return server::WireAnchor(presence::Anchor{d.crdt->IdAt(size - 1), true});
}

void Client::Impl::SendPresence(Doc& d) {
  if (!ws || state != ConnectionState::kConnected || !d.synced) return;
  server::PresenceSetMsg m;
  m.channel = d.channel;
  m.seq = d.mode == Mode::kOt ? d.seq : 0;
  m.state = d.own;
  if (d.mode == Mode::kOt) {
    // Our positions are in our text; the server wants them at d.seq, before
    // our unacked ops.
    auto back = [&](server::WireAnchor& a) {
      uint64_t& pos = std::get<uint64_t>(a);
      if (d.buffer) pos = Before(pos, *d.buffer);
      if (d.inflight) pos = Before(pos, *d.inflight);
    };
    if (m.state.cursor) back(*m.state.cursor);
    for (server::WireSelection& s : m.state.selections) {
      back(s.anchor);
      back(s.head);
    }
  }
  SendMessage(m);
}

void Client::Impl::MovePositions(Doc& d, const ot::TextOp& op, size_t length_before) {
  // A position stands for the character after it (protocol.md): text
  // inserted there goes before it, except at the end of the text.
  auto move = [&](size_t pos) {
    return ot::TransformPosition(pos, op, pos < length_before ? ot::Stick::kAfter : ot::Stick::kBefore);
  };
  for (auto& [id, p] : d.peers) {
    if (p.cursor) p.cursor = move(*p.cursor);
    for (auto& [a, h] : p.selections) a = move(a), h = move(h);
  }
  auto move_own = [&](server::WireAnchor& a) {
    if (uint64_t* pos = std::get_if<uint64_t>(&a)) *pos = move(*pos);
  };
  if (d.own.cursor) move_own(*d.own.cursor);
  for (server::WireSelection& s : d.own.selections) {
    move_own(s.anchor);
    move_own(s.head);
  }
}

PeerPresence Client::Impl::Resolve(Doc& d, uint64_t session_id) {
  PeerPresence p = d.peers[session_id];
  if (d.mode == Mode::kOt || !d.crdt) return p;
  const server::WireState& w = d.peer_anchors[session_id];
  auto position = [&](const server::WireAnchor& a) -> size_t {
    const presence::Anchor* anchor = std::get_if<presence::Anchor>(&a);
    if (anchor == nullptr || anchor->id.IsRoot()) return 0;
    Result<size_t> pos = d.crdt->PositionOf(anchor->id, anchor->after);
    return pos.ok() ? *pos : 0;
  };
  p.cursor.reset();
  if (w.cursor) p.cursor = position(*w.cursor);
  p.selections.clear();
  for (const server::WireSelection& s : w.selections) {
    p.selections.emplace_back(position(s.anchor), position(s.head));
  }
  return p;
}

void Client::Impl::OnPresence(Doc& d, server::PresenceMsg& m,
                              std::vector<std::function<void()>>* calls) {
  for (server::PresenceEntryMsg& e : m.entries) {
    if (e.left) {
      auto it = d.peers.find(e.session);
      if (it == d.peers.end()) continue;
      PeerPresence gone = it->second;
      d.peers.erase(it);
      d.peer_anchors.erase(e.session);
      if (d.callbacks.on_presence) {
        calls->push_back([cb = d.callbacks.on_presence, gone] { cb(gone, true); });
      }
      continue;
    }
    PeerPresence& p = d.peers[e.session];
    p.session = e.session;
    const server::WireState& w = e.state;
    if (w.keys & presence::kUser) {
      if (!w.user_id.empty()) p.user_id = w.user_id;
      if (w.name) p.name = *w.name;
      if (w.color) p.color = *w.color;
    }
    if (w.keys & presence::kTyping) p.typing = w.typing;
    if (w.keys & presence::kApp) p.app = w.app;
    if (d.mode == Mode::kOt) {
      // Positions at m.seq (our seq: relays before it came first), then
      // through our unacked ops into our text.
      // The server's text at m.seq is ours without our unacked ops.
      const size_t ours = utf8::CountCodePoints(d.text);
      const size_t with_inflight =
          d.buffer ? ours - d.buffer->InsertedLength() + d.buffer->DeletedLength() : ours;
      const size_t server_length =
          d.inflight ? with_inflight - d.inflight->InsertedLength() + d.inflight->DeletedLength()
                     : with_inflight;
      auto through = [](size_t pos, const ot::TextOp& op, size_t length) {
        return ot::TransformPosition(pos, op,
                                     pos < length ? ot::Stick::kAfter : ot::Stick::kBefore);
      };
      auto local = [&](const server::WireAnchor& a) -> size_t {
        const uint64_t* at = std::get_if<uint64_t>(&a);
        size_t pos = at != nullptr ? *at : 0;
        if (d.inflight) pos = through(pos, *d.inflight, server_length);
        if (d.buffer) pos = through(pos, *d.buffer, with_inflight);
        return pos;
      };
      if (w.keys & presence::kCursor) {
        p.cursor.reset();
        if (w.cursor) p.cursor = local(*w.cursor);
      }
      if (w.keys & presence::kSelections) {
        p.selections.clear();
        for (const server::WireSelection& s : w.selections) {
          p.selections.emplace_back(local(s.anchor), local(s.head));
        }
      }
    } else {
      server::WireState& anchors = d.peer_anchors[e.session];
      if (w.keys & presence::kCursor) anchors.cursor = w.cursor;
      if (w.keys & presence::kSelections) anchors.selections = w.selections;
    }
    if (d.callbacks.on_presence) {
      calls->push_back([cb = d.callbacks.on_presence, view = Resolve(d, e.session)] {
        cb(view, false);
      });
    }
  }
}

void Client::Impl::StartHeartbeat() {
  // The server drops a member silent for its presence TTL (30 s by
  // default): say our state again every 10 s.
  heartbeat.expires_after(kHeartbeat);
  heartbeat.async_wait([self = shared_from_this(), gen = generation](
                           const boost::system::error_code& ec) {
    if (ec || gen != self->generation) return;
    {
      std::lock_guard<std::mutex> lock(self->mu);
      if (self->stopping) return;
      for (auto& [channel, d] : self->docs) self->SendPresence(d);
    }
    self->StartHeartbeat();
  });
}

// ---- Client ----

namespace {

template <typename F>
Status EditPresence(const std::shared_ptr<Client::Impl>& impl, uint16_t channel, F&& edit) {
  {
    std::lock_guard<std::mutex> lock(impl->mu);
    Doc* d = impl->ByChannel(channel);
    if (d == nullptr) return NotFound("no document on channel " + std::to_string(channel));
    QUIRE_RETURN_IF_ERROR(edit(*d));
  }
  asio::post(impl->strand, [impl, channel] {
    std::lock_guard<std::mutex> lock(impl->mu);
    if (Doc* d = impl->ByChannel(channel)) impl->SendPresence(*d);
  });
  return Status::Ok();
}

size_t TextSize(const Doc& d) {
  if (d.mode == Mode::kCrdt) return d.crdt ? d.crdt->size() : 0;
  return utf8::CountCodePoints(d.text);
}

}  // namespace

Status Client::SetCursor(uint16_t channel, std::optional<size_t> pos) {
  return EditPresence(impl_, channel, [&](Doc& d) -> Status {
    d.own.keys |= presence::kCursor;
    d.own.cursor.reset();
    if (!pos) return Status::Ok();
    if (*pos > TextSize(d)) return OutOfRange("cursor past the end of the text");
    d.own.cursor = impl_->AnchorFor(d, *pos);
    return d.own.cursor ? Status::Ok() : Internal("no agent yet: connect once first");
  });
}

Status Client::SetSelections(uint16_t channel, std::vector<std::pair<size_t, size_t>> selections) {
  return EditPresence(impl_, channel, [&](Doc& d) -> Status {
    std::vector<server::WireSelection> out;
    for (const auto& [a, h] : selections) {
      if (a > TextSize(d) || h > TextSize(d)) return OutOfRange("selection past the end of the text");
      std::optional<server::WireAnchor> wa = impl_->AnchorFor(d, a), wh = impl_->AnchorFor(d, h);
      if (!wa || !wh) return Internal("no agent yet: connect once first");
      out.push_back(server::WireSelection{*wa, *wh});
    }
    d.own.keys |= presence::kSelections;
    d.own.selections = std::move(out);
    return Status::Ok();
  });
}

Status Client::SetTyping(uint16_t channel, bool typing) {
  return EditPresence(impl_, channel, [&](Doc& d) {
    d.own.keys |= presence::kTyping;
    d.own.typing = typing;
    return Status::Ok();
  });
}

Status Client::SetUser(uint16_t channel, std::string name, std::string color) {
  return EditPresence(impl_, channel, [&](Doc& d) {
    d.own.keys |= presence::kUser;
    d.own.name = std::move(name);
    d.own.color = std::move(color);
    return Status::Ok();
  });
}

Status Client::SetApp(uint16_t channel, std::string encoded_map) {
  return EditPresence(impl_, channel, [&](Doc& d) {
    d.own.keys |= presence::kApp;
    d.own.app = std::move(encoded_map);
    return Status::Ok();
  });
}

Status Client::Broadcast(uint16_t channel, std::string encoded_value) {
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    if (impl_->ByChannel(channel) == nullptr) {
      return NotFound("no document on channel " + std::to_string(channel));
    }
  }
  asio::post(impl_->strand, [impl = impl_, channel, v = std::move(encoded_value)]() mutable {
    std::lock_guard<std::mutex> lock(impl->mu);
    if (impl->state == ConnectionState::kConnected) {
      impl->SendMessage(server::BroadcastMsg{channel, std::move(v)});
    }
  });
  return Status::Ok();
}

std::map<uint64_t, PeerPresence> Client::Peers(uint16_t channel) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  std::map<uint64_t, PeerPresence> out;
  Doc* d = impl_->ByChannel(channel);
  if (d == nullptr) return out;
  for (const auto& [id, p] : d->peers) out[id] = impl_->Resolve(*d, id);
  return out;
}

uint64_t Client::session() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return impl_->session;
}

}  // namespace quire::client
