// Internals of Client (client.h): the per-document replicas and the
// connection state, shared by client.cc (the connection) and
// client_state.cc (the state file). Not part of the public API.
#ifndef QUIRE_CLIENT_CLIENT_IMPL_H_
#define QUIRE_CLIENT_CLIENT_IMPL_H_

#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "client/client.h"
#include "crdt/text_doc.h"

namespace quire::client {

// One open document: its replica and what is in flight.
struct Doc {
  std::string name;
  uint16_t channel = 0;
  Mode mode = Mode::kCrdt;
  DocCallbacks callbacks;
  uint64_t epoch = 0;
  uint64_t seq = 0;
  bool synced = false;  // `synced` seen on this connection.
  bool stale = false;
  std::optional<server::ErrorMsg> last_error;

  // CRDT: the replica (created once the agent is known), and this agent's
  // ops: acked below `acked`, sent on this connection below `sent`.
  std::optional<crdt::TextDoc> crdt;
  uint64_t acked = 0;
  uint64_t sent = 0;
  std::deque<std::pair<uint64_t, uint64_t>> unacked;  // (ref, end seq), send order.

  // OT: the text, the op in flight (sent or waiting to be) and the ops
  // typed after it, composed.
  std::string text;
  uint64_t agent_next = 0;
  std::optional<ot::TextOp> inflight;
  uint64_t inflight_ref = 0;
  // The agent seq it was first sent with: the id of the change it became,
  // kept (and saved) until the ack so a resend can be recognized.
  std::optional<uint64_t> inflight_agent_seq;
  bool inflight_sent = false;  // On this connection.
  std::optional<ot::TextOp> buffer;

  // Presence. This client's own state: the keys it set (presence::Key),
  // OT positions in its own text, CRDT anchors.
  server::WireState own;
  // The others: OT positions in this client's text as it is now (moved
  // with every edit), CRDT anchors (resolved when asked).
  std::map<uint64_t, PeerPresence> peers;
  std::map<uint64_t, server::WireState> peer_anchors;  // CRDT documents.

  size_t Pending() const {
    if (mode == Mode::kOt) return (inflight ? 1 : 0) + (buffer ? 1 : 0);
    if (!crdt) return 0;
    return crdt->NextSeq(crdt->agent()) > acked ? 1 : 0;
  }
};

struct Client::Impl : std::enable_shared_from_this<Client::Impl> {
  using Socket = boost::beast::websocket::stream<boost::beast::tcp_stream>;

  Impl(boost::asio::io_context& io, ClientOptions options);

  // Connection, on the strand.
  boost::asio::awaitable<void> Run();
  boost::asio::awaitable<bool> Connect();
  void OnFrame(std::string_view bytes, std::vector<std::function<void()>>* calls);
  void OnWelcome(const server::WelcomeMsg& w);
  void Handle(server::ServerMessage& m, std::vector<std::function<void()>>* calls);
  void SendMessage(const server::ClientMessage& m);
  void WriteNext();
  void SendOpen(Doc& d);
  void FlushCrdt(Doc& d);
  void SendInflight(Doc& d);
  // Sends what a local edit queued (posts to the strand).
  void PostFlush(uint16_t channel);
  void OnOtAck(Doc& d, uint64_t seq, uint64_t agent_next);
  void RetryEditsLater();
  // Presence (client_presence.cc).
  void SendPresence(Doc& d);
  void OnPresence(Doc& d, server::PresenceMsg& m, std::vector<std::function<void()>>* calls);
  // OT: the text of `length_before` code points changed by op.
  void MovePositions(Doc& d, const ot::TextOp& op, size_t length_before);
  PeerPresence Resolve(Doc& d, uint64_t session);
  std::optional<server::WireAnchor> AnchorFor(Doc& d, size_t pos);
  void StartHeartbeat();
  void Offline();
  std::chrono::milliseconds NextBackoff();

  // The state file (client_state.cc). Called with mu held.
  Status SaveLocked();
  Status LoadLocked();

  Doc* ByChannel(uint16_t channel);
  DocStatus StatusOf(const Doc& d) const;

  boost::asio::io_context& io;
  const ClientOptions options;
  boost::asio::strand<boost::asio::io_context::executor_type> strand;
  boost::asio::steady_timer retry;
  boost::asio::steady_timer heartbeat;
  boost::asio::steady_timer edit_retry;  // Edits refused for the rate budget.
  bool edit_retry_armed = false;
  std::unique_ptr<Socket> ws;  // Strand only.
  boost::beast::flat_buffer read_buffer;
  std::deque<std::string> out;  // Strand only.
  bool writing = false;
  uint64_t generation = 0;  // Bumped per connection; stale handlers check it.
  int attempt = 0;
  std::mt19937_64 rng;
  bool running = false;  // Run() is looping.

  // Guarded by mu; changes are announced on cv.
  mutable std::mutex mu;
  mutable std::condition_variable cv;
  std::map<uint16_t, Doc> docs;
  uint16_t next_channel = 0;
  uint64_t next_ref = 1;
  ConnectionState state = ConnectionState::kOffline;
  bool stopping = false;
  std::optional<server::ErrorMsg> refused;  // The server refused our token (300, 301).
  uint64_t agent = 0;
  std::string ticket;
  uint64_t session = 0;
};

}  // namespace quire::client

#endif  // QUIRE_CLIENT_CLIENT_IMPL_H_
