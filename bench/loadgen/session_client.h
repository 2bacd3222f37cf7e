// SessionClient: a scripted connection for the scenarios that do not
// type (S4's idle connections, S6's seeding and cold opens). It says hello
// and then does what its owner asks, reporting each server message.
//
// Thread safety: like Conn, one io_context thread.
#ifndef QUIRE_BENCH_LOADGEN_SESSION_CLIENT_H_
#define QUIRE_BENCH_LOADGEN_SESSION_CLIENT_H_

#include <functional>
#include <string>

#include "bench/loadgen/conn.h"
#include "bench/loadgen/parse.h"

namespace quire::loadgen {

class SessionClient : public Conn::Handler, public FrameVisitor {
 public:
  struct Callbacks {
    std::function<void(SessionClient&, bool ok)> on_welcome;  // Or a failed connection.
    std::function<void(SessionClient&, server::ServerMessage&, int64_t now_us)> on_message;
    std::function<void(SessionClient&, const server::AckMsg&, int64_t now_us)> on_ack;
    std::function<void(SessionClient&, const Relay&, int64_t now_us)> on_relay;
    std::function<void(SessionClient&)> on_closed;
  };

  SessionClient(boost::asio::io_context& io, boost::asio::ip::tcp::endpoint server,
                Callbacks callbacks)
      : conn_(io, this), server_(server), cb_(std::move(callbacks)) {}

  void Start();
  void Send(std::string message) { conn_.Send(std::move(message)); }
  void Close() { conn_.Close(); }
  uint64_t agent() const { return agent_; }
  size_t id = 0;  // The owner's number for it.

 private:
  void OnFrame(std::string_view frame, int64_t now_us) override;
  void OnClosed(const std::string& why) override;
  void OnRelay(const Relay& relay) override;
  void OnAck(const server::AckMsg& ack) override;
  void OnMessage(server::ServerMessage& message) override;
  void OnBadFrame(const std::string& why) override;

  Conn conn_;
  boost::asio::ip::tcp::endpoint server_;
  Callbacks cb_;
  int64_t now_ = 0;
  bool welcomed_ = false;
  uint64_t agent_ = 0;
};

}  // namespace quire::loadgen

#endif  // QUIRE_BENCH_LOADGEN_SESSION_CLIENT_H_
