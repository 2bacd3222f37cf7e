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

bool IsOt(int i, double fraction) {
  // Spreads OT typists evenly: i is OT when floor((i+1)f) > floor(i f).
  return static_cast<int64_t>((i + 1) * fraction) > static_cast<int64_t>(i * fraction);
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
    std::map<Worker*, std::vector<std::pair<int64_t, Ticked*>>> due;
    for (size_t i = 0; i < typists.size(); ++i) {
      const int64_t phase = spec.burst ? 0
                                       : period_us * static_cast<int64_t>(i) /
                                             static_cast<int64_t>(typists.size());
      due[on[i]].emplace_back(start_us + phase, typists[i].get());
    }
    SleepUntilUs(start_us);
    result.server_sampled = SampleProcess(server_pid_, &result.server_start);
    result.self_start = SampleSelf();
    for (auto& [w, d] : due) w->StartTicking(std::move(d), period_us, stop_us);
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
