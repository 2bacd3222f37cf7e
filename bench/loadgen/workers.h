// The load generator's threads: each runs one io_context (its clients'
// connections, so a client needs no lock) and ticks its clients on a
// schedule; and the count of clients that are ready.
//
// Thread safety: Worker::StartTicking and Stop from the controlling
// thread; ReadyCount from any.
#ifndef QUIRE_BENCH_LOADGEN_WORKERS_H_
#define QUIRE_BENCH_LOADGEN_WORKERS_H_

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/loadgen/conn.h"
#include "bench/loadgen/stats.h"

namespace quire::loadgen {

// Something a Worker calls at its due times (a keystroke, a cursor move).
class Ticked {
 public:
  virtual ~Ticked() = default;
  virtual void Tick(int64_t now_us) = 0;
};

// One loadgen thread: its io_context, its counters and its clients' clock.
struct Worker {
  Worker() : guard(boost::asio::make_work_guard(io)), timer(io) {
    thread = std::thread([this] { io.run(); });
  }
  ~Worker() { Stop(); }
  void Stop() {
    guard.reset();
    io.stop();
    if (thread.joinable()) thread.join();
  }

  // Ticks each client at its due time, then every period until `stop_us`.
  void StartTicking(std::vector<std::pair<int64_t, Ticked*>> due, int64_t period_us,
                   int64_t stop_us) {
    boost::asio::post(io, [this, due = std::move(due), period_us, stop_us]() mutable {
      heap_ = std::move(due);
      period_ = period_us;
      stop_ = stop_us;
      std::make_heap(heap_.begin(), heap_.end(), Later);
      Arm();
    });
  }

  boost::asio::io_context io;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard;
  boost::asio::steady_timer timer;
  std::thread thread;
  ThreadStats stats;

 private:
  static bool Later(const std::pair<int64_t, Ticked*>& a,
                    const std::pair<int64_t, Ticked*>& b) {
    return a.first > b.first;
  }
  void Arm() {
    if (heap_.empty()) return;
    timer.expires_at(
        std::chrono::steady_clock::time_point(std::chrono::microseconds(heap_.front().first)));
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

  std::vector<std::pair<int64_t, Ticked*>> heap_;
  int64_t period_ = 0, stop_ = 0;
};

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

// Starts `clients` (already placed on their workers) in waves of `wave`,
// waiting for each wave, so that thousands of connects do not pile up.
template <typename Client>
int StartAll(const std::vector<Client*>& clients, const std::vector<Worker*>& on,
             ReadyCount& ready, size_t wave) {
  int failed = 0;
  for (size_t i = 0; i < clients.size(); i += wave) {
    const size_t end = std::min(clients.size(), i + wave);
    for (size_t j = i; j < end; ++j) {
      Client* c = clients[j];
      boost::asio::post(on[j]->io, [c] { c->Start(); });
    }
    failed += ready.Wait(static_cast<int>(end - i),
                         std::chrono::steady_clock::now() + std::chrono::seconds(30));
  }
  return failed;
}

inline void SleepUntilUs(int64_t us) {
  const int64_t now = NowUs();
  if (us > now) std::this_thread::sleep_for(std::chrono::microseconds(us - now));
}

}  // namespace quire::loadgen

#endif  // QUIRE_BENCH_LOADGEN_WORKERS_H_
