#include "server/server.h"

#include <filesystem>
#include <limits>
#include <future>
#include <latch>
#include <thread>
#include <vector>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "server/agents.h"
#include "server/auth.h"
#include "server/context.h"
#include "server/http.h"
#include "server/limits.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/room.h"
#include "server/session.h"

namespace quire::server {
namespace asio = boost::asio;
using tcp = asio::ip::tcp;

namespace {

constexpr auto kDrainDeadline = std::chrono::seconds(10);
// The kernel's send buffer of each connection. Left to autotuning it grows
// to tcp_wmem's maximum (4 MiB on Linux) for a client that stops reading,
// on top of the session's own queue (--max-queue-bytes): capped, a slow
// reader is found, and cut off, after a few hundred KiB instead. 256 KiB
// (Linux doubles it) still fills a 100 ms round trip at 5 MB/s.
constexpr int kSocketSendBuffer = 256 << 10;
constexpr auto kCloseDeadline = std::chrono::seconds(5);

asio::awaitable<void> AcceptLoop(ServerContext& ctx, tcp::acceptor& acceptor) {
  for (;;) {
    tcp::socket socket(asio::make_strand(*ctx.io));
    boost::system::error_code ec;
    co_await acceptor.async_accept(socket, asio::redirect_error(asio::use_awaitable, ec));
    if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
    if (ec) {
      // Out of descriptors or a connection reset before accept: wait a
      // moment instead of spinning.
      asio::steady_timer wait(acceptor.get_executor(), std::chrono::milliseconds(50));
      co_await wait.async_wait(asio::redirect_error(asio::use_awaitable, ec));
      continue;
    }
    socket.set_option(tcp::no_delay(true), ec);
    socket.set_option(asio::socket_base::send_buffer_size(kSocketSendBuffer), ec);
    auto executor = socket.get_executor();
    asio::co_spawn(executor, ServeConnection(ctx, boost::beast::tcp_stream(std::move(socket))),
                   [](std::exception_ptr e) {
                     // Nothing on a connection throws by design; if something
                     // does, the connection ends and the log says why.
                     if (!e) return;
                     try {
                       std::rethrow_exception(e);
                     } catch (const std::exception& x) {
                       Log(LogLevel::kError, "connection_failed").Reason(x.what());
                     }
                   });
  }
}

// The verifier of the configured secret files; null without any (dev mode).
Result<std::shared_ptr<const TokenVerifier>> LoadVerifier(const AuthOptions& o) {
  if (o.secret_file.empty()) {
    if (!o.previous_secret_file.empty()) {
      return InvalidArgument("--jwt-previous-secret-file needs --jwt-secret-file");
    }
    return std::shared_ptr<const TokenVerifier>();
  }
  TokenVerifier::Secrets secrets;
  QUIRE_ASSIGN_OR_RETURN(secrets.current, ReadSecretFile(o.secret_file));
  if (!o.previous_secret_file.empty()) {
    QUIRE_ASSIGN_OR_RETURN(secrets.previous, ReadSecretFile(o.previous_secret_file));
    secrets.previous_until_s =
        std::chrono::duration_cast<std::chrono::seconds>(
            std::chrono::system_clock::now().time_since_epoch() + o.previous_grace)
            .count();
  }
  return std::shared_ptr<const TokenVerifier>(
      std::make_shared<TokenVerifier>(std::move(secrets), o.leeway.count()));
}

}  // namespace

// ---- Sessions registry ----

void Sessions::Add(uint64_t id, std::weak_ptr<Session> session) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_[id] = std::move(session);
}
void Sessions::Remove(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  sessions_.erase(id);
}
std::shared_ptr<Session> Sessions::Get(uint64_t id) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = sessions_.find(id);
  return it == sessions_.end() ? nullptr : it->second.lock();
}
std::vector<std::shared_ptr<Session>> Sessions::All() {
  std::lock_guard<std::mutex> lock(mu_);
  std::vector<std::shared_ptr<Session>> out;
  for (auto& [id, weak] : sessions_) {
    if (auto s = weak.lock()) out.push_back(std::move(s));
  }
  return out;
}
size_t Sessions::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return sessions_.size();
}

// ---- Server ----

struct Server::Impl {
  explicit Impl(ServerOptions options)
      : io(options.io_threads > 0 ? options.io_threads
                                  : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()))),
        loaders(2),
        acceptor(io),
        work(asio::make_work_guard(io)) {
    ctx.options = std::move(options);
  }

  ServerContext ctx;
  // Before `io`: handlers still queued when it is destroyed hold sessions,
  // whose connection slots and meters use these.
  std::unique_ptr<Authenticator> auth;
  std::unique_ptr<Metrics> metrics;
  std::unique_ptr<UserBudgets> budgets;
  std::unique_ptr<AddressSlots> addresses;
  asio::io_context io;
  asio::thread_pool loaders;
  tcp::acceptor acceptor;
  asio::executor_work_guard<asio::io_context::executor_type> work;
  std::unique_ptr<storage::Store> store;
  std::unique_ptr<Agents> agents;
  std::unique_ptr<Rooms> rooms;
  std::vector<std::thread> threads;
  uint16_t port = 0;
  bool running = false;
};

Server::Server(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

Server::~Server() { Shutdown(); }

uint16_t Server::port() const { return impl_->port; }

Status Server::Start() {
  Impl& s = *impl_;
  const ServerOptions& o = s.ctx.options;
  QUIRE_ASSIGN_OR_RETURN(std::shared_ptr<const TokenVerifier> verifier, LoadVerifier(o.auth));
  {
    boost::system::error_code ec;
    const asio::ip::address address = asio::ip::make_address(o.address, ec);
    if (ec) return InvalidArgument("--address " + o.address + ": " + ec.message());
    if (!verifier && !address.is_loopback()) {
      return InvalidArgument(
          "dev mode (no --jwt-secret-file: anyone may read and write anything) listens on "
          "loopback only, not " + o.address + "; configure a secret (docs/operations.md)");
    }
  }
  std::error_code fs_ec;
  std::filesystem::create_directories(o.data_dir, fs_ec);
  if (fs_ec) return Status(StatusCode::kIoError, "creating " + o.data_dir + ": " + fs_ec.message());
  storage::StoreOptions store_options;
  store_options.durability = o.durability;
  // The document limit the server enforces is the CRDT's (--max-doc-bytes,
  // checked before a change is integrated). The store's own limit counts
  // the log's bytes, which grow faster than the document; if it refused an
  // append the room would hold a change it cannot store. So it is lifted
  // here: what loads is bounded by the CRDT limit, snapshot after snapshot.
  store_options.max_document_bytes = std::numeric_limits<uint64_t>::max();
  QUIRE_ASSIGN_OR_RETURN(s.store, storage::OpenRocksDbStore(o.data_dir + "/db", store_options));
  QUIRE_ASSIGN_OR_RETURN(s.agents, Agents::Open(o.data_dir));

  boost::system::error_code ec;
  const asio::ip::address address = asio::ip::make_address(o.address, ec);
  if (ec) return InvalidArgument("--address " + o.address + ": " + ec.message());
  const tcp::endpoint endpoint(address, o.port);
  s.acceptor.open(endpoint.protocol(), ec);
  if (!ec) s.acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) s.acceptor.bind(endpoint, ec);
  if (!ec) s.acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    return Status(StatusCode::kIoError,
                  "listening on " + o.address + ":" + std::to_string(o.port) + ": " + ec.message());
  }
  s.port = s.acceptor.local_endpoint().port();

  s.ctx.io = &s.io;
  s.ctx.loaders = &s.loaders;
  s.ctx.store = s.store.get();
  s.ctx.agents = s.agents.get();
  s.auth = std::make_unique<Authenticator>(verifier);
  s.metrics = std::make_unique<Metrics>();
  s.budgets = std::make_unique<UserBudgets>(o.limits.rates);
  s.addresses = std::make_unique<AddressSlots>(o.limits.max_conns_per_ip);
  s.ctx.auth = s.auth.get();
  s.ctx.metrics = s.metrics.get();
  s.ctx.budgets = s.budgets.get();
  s.ctx.addresses = s.addresses.get();
  s.rooms = std::make_unique<Rooms>(s.ctx);
  s.ctx.rooms = s.rooms.get();

  asio::co_spawn(s.acceptor.get_executor(), AcceptLoop(s.ctx, s.acceptor), asio::detached);
  const int n = o.io_threads > 0 ? o.io_threads
                                 : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  for (int i = 0; i < n; ++i) s.threads.emplace_back([&s] { s.io.run(); });
  s.running = true;
  if (!verifier) {
    Log(LogLevel::kWarn, "dev_mode")
        .Reason("no --jwt-secret-file: every client is anonymous with every right; "
                "listening on loopback only");
  }
  Log(LogLevel::kInfo, "listening")
      .Str("address", o.address)
      .Int("port", s.port)
      .Str("data", o.data_dir)
      .Str("auth", verifier ? "jwt" : "dev");
  return Status::Ok();
}

Status Server::Backup(const std::string& dir) {
  Impl& s = *impl_;
  if (!s.running) return Internal("the server is not running");
  std::error_code ec;
  if (std::filesystem::exists(dir, ec)) return InvalidArgument(dir + " exists already");
  std::filesystem::create_directories(dir, ec);
  if (ec) return Status(StatusCode::kIoError, "creating " + dir + ": " + ec.message());
  Status st = s.store->Checkpoint(dir + "/db");
  if (st.ok()) {
    std::filesystem::copy_file(s.ctx.options.data_dir + "/agent.key", dir + "/agent.key", ec);
    if (ec) st = Status(StatusCode::kIoError, "copying the agent key: " + ec.message());
  }
  if (!st.ok()) {
    Log(LogLevel::kError, "backup_failed").Str("dir", dir).Reason(st.message());
    return st;
  }
  Log(LogLevel::kInfo, "backup_done").Str("dir", dir);
  return Status::Ok();
}

Status Server::ReloadSecrets() {
  Impl& s = *impl_;
  if (!s.running || s.ctx.auth->dev_mode()) return InvalidArgument("no secrets to reload (dev mode)");
  Result<std::shared_ptr<const TokenVerifier>> verifier = LoadVerifier(s.ctx.options.auth);
  if (!verifier.ok()) {
    Log(LogLevel::kError, "secrets_reload_failed").Reason(verifier.status().message());
    return verifier.status();
  }
  s.ctx.auth->Replace(*verifier);
  Log(LogLevel::kInfo, "secrets_reloaded");
  return Status::Ok();
}

void Server::Shutdown() {
  Impl& s = *impl_;
  if (!s.running) return;
  s.running = false;
  s.ctx.stopping = true;
  asio::post(s.acceptor.get_executor(), [&s] {
    boost::system::error_code ignored;
    s.acceptor.close(ignored);
  });

  // 1. Sessions refuse new edits from here on. Once each has taken that
  //    in, nothing new reaches a room.
  {
    std::vector<std::shared_ptr<Session>> sessions = s.ctx.sessions.All();
    std::latch stopped(static_cast<std::ptrdiff_t>(sessions.size()));
    for (const auto& session : sessions) session->StopAccepting([&stopped] { stopped.count_down(); });
    stopped.wait();
  }
  // 2. Let every room run what sessions posted before that, then let the
  //    store make it durable and the rooms deliver the acks.
  const auto deadline = std::chrono::steady_clock::now() + kDrainDeadline;
  for (;;) {
    std::vector<std::shared_ptr<Room>> rooms = s.rooms->All();
    std::latch visited(static_cast<std::ptrdiff_t>(rooms.size()));
    std::atomic<bool> settled{true};
    for (const auto& room : rooms) {
      room->Visit([&](const RoomState* state) {
        if (state != nullptr && !state->Settled()) settled = false;
        visited.count_down();
      });
    }
    visited.wait();
    if (settled || std::chrono::steady_clock::now() > deadline) break;
    s.store->Flush();
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  // 3. Close every session once what is queued for it is written.
  for (const auto& session : s.ctx.sessions.All()) session->CloseAfterFlush(CloseCode::kGoingAway);
  const auto close_deadline = std::chrono::steady_clock::now() + kCloseDeadline;
  while (s.ctx.sessions.size() > 0 && std::chrono::steady_clock::now() < close_deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  s.work.reset();
  s.io.stop();
  for (std::thread& t : s.threads) t.join();
  s.threads.clear();
  s.loaders.join();
  s.store.reset();  // Waits for the writer; everything acked is already durable.
}

}  // namespace quire::server
