// Server is a whole quire-server: the store, the io threads, the listener,
// rooms and sessions (docs/server.md). main.cc runs one until SIGTERM;
// tests can run one in-process on an ephemeral port.
//
// Thread safety: Start and Shutdown are called from one controlling thread
// (not an io thread); port() and Stats() from any thread after Start.
#ifndef QUIRE_SERVER_SERVER_H_
#define QUIRE_SERVER_SERVER_H_

#include <cstdint>
#include <memory>

#include "base/status.h"
#include "server/options.h"

namespace quire::server {

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // Shuts down if still running.
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens the store, binds, and starts the io threads.
  Status Start();
  // The bound port (useful when options.port was 0).
  uint16_t port() const;
  // Graceful: stop accepting, refuse new edits (501), let every accepted
  // change become durable and its ack reach its session, close sessions
  // with 1001, stop the threads, close the store. Blocks until done.
  void Shutdown();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace quire::server

#endif  // QUIRE_SERVER_SERVER_H_
