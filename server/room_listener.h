// RoomListener is a room member without a WebSocket: the HTTP API and the
// Server-Sent Events streams open a document through it as an OT channel,
// exactly as a session does, so they see what an OT client sees (the text,
// the patches in seq order once durable, acks) and go through the same
// validation and pipeline. What the room sends is decoded and queued for a
// coroutine on the HTTP connection's strand to take with Next().
//
// The queue is bounded (max_queued_bytes). Past it the listener drops what
// it holds, marks itself overflowed and runs `on_overflow` on the strand
// (the SSE stream closes its socket): like a slow session, a slow consumer
// never makes the room wait. The catch-up (everything before the first
// `synced`) comes in one burst whose size the consumer chose (how far
// back it resumes): it may exceed the bound, and only what arrives after
// it counts against the bound while the catch-up is still queued.
//
// RoomMembership holds a room for a listener: Acquire on construction,
// Leave and Release on destruction.
//
// Thread safety: Send, SendError and Fail may be called from any thread;
// Next() and the destructor of RoomMembership run on the strand.
#ifndef QUIRE_SERVER_ROOM_LISTENER_H_
#define QUIRE_SERVER_ROOM_LISTENER_H_

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "server/context.h"
#include "server/frame.h"
#include "server/protocol.h"

namespace quire::server {

class Room;

class RoomListener : public Peer, public std::enable_shared_from_this<RoomListener> {
 public:
  RoomListener(boost::asio::any_io_executor strand, size_t max_queued_bytes,
               std::function<void()> on_overflow = nullptr);

  void Send(Frame frame) override;
  void SendError(const ProtocolError& error, std::optional<uint64_t> epoch) override;
  void Fail() override;

  // The next message, waiting until `deadline`; nullopt at the deadline,
  // once overflowed, or once the room failed.
  boost::asio::awaitable<std::optional<ServerMessage>> Next(
      std::chrono::steady_clock::time_point deadline);
  bool overflowed() const;
  bool failed() const;
  // The consumer went away: Next() returns nullopt from now on. Strand only.
  void Stop();
  bool stopped() const;

 private:
  void Push(ServerMessage message, size_t bytes);

  boost::asio::any_io_executor strand_;
  boost::asio::steady_timer wake_;  // Strand only.
  const size_t max_queued_bytes_;
  std::function<void()> on_overflow_;

  mutable std::mutex mu_;
  std::deque<std::pair<ServerMessage, size_t>> queue_;
  size_t queued_bytes_ = 0;
  size_t catch_up_bytes_ = 0;  // Of queued_bytes_, still queued from the catch-up.
  bool synced_ = false;
  bool waiting_ = false;
  bool overflowed_ = false;
  bool failed_ = false;
  bool stopped_ = false;
};

class RoomMembership {
 public:
  RoomMembership(ServerContext& ctx, const std::string& doc);
  ~RoomMembership();
  RoomMembership(const RoomMembership&) = delete;
  RoomMembership& operator=(const RoomMembership&) = delete;

  Room& room() { return *room_; }
  // Opens the document on channel 0 of `listener` in OT mode at `seq`
  // (0: the whole text), as `user` with `agent`.
  void Open(std::shared_ptr<RoomListener> listener, uint64_t seq, uint64_t agent,
            const std::string& user);

 private:
  ServerContext& ctx_;
  std::shared_ptr<Room> room_;
  std::shared_ptr<RoomListener> listener_;
};

}  // namespace quire::server

#endif  // QUIRE_SERVER_ROOM_LISTENER_H_
