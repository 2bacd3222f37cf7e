#include "bench/loadgen/runner.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <condition_variable>
#include <map>
#include <set>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>

namespace quire::loadgen {
namespace asio = boost::asio;

namespace {

// One loadgen thread: its io_context, its counters and its typists' clock.
struct Worker {
  Worker() : guard(asio::make_work_guard(io)), timer(io) {
    thread = std::thread([this] { io.run(); });
  }
  ~Worker() { Stop(); }
  void Stop() {
    guard.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }

  // Ticks each typist at its due times until `stop_us`.
  void StartTyping(std::vector<std::pair<int64_t, LoadClient*>> due, int64_t period_us,
                   int64_t stop_us) {
    asio::post(io, [this, due = std::move(due), period_us, stop_us]() mutable {
      heap_ = std::move(due);
      period_ = period_us;
      stop_ = stop_us;
      std::make_heap(heap_.begin(), heap_.end(), Later);
      Arm();
    });
  }

  asio::io_context io;
  asio::executor_work_guard<asio::io_context::executor_type> guard;
  asio::steady_timer timer;
  std::thread thread;
  ThreadStats stats;

 private:
  static bool Later(const std::pair<int64_t, LoadClient*>& a,
                    const std::pair<int64_t, LoadClient*>& b) {
    return a.first > b.first;
  }
  void Arm() {
    if (heap_.empty()) return;
    timer.expires_at(std::chrono::steady_clock::time_point(std::chrono::microseconds(heap_.front().first)));
    timer.async_wait([this](const boost::system::error_code& ec) {
      if (!ec) Fire();
    });
  }
  void Fire() {
    const int64_t now = NowUs();
    while (!heap_.empty() && heap_.front().first <= now) {
      std::pop_heap(heap_.begin(), heap_.end(), Later);
      auto [at, client] = heap_.back();
      heap_.pop_back();
      client->Tick(now);
      if (at + period_ < stop_) {
        heap_.emplace_back(at + period_, client);
        std::push_heap(heap_.begin(), heap_.end(), Later);
      }
    }
    Arm();
  }

  std::vector<std::pair<int64_t, LoadClient*>> heap_;
  int64_t period_ = 0, stop_ = 0;
};

void Merge(const ThreadStats& from, ThreadStats* to) {
  to->delivery.Merge(from.delivery);
  to->ack.Merge(from.ack);
  to->deliveries += from.deliveries;
  to->untimed += from.untimed;
  to->acks += from.acks;
  to->sent += from.sent;
  to->typed += from.typed;
  to->needs += from.needs;
  to->bad_frames += from.bad_frames;
  to->order_errors += from.order_errors;
  to->closed += from.closed;
  for (const auto& [code, n] : from.errors) to->errors[code] += n;
}

// Counts clients that reached `synced` (or failed to).
class ReadyCount {
 public:
  void Report(bool ok) {
    std::lock_guard<std::mutex> lock(mu_);
    ++(ok ? ok_ : failed_);
    cv_.notify_all();
  }
  // Waits until `n` reported or the deadline; returns how many failed
  // (the rest of n counting as failed when it timed out).
  int Wait(int n, std::chrono::steady_clock::time_point deadline) {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait_until(lock, deadline, [&] { return ok_ + failed_ >= n; });
    const int missing = std::max(0, n - ok_ - failed_);
    const int failed = failed_ + missing;
    ok_ = failed_ = 0;
    return failed;
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  int ok_ = 0, failed_ = 0;
};

bool IsOt(int i, double fraction) {
  // Spreads OT typists evenly: i is OT when floor((i+1)f) > floor(i f).
  return static_cast<int64_t>((i + 1) * fraction) > static_cast<int64_t>(i * fraction);
}

// Starts `clients` (already placed on their workers) in waves of `wave`,
// waiting for each wave, so that thousands of connects do not pile up.
int StartAll(const std::vector<LoadClient*>& clients, const std::vector<Worker*>& on,
             ReadyCount& ready, size_t wave) {
  int failed = 0;
  for (size_t i = 0; i < clients.size(); i += wave) {
    const size_t end = std::min(clients.size(), i + wave);
    for (size_t j = i; j < end; ++j) {
      LoadClient* c = clients[j];
      asio::post(on[j]->io, [c] { c->Start(); });
    }
    failed += ready.Wait(static_cast<int>(end - i),
                         std::chrono::steady_clock::now() + std::chrono::seconds(30));
  }
  return failed;
}

// Every typist of a room received the same sequence as its mode's keeper
// (digest and count), and every keeper holds the server's text. Returns
// what differs, or "".
std::string CheckConvergence(const std::vector<std::unique_ptr<LoadClient>>& checkers,
                             const std::vector<std::unique_ptr<LoadClient>>& typists) {
  std::map<std::pair<const RoomShared*, Mode>, const LoadClient*> keeper_of;
  for (const auto& t : typists) {
    if (t->keeper()) keeper_of[{t->room(), t->mode()}] = t.get();
  }
  std::map<const RoomShared*, std::string> server_text;
  for (const auto& c : checkers) server_text[c->room()] = c->Text();
  int differ = 0;
  std::string first;
  auto note = [&](const std::string& what) {
    if (differ++ == 0) first = what;
  };
  for (const auto& [key, keeper] : keeper_of) {
    const std::string text = keeper->Text();
    const std::string& want = server_text[key.first];
    if (text != want) {
      note(key.first->doc + ": the " + (key.second == Mode::kOt ? "OT" : "CRDT") +
           " keeper holds " + std::to_string(text.size()) + " bytes, the server " +
           std::to_string(want.size()) + " (or they differ)");
    }
  }
  for (const auto& t : typists) {
    const LoadClient* k = keeper_of[{t->room(), t->mode()}];
    if (t->failed() || k == nullptr || t->digest() != k->digest() ||
        t->digest_count() != k->digest_count()) {
      note(t->room()->doc + ": a typist received " + std::to_string(t->digest_count()) +
           " messages, its keeper " + std::to_string(k ? k->digest_count() : 0) +
           (t->failed() ? " (the typist failed)" : " (or their contents differ)"));
    }
  }
  if (differ == 0) return "";
  return "not converged: " + std::to_string(differ) + " clients differ; first: " + first;
}

void SleepUntilUs(int64_t us) {
  const int64_t now = NowUs();
  if (us > now) std::this_thread::sleep_for(std::chrono::microseconds(us - now));
}

// Waits until every typist is acknowledged and every one is at its room's
// head; sets *changes to the sum of the heads. false at the deadline.
bool Settle(const std::vector<std::unique_ptr<LoadClient>>& typists, int64_t deadline_us,
            uint64_t* changes) {
  while (NowUs() < deadline_us) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    const bool idle = std::all_of(typists.begin(), typists.end(),
                                  [](const auto& c) { return c->idle(); });
    if (!idle) continue;
    std::map<const RoomShared*, uint64_t> head;
    for (const auto& c : typists) head[c->room()] = std::max(head[c->room()], c->last_seq());
    const bool at_head = std::all_of(typists.begin(), typists.end(), [&](const auto& c) {
      return c->failed() || c->last_seq() == head[c->room()];
    });
    if (at_head) {
      *changes = 0;
      for (const auto& [room, h] : head) *changes += h;
      return true;
    }
  }
  return false;
}

}  // namespace

RunResult Runner::Run(const RunSpec& spec) {
  RunResult result;
  result.spec = spec;
  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < std::max(1, spec.threads); ++i) workers.push_back(std::make_unique<Worker>());
  ReadyCount ready;
  RunContext ctx;
  ctx.server = server_;
  ctx.on_ready = [&ready](bool ok) { ready.Report(ok); };

  std::vector<std::unique_ptr<RoomShared>> rooms;
  for (int r = 0; r < spec.rooms; ++r) {
    rooms.push_back(std::make_unique<RoomShared>());
    rooms.back()->doc = spec.doc_prefix + "-" + std::to_string(r);
  }
  // Typist i is in room i % R; modes alternate within each room (i / R is
  // its place there); the first of each mode in a room is its keeper.
  const size_t max_ops = static_cast<size_t>(spec.rate * spec.seconds * 2) + 64;
  std::vector<std::unique_ptr<LoadClient>> typists;
  std::vector<Worker*> on;
  std::set<std::pair<int, Mode>> kept;
  for (int i = 0; i < spec.clients; ++i) {
    const int r = i % spec.rooms;
    const Mode mode = IsOt(i / spec.rooms, spec.ot_fraction) ? Mode::kOt : Mode::kCrdt;
    const bool keeper = kept.insert({r, mode}).second;
    Worker* w = workers[static_cast<size_t>(i) % workers.size()].get();
    typists.push_back(MakeTypist(w->io, mode, keeper, rooms[static_cast<size_t>(r)].get(), &ctx,
                                 &w->stats, max_ops, 1000 + static_cast<uint64_t>(i)));
    on.push_back(w);
  }

  // Connect: keepers first (the CRDT typists build on their mirrors).
  const int64_t connect_start = NowUs();
  std::vector<LoadClient*> first, rest;
  std::vector<Worker*> first_on, rest_on;
  for (size_t i = 0; i < typists.size(); ++i) {
    (typists[i]->keeper() ? first : rest).push_back(typists[i].get());
    (typists[i]->keeper() ? first_on : rest_on).push_back(on[i]);
  }
  int failed = StartAll(first, first_on, ready, 200);
  failed += StartAll(rest, rest_on, ready, 200);
  result.connect_s = (NowUs() - connect_start) / 1e6;
  if (failed > 0) result.failure = std::to_string(failed) + " clients could not connect and open";

  std::vector<std::pair<uint64_t, const SendTimes*>> by_agent;
  for (const auto& t : typists) by_agent.emplace_back(t->agent(), t->send_times());
  const Authors authors(by_agent);
  ctx.authors.store(&authors, std::memory_order_release);

  // Type: typist i starts at phase i/C of the period (or all at 0).
  if (result.failure.empty()) {
    const auto period_us = static_cast<int64_t>(1e6 / spec.rate);
    const int64_t start_us = NowUs() + 200'000;
    const int64_t stop_us = start_us + static_cast<int64_t>(spec.seconds * 1e6);
    std::map<Worker*, std::vector<std::pair<int64_t, LoadClient*>>> due;
    for (size_t i = 0; i < typists.size(); ++i) {
      const int64_t phase = spec.burst ? 0
                                       : period_us * static_cast<int64_t>(i) /
                                             static_cast<int64_t>(typists.size());
      due[on[i]].emplace_back(start_us + phase, typists[i].get());
    }
    SleepUntilUs(start_us);
    result.server_sampled = SampleProcess(server_pid_, &result.server_start);
    result.self_start = SampleSelf();
    for (auto& [w, d] : due) w->StartTyping(std::move(d), period_us, stop_us);
    SleepUntilUs(stop_us);
    result.typing_s = spec.seconds;
    const bool settled =
        Settle(typists, NowUs() + static_cast<int64_t>(spec.settle_timeout_s * 1e6), &result.changes);
    result.measured_s = (NowUs() - start_us) / 1e6;
    SampleProcess(server_pid_, &result.server_end);
    result.self_end = SampleSelf();
    if (!settled) {
      result.failure = "did not settle within " + std::to_string(spec.settle_timeout_s) + " s";
    }
  }

  // The server's text of each room, read by a fresh client.
  std::vector<std::unique_ptr<LoadClient>> checkers;
  if (result.failure.empty()) {
    std::vector<LoadClient*> ptrs;
    for (auto& room : rooms) {
      checkers.push_back(MakeChecker(workers[0]->io, room.get(), &ctx, &workers[0]->stats));
      ptrs.push_back(checkers.back().get());
    }
    const std::vector<Worker*> checker_on(checkers.size(), workers[0].get());
    result.failure = StartAll(ptrs, checker_on, ready, 200) > 0
                         ? "could not read the server's text"
                         : CheckConvergence(checkers, typists);
  }

  for (size_t i = 0; i < typists.size(); ++i) {
    asio::post(on[i]->io, [c = typists[i].get()] { c->Close(); });
  }
  for (auto& c : checkers) asio::post(workers[0]->io, [p = c.get()] { p->Close(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  for (auto& w : workers) w->Stop();
  for (auto& w : workers) Merge(w->stats, &result.totals);
  checkers.clear();
  typists.clear();
  workers.clear();
  const ThreadStats& t = result.totals;
  if (result.failure.empty() && (t.order_errors > 0 || t.bad_frames > 0 || t.closed > 0)) {
    result.failure = std::to_string(t.order_errors) + " messages out of seq order, " +
                     std::to_string(t.bad_frames) + " bad frames, " + std::to_string(t.closed) +
                     " connections lost";
  }
  result.ok = result.failure.empty();
  return result;
}

}  // namespace quire::loadgen
