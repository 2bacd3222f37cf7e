// SessionGuard is what a session checks before it lets a message through:
// who the client is (a token from the handshake, or from hello; anonymous
// in dev mode), whether its token allows the open or the write, whether
// its user's rate budget has room, and when the session must end (no
// hello in time, the token expired, idle). It holds no socket: the Session
// asks and carries out the answer (docs/protocol.md, "Session").
//
// Thread safety: none; the owning session's strand only.
#ifndef QUIRE_SERVER_SESSION_GUARD_H_
#define QUIRE_SERVER_SESSION_GUARD_H_

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "server/auth.h"
#include "server/context.h"
#include "server/limits.h"
#include "server/protocol.h"

namespace quire::server {

// What the HTTP side learned before the upgrade.
struct Handshake {
  std::string address;              // The client's IP address.
  std::optional<Identity> identity;  // From a token on the upgrade request.
  // The connection's place in the per-address count: given back when the
  // session (which holds it) ends.
  std::shared_ptr<void> slot;
};

// A refusal that ends the session: send `error`, then close with `close`.
struct Refusal {
  ProtocolError error;
  CloseCode close;
};

class SessionGuard {
 public:
  SessionGuard(ServerContext& ctx, uint64_t session_id, Handshake handshake,
               std::chrono::steady_clock::time_point now);

  // Establishes the identity at hello: the handshake's, else hello's
  // token, else (dev mode) the anonymous user. A refusal closes.
  std::optional<Refusal> OnHello(const HelloMsg& hello, int64_t now_s);
  // Replaces the token (same `sub`). On success returns nullopt and the
  // new expiry in *exp_s; the caller then closes the channels the new
  // token cannot read (CanRead).
  std::optional<Refusal> OnRefresh(const RefreshMsg& refresh, int64_t now_s, int64_t* exp_s);

  // 302 when the token gives no read right on `doc`.
  std::optional<ProtocolError> CheckOpen(const OpenMsg& open) const;
  // Before a change or op of `bytes` on `doc` reaches its room: 302
  // without the write right, 402 over the user's budget (and then
  // nothing was taken).
  std::optional<ProtocolError> CheckWrite(const std::string& doc, uint16_t channel, uint64_t ref,
                                          size_t bytes, std::chrono::steady_clock::time_point now);

  bool CanRead(std::string_view doc) const { return identity_.CanRead(doc); }
  bool CanWrite(std::string_view doc) const { return identity_.CanWrite(doc); }
  const Identity& identity() const { return identity_; }
  const std::string& address() const { return handshake_.address; }

  // A message other than ping/pong arrived.
  void Activity(std::chrono::steady_clock::time_point now) { last_activity_ = now; }

  enum class Due : uint8_t { kNothing, kHello, kTokenExpired, kIdle };
  // What ends the session at `now` (`now_ms`: Unix milliseconds), if
  // anything; *next is when to ask again.
  Due Check(std::chrono::steady_clock::time_point now, int64_t now_ms,
            std::chrono::steady_clock::time_point* next) const;

 private:
  std::optional<Refusal> Accept(const TokenCheck& check, const HelloMsg& hello);

  ServerContext& ctx_;
  const uint64_t session_id_;
  Handshake handshake_;
  bool hello_done_ = false;
  Identity identity_;
  std::shared_ptr<Budget> budget_;
  std::chrono::steady_clock::time_point hello_deadline_, last_activity_;
};

}  // namespace quire::server

#endif  // QUIRE_SERVER_SESSION_GUARD_H_
