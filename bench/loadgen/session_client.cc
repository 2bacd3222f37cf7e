#include "bench/loadgen/session_client.h"

namespace quire::loadgen {

void SessionClient::Start() {
  conn_.Connect(server_, [this](const std::string& error) {
    if (!error.empty()) {
      if (cb_.on_welcome) cb_.on_welcome(*this, false);
      return;
    }
    server::HelloMsg hello;
    hello.client = "quire-loadgen/0.1";
    Send(server::EncodeClientMessage(hello));
  });
}

void SessionClient::OnFrame(std::string_view frame, int64_t now_us) {
  now_ = now_us;
  ParseServerFrame(frame, *this);
}

void SessionClient::OnClosed(const std::string&) {
  if (!welcomed_ && cb_.on_welcome) {
    welcomed_ = true;
    cb_.on_welcome(*this, false);
  }
  if (cb_.on_closed) cb_.on_closed(*this);
}

void SessionClient::OnRelay(const Relay& relay) {
  if (cb_.on_relay) cb_.on_relay(*this, relay, now_);
}

void SessionClient::OnAck(const server::AckMsg& ack) {
  if (cb_.on_ack) cb_.on_ack(*this, ack, now_);
}

void SessionClient::OnMessage(server::ServerMessage& message) {
  if (auto* w = std::get_if<server::WelcomeMsg>(&message); w != nullptr && !welcomed_) {
    welcomed_ = true;
    agent_ = w->agent;
    if (cb_.on_welcome) cb_.on_welcome(*this, true);
    return;
  }
  if (cb_.on_message) cb_.on_message(*this, message, now_);
}

void SessionClient::OnBadFrame(const std::string&) {
  server::ErrorMsg e;
  e.code = server::ErrorCode::kMalformed;
  e.message = "the load generator could not read a server frame";
  server::ServerMessage m = e;
  if (cb_.on_message) cb_.on_message(*this, m, now_);
}

}  // namespace quire::loadgen
