// quire-server: the Quire collaboration server (docs/server.md,
// docs/protocol.md). Flags and QUIRE_* environment variables set
// ServerOptions; SIGTERM or SIGINT shut it down gracefully (exit 0).
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "server/server.h"

namespace {

using quire::server::ServerOptions;

struct Durations {
  int ping_ms, evict_ms, handshake_ms, presence_ms, presence_ttl_ms;
  double batch_max_ms;
};

void AddFlags(CLI::App& app, ServerOptions& o, std::string& durability, Durations& d,
              std::string& port_file) {
  app.add_option("--address", o.address, "Address to listen on")
      ->envname("QUIRE_ADDRESS")
      ->capture_default_str();
  app.add_option("--port", o.port, "Port (0: any free port)")
      ->envname("QUIRE_PORT")
      ->capture_default_str();
  app.add_option("--data", o.data_dir, "Data directory (RocksDB and the agent key)")
      ->envname("QUIRE_DATA")
      ->capture_default_str();
  app.add_option("--durability", durability,
                 "sync: acks after fsync; async: acks after the write reaches the OS")
      ->envname("QUIRE_DURABILITY")
      ->check(CLI::IsMember({"sync", "async"}))
      ->capture_default_str();
  app.add_option("--io-threads", o.io_threads, "I/O threads (0: one per core)")
      ->envname("QUIRE_IO_THREADS")
      ->check(CLI::Range(0, 256))
      ->capture_default_str();
  app.add_option("--max-frame", o.limits.max_frame, "Bytes in one WebSocket message")
      ->envname("QUIRE_MAX_FRAME")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 30))
      ->capture_default_str();
  app.add_option("--max-doc-bytes", o.limits.max_doc_bytes,
                 "Text bytes a document may hold, deleted text included")
      ->envname("QUIRE_MAX_DOC_BYTES")
      ->check(CLI::Range(size_t{1024}, size_t{1} << 32))
      ->capture_default_str();
  app.add_option("--max-open-docs", o.limits.max_open_docs, "Documents open at once per connection")
      ->envname("QUIRE_MAX_OPEN_DOCS")
      ->check(CLI::Range(1, 65536))
      ->capture_default_str();
  app.add_option("--max-queue-bytes", o.limits.max_queue_bytes,
                 "Bytes queued for one connection before it is closed as a slow reader")
      ->envname("QUIRE_MAX_QUEUE_BYTES")
      ->check(CLI::Range(size_t{4096}, size_t{1} << 32))
      ->capture_default_str();
  app.add_option("--ping-ms", d.ping_ms, "WebSocket ping interval; two missed pongs close")
      ->envname("QUIRE_PING_MS")
      ->check(CLI::Range(10, 3600000))
      ->capture_default_str();
  app.add_option("--room-write-rate", o.room_write_rate,
                 "Socket writes per second a room may cause: it writes and delivers what it "
                 "accepted at most every (members / this) seconds (0: each change at once)")
      ->envname("QUIRE_ROOM_WRITE_RATE")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("--batch-max-ms", d.batch_max_ms, "The longest a room waits to write and deliver")
      ->envname("QUIRE_BATCH_MAX_MS")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  app.add_option("--evict-after-ms", d.evict_ms, "Drop a document from memory when idle this long")
      ->envname("QUIRE_EVICT_AFTER_MS")
      ->check(CLI::Range(0, 86400000))
      ->capture_default_str();
  app.add_option("--handshake-timeout-ms", d.handshake_ms,
                 "Time to finish the HTTP/WebSocket handshake and send hello")
      ->envname("QUIRE_HANDSHAKE_TIMEOUT_MS")
      ->check(CLI::Range(10, 600000))
      ->capture_default_str();
  app.add_option("--presence-ms", d.presence_ms,
                 "Send presence changes at most this often (0: every update at once)")
      ->envname("QUIRE_PRESENCE_MS")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  app.add_option("--presence-ttl-ms", d.presence_ttl_ms,
                 "Drop from presence a member silent this long")
      ->envname("QUIRE_PRESENCE_TTL_MS")
      ->check(CLI::Range(100, 3600000))
      ->capture_default_str();
  app.add_option("--static-dir", o.static_dir, "Serve the demo editor from this directory")
      ->envname("QUIRE_STATIC_DIR");
  app.add_option("--port-file", port_file, "Write the bound port to this file once listening");
}

}  // namespace

int main(int argc, char** argv) {
  ServerOptions options;
  std::string durability = "sync";
  Durations d{static_cast<int>(options.ping_interval.count()),
              static_cast<int>(options.evict_after.count()),
              static_cast<int>(options.handshake_timeout.count()),
              static_cast<int>(options.presence_interval.count()),
              static_cast<int>(options.presence_ttl.count()),
              static_cast<double>(options.batch_max.count()) / 1000.0};
  std::string port_file;
  CLI::App app{"quire-server: the Quire collaborative editing server"};
  AddFlags(app, options, durability, d, port_file);
  CLI11_PARSE(app, argc, argv);
  options.durability =
      durability == "sync" ? quire::storage::Durability::kSync : quire::storage::Durability::kAsync;
  options.ping_interval = std::chrono::milliseconds(d.ping_ms);
  options.evict_after = std::chrono::milliseconds(d.evict_ms);
  options.handshake_timeout = std::chrono::milliseconds(d.handshake_ms);
  options.presence_interval = std::chrono::milliseconds(d.presence_ms);
  options.presence_ttl = std::chrono::milliseconds(d.presence_ttl_ms);
  options.batch_max = std::chrono::microseconds(static_cast<int64_t>(d.batch_max_ms * 1000));

  // One descriptor per connection: take the most the hard limit allows
  // (a default soft limit of 1024 would cap the server far below what it
  // carries).
  if (rlimit r{}; getrlimit(RLIMIT_NOFILE, &r) == 0 && r.rlim_cur < r.rlim_max) {
    r.rlim_cur = r.rlim_max;
    setrlimit(RLIMIT_NOFILE, &r);
  }

  // Signals are taken by sigwait below, on this thread only: block them
  // before any thread starts so the io threads inherit the mask.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  quire::server::Server server(options);
  if (quire::Status s = server.Start(); !s.ok()) {
    std::cerr << "quire-server: " << s.ToString() << "\n";
    return 1;
  }
  if (!port_file.empty()) {
    std::ofstream(port_file + ".tmp") << server.port() << "\n";
    std::rename((port_file + ".tmp").c_str(), port_file.c_str());
  }
  std::cout << "quire-server: listening on http://" << options.address << ":" << server.port()
            << " (data: " << options.data_dir << ", durability: " << durability << ")"
            << std::endl;
  int sig = 0;
  sigwait(&signals, &sig);
  std::cout << "quire-server: " << (sig == SIGTERM ? "SIGTERM" : "SIGINT")
            << ", shutting down" << std::endl;
  server.Shutdown();
  std::cout << "quire-server: stopped" << std::endl;
  return 0;
}
