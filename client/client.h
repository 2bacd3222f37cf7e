// Client is Quire's C++ client library: one WebSocket connection to a
// quire-server (docs/protocol.md) carrying any number of documents, each a
// local replica that stays editable while offline.
//
// - CRDT documents keep a crdt::TextDoc. Local edits apply at once and
//   become changes queued until the server acks them (resent after a
//   reconnect; the server integrates idempotently, so each lands once).
// - OT documents (for tests and load generation) keep the text, one op in
//   flight and a buffer, and transform with ShareDB's convention; their
//   ops carry the agent seq that makes a resend after reconnect land once.
// - The connection reconnects with exponential backoff and full jitter
//   (ClientOptions::backoff_min to backoff_max) and resumes every document
//   from what it holds.
// - With a state file, every document and the agent (with its ticket) are
//   saved atomically (written, fsynced, renamed) before an edit is sent, so
//   a client killed while offline and started again replays its queue.
//
// Thread safety: every public method may be called from any thread except
// from inside a callback (callbacks run on the client's strand, one at a
// time). Accessors take a mutex and return copies.
#ifndef QUIRE_CLIENT_CLIENT_H_
#define QUIRE_CLIENT_CLIENT_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/io_context.hpp>

#include "base/result.h"
#include "ot/text_op.h"
#include "server/protocol.h"

namespace quire::client {

using server::Mode;

struct ClientOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 8080;
  std::string path = "/ws";
  std::string name;    // Display name sent in hello.
  std::string token;   // JWT, when the server wants one.
  std::string state_file;  // Empty: keep nothing on disk.
  std::chrono::milliseconds backoff_min{1000};
  std::chrono::milliseconds backoff_max{30000};
  uint64_t seed = 0;  // Jitter; 0 picks one at random.
  size_t max_frame = size_t{256} << 20;  // Largest message accepted from the server.
};

// kStopped: Stop() was called, or the server refused the token (error 300
// or 301; refusal() says which): reconnecting would not help.
enum class ConnectionState { kConnecting, kConnected, kOffline, kStopped };

// What a document knows, as of the call.
struct DocStatus {
  bool synced = false;     // Caught up on this connection, and nothing unacked.
  bool stale = false;      // The server's document has another epoch (error 204).
  uint64_t epoch = 0;
  uint64_t seq = 0;        // Newest server seq this replica has.
  size_t pending = 0;      // Local changes/ops not yet acked.
  uint64_t acked_ops = 0;  // CRDT: how many of this client's ops the server acked.
  std::optional<server::ErrorMsg> last_error;
};

// Another member of a document as this client sees it: positions are code
// points in this client's text as it is now.
struct PeerPresence {
  uint64_t session = 0;
  std::string user_id, name, color;
  std::optional<size_t> cursor;
  std::vector<std::pair<size_t, size_t>> selections;  // (anchor, head)
  bool typing = false;
  std::string app;  // The encoded msgpack map, or empty.
};

struct DocCallbacks {
  // A change from someone else, as the patch it made to this replica.
  std::function<void(const ot::TextOp& patch, uint64_t seq)> on_remote;
  std::function<void(uint64_t ref, uint64_t seq)> on_ack;
  std::function<void()> on_synced;
  std::function<void(const server::ErrorMsg&)> on_error;
  // A member joined or changed (`left` false), or left.
  std::function<void(const PeerPresence&, bool left)> on_presence;
  // An app-defined message from member `session` (one encoded msgpack value).
  std::function<void(uint64_t session, const std::string& payload)> on_broadcast;
};

class Client {
 public:
  // Runs on a strand of `io`; the caller runs `io`.
  Client(boost::asio::io_context& io, ClientOptions options);
  ~Client();  // Stops; REQUIRES: not called from a callback.
  Client(const Client&) = delete;
  Client& operator=(const Client&) = delete;

  // Loads the state file (documents and the agent), if any. Call before
  // Start(). Corruption when it does not decode.
  Status Load();
  void Start();
  // Closes the connection (1000) and stops reconnecting; blocks until done.
  void Stop();
  // Drops the connection without a close handshake, as a network failure
  // would, and reconnects after the backoff (tests).
  void Disconnect();

  // Opens `doc` (or returns its handle if open). A document restored by
  // Load() keeps its replica and queue.
  uint16_t Open(const std::string& doc, Mode mode, DocCallbacks callbacks = {});
  // Local edits in code points. REQUIRES: the document is open; for CRDT
  // documents, the client has an agent (it connected once, or Load() gave
  // one). OutOfRange when the edit does not fit the text.
  Status Insert(uint16_t channel, size_t pos, std::string_view utf8);
  Status Remove(uint16_t channel, size_t pos, size_t len);

  // Presence (docs/protocol.md, "Presence and broadcast"): this client's
  // own state in a document, in code point positions of its text. Sent
  // when connected (and again every 10 s so the server keeps it present).
  Status SetCursor(uint16_t channel, std::optional<size_t> pos);
  Status SetSelections(uint16_t channel, std::vector<std::pair<size_t, size_t>> selections);
  Status SetTyping(uint16_t channel, bool typing);
  Status SetUser(uint16_t channel, std::string name, std::string color);
  Status SetApp(uint16_t channel, std::string encoded_map);
  // An ephemeral message to everyone else in the document.
  Status Broadcast(uint16_t channel, std::string encoded_value);
  // Everyone present (this client included, under session()).
  std::map<uint64_t, PeerPresence> Peers(uint16_t channel) const;
  uint64_t session() const;  // This connection's id in presence (0 until welcome).

  std::string Text(uint16_t channel) const;
  DocStatus StatusOf(uint16_t channel) const;
  ConnectionState state() const;
  uint64_t agent() const;
  // Why the server refused this client's token, if it did.
  std::optional<server::ErrorMsg> refusal() const;
  // Waits until `pred(status)` holds or `timeout` passes (tests, tools).
  bool WaitFor(uint16_t channel, const std::function<bool(const DocStatus&)>& pred,
               std::chrono::milliseconds timeout) const;
  bool WaitConnected(std::chrono::milliseconds timeout) const;

  struct Impl;  // client_impl.h: internal.

 private:
  std::shared_ptr<Impl> impl_;
};

}  // namespace quire::client

#endif  // QUIRE_CLIENT_CLIENT_H_
