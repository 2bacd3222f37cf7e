// S6: cold opens. The documents are written through the server first (OT
// ops of --change-bytes each, --doc-bytes in all), then the server is
// restarted on the same data so that nothing is in its memory, and the
// documents are opened one after another: the time from `open` to
// `synced` is the open latency. They stay open, and the server's resident
// memory growth over the documents is the cost of a loaded idle document.
#include <algorithm>
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
#include "crdt/change_codec.h"
#include "crdt/text_doc.h"

namespace quire::loadgen {
namespace asio = boost::asio;

namespace {

constexpr int kSeeders = 16;
constexpr int kChannelsPerOpener = 50;  // Under the server's 64 open documents.

std::string DocName(const std::string& prefix, int i) { return prefix + "-" + std::to_string(i); }

// A thread running an io_context until Stop().
struct IoThread {
  IoThread() : guard(asio::make_work_guard(io)), thread([this] { io.run(); }) {}
  ~IoThread() { Stop(); }
  void Stop() {
    guard.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }
  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  std::thread thread;
};

// Writes documents first..last (step kSeeders) one after another over one
// connection: open, OT ops of `chunk` letters until `bytes`, close.
class Seeder {
 public:
  Seeder(asio::io_context& io, asio::ip::tcp::endpoint server, const Options& o,
         std::string prefix, int first, std::function<void(bool)> done)
      : o_(o), prefix_(std::move(prefix)), doc_(first), done_(std::move(done)) {
    SessionClient::Callbacks cb;
    cb.on_welcome = [this](SessionClient&, bool ok) { ok ? OpenNext() : Finish(false); };
    cb.on_message = [this](SessionClient&, server::ServerMessage& m, int64_t) {
      if (auto* s = std::get_if<server::SyncedMsg>(&m)) {
        seq_ = s->seq;
        agent_next_ = s->agent_next;
        length_ = 0;
        SendChunk();
      } else if (std::holds_alternative<server::ErrorMsg>(m)) {
        Finish(false);
      }
    };
    cb.on_ack = [this](SessionClient&, const server::AckMsg& a, int64_t) {
      seq_ = a.seq;
      agent_next_ = a.agent_next;
      SendChunk();
    };
    cb.on_closed = [this](SessionClient&) { Finish(false); };
    client_ = std::make_unique<SessionClient>(io, server, std::move(cb));
  }
  void Start() { client_->Start(); }
  void Close() { client_->Close(); }

 private:
  void OpenNext() {
    if (doc_ >= o_.docs) return Finish(true);
    server::OpenMsg open;
    open.channel = 0;
    open.doc = DocName(prefix_, doc_);
    open.mode = server::Mode::kOt;
    client_->Send(server::EncodeClientMessage(open));
  }
  void SendChunk() {
    if (length_ >= static_cast<uint64_t>(o_.doc_bytes)) {
      client_->Send(server::EncodeClientMessage(server::CloseMsg{0}));
      doc_ += kSeeders;
      return OpenNext();
    }
    const uint64_t n = std::min<uint64_t>(o_.change_bytes, o_.doc_bytes - length_);
    std::string text(n, 'a');
    for (uint64_t i = 0; i < n; ++i) text[i] = static_cast<char>('a' + (length_ + i) % 26);
    server::OpMsg m;
    m.ref = agent_next_;
    m.base_seq = seq_;
    m.agent_seq = agent_next_;
    m.op.Retain(length_).Insert(text, n);
    length_ += n;
    client_->Send(server::EncodeClientMessage(m));
  }
  void Finish(bool ok) {
    if (finished_) return;
    finished_ = true;
    done_(ok);
  }

  const Options& o_;
  std::string prefix_;
  int doc_;
  std::function<void(bool)> done_;
  std::unique_ptr<SessionClient> client_;
  uint64_t seq_ = 0, agent_next_ = 0, length_ = 0;
  bool finished_ = false;
};

// Waits for `n` reports.
class Latch {
 public:
  void Report(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    ++(ok ? ok_ : failed_);
    cv_.notify_all();
  }
  bool Wait(int n, std::chrono::seconds timeout) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_for(lock, timeout, [&] { return ok_ + failed_ >= n; });
    return ok_ >= n && failed_ == 0;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int ok_ = 0, failed_ = 0;
};

bool Seed(const Options& o, uint16_t port, const std::string& prefix) {
  IoThread t;
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), port);
  Latch latch;
  std::vector<std::unique_ptr<Seeder>> seeders;
  for (int k = 0; k < kSeeders; ++k) {
    seeders.push_back(std::make_unique<Seeder>(t.io, endpoint, o, prefix, k,
                                               [&latch](bool ok) { latch.Report(ok); }));
    asio::post(t.io, [s = seeders.back().get()] { s->Start(); });
  }
  const bool ok = latch.Wait(kSeeders, std::chrono::seconds(600));
  for (auto& s : seeders) asio::post(t.io, [p = s.get()] { p->Close(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  t.Stop();
  return ok;
}

// What one open brought: its latency and whether the text was whole.
struct Opened {
  int64_t latency_us = 0;
  bool complete = false;
};

// Opens every document, one after another, over connections of up to
// kChannelsPerOpener channels each, and keeps them open.
class Opener {
 public:
  Opener(asio::io_context& io, asio::ip::tcp::endpoint server, const Options& o, std::string prefix)
      : io_(io), server_(server), o_(o), prefix_(std::move(prefix)), results_(o.docs) {}

  // Connects, then opens; `done` when all are open (or one failed).
  void Start(std::function<void(bool)> done) {
    done_ = std::move(done);
    const int n = (o_.docs + kChannelsPerOpener - 1) / kChannelsPerOpener;
    for (int i = 0; i < n; ++i) {
      SessionClient::Callbacks cb;
      cb.on_welcome = [this, n](SessionClient&, bool ok) {
        if (!ok) return Finish(false);
        if (++welcomed_ == n) OpenNext();
      };
      cb.on_message = [this](SessionClient&, server::ServerMessage& m, int64_t now) {
        OnMessage(m, now);
      };
      cb.on_relay = [this](SessionClient&, const Relay& r, int64_t) {
        if (!r.is_op) catch_up_.push_back(std::string(r.payload));
      };
      clients_.push_back(std::make_unique<SessionClient>(io_, server_, std::move(cb)));
      clients_.back()->Start();
    }
  }
  void Close() {
    for (auto& c : clients_) c->Close();
  }
  const std::vector<Opened>& results() const { return results_; }

 private:
  void OpenNext() {
    if (next_ >= o_.docs) return Finish(true);
    server::OpenMsg open;
    open.channel = static_cast<uint16_t>(next_ % kChannelsPerOpener);
    open.doc = DocName(prefix_, next_);
    open.mode = o_.open_mode == "ot" ? server::Mode::kOt : server::Mode::kCrdt;
    snapshot_.clear();
    text_.clear();
    catch_up_.clear();
    sent_at_ = NowUs();
    clients_[static_cast<size_t>(next_ / kChannelsPerOpener)]->Send(
        server::EncodeClientMessage(open));
  }
  void OnMessage(server::ServerMessage& m, int64_t now) {
    if (auto* t = std::get_if<server::TextMsg>(&m)) {
      text_ = std::move(t->text);
    } else if (auto* s = std::get_if<server::SnapshotMsg>(&m)) {
      snapshot_ = std::move(s->bytes);
    } else if (std::holds_alternative<server::SyncedMsg>(m)) {
      Opened& r = results_[static_cast<size_t>(next_)];
      r.latency_us = now - sent_at_;
      r.complete = Length() == static_cast<size_t>(o_.doc_bytes);
      ++next_;
      OpenNext();
    } else if (std::holds_alternative<server::ErrorMsg>(m)) {
      Finish(false);
    }
  }
  // The opened document's length, from what came before `synced` (after
  // the latency was taken).
  size_t Length() const {
    if (o_.open_mode == "ot") return text_.size();
    crdt::TextDoc doc(crdt::AgentId{1});
    if (!snapshot_.empty()) {
      Result<crdt::TextDoc> d = crdt::TextDoc::Decode(snapshot_, crdt::AgentId{1});
      if (!d.ok()) return 0;
      doc = std::move(*d);
    }
    for (const std::string& bytes : catch_up_) {
      Result<crdt::Change> c = crdt::DecodeChange(bytes);
      if (!c.ok() || !doc.Integrate(*c).ok()) return 0;
    }
    return doc.size();
  }
  void Finish(bool ok) {
    if (finished_) return;
    finished_ = true;
    done_(ok);
  }

  asio::io_context& io_;
  asio::ip::tcp::endpoint server_;
  const Options& o_;
  std::string prefix_;
  std::vector<std::unique_ptr<SessionClient>> clients_;
  std::function<void(bool)> done_;
  std::vector<Opened> results_;
  int welcomed_ = 0;
  int next_ = 0;
  int64_t sent_at_ = 0;
  std::string snapshot_, text_;
  std::vector<std::string> catch_up_;
  bool finished_ = false;
};

double QuantileMs(std::vector<int64_t> v, double q) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())));
  return static_cast<double>(v[i]) / 1000.0;
}

}  // namespace

nlohmann::json RunColdOpens(const Options& o, ServerProcess* server, const std::string& data,
                            ServerRef* ref, bool* ok) {
  *ok = false;
  if (!server->started_here()) {
    return {{"error", "S6 restarts the server, so it needs one it starts itself"}};
  }
  const std::string prefix = "cold-" + std::to_string(::getpid());
  std::printf("quire-loadgen: S6: writing %d documents of %d bytes (%d-byte changes)\n", o.docs,
              o.doc_bytes, o.change_bytes);
  std::fflush(stdout);
  const int64_t seed_start = NowUs();
  if (!Seed(o, server->port(), prefix)) return {{"error", "writing the documents failed"}};
  const double seed_s = (NowUs() - seed_start) / 1e6;

  // Cold: a new server process on the same data.
  server->Stop();
  if (Status s = server->Start(o.server_binary, data, o.durability, o.server_args); !s.ok()) {
    return {{"error", "restarting the server: " + s.ToString()}};
  }
  ref->pid = server->pid();
  ref->port = server->port();
  std::this_thread::sleep_for(std::chrono::seconds(1));
  ProcSample before;
  SampleProcess(server->pid(), &before);

  IoThread t;
  const asio::ip::tcp::endpoint endpoint(asio::ip::make_address("127.0.0.1"), server->port());
  Opener opener(t.io, endpoint, o, prefix);
  Latch latch;
  asio::post(t.io, [&] { opener.Start([&latch](bool good) { latch.Report(good); }); });
  const bool opened = latch.Wait(1, std::chrono::seconds(600));
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ProcSample after;
  SampleProcess(server->pid(), &after);
  asio::post(t.io, [&] { opener.Close(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  t.Stop();

  std::vector<int64_t> latencies;
  int incomplete = 0;
  for (const Opened& r : opener.results()) {
    if (r.latency_us > 0) latencies.push_back(r.latency_us);
    if (r.latency_us > 0 && !r.complete) ++incomplete;
  }
  const double per_doc =
      (static_cast<double>(after.rss_bytes) - static_cast<double>(before.rss_bytes)) / o.docs;
  const double p50 = QuantileMs(latencies, 0.50), p99 = QuantileMs(latencies, 0.99);
  std::printf(
      "quire-loadgen: S6: %zu of %d opened (%s), open p50 %.2f ms, p95 %.2f ms, p99 %.2f ms, max "
      "%.2f ms; server RSS %.1f -> %.1f MiB: %.1f KiB per loaded document; %d incomplete\n",
      latencies.size(), o.docs, o.open_mode.c_str(), p50, QuantileMs(latencies, 0.95), p99,
      QuantileMs(latencies, 1.0), before.rss_bytes / 1048576.0, after.rss_bytes / 1048576.0,
      per_doc / 1024, incomplete);
  *ok = opened && incomplete == 0 && static_cast<int>(latencies.size()) == o.docs;
  return {{"docs", o.docs},
          {"doc_bytes", o.doc_bytes},
          {"change_bytes", o.change_bytes},
          {"open_mode", o.open_mode},
          {"seed_s", seed_s},
          {"opened", latencies.size()},
          {"incomplete", incomplete},
          {"open_ms",
           {{"p50", p50},
            {"p95", QuantileMs(latencies, 0.95)},
            {"p99", p99},
            {"max", QuantileMs(latencies, 1.0)}}},
          {"rss_before_bytes", before.rss_bytes},
          {"rss_after_bytes", after.rss_bytes},
          {"bytes_per_document", per_doc}};
}

}  // namespace quire::loadgen
