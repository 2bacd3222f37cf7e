// ServerOptions is everything quire-server can be told on its command line
// (main.cc maps flags and QUIRE_* environment variables onto it). Limits
// travel to clients in `welcome` (docs/protocol.md, "Limits").
//
// Thread safety: a value type; the server copies it at start and never
// changes it.
#ifndef QUIRE_SERVER_OPTIONS_H_
#define QUIRE_SERVER_OPTIONS_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "server/limits.h"
#include "storage/store.h"

namespace quire::server {

struct Limits {
  size_t max_frame = size_t{1} << 20;         // Bytes in one WebSocket message.
  size_t max_doc_bytes = size_t{64} << 20;    // Text bytes of a document, deleted text included.
  size_t max_open_docs = 64;                  // Channels open at once on one session.
  size_t max_queue_bytes = size_t{8} << 20;   // Outbound bytes queued for one session.
  // Server-side only (not in `welcome`): docs/operations.md, "Limits".
  size_t max_conns_per_ip = 256;       // Open TCP connections per client address (0: none).
  size_t max_clients_per_room = 500;   // Channels open on one document, streams included.
  RateLimits rates;                    // Edits and bytes per second per user.
  // A session that sent nothing but pings and pongs this long is closed
  // with 4008 (0: never).
  std::chrono::milliseconds idle_timeout{30 * 60 * 1000};
};

// Tokens (docs/operations.md, "Tokens"). No secret file: dev mode.
struct AuthOptions {
  std::string secret_file;
  // The secret being rotated out: still accepted for previous_grace after
  // the server (re)loads it.
  std::string previous_secret_file;
  std::chrono::seconds previous_grace{24 * 3600};
  std::chrono::seconds leeway{0};  // Clock skew allowed on exp and nbf.
};

struct ServerOptions {
  std::string address = "127.0.0.1";
  uint16_t port = 8080;  // 0: pick a free port (tests).
  std::string data_dir = "./data";
  storage::Durability durability = storage::Durability::kSync;
  int io_threads = 0;  // 0: one per core.
  Limits limits;
  std::chrono::milliseconds ping_interval{15000};
  // Presence updates to a room go out at most this often (0: each at
  // once), and a member that sent nothing for presence_ttl is dropped.
  std::chrono::milliseconds presence_interval{50};
  std::chrono::milliseconds presence_ttl{30000};
  // A room writes the changes it accepted to the store, and then delivers
  // them, at most once per interval: its members / room_write_rate (the
  // socket writes a room may cause per second), at most batch_max; 0: each
  // change at once. docs/server.md, "Batching".
  double room_write_rate = 10000;
  std::chrono::microseconds batch_max{100000};
  // A room with no members is dropped from memory after this long.
  std::chrono::milliseconds evict_after{30000};
  // Time a new connection has to finish its HTTP request / WebSocket
  // handshake and send `hello`.
  std::chrono::milliseconds handshake_timeout{10000};
  // Directory of static files served over HTTP (the demo editor); empty:
  // none.
  std::string static_dir;
  AuthOptions auth;
  // Origins browsers may connect from (exact "scheme://host[:port]", or
  // "*"); empty: any. Requests without an Origin header are not browsers'.
  std::vector<std::string> allowed_origins;
  // Server-Sent Events: a comment line this often keeps proxies from
  // closing a quiet stream; stats streams send a sample this often.
  std::chrono::milliseconds sse_heartbeat{15000};
  std::chrono::milliseconds stats_interval{1000};
};

}  // namespace quire::server

#endif  // QUIRE_SERVER_OPTIONS_H_
