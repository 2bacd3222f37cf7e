// RawClient: a synchronous WebSocket client for tests that sends exactly the
// bytes it is given and reads the server's messages one at a time. Unlike
// client::Client it never answers pings unless it reads, which tests use to
// play a client whose network died.
#ifndef QUIRE_TESTS_SERVER_RAW_CLIENT_H_
#define QUIRE_TESTS_SERVER_RAW_CLIENT_H_

#include <deque>
#include <optional>
#include <string>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <gtest/gtest.h>

#include "server/protocol.h"

namespace quire::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

// A synchronous WebSocket client that sends raw bytes.
class RawClient {
 public:
  explicit RawClient(uint16_t port) : ws_(io_) {
    asio::ip::tcp::resolver resolver(io_);
    asio::connect(ws_.next_layer(), resolver.resolve("127.0.0.1", std::to_string(port)));
    ws_.handshake("127.0.0.1", "/ws");
    ws_.binary(true);
    beast::get_lowest_layer(ws_).non_blocking(false);
  }
  void SendRaw(std::string_view bytes, bool binary = true) {
    ws_.binary(binary);
    ws_.write(asio::buffer(bytes.data(), bytes.size()));
    ws_.binary(true);
  }
  void Send(const server::ClientMessage& m) { SendRaw(server::EncodeClientMessage(m)); }
  // The next message from the server (batches are split), or nullopt when
  // the connection closed.
  std::optional<server::ServerMessage> Next() {
    while (pending_.empty()) {
      beast::flat_buffer buf;
      beast::error_code ec;
      ws_.read(buf, ec);
      if (ec) {
        closed_ = true;
        close_code_ = ws_.reason().code;
        return std::nullopt;
      }
      auto msgs = server::DecodeServerFrame(beast::buffers_to_string(buf.data()));
      EXPECT_TRUE(msgs.ok()) << msgs.status().ToString();
      if (!msgs.ok()) return std::nullopt;
      for (auto& m : *msgs) pending_.push_back(std::move(m));
    }
    server::ServerMessage m = std::move(pending_.front());
    pending_.pop_front();
    return m;
  }
  // Skips to the next message of type T.
  template <typename T>
  std::optional<T> Expect() {
    while (auto m = Next()) {
      if (T* t = std::get_if<T>(&*m)) return *t;
    }
    return std::nullopt;
  }
  server::WelcomeMsg Hello() {
    Send(server::HelloMsg{});
    return Expect<server::WelcomeMsg>().value_or(server::WelcomeMsg{});
  }
  void OpenDoc(uint16_t channel, const std::string& doc, server::Mode mode) {
    server::OpenMsg open;
    open.channel = channel;
    open.doc = doc;
    open.mode = mode;
    Send(open);
    ASSERT_TRUE(Expect<server::SyncedMsg>().has_value());
  }
  server::ErrorCode NextErrorCode() {
    auto e = Expect<server::ErrorMsg>();
    return e ? e->code : server::ErrorCode{};
  }
  bool closed() const { return closed_; }
  uint16_t close_code() const { return close_code_; }

 private:
  asio::io_context io_;
  websocket::stream<asio::ip::tcp::socket> ws_;
  std::deque<server::ServerMessage> pending_;
  bool closed_ = false;
  uint16_t close_code_ = 0;
};

}  // namespace quire::test

#endif  // QUIRE_TESTS_SERVER_RAW_CLIENT_H_
