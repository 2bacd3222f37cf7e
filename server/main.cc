// quire-server: the Quire collaboration server (docs/server.md,
// docs/protocol.md, docs/operations.md). Flags and QUIRE_* environment
// variables set ServerOptions; SIGTERM or SIGINT shut it down gracefully
// (exit 0); SIGHUP reads the JWT secret files again (rotation).
#include <pthread.h>
#include <signal.h>
#include <sys/resource.h>

#include <cstdio>
#include <ctime>
#include <fstream>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "server/log.h"
#include "server/server.h"

namespace {

using quire::server::Log;
using quire::server::LogLevel;
using quire::server::ServerOptions;

// Flags kept in units a person types, converted after parsing.
struct Extra {
  std::string durability = "sync";
  int ping_ms = 0, evict_ms = 0, handshake_ms = 0, idle_ms = 0, heartbeat_ms = 0, stats_ms = 0;
  int presence_ms = 0, presence_ttl_ms = 0;
  double batch_max_ms = 0;
  int64_t grace_s = 0, leeway_s = 0;
  std::string port_file;
  std::string log_format = "logfmt", log_level = "info";
  std::string backup_dir;
};

// A new directory under `root` named for the time: 20240501T120000Z.
std::string BackupName(const std::string& root) {
  const std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y%m%dT%H%M%SZ", &tm);
  return root + "/" + buf;
}

void AddLimitFlags(CLI::App& app, ServerOptions& o, Extra& x) {
  app.add_option("--max-conns-per-ip", o.limits.max_conns_per_ip,
                 "Open connections per client address (0: no limit)")
      ->envname("QUIRE_MAX_CONNS_PER_IP")
      ->capture_default_str();
  app.add_option("--max-clients-per-room", o.limits.max_clients_per_room,
                 "Clients (channels and event streams) on one document")
      ->envname("QUIRE_MAX_CLIENTS_PER_ROOM")
      ->check(CLI::Range(1, 1000000))
      ->capture_default_str();
  app.add_option("--user-edits-per-s", o.limits.rates.edits_per_s, "Edits per second per user")
      ->envname("QUIRE_USER_EDITS_PER_S")
      ->check(CLI::Range(0.001, 1e9))
      ->capture_default_str();
  app.add_option("--user-edits-burst", o.limits.rates.edits_burst, "Edits a user may burst")
      ->envname("QUIRE_USER_EDITS_BURST")
      ->check(CLI::Range(1.0, 1e9))
      ->capture_default_str();
  app.add_option("--user-bytes-per-s", o.limits.rates.bytes_per_s,
                 "Bytes of edits per second per user")
      ->envname("QUIRE_USER_BYTES_PER_S")
      ->check(CLI::Range(1.0, 1e12))
      ->capture_default_str();
  app.add_option("--user-bytes-burst", o.limits.rates.bytes_burst, "Bytes of edits a user may burst")
      ->envname("QUIRE_USER_BYTES_BURST")
      ->check(CLI::Range(1.0, 1e12))
      ->capture_default_str();
  app.add_option("--idle-timeout-ms", x.idle_ms,
                 "Close a session that sent nothing but pings this long (0: never)")
      ->envname("QUIRE_IDLE_TIMEOUT_MS")
      ->check(CLI::Range(0, 86400000 * 7))
      ->capture_default_str();
  app.add_option("--allowed-origins", o.allowed_origins,
                 "Origins browsers may connect from, comma-separated (none: any)")
      ->envname("QUIRE_ALLOWED_ORIGINS")
      ->delimiter(',');
}

void AddPresenceFlags(CLI::App& app, Extra& x) {
  app.add_option("--presence-ms", x.presence_ms,
                 "Send presence changes at most this often (0: every update at once)")
      ->envname("QUIRE_PRESENCE_MS")
      ->check(CLI::Range(0, 10000))
      ->capture_default_str();
  app.add_option("--presence-ttl-ms", x.presence_ttl_ms,
                 "Drop from presence a member silent this long")
      ->envname("QUIRE_PRESENCE_TTL_MS")
      ->check(CLI::Range(100, 3600000))
      ->capture_default_str();
}

void AddAuthFlags(CLI::App& app, ServerOptions& o, Extra& x) {
  app.add_option("--jwt-secret-file", o.auth.secret_file,
                 "HS256 secret for tokens (none: dev mode, loopback only)")
      ->envname("QUIRE_JWT_SECRET_FILE");
  app.add_option("--jwt-previous-secret-file", o.auth.previous_secret_file,
                 "The secret being rotated out, accepted for --jwt-previous-grace-s")
      ->envname("QUIRE_JWT_PREVIOUS_SECRET_FILE");
  app.add_option("--jwt-previous-grace-s", x.grace_s,
                 "Seconds the previous secret is accepted after it is (re)loaded")
      ->envname("QUIRE_JWT_PREVIOUS_GRACE_S")
      ->check(CLI::Range(int64_t{0}, int64_t{366} * 86400))
      ->capture_default_str();
  app.add_option("--jwt-leeway-s", x.leeway_s, "Clock skew allowed on exp and nbf")
      ->envname("QUIRE_JWT_LEEWAY_S")
      ->check(CLI::Range(int64_t{0}, int64_t{3600}))
      ->capture_default_str();
}

void AddFlags(CLI::App& app, ServerOptions& o, Extra& x) {
  std::string& durability = x.durability;
  int& ping_ms = x.ping_ms;
  int& evict_ms = x.evict_ms;
  int& handshake_ms = x.handshake_ms;
  std::string& port_file = x.port_file;
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
  app.add_option("--ping-ms", ping_ms, "WebSocket ping interval; two missed pongs close")
      ->envname("QUIRE_PING_MS")
      ->check(CLI::Range(10, 3600000))
      ->capture_default_str();
  app.add_option("--room-write-rate", o.room_write_rate,
                 "Socket writes per second a room may cause: it writes and delivers what it "
                 "accepted at most every (members / this) seconds (0: each change at once)")
      ->envname("QUIRE_ROOM_WRITE_RATE")
      ->check(CLI::Range(0.0, 1e9))
      ->capture_default_str();
  app.add_option("--batch-max-ms", x.batch_max_ms, "The longest a room waits to write and deliver")
      ->envname("QUIRE_BATCH_MAX_MS")
      ->check(CLI::Range(0.0, 1000.0))
      ->capture_default_str();
  app.add_option("--evict-after-ms", evict_ms, "Drop a document from memory when idle this long")
      ->envname("QUIRE_EVICT_AFTER_MS")
      ->check(CLI::Range(0, 86400000))
      ->capture_default_str();
  app.add_option("--handshake-timeout-ms", handshake_ms,
                 "Time to finish the HTTP/WebSocket handshake and send hello")
      ->envname("QUIRE_HANDSHAKE_TIMEOUT_MS")
      ->check(CLI::Range(10, 600000))
      ->capture_default_str();
  app.add_option("--static-dir", o.static_dir, "Serve the demo editor from this directory")
      ->envname("QUIRE_STATIC_DIR");
  app.add_option("--port-file", port_file, "Write the bound port to this file once listening");
  app.add_option("--sse-heartbeat-ms", x.heartbeat_ms, "Comment line on quiet event streams")
      ->envname("QUIRE_SSE_HEARTBEAT_MS")
      ->check(CLI::Range(10, 3600000))
      ->capture_default_str();
  app.add_option("--stats-interval-ms", x.stats_ms, "Period of /api/stats/events samples")
      ->envname("QUIRE_STATS_INTERVAL_MS")
      ->check(CLI::Range(10, 3600000))
      ->capture_default_str();
  app.add_option("--log-format", x.log_format, "logfmt or json, one line per event on stderr")
      ->envname("QUIRE_LOG_FORMAT")
      ->check(CLI::IsMember({"logfmt", "json"}))
      ->capture_default_str();
  app.add_option("--log-level", x.log_level, "debug, info, warn, error or off")
      ->envname("QUIRE_LOG_LEVEL")
      ->check(CLI::IsMember({"debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  app.add_option("--backup-dir", x.backup_dir,
                 "On SIGUSR1, write a consistent copy of the data here (a new dir per backup)")
      ->envname("QUIRE_BACKUP_DIR");
  AddLimitFlags(app, o, x);
  AddPresenceFlags(app, x);
  AddAuthFlags(app, o, x);
}

}  // namespace

int main(int argc, char** argv) {
  ServerOptions options;
  Extra x;
  x.ping_ms = static_cast<int>(options.ping_interval.count());
  x.evict_ms = static_cast<int>(options.evict_after.count());
  x.handshake_ms = static_cast<int>(options.handshake_timeout.count());
  x.idle_ms = static_cast<int>(options.limits.idle_timeout.count());
  x.heartbeat_ms = static_cast<int>(options.sse_heartbeat.count());
  x.stats_ms = static_cast<int>(options.stats_interval.count());
  x.presence_ms = static_cast<int>(options.presence_interval.count());
  x.presence_ttl_ms = static_cast<int>(options.presence_ttl.count());
  x.grace_s = options.auth.previous_grace.count();
  x.leeway_s = options.auth.leeway.count();
  x.batch_max_ms = static_cast<double>(options.batch_max.count()) / 1000.0;
  CLI::App app{"quire-server: the Quire collaborative editing server"};
  AddFlags(app, options, x);
  CLI11_PARSE(app, argc, argv);
  options.durability = x.durability == "sync" ? quire::storage::Durability::kSync
                                              : quire::storage::Durability::kAsync;
  options.ping_interval = std::chrono::milliseconds(x.ping_ms);
  options.evict_after = std::chrono::milliseconds(x.evict_ms);
  options.handshake_timeout = std::chrono::milliseconds(x.handshake_ms);
  options.limits.idle_timeout = std::chrono::milliseconds(x.idle_ms);
  options.sse_heartbeat = std::chrono::milliseconds(x.heartbeat_ms);
  options.stats_interval = std::chrono::milliseconds(x.stats_ms);
  options.presence_interval = std::chrono::milliseconds(x.presence_ms);
  options.presence_ttl = std::chrono::milliseconds(x.presence_ttl_ms);
  options.auth.previous_grace = std::chrono::seconds(x.grace_s);
  options.auth.leeway = std::chrono::seconds(x.leeway_s);
  if (quire::Status s = quire::server::InitLog(x.log_format, x.log_level); !s.ok()) {
    std::cerr << "quire-server: " << s.message() << "\n";
    return 2;
  }
  options.batch_max = std::chrono::microseconds(static_cast<int64_t>(x.batch_max_ms * 1000));

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
  sigaddset(&signals, SIGHUP);
  sigaddset(&signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  quire::server::Server server(options);
  if (quire::Status s = server.Start(); !s.ok()) {
    Log(LogLevel::kError, "start_failed").Reason(s.ToString());
    std::cerr << "quire-server: " << s.ToString() << "\n";
    return 1;
  }
  if (!x.port_file.empty()) {
    std::ofstream(x.port_file + ".tmp") << server.port() << "\n";
    std::rename((x.port_file + ".tmp").c_str(), x.port_file.c_str());
  }
  int sig = 0;
  for (;;) {
    sigwait(&signals, &sig);
    if (sig == SIGHUP) {
      (void)server.ReloadSecrets();  // Logs what happened.
    } else if (sig == SIGUSR1) {
      if (x.backup_dir.empty()) {
        Log(LogLevel::kWarn, "backup_failed").Reason("SIGUSR1 without --backup-dir");
      } else {
        (void)server.Backup(BackupName(x.backup_dir));
      }
    } else {
      break;
    }
  }
  Log(LogLevel::kInfo, "stopping").Reason(sig == SIGTERM ? "SIGTERM" : "SIGINT");
  server.Shutdown();
  Log(LogLevel::kInfo, "stopped");
  return 0;
}
