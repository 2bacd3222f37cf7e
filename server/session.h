// Session is one client's WebSocket connection: it reads messages, answers
// the session-level ones (hello, ping), routes document messages to their
// rooms by channel, and writes what rooms and replies queue for it.
//
// Writing. Frames arrive from any thread through Send(). They wait in a
// bounded queue (ServerOptions::limits.max_queue_bytes; past it the
// session is closed with 4005 and the room never waits for it). One write
// is in flight at a time; everything queued meanwhile goes out in the next
// write as one `batch` message, with each shared body written in place
// (a gather write, no copy).
//
// Reading runs as a coroutine on the session's strand. A session answers
// its pings, counts the pongs it gets, and closes after two missed ones.
//
// Thread safety: Send, SendError, Fail and Shutdown may be called from any
// thread; everything else runs on the session's strand.
#ifndef QUIRE_SERVER_SESSION_H_
#define QUIRE_SERVER_SESSION_H_

#include <array>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "server/context.h"
#include "server/frame.h"
#include "server/metrics.h"
#include "server/protocol.h"
#include "server/session_guard.h"

namespace quire::server {

class Room;

class Session : public Peer, public std::enable_shared_from_this<Session> {
 public:
  using Request = boost::beast::http::request<boost::beast::http::string_body>;

  // `handshake`: the client's address, and its identity when the upgrade
  // request carried a valid token.
  Session(ServerContext& ctx, boost::beast::tcp_stream stream, Handshake handshake);
  ~Session() override;

  // Accepts the WebSocket upgrade in `request` and serves the session until
  // it ends.
  void Start(Request request);

  void Send(Frame frame) override;
  void SendError(const ProtocolError& error, std::optional<uint64_t> epoch) override;
  void Fail() override;
  // Closes with `code` once everything queued so far is written.
  void CloseAfterFlush(CloseCode code);
  // Server shutdown: refuse new edits from now on (error 501); `done` runs
  // on the session's strand once that holds.
  void StopAccepting(std::function<void()> done);

  uint64_t id() const { return id_; }
  // Whether this session's token (as refreshed) may write `doc`. On the
  // session's strand: for checks of writes beyond changes and ops
  // (presence, broadcast).
  bool CanWrite(std::string_view doc) const { return guard_.CanWrite(doc); }

 private:
  struct Channel {
    uint16_t channel = 0;
    std::shared_ptr<Room> room;
    Mode mode = Mode::kCrdt;
  };

  boost::asio::awaitable<void> Run(Request request);
  void Handle(std::string_view bytes);
  void OnHello(HelloMsg& hello);
  void OnOpen(OpenMsg& open);
  void OnClose(const CloseMsg& close);
  void OnChange(ChangeMsg& msg);
  void OnOp(OpMsg& msg);
  void OnPresence(PresenceSetMsg& msg);
  void OnBroadcast(BroadcastMsg& msg);
  Channel* FindChannel(uint16_t channel);
  void Ended();  // The connection is gone: leave rooms, free the agent.

  void Flush();  // On the strand.
  void OnWrite(const boost::system::error_code& ec, size_t bytes);
  void CloseNow(CloseCode code);  // On the strand.
  void StartPings();
  void CountViolation();
  // Auth, limits and deadlines (session_guard.h).
  void OnRefresh(const RefreshMsg& msg);
  bool RefuseWrite(const std::string& doc, uint16_t channel, uint64_t ref);
  void ArmGuard();
  void OnGuard();

  ServerContext& ctx_;
  const uint64_t id_;
  // On the bare socket: the WebSocket layer has its own timeouts, and
  // tcp_stream's would cost every idle connection its timers.
  boost::beast::websocket::stream<boost::asio::ip::tcp::socket> ws_;
  boost::asio::steady_timer ping_timer_;
  // Reading (docs/server.md, "Memory"): a message that fits `small_` (nearly
  // all do) is read into it; a larger one grows `large_`, which is given
  // back once the message is handled. So an idle connection holds no read
  // buffer.
  static constexpr size_t kSmallRead = 128;
  std::array<char, kSmallRead> small_;
  boost::beast::flat_buffer large_;
  boost::asio::steady_timer guard_timer_;
  SessionGuard guard_;
  SessionMeter meter_;

  // Strand only.
  bool hello_done_ = false;
  bool accepting_ = true;
  bool ended_ = false;
  bool closing_ = false;
  uint64_t agent_ = 0;
  std::string user_, name_;
  std::vector<Channel> channels_;
  int missed_pongs_ = 0;
  size_t message_bytes_ = 0;  // Of the message being handled.
  std::optional<CloseCode> closed_with_;
  // A vector, not a deque: an empty std::deque allocates ~600 bytes, which
  // every idle connection would pay for (docs/server.md, "Memory").
  std::vector<std::chrono::steady_clock::time_point> violations_;
  std::vector<Frame> writing_;  // The frames of the write in flight.
  std::vector<boost::asio::const_buffer> buffers_;
  std::string batch_head_;

  // Shared with Send() callers.
  std::mutex mu_;
  std::vector<Frame> queue_;
  size_t queued_bytes_ = 0;    // Queued or in flight, catch-ups aside...
  size_t catch_up_bytes_ = 0;  // ...and catch-ups.
  bool flushing_ = false;  // A flush is posted or a write is in flight.
  bool dead_ = false;      // Closed: drop frames.
  std::optional<CloseCode> close_after_flush_;
};

}  // namespace quire::server

#endif  // QUIRE_SERVER_SESSION_H_
