// S4: idle connections, each with one document open. The server's resident
// memory is sampled before any connection and at checkpoints while they
// are opened (in waves), after a pause for the server to settle; the cost
// of a connection is the growth divided by the connections.
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <memory>
#include <mutex>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/post.hpp>

#include "bench/loadgen/scenarios.h"
#include "bench/loadgen/server_process.h"
#include "bench/loadgen/session_client.h"

namespace quire::loadgen {
namespace asio = boost::asio;

namespace {

constexpr size_t kWave = 500;

}  // namespace

nlohmann::json RunIdleConnections(const Options& o, const ServerRef& server, bool* ok) {
  *ok = false;
  const int n = o.connections;
  const int rooms = std::max(1, o.rooms);
  const std::string prefix = "idle-" + std::to_string(::getpid()) + "-" + std::to_string(NowUs());
  asio::io_context io;
  auto guard = asio::make_work_guard(io);
  std::thread thread([&io] { io.run(); });
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), server.port);

  std::mutex mu;
  std::condition_variable cv;
  int opened = 0, failed = 0;
  auto report = [&](bool good) {
    std::lock_guard<std::mutex> lock(mu);
    ++(good ? opened : failed);
    cv.notify_all();
  };
  SessionClient::Callbacks cb;
  cb.on_welcome = [&](SessionClient& c, bool good) {
    if (!good) return report(false);
    server::OpenMsg open;
    open.channel = 0;
    open.doc = prefix + "-" + std::to_string(c.id % static_cast<size_t>(rooms));
    open.mode = (c.id % 2 == 0) ? server::Mode::kCrdt : server::Mode::kOt;
    c.Send(server::EncodeClientMessage(open));
  };
  cb.on_message = [&](SessionClient&, server::ServerMessage& m, int64_t) {
    if (std::holds_alternative<server::SyncedMsg>(m)) report(true);
    if (std::holds_alternative<server::ErrorMsg>(m)) report(false);
  };

  std::this_thread::sleep_for(std::chrono::seconds(1));
  ProcSample base;
  SampleProcess(server.pid, &base);
  std::printf("quire-loadgen: S4: server RSS %.1f MiB before any connection\n",
              base.rss_bytes / 1048576.0);
  nlohmann::json points = nlohmann::json::array();
  std::vector<std::unique_ptr<SessionClient>> clients;
  std::vector<int> checkpoints = {1000, 2000, 5000, n};
  const auto started = std::chrono::steady_clock::now();
  for (int i = 0; i < n && failed == 0;) {
    const int end = std::min<int>(n, i + static_cast<int>(kWave));
    for (int j = i; j < end; ++j) {
      clients.push_back(std::make_unique<SessionClient>(io, endpoint, cb));
      clients.back()->id = static_cast<size_t>(j);
      asio::post(io, [c = clients.back().get()] { c->Start(); });
    }
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait_for(lock, std::chrono::seconds(60), [&] { return opened + failed >= end; });
    }
    i = end;
    if (std::find(checkpoints.begin(), checkpoints.end(), i) != checkpoints.end()) {
      std::this_thread::sleep_for(std::chrono::seconds(2));
      ProcSample s;
      SampleProcess(server.pid, &s);
      const double per = (static_cast<double>(s.rss_bytes) - base.rss_bytes) / i;
      std::printf("quire-loadgen: S4: %6d connections open: server RSS %7.1f MiB, %6.0f bytes each\n",
                  i, s.rss_bytes / 1048576.0, per);
      std::fflush(stdout);
      points.push_back({{"connections", i}, {"rss_bytes", s.rss_bytes}, {"bytes_per_connection", per}});
    }
  }
  const double open_s =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  int good, bad;
  {
    std::lock_guard<std::mutex> lock(mu);
    good = opened;
    bad = failed;
  }
  for (auto& c : clients) asio::post(io, [p = c.get()] { p->Close(); });
  std::this_thread::sleep_for(std::chrono::seconds(2));
  guard.reset();
  io.stop();
  thread.join();
  clients.clear();
  *ok = bad == 0 && good == n;
  return {{"connections", n},
          {"rooms", rooms},
          {"opened", good},
          {"failed", bad},
          {"seconds_to_open", open_s},
          {"rss_before_bytes", base.rss_bytes},
          {"points", points}};
}

}  // namespace quire::loadgen
