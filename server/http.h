// The HTTP side of the server's one port: reads requests on a new
// connection, answers plain HTTP (health, static files of the demo editor),
// and hands WebSocket upgrades on /ws to a Session.
//
// Thread safety: runs on the connection's strand.
#ifndef QUIRE_SERVER_HTTP_H_
#define QUIRE_SERVER_HTTP_H_

#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>

#include "server/context.h"

namespace quire::server {

// Serves one accepted connection until it closes or becomes a WebSocket.
boost::asio::awaitable<void> ServeConnection(ServerContext& ctx, boost::beast::tcp_stream stream);

}  // namespace quire::server

#endif  // QUIRE_SERVER_HTTP_H_
