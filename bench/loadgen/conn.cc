#include "bench/loadgen/conn.h"

#include <chrono>

#include <boost/asio/buffer.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

namespace quire::loadgen {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

int64_t NowUs() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Conn::Conn(asio::io_context& io, Handler* handler) : ws_(io), handler_(handler) {}

void Conn::Connect(const asio::ip::tcp::endpoint& server,
                   std::function<void(const std::string&)> done) {
  beast::get_lowest_layer(ws_).async_connect(
      server, [this, server, done = std::move(done)](const beast::error_code& ec) mutable {
        if (ec) return done("connect: " + ec.message());
        beast::error_code ignored;
        beast::get_lowest_layer(ws_).socket().set_option(asio::ip::tcp::no_delay(true), ignored);
        ws_.binary(true);
        ws_.auto_fragment(false);
        ws_.read_message_max(size_t{256} << 20);
        const std::string host = "127.0.0.1:" + std::to_string(server.port());
        ws_.async_handshake(host, "/ws", [this, done = std::move(done)](const beast::error_code& e) {
          if (e) return done("handshake: " + e.message());
          open_ = true;
          done("");
          Read();
        });
      });
}

void Conn::Read() {
  ws_.async_read(buffer_, [this](const beast::error_code& ec, size_t) {
    if (ec) {
      open_ = false;
      return handler_->OnClosed(ec == websocket::error::closed ? "closed" : ec.message());
    }
    const auto data = buffer_.cdata();
    handler_->OnFrame(std::string_view(static_cast<const char*>(data.data()), data.size()),
                      NowUs());
    buffer_.consume(buffer_.size());
    Read();
  });
}

void Conn::Send(std::string message) {
  if (!open_) return;
  out_.push_back(std::move(message));
  if (!writing_) WriteNext();
}

void Conn::WriteNext() {
  if (out_.empty()) {
    writing_ = false;
    if (close_after_writes_ && open_ && !close_sent_) {
      close_sent_ = true;
      ws_.async_close(websocket::close_code::normal, [](const beast::error_code&) {});
    }
    return;
  }
  writing_ = true;
  ws_.async_write(asio::buffer(out_.front()), [this](const beast::error_code& ec, size_t) {
    out_.pop_front();
    if (ec) {
      out_.clear();
      writing_ = false;
      return;  // The read fails too and reports it.
    }
    WriteNext();
  });
}

void Conn::Close() {
  if (!open_ || close_after_writes_) return;
  close_after_writes_ = true;
  if (!writing_) WriteNext();
}

}  // namespace quire::loadgen
