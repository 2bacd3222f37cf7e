// Conn is one WebSocket connection of the load generator, on Beast
// directly (the client library's replicas would cost more than the server
// under test). It connects, reads frames into its handler, and writes one
// message at a time from a queue.
//
// Thread safety: none. A Conn belongs to one single-threaded io_context;
// everything, handler calls included, happens on that thread.
#ifndef QUIRE_BENCH_LOADGEN_CONN_H_
#define QUIRE_BENCH_LOADGEN_CONN_H_

#include <cstdint>
#include <deque>
#include <functional>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

namespace quire::loadgen {

// Microseconds on the steady clock: every timestamp the tool compares.
int64_t NowUs();

class Conn {
 public:
  class Handler {
   public:
    virtual ~Handler() = default;
    // One WebSocket message; `now_us` is when the read completed.
    virtual void OnFrame(std::string_view frame, int64_t now_us) = 0;
    // The connection failed or closed; no call follows.
    virtual void OnClosed(const std::string& why) = 0;
  };

  Conn(boost::asio::io_context& io, Handler* handler);
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  // TCP connect and WebSocket handshake on /ws; `done` gets "" or why not.
  // Reading starts once it succeeds.
  void Connect(const boost::asio::ip::tcp::endpoint& server,
               std::function<void(const std::string& error)> done);
  void Send(std::string message);
  // Starts a close handshake (1000) after what is queued.
  void Close();
  bool open() const { return open_; }

 private:
  void Read();
  void WriteNext();

  boost::beast::websocket::stream<boost::beast::tcp_stream> ws_;
  Handler* handler_;
  boost::beast::flat_buffer buffer_;
  std::deque<std::string> out_;
  bool writing_ = false;
  bool open_ = false;
  bool close_after_writes_ = false;
  bool close_sent_ = false;
};

}  // namespace quire::loadgen

#endif  // QUIRE_BENCH_LOADGEN_CONN_H_
