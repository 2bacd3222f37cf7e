#include "bench/loadgen/parse.h"

#include <cstring>

#include "base/utf8.h"

namespace quire::loadgen {
namespace {

constexpr uint64_t kBatch = static_cast<uint64_t>(server::MsgType::kBatch);
constexpr uint64_t kAck = static_cast<uint64_t>(server::MsgType::kAck);
constexpr uint64_t kRemoteChange = static_cast<uint64_t>(server::MsgType::kRemoteChange);
constexpr uint64_t kRemoteOp = static_cast<uint64_t>(server::MsgType::kRemoteOp);
constexpr uint64_t kPresence = static_cast<uint64_t>(server::MsgType::kPresence);

// A msgpack scanner for the hot path: a few instructions per value, bounds
// checked, no allocation. (base/wire.h's Reader validates more and costs
// more; the protocol's own decoder still checks every other message.)
class Scan {
 public:
  explicit Scan(std::string_view b)
      : begin_(reinterpret_cast<const uint8_t*>(b.data())), p_(begin_), end_(begin_ + b.size()) {}

  size_t pos() const { return static_cast<size_t>(p_ - begin_); }
  bool done() const { return p_ == end_; }
  uint8_t Peek() const { return p_ < end_ ? *p_ : 0xc1; }

  bool ArrayHeader(uint32_t* n) {
    if (p_ >= end_) return false;
    const uint8_t b = *p_;
    if ((b & 0xf0) == 0x90) {
      *n = b & 0x0f;
      ++p_;
      return true;
    }
    uint64_t v;
    if (b == 0xdc && Fixed(1, 2, &v)) return *n = static_cast<uint32_t>(v), true;
    if (b == 0xdd && Fixed(1, 4, &v)) return *n = static_cast<uint32_t>(v), true;
    return false;
  }

  // Any integer; `negative` says whether it is below zero (then *v holds
  // its magnitude).
  bool Int(uint64_t* v, bool* negative) {
    if (p_ >= end_) return false;
    const uint8_t b = *p_;
    *negative = false;
    if (b <= 0x7f) return *v = b, ++p_, true;
    if (b >= 0xe0) return *negative = true, *v = static_cast<uint64_t>(0x100 - b), ++p_, true;
    if (b >= 0xcc && b <= 0xcf) return Fixed(1, size_t{1} << (b - 0xcc), v);
    if (b >= 0xd0 && b <= 0xd3) {
      uint64_t raw;
      const size_t n = size_t{1} << (b - 0xd0);
      if (!Fixed(1, n, &raw)) return false;
      const int shift = static_cast<int>(64 - 8 * n);
      const int64_t s = static_cast<int64_t>(raw << shift) >> shift;  // Sign-extend.
      *negative = s < 0;
      *v = s < 0 ? static_cast<uint64_t>(-(s + 1)) + 1 : static_cast<uint64_t>(s);
      return true;
    }
    return false;
  }
  bool Uint(uint64_t* v) {
    bool negative;
    return Int(v, &negative) && !negative;
  }

  // A string's bytes; false when the next value is not a string.
  bool Str(std::string_view* s) {
    if (p_ >= end_) return false;
    const uint8_t b = *p_;
    uint64_t n;
    size_t head;
    if ((b & 0xe0) == 0xa0) {
      n = b & 0x1f;
      head = 1;
    } else if (b >= 0xd9 && b <= 0xdb) {
      head = 1 + (size_t{1} << (b - 0xd9));
      if (!Fixed(1, head - 1, &n, /*advance=*/false)) return false;
    } else {
      return false;
    }
    if (static_cast<uint64_t>(end_ - p_) < head + n) return false;
    *s = std::string_view(reinterpret_cast<const char*>(p_ + head), n);
    p_ += head + n;
    return true;
  }

  bool Nil() {
    if (Peek() != 0xc0) return false;
    ++p_;
    return true;
  }
  bool MapHeader(uint32_t* n) {
    if (p_ >= end_) return false;
    const uint8_t b = *p_;
    if ((b & 0xf0) == 0x80) {
      *n = b & 0x0f;
      ++p_;
      return true;
    }
    uint64_t v;
    if (b == 0xde && Fixed(1, 2, &v)) return *n = static_cast<uint32_t>(v), true;
    if (b == 0xdf && Fixed(1, 4, &v)) return *n = static_cast<uint32_t>(v), true;
    return false;
  }

  // Skips one value (containers with everything in them).
  bool Skip() {
    uint64_t pending = 1;
    while (pending > 0) {
      if (p_ >= end_) return false;
      --pending;
      const uint8_t b = *p_;
      uint64_t n = 0;
      if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3) {
        ++p_;
      } else if ((b & 0xf0) == 0x90 || (b & 0xf0) == 0x80) {
        pending += (b & 0x0f) * ((b & 0xf0) == 0x80 ? 2 : 1);
        ++p_;
      } else if ((b & 0xe0) == 0xa0) {
        if (!Advance(1 + (b & 0x1f))) return false;
      } else if (b >= 0xcc && b <= 0xd3) {
        if (!Advance(1 + (size_t{1} << ((b - 0xcc) & 3)))) return false;
      } else if (b == 0xca || b == 0xcb) {
        if (!Advance(b == 0xca ? 5 : 9)) return false;
      } else if (b == 0xc4 || b == 0xc5 || b == 0xc6 || (b >= 0xd9 && b <= 0xdb)) {
        const size_t len_bytes = b >= 0xd9 ? size_t{1} << (b - 0xd9) : size_t{1} << (b - 0xc4);
        if (!Fixed(1, len_bytes, &n, /*advance=*/false) || !Advance(1 + len_bytes + n)) {
          return false;
        }
      } else if (b == 0xdc || b == 0xdd || b == 0xde || b == 0xdf) {
        const size_t len_bytes = (b == 0xdc || b == 0xde) ? 2 : 4;
        if (!Fixed(1, len_bytes, &n)) return false;
        if (n > static_cast<uint64_t>(end_ - p_)) return false;  // Each takes a byte.
        pending += (b >= 0xde) ? 2 * n : n;
      } else if (b >= 0xd4 && b <= 0xd8) {
        if (!Advance(2 + (size_t{1} << (b - 0xd4)))) return false;
      } else if (b >= 0xc7 && b <= 0xc9) {
        const size_t len_bytes = size_t{1} << (b - 0xc7);
        if (!Fixed(1, len_bytes, &n, /*advance=*/false) || !Advance(2 + len_bytes + n)) {
          return false;
        }
      } else {
        return false;  // 0xc1.
      }
    }
    return true;
  }

 private:
  // A big-endian unsigned of `n` bytes after `skip` bytes; advances past
  // both unless told not to.
  bool Fixed(size_t skip, size_t n, uint64_t* v, bool advance = true) {
    if (static_cast<size_t>(end_ - p_) < skip + n) return false;
    uint64_t x = 0;
    for (size_t i = 0; i < n; ++i) x = (x << 8) | p_[skip + i];
    *v = x;
    if (advance) p_ += skip + n;
    return true;
  }
  bool Advance(uint64_t n) {
    if (static_cast<uint64_t>(end_ - p_) < n) return false;
    p_ += n;
    return true;
  }

  const uint8_t* begin_;
  const uint8_t* p_;
  const uint8_t* end_;
};

bool ReadChannel(Scan& s, uint16_t* channel) {
  uint64_t v;
  if (!s.Uint(&v) || v > UINT16_MAX) return false;
  *channel = static_cast<uint16_t>(v);
  return true;
}

// [agent, seq, ...] at the front of `bytes` (a change starts with its id;
// an origin is exactly that).
bool ReadIdPrefix(std::string_view bytes, uint64_t* agent, uint64_t* seq) {
  Scan s(bytes);
  uint32_t n;
  return s.ArrayHeader(&n) && n >= 2 && s.Uint(agent) && s.Uint(seq);
}

// The relay whose channel is next in `s`, `fields` fields in all; leaves
// `s` after it. `frame` is what `s` scans.
bool ReadRelay(std::string_view frame, Scan& s, uint32_t fields, bool is_op, Relay* out) {
  out->is_op = is_op;
  if (fields != (is_op ? 5u : 4u) || !ReadChannel(s, &out->channel)) return false;
  const size_t body = s.pos();
  if (!s.Uint(&out->seq)) return false;
  const size_t payload = s.pos();
  if (!s.Skip()) return false;
  out->payload = frame.substr(payload, s.pos() - payload);
  if (is_op) {
    const std::string_view origin = frame.substr(s.pos());
    if (!ReadIdPrefix(origin, &out->agent, &out->agent_seq) || !s.Skip()) return false;
  } else if (!ReadIdPrefix(out->payload, &out->agent, &out->agent_seq)) {
    return false;
  }
  out->body = frame.substr(body, s.pos() - body);
  return true;
}

// The entries of a `presence` message whose channel is next in `s`.
bool ReadPresence(Scan& s, FrameVisitor& v) {
  uint16_t channel;
  uint64_t seq;
  uint32_t n;
  if (!ReadChannel(s, &channel) || !s.Uint(&seq) || !s.ArrayHeader(&n)) return false;
  for (uint32_t i = 0; i < n; ++i) {
    PresenceEntry e;
    uint32_t fields, keys;
    if (!s.ArrayHeader(&fields) || fields < 3 || !s.Uint(&e.session) || !s.Uint(&e.clock)) {
      return false;
    }
    if (s.Nil()) {
      e.left = true;
    } else {
      if (!s.MapHeader(&keys)) return false;
      for (uint32_t k = 0; k < keys; ++k) {
        std::string_view key;
        if (!s.Str(&key)) return false;
        // A position is an unsigned integer; an anchor (CRDT) an array.
        const uint8_t b = s.Peek();
        if (key == "cursor" && (b <= 0x7f || (b >= 0xcc && b <= 0xcf))) {
          uint64_t pos;
          if (!s.Uint(&pos)) return false;
          e.cursor = pos;
        } else if (!s.Skip()) {
          return false;
        }
      }
    }
    for (uint32_t f = 3; f < fields; ++f) {
      if (!s.Skip()) return false;
    }
    v.OnPresenceEntry(channel, e);
  }
  return true;
}

// The message at `s` (one pass: relays and acks are read where they lie,
// anything else is skipped and decoded on its own).
bool ParseMessage(std::string_view frame, Scan& s, FrameVisitor& v) {
  const size_t start = s.pos();
  uint32_t n;
  uint64_t type;
  if (!s.ArrayHeader(&n) || n == 0 || !s.Uint(&type)) return false;
  if (type == kRemoteChange || type == kRemoteOp) {
    Relay relay;
    if (!ReadRelay(frame, s, n, type == kRemoteOp, &relay)) return false;
    v.OnRelay(relay);
    return true;
  }
  if (type == kPresence && n >= 4 && v.WantsPresenceEntries()) {
    if (!ReadPresence(s, v)) return false;
    for (uint32_t i = 4; i < n; ++i) {
      if (!s.Skip()) return false;
    }
    v.OnPresenceMessage(s.pos() - start);
    return true;
  }
  if (type == kAck && n == 5) {
    server::AckMsg ack;
    if (!ReadChannel(s, &ack.channel) || !s.Uint(&ack.ref) || !s.Uint(&ack.seq) ||
        !s.Uint(&ack.agent_next)) {
      return false;
    }
    v.OnAck(ack);
    return true;
  }
  for (uint32_t i = 1; i < n; ++i) {
    if (!s.Skip()) return false;
  }
  Result<std::vector<server::ServerMessage>> all =
      server::DecodeServerFrame(frame.substr(start, s.pos() - start));
  if (!all.ok()) {
    v.OnBadFrame(all.status().message());
    return true;
  }
  for (server::ServerMessage& m : *all) v.OnMessage(m);
  return true;
}

}  // namespace

void ParseServerFrame(std::string_view frame, FrameVisitor& v) {
  Scan s(frame);
  uint32_t n;
  uint64_t type;
  if (!s.ArrayHeader(&n) || n == 0 || !s.Uint(&type)) return v.OnBadFrame("not a message");
  if (type != kBatch) {
    Scan whole(frame);
    if (!ParseMessage(frame, whole, v) || !whole.done()) v.OnBadFrame("bad message");
    return;
  }
  for (uint32_t i = 1; i < n; ++i) {
    if (!ParseMessage(frame, s, v)) return v.OnBadFrame("bad message in a batch");
  }
  if (!s.done()) v.OnBadFrame("bytes after a batch");
}

bool WalkOp(std::string_view op_bytes, OpEffect* e) {
  Scan s(op_bytes);
  uint32_t n;
  if (!s.ArrayHeader(&n)) return false;
  uint64_t at = 0;  // Position in the text before the op.
  const uint64_t caret = e->caret, insert = e->insert_at;
  e->length_delta = 0;
  for (uint32_t i = 0; i < n; ++i) {
    std::string_view text;
    if (s.Str(&text)) {
      const auto k = static_cast<uint64_t>(utf8::CountCodePoints(text));
      e->length_delta += static_cast<int64_t>(k);
      if (at <= caret) e->caret += k;
      // An op being caught up goes left of (before) text inserted at its
      // own place (docs/ot.md): only inserts strictly before it move it.
      if (at < insert) e->insert_at += k;
      continue;
    }
    uint64_t x;
    bool negative;
    if (!s.Int(&x, &negative) || x == 0) return false;
    if (!negative) {
      at += x;
      continue;
    }
    e->length_delta -= static_cast<int64_t>(x);
    if (at < caret) e->caret -= std::min(x, caret - at);
    if (at < insert) e->insert_at -= std::min(x, insert - at);
    at += x;
  }
  return s.done();
}

}  // namespace quire::loadgen
