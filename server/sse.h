// Server-Sent Events streams (docs/protocol.md, "Server-Sent Events"):
//
//   GET /api/docs/{id}/events   every accepted patch, in seq order, once
//                               durable: `id: <seq>` and the op as JSON.
//                               Last-Event-ID (or ?since=SEQ) resumes after
//                               that seq from the op log, nothing lost or
//                               repeated; without either the stream starts
//                               with a `snapshot` event (the text at a seq).
//   GET /api/stats/events       server statistics every stats interval.
//
// A doc stream is an OT member of the document's room (room_listener.h).
// A consumer that reads slower than the document changes is cut off once
// its backlog passes max_queue_bytes (the room never waits for it); it
// reconnects with Last-Event-ID and loses nothing. A comment line every
// sse_heartbeat keeps proxies from closing a quiet stream. A stream ends
// with an `end` event when its token expires or the server stops.
//
// Thread safety: coroutines on the HTTP connection's strand.
#ifndef QUIRE_SERVER_SSE_H_
#define QUIRE_SERVER_SSE_H_

#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "server/http_util.h"

namespace quire::server {

// Each serves until the stream ends; the caller closes the connection.
boost::asio::awaitable<void> ServeDocEvents(ServerContext& ctx, boost::beast::tcp_stream& stream,
                                            const HttpRequest& req, const Target& target,
                                            const std::string& doc);
boost::asio::awaitable<void> ServeStatsEvents(ServerContext& ctx, boost::beast::tcp_stream& stream,
                                              const HttpRequest& req);

// One patch event, as the stream writes it (tests, docs).
std::string PatchEvent(uint64_t seq, const ot::TextOp& op);

}  // namespace quire::server

#endif  // QUIRE_SERVER_SSE_H_
