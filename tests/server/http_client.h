// Test clients for quire-server's HTTP side, each bounded in time (a read
// that waits longer than its timeout fails instead of hanging the test):
//   Http()      one request, one response;
//   SseStream   a Server-Sent Events consumer that parses events as a
//               browser's EventSource would, optionally with a tiny receive
//               buffer and without reading (a slow consumer);
//   WsClient    a WebSocket client speaking raw protocol messages, which
//               can put a token on the upgrade and see the upgrade refused.
#ifndef QUIRE_TESTS_SERVER_HTTP_CLIENT_H_
#define QUIRE_TESTS_SERVER_HTTP_CLIENT_H_

#include <sys/socket.h>
#include <sys/time.h>

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>

#include "ot/text_op.h"
#include "server/protocol.h"

namespace quire::test {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;

// Every blocking read on `socket` fails after `timeout` instead of hanging.
inline void SetReadTimeout(asio::ip::tcp::socket& socket, std::chrono::milliseconds timeout) {
  timeval tv{};
  tv.tv_sec = static_cast<time_t>(timeout.count() / 1000);
  tv.tv_usec = static_cast<suseconds_t>(timeout.count() % 1000 * 1000);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

struct HttpResult {
  int status = 0;  // 0: no response (connection failed or timed out).
  std::map<std::string, std::string> headers;
  std::string body;
};

inline HttpResult Http(uint16_t port, http::verb method, const std::string& target,
                       const std::string& body = "",
                       const std::map<std::string, std::string>& headers = {}) {
  HttpResult out;
  asio::io_context io;
  asio::ip::tcp::socket socket(io);
  beast::error_code ec;
  socket.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
  if (ec) return out;
  SetReadTimeout(socket, std::chrono::seconds(20));
  http::request<http::string_body> req{method, target, 11};
  req.set(http::field::host, "127.0.0.1");
  for (const auto& [k, v] : headers) req.set(k, v);
  req.body() = body;
  req.prepare_payload();
  http::write(socket, req, ec);
  if (ec) return out;
  beast::flat_buffer buf;
  http::response<http::string_body> res;
  http::read(socket, buf, res, ec);
  if (ec) return out;
  out.status = res.result_int();
  for (const auto& f : res) out.headers[std::string(f.name_string())] = std::string(f.value());
  out.body = res.body();
  return out;
}

struct SseEvent {
  std::string id, event, data;
};

class SseStream {
 public:
  // Connects and sends the request. `rcvbuf` > 0 shrinks the socket's
  // receive buffer (a consumer that reads slowly fills it at once).
  SseStream(uint16_t port, const std::string& target,
            const std::map<std::string, std::string>& headers = {}, int rcvbuf = 0)
      : socket_(io_) {
    if (rcvbuf > 0) {
      socket_.open(asio::ip::tcp::v4());
      ::setsockopt(socket_.native_handle(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    beast::error_code ec;
    socket_.connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    if (ec) return;
    SetReadTimeout(socket_, std::chrono::seconds(20));
    std::string req = "GET " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n";
    for (const auto& [k, v] : headers) req += k + ": " + v + "\r\n";
    req += "\r\n";
    asio::write(socket_, asio::buffer(req), ec);
  }
  // Reads the status line and headers; the HTTP status (0 on failure).
  int ReadHead() {
    while (buffer_.find("\r\n\r\n") == std::string::npos) {
      if (!Fill()) return 0;
    }
    const size_t end = buffer_.find("\r\n\r\n");
    head_ = buffer_.substr(0, end);
    buffer_.erase(0, end + 4);
    return head_.size() > 12 ? std::stoi(head_.substr(9, 3)) : 0;
  }
  const std::string& head() const { return head_; }
  // The next event (comments are counted, not returned); nullopt when the
  // stream ends or a read times out.
  std::optional<SseEvent> Next() {
    for (;;) {
      size_t end = buffer_.find("\n\n");
      if (end != std::string::npos) {
        std::string block = buffer_.substr(0, end);
        buffer_.erase(0, end + 2);
        SseEvent e;
        bool any = false;
        size_t at = 0;
        while (at <= block.size()) {
          size_t nl = block.find('\n', at);
          if (nl == std::string::npos) nl = block.size();
          const std::string line = block.substr(at, nl - at);
          at = nl + 1;
          if (line.empty()) continue;
          if (line[0] == ':') {
            ++comments_;
            continue;
          }
          const size_t colon = line.find(':');
          const std::string field = line.substr(0, colon);
          std::string value = colon == std::string::npos ? "" : line.substr(colon + 1);
          if (!value.empty() && value[0] == ' ') value.erase(0, 1);
          if (field == "id") e.id = value, any = true;
          if (field == "event") e.event = value, any = true;
          if (field == "data") e.data += (e.data.empty() ? "" : "\n") + value, any = true;
        }
        if (any && (!e.data.empty() || !e.event.empty())) return e;
        continue;
      }
      if (!Fill()) return std::nullopt;
    }
  }
  int comments() const { return comments_; }
  bool ended() const { return ended_; }

 private:
  bool Fill() {
    char chunk[16384];
    beast::error_code ec;
    const size_t n = socket_.read_some(asio::buffer(chunk), ec);
    if (ec || n == 0) {
      ended_ = true;
      return false;
    }
    buffer_.append(chunk, n);
    return true;
  }

  asio::io_context io_;
  asio::ip::tcp::socket socket_;
  std::string buffer_, head_;
  int comments_ = 0;
  bool ended_ = false;
};

class WsClient {
 public:
  // Upgrades on `target` with `headers`; upgrade_status() is 101 when the
  // server accepted, else the HTTP status it answered with.
  // `rcvbuf` > 0 shrinks the socket's receive buffer (a slow reader).
  WsClient(uint16_t port, const std::string& target = "/ws",
           const std::map<std::string, std::string>& headers = {}, int rcvbuf = 0)
      : ws_(io_) {
    beast::error_code ec;
    if (rcvbuf > 0) {
      ws_.next_layer().open(asio::ip::tcp::v4());
      ::setsockopt(ws_.next_layer().native_handle(), SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    }
    ws_.next_layer().connect({asio::ip::make_address("127.0.0.1"), port}, ec);
    if (ec) return;
    SetReadTimeout(ws_.next_layer(), std::chrono::seconds(20));
    ws_.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
      for (const auto& [k, v] : headers) req.set(k, v);
    }));
    // The asynchronous handshake hands back the response also when the
    // upgrade is refused (the synchronous one in Boost 1.74 does not).
    websocket::response_type res;
    ws_.async_handshake(res, "127.0.0.1", target, [&](beast::error_code e) { ec = e; });
    io_.run();
    io_.restart();
    upgrade_status_ = res.result_int();
    upgrade_body_ = res.body();
    // Back to blocking reads, which SO_RCVTIMEO bounds.
    ws_.next_layer().non_blocking(false);
    if (ec) {
      if (upgrade_status_ == 200) upgrade_status_ = 0;  // No response at all.
      return;
    }
    ws_.binary(true);
  }
  int upgrade_status() const { return upgrade_status_; }
  const std::string& upgrade_body() const { return upgrade_body_; }

  void SendRaw(std::string_view bytes) {
    beast::error_code ec;
    ws_.write(asio::buffer(bytes.data(), bytes.size()), ec);
  }
  void Send(const server::ClientMessage& m) { SendRaw(server::EncodeClientMessage(m)); }
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
      if (!msgs.ok()) return std::nullopt;
      for (auto& m : *msgs) pending_.push_back(std::move(m));
    }
    server::ServerMessage m = std::move(pending_.front());
    pending_.pop_front();
    return m;
  }
  template <typename T>
  std::optional<T> Expect() {
    while (auto m = Next()) {
      if (T* t = std::get_if<T>(&*m)) return *t;
    }
    return std::nullopt;
  }
  // The next error's code, skipping other messages (0 when none came).
  int NextErrorCode() {
    auto e = Expect<server::ErrorMsg>();
    return e ? static_cast<int>(e->code) : 0;
  }
  std::optional<server::WelcomeMsg> Hello(const std::string& token = "") {
    server::HelloMsg h;
    h.token = token;
    Send(h);
    while (auto m = Next()) {
      if (auto* w = std::get_if<server::WelcomeMsg>(&*m)) return *w;
      if (std::holds_alternative<server::ErrorMsg>(*m)) {
        last_error_ = std::get<server::ErrorMsg>(*m);
        return std::nullopt;
      }
    }
    return std::nullopt;
  }
  // Opens `doc` in OT mode on `channel`; the synced seq, or nullopt with
  // the error in last_error().
  std::optional<uint64_t> Open(uint16_t channel, const std::string& doc, uint64_t seq = 0) {
    server::OpenMsg open;
    open.channel = channel;
    open.doc = doc;
    open.mode = server::Mode::kOt;
    open.seq = seq;
    Send(open);
    while (auto m = Next()) {
      if (auto* s = std::get_if<server::SyncedMsg>(&*m); s && s->channel == channel) {
        agent_next_ = s->agent_next;
        return s->seq;
      }
      if (auto* e = std::get_if<server::ErrorMsg>(&*m)) {
        last_error_ = *e;
        return std::nullopt;
      }
    }
    return std::nullopt;
  }
  // Sends `op` made on the text at `base_seq` and waits for its ack (its
  // seq) or error (in last_error()).
  std::optional<uint64_t> Apply(uint16_t channel, uint64_t base_seq, ot::TextOp op,
                                uint64_t ref) {
    server::OpMsg msg;
    msg.channel = channel;
    msg.ref = ref;
    msg.base_seq = base_seq;
    msg.op = std::move(op);
    msg.agent_seq = agent_next_;
    Send(msg);
    while (auto m = Next()) {
      if (auto* a = std::get_if<server::AckMsg>(&*m); a && a->ref == ref) {
        agent_next_ = a->agent_next;
        return a->seq;
      }
      if (auto* e = std::get_if<server::ErrorMsg>(&*m); e && e->ref == ref) {
        last_error_ = *e;
        return std::nullopt;
      }
    }
    return std::nullopt;
  }
  std::optional<uint64_t> Insert(uint16_t channel, uint64_t base_seq, size_t pos,
                                 const std::string& text, uint64_t ref) {
    ot::TextOp op;
    op.Retain(pos).Insert(text);
    return Apply(channel, base_seq, std::move(op), ref);
  }
  const std::optional<server::ErrorMsg>& last_error() const { return last_error_; }
  bool closed() const { return closed_; }
  uint16_t close_code() const { return close_code_; }
  // Reads until the server closes; its close code (0: timed out).
  uint16_t WaitClosed() {
    while (Next()) {
    }
    return close_code_;
  }

 private:
  asio::io_context io_;
  websocket::stream<asio::ip::tcp::socket> ws_;
  std::deque<server::ServerMessage> pending_;
  std::optional<server::ErrorMsg> last_error_;
  uint64_t agent_next_ = 0;
  int upgrade_status_ = 0;
  std::string upgrade_body_;
  bool closed_ = false;
  uint16_t close_code_ = 0;
};

}  // namespace quire::test

#endif  // QUIRE_TESTS_SERVER_HTTP_CLIENT_H_
