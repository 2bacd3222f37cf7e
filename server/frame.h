// A Frame is one outgoing protocol message split in two: a short head the
// sender encodes per recipient (the msgpack array header, the type and the
// channel: a few bytes kept inline) and a body shared by every recipient
// (the remaining fields, encoded once per room). The session writes the
// head and the body back to back, so relaying one change to N sessions
// costs one encoding and N small copies of a head.
//
// A Frame may also carry a run of whole messages that a room encoded once
// for every member on the same channel (`messages` of them, in
// body[body_offset, body_offset + body_size)); the session counts them
// into its `batch`.
//
// Peer is what a room needs from a member session: a thread-safe way to
// queue frames and to drop the session when the room cannot go on.
//
// Thread safety: Frame is a value (its body is immutable and shared);
// Peer's methods may be called from any thread.
#ifndef QUIRE_SERVER_FRAME_H_
#define QUIRE_SERVER_FRAME_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace quire::server {

struct ProtocolError;  // protocol.h

struct Frame {
  static constexpr size_t kMaxHead = 16;
  static constexpr uint32_t kWholeBody = UINT32_MAX;
  std::array<char, kMaxHead> head{};
  uint8_t head_len = 0;
  // Whole messages in the frame: 1, or a run's count (then head is empty).
  uint32_t messages = 1;
  std::shared_ptr<const std::string> body;  // May be null (no further fields).
  uint32_t body_offset = 0;
  uint32_t body_size = kWholeBody;  // kWholeBody: to the body's end.
  // Part of a catch-up (what a member lacked when it opened the document):
  // however large, it is what the client asked for, so it does not count
  // against a session's slow-reader cap; what follows it does.
  bool catch_up = false;

  std::string_view Head() const { return {head.data(), head_len}; }
  std::string_view Body() const {
    if (!body) return {};
    return std::string_view(*body).substr(body_offset, body_size);
  }
  size_t size() const { return head_len + Body().size(); }
  // The frame as one WebSocket message (a `batch` when it holds several):
  // tests, the fuzzer, small sends.
  std::string Bytes() const;
};

class Peer {
 public:
  virtual ~Peer() = default;
  // Queues `frame` after everything queued before it. Never blocks; a
  // session past its queue cap closes itself instead.
  virtual void Send(Frame frame) = 0;
  // Sends an `error` message. Errors count against the session's
  // violation budget (docs/protocol.md).
  virtual void SendError(const ProtocolError& error, std::optional<uint64_t> epoch) = 0;
  // The room this session was in failed (storage): close the connection
  // with an internal error so the client reconnects and resyncs.
  virtual void Fail() = 0;
};

}  // namespace quire::server

#endif  // QUIRE_SERVER_FRAME_H_
