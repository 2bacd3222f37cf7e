#include "server/relay_run.h"

#include <algorithm>
#include <cassert>

namespace quire::server {

void RelayRun::Add(Entry entry) {
  assert(entries_.empty() || entries_.back().seq < entry.seq);
  authors_.emplace_back(entry.author, static_cast<uint32_t>(entries_.size()));
  authors_sorted_ = false;
  entries_.push_back(std::move(entry));
}

void RelayRun::Clear() {
  entries_.clear();
  encoded_.clear();
  authors_.clear();
  authors_sorted_ = false;
}

const RelayRun::Encoded& RelayRun::EncodedFor(Mode mode, uint16_t channel) {
  for (const Encoded& e : encoded_) {
    if (e.mode == mode && e.channel == channel) return e;
  }
  const MsgType type = mode == Mode::kCrdt ? MsgType::kRemoteChange : MsgType::kRemoteOp;
  auto bytes = std::make_shared<std::string>();
  Encoded e;
  e.mode = mode;
  e.channel = channel;
  e.offsets.reserve(entries_.size() + 1);
  for (const Entry& entry : entries_) {
    const std::shared_ptr<const std::string>& body =
        mode == Mode::kCrdt ? entry.change_body : entry.op_body;
    e.offsets.push_back(static_cast<uint32_t>(bytes->size()));
    // A change has a body for each mode some other member had when it
    // was accepted. A member that joined later is not live before its
    // catch-up, which comes after the change: it never needs one.
    if (!body) {
      e.complete = false;
      continue;
    }
    const Frame head = RelayFrame(type, channel, nullptr);
    bytes->append(head.Head());
    bytes->append(*body);
  }
  e.offsets.push_back(static_cast<uint32_t>(bytes->size()));
  e.bytes = std::move(bytes);
  encoded_.push_back(std::move(e));
  return encoded_.back();
}

Frame RelayRun::Slice(const Encoded& e, size_t from, size_t to) {
  if (!e.complete) {
    // Defensive (see EncodedFor): only the messages that have a body.
    size_t n = 0;
    for (size_t i = from; i < to; ++i) n += e.offsets[i + 1] > e.offsets[i] ? 1 : 0;
    if (n != to - from) {
      Frame f;
      f.messages = static_cast<uint32_t>(n);
      f.body = e.bytes;
      f.body_offset = e.offsets[from];
      f.body_size = e.offsets[to] - e.offsets[from];
      return f;
    }
  }
  Frame f;
  f.messages = static_cast<uint32_t>(to - from);
  f.body = e.bytes;
  f.body_offset = e.offsets[from];
  f.body_size = e.offsets[to] - e.offsets[from];
  return f;
}

void RelayRun::SendSlice(Peer& peer, const Encoded& e, size_t from, size_t to) {
  if (from >= to) return;
  Frame f = Slice(e, from, to);
  if (f.messages > 0) peer.Send(std::move(f));
}

bool RelayRun::SendTo(Peer& peer, uint16_t channel, Mode mode) {
  if (entries_.empty()) return false;
  if (!authors_sorted_) {
    std::sort(authors_.begin(), authors_.end());
    authors_sorted_ = true;
  }
  const Encoded& e = EncodedFor(mode, channel);
  auto [first, last] = std::equal_range(
      authors_.begin(), authors_.end(), std::make_pair(static_cast<const Peer*>(&peer), uint32_t{0}),
      [](const auto& a, const auto& b) { return a.first < b.first; });
  bool own = false;
  size_t from = 0;  // The first entry not yet sent.
  for (auto it = first; it != last; ++it) {
    const Entry& entry = entries_[it->second];
    if (entry.author_channel != channel) continue;  // Its other channel in this room.
    own = true;
    SendSlice(peer, e, from, it->second);
    peer.Send(AckFrame(channel, entry.ref, entry.seq, entry.agent_next));
    from = it->second + 1;
  }
  SendSlice(peer, e, from, entries_.size());
  return own;
}

}  // namespace quire::server
