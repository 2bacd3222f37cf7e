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
#include <string>

#include "base/status.h"
#include "server/options.h"

namespace quire::server {

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();  // Shuts down if still running.
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Opens the store, binds, and starts the io threads. Without a JWT
  // secret (dev mode) refuses any address but loopback.
  Status Start();
  // Reads the secret files again (SIGHUP): rotation without a restart.
  // Keeps the old secrets when the files are bad.
  Status ReloadSecrets();
  // Writes a consistent copy of the data directory into `dir` (which must
  // not exist) while the server runs: a RocksDB checkpoint in dir/db and
  // the agent key. quire-server --data dir serves it.
  Status Backup(const std::string& dir);
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
