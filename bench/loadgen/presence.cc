// S5: presence. Clients in one room move their cursors N times a second
// (phases spread like the typists'). The document holds a text long
// enough that a client's k-th move can put its cursor at position k: a
// peer that is sent position k from that client knows which move it sees
// and when it was made. The server coalesces a room's presence every
// presence interval, so a peer sees only the newest move of each client
// per flush: the latency is that move's. At the end every client must
// have seen every other client's last position.
#include <atomic>
#include <cstdio>
#include <memory>
#include <unordered_map>

#include <boost/asio/ip/address.hpp>

#include "bench/loadgen/clients.h"
#include "bench/loadgen/report.h"
#include "bench/loadgen/scenarios.h"
#include "bench/loadgen/session_client.h"
#include "bench/loadgen/workers.h"

namespace quire::loadgen {
namespace asio = boost::asio;

namespace {

class PresenceClient;

// Who is who: session id -> client, once every client has its session.
using Sessions = std::unordered_map<uint64_t, const PresenceClient*>;

class PresenceClient : public Conn::Handler, public FrameVisitor, public Ticked {
 public:
  PresenceClient(asio::io_context& io, const asio::ip::tcp::endpoint& server, std::string doc,
                 size_t max_moves, ReadyCount* ready, ThreadStats* stats)
      : conn_(io, this), server_(server), doc_(std::move(doc)), times_(max_moves),
        max_moves_(max_moves), ready_(ready), stats_(stats) {}

  void Start() {
    conn_.Connect(server_, [this](const std::string& error) {
      if (!error.empty()) return Ready(false);
      server::HelloMsg hello;
      hello.client = "quire-loadgen/0.1";
      conn_.Send(server::EncodeClientMessage(hello));
    });
  }
  void Close() {
    closing_ = true;
    conn_.Close();
  }
  void SetSessions(const Sessions* sessions) { sessions_.store(sessions); }

  // One cursor move: to position k for the k-th move.
  void Tick(int64_t) override {
    if (!live_ || moves_ + 1 >= max_moves_) return;
    const uint64_t k = ++moves_;
    server::PresenceSetMsg m;
    m.channel = 0;
    m.seq = seq_;
    m.state.keys = presence::kCursor;
    m.state.cursor = server::WireAnchor(uint64_t{k});
    times_.Set(k, NowUs());
    last_sent_.store(k, std::memory_order_release);
    ++stats_->sent;
    conn_.Send(server::EncodeClientMessage(m));
  }

  uint64_t session() const { return session_.load(std::memory_order_acquire); }
  uint64_t last_sent() const { return last_sent_.load(std::memory_order_acquire); }
  const SendTimes& times() const { return times_; }
  // The last position seen of each other client (read after the run).
  const std::unordered_map<uint64_t, uint64_t>& seen() const { return seen_; }

 private:
  void Ready(bool ok) {
    if (reported_) return;
    reported_ = true;
    ready_->Report(ok);
  }
  void OnFrame(std::string_view frame, int64_t now_us) override {
    now_ = now_us;
    ++stats_->ws_messages;
    stats_->ws_bytes += frame.size();
    ParseServerFrame(frame, *this);
  }
  void OnClosed(const std::string&) override {
    if (live_ && !closing_) ++stats_->closed;
    live_ = false;
    Ready(false);
  }
  void OnRelay(const Relay&) override {}
  void OnAck(const server::AckMsg&) override {}
  void OnBadFrame(const std::string&) override { ++stats_->bad_frames; }
  void OnMessage(server::ServerMessage& m) override {
    if (auto* w = std::get_if<server::WelcomeMsg>(&m)) {
      session_.store(w->session, std::memory_order_release);
      server::OpenMsg open;
      open.channel = 0;
      open.doc = doc_;
      open.mode = server::Mode::kOt;
      conn_.Send(server::EncodeClientMessage(open));
    } else if (auto* s = std::get_if<server::SyncedMsg>(&m)) {
      seq_ = s->seq;
      live_ = true;
      Ready(true);
    } else if (auto* e = std::get_if<server::ErrorMsg>(&m)) {
      stats_->Error(static_cast<uint16_t>(e->code), e->message);
    }
  }
  bool WantsPresenceEntries() const override { return true; }
  void OnPresenceMessage(size_t bytes) override {
    ++stats_->presence_messages;
    stats_->presence_bytes += bytes;
  }
  void OnPresenceEntry(uint16_t, const PresenceEntry& e) override {
    if (e.left || !e.cursor || e.session == session()) return;
    ++stats_->deliveries;
    seen_[e.session] = *e.cursor;
    const Sessions* sessions = sessions_.load(std::memory_order_acquire);
    auto it = sessions != nullptr ? sessions->find(e.session) : Sessions::const_iterator();
    const int64_t sent =
        sessions != nullptr && it != sessions->end() ? it->second->times().Get(*e.cursor) : 0;
    if (sent == 0) {
      ++stats_->untimed;
    } else {
      stats_->delivery.Add(now_ - sent);
    }
  }

  Conn conn_;
  asio::ip::tcp::endpoint server_;
  std::string doc_;
  SendTimes times_;
  const size_t max_moves_;
  ReadyCount* ready_;
  ThreadStats* stats_;
  std::atomic<const Sessions*> sessions_{nullptr};
  std::atomic<uint64_t> session_{0};
  std::atomic<uint64_t> last_sent_{0};
  uint64_t moves_ = 0;
  uint64_t seq_ = 0;
  int64_t now_ = 0;
  bool live_ = false;
  bool reported_ = false;
  bool closing_ = false;
  std::unordered_map<uint64_t, uint64_t> seen_;
};

// Writes `length` letters into `doc` (one OT op) so that cursors have room.
bool SeedText(uint16_t port, const std::string& doc, size_t length) {
  asio::io_context io;
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  bool done = false;
  SessionClient::Callbacks cb;
  cb.on_welcome = [&](SessionClient& c, bool ok) {
    if (!ok) return io.stop();
    server::OpenMsg open;
    open.doc = doc;
    open.mode = server::Mode::kOt;
    c.Send(server::EncodeClientMessage(open));
  };
  cb.on_message = [&](SessionClient& c, server::ServerMessage& m, int64_t) {
    if (auto* s = std::get_if<server::SyncedMsg>(&m)) {
      server::OpMsg op;
      op.base_seq = s->seq;
      op.agent_seq = s->agent_next;
      op.op.Insert(std::string(length, 'p'), length);
      c.Send(server::EncodeClientMessage(op));
    } else if (std::holds_alternative<server::ErrorMsg>(m)) {
      io.stop();
    }
  };
  cb.on_ack = [&](SessionClient& c, const server::AckMsg&, int64_t) {
    done = true;
    c.Close();
  };
  cb.on_closed = [&](SessionClient&) { io.stop(); };
  SessionClient client(io, endpoint, cb);
  client.Start();
  io.run_for(std::chrono::seconds(30));
  return done;
}

}  // namespace

RunResult RunPresence(const Options& o, const ServerRef& server) {
  RunResult result;
  result.spec.label = "S5";
  result.spec.clients = o.clients;
  result.spec.rooms = 1;
  result.spec.rate = o.rate;
  result.spec.seconds = o.seconds;
  result.spec.ot_fraction = 1;
  result.spec.threads = o.threads;
  const std::string doc = "presence-" + std::to_string(::getpid()) + "-" + std::to_string(NowUs());
  const size_t max_moves = static_cast<size_t>(o.rate * o.seconds) + 64;
  if (!SeedText(server.port, doc, max_moves + 1)) {
    result.failure = "could not write the document's text";
    return result;
  }
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), server.port);
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < std::max(1, o.threads); ++i) workers.push_back(std::make_unique<Worker>());
  ReadyCount ready;
  std::vector<std::unique_ptr<PresenceClient>> clients;
  std::vector<PresenceClient*> ptrs;
  std::vector<Worker*> on;
  for (int i = 0; i < o.clients; ++i) {
    Worker* w = workers[static_cast<size_t>(i) % workers.size()].get();
    clients.push_back(
        std::make_unique<PresenceClient>(w->io, endpoint, doc, max_moves, &ready, &w->stats));
    ptrs.push_back(clients.back().get());
    on.push_back(w);
  }
  const int64_t connect_start = NowUs();
  const int failed = StartAll(ptrs, on, ready, 200);
  result.connect_s = (NowUs() - connect_start) / 1e6;
  Sessions sessions;
  for (const auto& c : clients) sessions.emplace(c->session(), c.get());
  for (auto& c : clients) c->SetSessions(&sessions);

  if (failed > 0) {
    result.failure = std::to_string(failed) + " clients could not connect and open";
  } else {
    const auto period_us = static_cast<int64_t>(1e6 / o.rate);
    const int64_t start_us = NowUs() + 200'000;
    const int64_t stop_us = start_us + static_cast<int64_t>(o.seconds * 1e6);
    std::map<Worker*, std::vector<std::pair<int64_t, Ticked*>>> due;
    for (size_t i = 0; i < clients.size(); ++i) {
      const int64_t phase =
          o.burst ? 0 : period_us * static_cast<int64_t>(i) / static_cast<int64_t>(clients.size());
      due[on[i]].emplace_back(start_us + phase, clients[i].get());
    }
    SleepUntilUs(start_us);
    result.server_sampled = SampleProcess(server.pid, &result.server_start);
    result.self_start = SampleSelf();
    for (auto& [w, d] : due) w->StartTicking(std::move(d), period_us, stop_us);
    SleepUntilUs(stop_us);
    result.typing_s = o.seconds;
    // The last flush goes out within a presence interval (50 ms by default).
    std::this_thread::sleep_for(std::chrono::seconds(1));
    result.measured_s = (NowUs() - start_us) / 1e6;
    SampleProcess(server.pid, &result.server_end);
    result.self_end = SampleSelf();
  }
  for (size_t i = 0; i < clients.size(); ++i) {
    asio::post(on[i]->io, [c = clients[i].get()] { c->Close(); });
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (auto& w : workers) w->Stop();
  for (auto& w : workers) Merge(w->stats, &result.totals);
  // Every client saw every other's last position.
  if (result.failure.empty()) {
    int stale = 0;
    for (const auto& c : clients) {
      for (const auto& other : clients) {
        if (other.get() == c.get()) continue;
        auto it = c->seen().find(other->session());
        if (it == c->seen().end() || it->second != other->last_sent()) ++stale;
      }
    }
    if (stale > 0) {
      result.failure = "not converged: " + std::to_string(stale) +
                       " (client, peer) pairs did not see the peer's last cursor";
    }
  }
  clients.clear();
  workers.clear();
  const ThreadStats& t = result.totals;
  uint64_t errors = t.bad_frames + t.closed;
  for (const auto& [code, n] : t.errors) errors += n;
  if (result.failure.empty() && errors > 0) {
    result.failure = std::to_string(errors) + " errors, bad frames or lost connections";
  }
  result.ok = result.failure.empty();
  return result;
}

}  // namespace quire::loadgen
