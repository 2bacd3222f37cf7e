// What the server counts, for GET /metrics (Prometheus text format) and the
// live statistics stream GET /api/stats/events (docs/operations.md,
// "Metrics"). prometheus-cpp's core registry holds the counters and
// histograms; values that already live elsewhere (sessions, rooms, the
// store's write counts, the process's CPU and memory) are read when
// scraped.
//
// The hot path (a message in or out) costs one atomic add per counter:
// every labelled series is created up front, so no lookup or lock is taken.
//
// Thread safety: every method may be called from any thread.
#ifndef QUIRE_SERVER_METRICS_H_
#define QUIRE_SERVER_METRICS_H_

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "server/frame.h"

namespace quire::server {

// Values read at scrape time from elsewhere in the server.
struct ScrapeInputs {
  size_t sessions = 0;
  size_t rooms_loaded = 0;  // Documents in memory.
  size_t rooms_active = 0;  // Of those, with someone in them.
  uint64_t store_writes = 0;  // Committed write batches.
  bool store_sync = true;     // Each write is an fsync.
  uint64_t store_changes = 0;
  uint64_t snapshots = 0;
};

// Ack latencies in fine logarithmic buckets, for quantiles over a window
// (Prometheus histograms have a dozen buckets: too coarse for a p99).
class LatencyBuckets {
 public:
  static constexpr size_t kBuckets = 96;
  void Add(double seconds);
  std::array<uint64_t, kBuckets> Snapshot() const;
  // The q-quantile (0..1) of the counts `now - before`, in milliseconds;
  // nullopt when no sample fell in between.
  static std::optional<double> QuantileMs(const std::array<uint64_t, kBuckets>& now,
                                          const std::array<uint64_t, kBuckets>& before, double q);

 private:
  std::array<std::atomic<uint64_t>, kBuckets> counts_{};
};

class Metrics {
 public:
  Metrics();
  ~Metrics();

  void MessageIn(uint8_t type, size_t bytes);
  void MessageOut(uint8_t type, size_t bytes, uint64_t count = 1);
  // An error sent (protocol code) or an HTTP request refused with one.
  void Rejected(uint16_t code);
  void Closed(uint16_t close_code);
  void AckLatency(double seconds);
  void StorageWrite(double seconds);
  void Eviction();
  void SseCutOff();
  void ConnectionRefused();  // Over the per-address limit.

  // Open TCP connections (HTTP, WebSocket and SSE alike), and SSE streams.
  std::atomic<int64_t> connections{0};
  std::atomic<int64_t> sse_streams{0};

  uint64_t acks() const { return acks_.load(std::memory_order_relaxed); }
  const LatencyBuckets& ack_buckets() const { return ack_buckets_; }

  // The whole exposition, in Prometheus text format 0.0.4.
  std::string Scrape(const ScrapeInputs& in);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  std::atomic<uint64_t> acks_{0};
  LatencyBuckets ack_buckets_;
};

// One session's share of the metrics: counts its messages and times each
// change or op from its arrival to its ack (or its refusal).
class SessionMeter {
 public:
  explicit SessionMeter(Metrics* metrics) : metrics_(metrics) {}
  void Received(uint8_t type, size_t bytes) {
    if (metrics_) metrics_->MessageIn(type, bytes);
  }
  // A change or op `ref` on `channel` arrived.
  void EditArrived(uint16_t channel, uint64_t ref);
  // A frame is queued for the client: counted; an ack stops its clock.
  void Sent(const Frame& frame);
  void Refused(uint16_t code, std::optional<uint16_t> channel, std::optional<uint64_t> ref);

 private:
  struct Pending {
    uint16_t channel;
    uint64_t ref;
    std::chrono::steady_clock::time_point at;
  };
  Metrics* metrics_;
  std::mutex mu_;
  // At most kMaxPending, oldest first; nearly always one or two. A vector:
  // an empty std::deque allocates ~600 bytes, per connection.
  std::vector<Pending> pending_;
};

// The type and, for an ack, the channel and ref of a server frame, read
// from its bytes (tests).
struct FrameInfo {
  uint8_t type = 0;
  std::optional<uint16_t> channel;
  std::optional<uint64_t> ref;
};
FrameInfo InspectFrame(const Frame& frame);

}  // namespace quire::server

#endif  // QUIRE_SERVER_METRICS_H_
