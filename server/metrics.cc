#include "server/metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <cmath>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace quire::server {
namespace {

constexpr size_t kMaxPending = 1024;

// docs/protocol.md's message names, for the `type` label: what clients
// send, and what the server sends.
constexpr std::pair<uint8_t, const char*> kInTypes[] = {
    {1, "hello"},  {4, "ping"},  {5, "pong"}, {6, "refresh"},       {16, "open"},
    {18, "close"}, {22, "change"}, {23, "op"}, {48, "presence_set"}, {50, "broadcast"},
};
constexpr std::pair<uint8_t, const char*> kOutTypes[] = {
    {2, "welcome"},   {3, "error"},  {4, "ping"},          {5, "pong"},
    {7, "refreshed"}, {17, "opened"}, {19, "snapshot"},    {20, "text"},
    {21, "synced"},   {24, "ack"},   {25, "remote_change"}, {26, "remote_op"},
    {27, "need"},     {49, "presence"}, {51, "broadcasted"},
};

constexpr uint16_t kCodes[] = {100, 101, 102, 103, 104, 105, 200, 201, 202, 203, 204, 205, 206,
                               207, 208, 209, 300, 301, 302, 400, 401, 402, 403, 404, 500, 501};
constexpr uint16_t kCloseCodes[] = {1000, 1001, 1009, 1011, 4000, 4001, 4002,
                                    4003, 4004, 4005, 4006, 4007, 4008};

// Bucket i covers latencies up to kFirst * kFactor^i seconds.
constexpr double kFirst = 10e-6;
constexpr double kFactor = 1.2;

// Reads an unsigned msgpack integer at *p (any width), advancing it.
std::optional<uint64_t> ReadUint(const unsigned char*& p, const unsigned char* end) {
  if (p >= end) return std::nullopt;
  const unsigned char lead = *p++;
  if (lead < 0x80) return lead;
  size_t width = lead == 0xcc ? 1 : lead == 0xcd ? 2 : lead == 0xce ? 4 : lead == 0xcf ? 8 : 0;
  if (width == 0 || static_cast<size_t>(end - p) < width) return std::nullopt;
  uint64_t v = 0;
  for (size_t i = 0; i < width; ++i) v = (v << 8) | *p++;
  return v;
}

prometheus::ClientMetric Value(double v, bool counter) {
  prometheus::ClientMetric m;
  (counter ? m.counter.value : m.gauge.value) = v;
  return m;
}

prometheus::MetricFamily Family(std::string name, std::string help, prometheus::MetricType type,
                                double value) {
  return prometheus::MetricFamily{std::move(name), std::move(help), type,
                                  {Value(value, type == prometheus::MetricType::Counter)}};
}

struct ProcessStats {
  double cpu_seconds = 0;
  double rss_bytes = 0;
  double open_fds = 0;
};

ProcessStats ReadProcess() {
  ProcessStats s;
  std::ifstream stat("/proc/self/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the command name (in parentheses, which may hold spaces).
    const size_t close = line.rfind(')');
    std::istringstream in(close == std::string::npos ? std::string() : line.substr(close + 2));
    std::string field;
    unsigned long long utime = 0, stime = 0;
    for (int i = 3; i <= 15 && in >> field; ++i) {
      if (i == 14) utime = std::strtoull(field.c_str(), nullptr, 10);
      if (i == 15) stime = std::strtoull(field.c_str(), nullptr, 10);
    }
    s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  std::ifstream statm("/proc/self/statm");
  unsigned long long size = 0, resident = 0;
  if (statm >> size >> resident) {
    s.rss_bytes = static_cast<double>(resident) * static_cast<double>(sysconf(_SC_PAGESIZE));
  }
  if (DIR* d = opendir("/proc/self/fd")) {
    while (readdir(d) != nullptr) s.open_fds += 1;
    closedir(d);
    s.open_fds -= 3;  // ".", ".." and the directory itself.
  }
  return s;
}

}  // namespace

// ---- LatencyBuckets ----

void LatencyBuckets::Add(double seconds) {
  size_t i = 0;
  if (seconds > kFirst) {
    i = static_cast<size_t>(std::ceil(std::log(seconds / kFirst) / std::log(kFactor)));
    i = std::min(i, kBuckets - 1);
  }
  counts_[i].fetch_add(1, std::memory_order_relaxed);
}

std::array<uint64_t, LatencyBuckets::kBuckets> LatencyBuckets::Snapshot() const {
  std::array<uint64_t, kBuckets> out{};
  for (size_t i = 0; i < kBuckets; ++i) out[i] = counts_[i].load(std::memory_order_relaxed);
  return out;
}

std::optional<double> LatencyBuckets::QuantileMs(const std::array<uint64_t, kBuckets>& now,
                                                 const std::array<uint64_t, kBuckets>& before,
                                                 double q) {
  uint64_t total = 0;
  for (size_t i = 0; i < kBuckets; ++i) total += now[i] - before[i];
  if (total == 0) return std::nullopt;
  const double rank = q * static_cast<double>(total);
  uint64_t seen = 0;
  for (size_t i = 0; i < kBuckets; ++i) {
    seen += now[i] - before[i];
    if (static_cast<double>(seen) >= rank && seen > 0) {
      // The bucket's geometric middle: within 10% of any value in it.
      const double upper = kFirst * std::pow(kFactor, static_cast<double>(i));
      return 1000 * (i == 0 ? upper : upper / std::sqrt(kFactor));
    }
  }
  return 1000 * kFirst * std::pow(kFactor, static_cast<double>(kBuckets - 1));
}

// ---- Metrics ----

struct Metrics::Impl {
  std::shared_ptr<prometheus::Registry> registry = std::make_shared<prometheus::Registry>();
  std::array<prometheus::Counter*, 256> in_messages{}, in_bytes{}, out_messages{}, out_bytes{};
  std::array<prometheus::Counter*, 600> rejections{};
  std::unordered_map<uint16_t, prometheus::Counter*> closes;  // Read only after construction.
  prometheus::Histogram* ack_latency = nullptr;
  prometheus::Histogram* storage_write = nullptr;
  prometheus::Counter* evictions = nullptr;
  prometheus::Counter* sse_cutoffs = nullptr;
  prometheus::Counter* refused_connections = nullptr;
  const std::chrono::system_clock::time_point started = std::chrono::system_clock::now();
  Impl() {
    AddMessageFamilies();
    AddOtherFamilies();
  }
  void AddMessageFamilies();
  void AddOtherFamilies();
};

void Metrics::Impl::AddMessageFamilies() {
  using prometheus::BuildCounter;
  auto& msgs_in = BuildCounter()
                      .Name("quire_messages_received_total")
                      .Help("WebSocket protocol messages received, by type")
                      .Register(*registry);
  auto& bytes_in = BuildCounter()
                       .Name("quire_received_bytes_total")
                       .Help("Bytes of protocol messages received, by type")
                       .Register(*registry);
  auto& msgs_out = BuildCounter()
                       .Name("quire_messages_sent_total")
                       .Help("Protocol messages queued for clients, by type")
                       .Register(*registry);
  auto& bytes_out = BuildCounter()
                        .Name("quire_sent_bytes_total")
                        .Help("Bytes of protocol messages queued for clients, by type")
                        .Register(*registry);
  auto& other_in = msgs_in.Add({{"type", "other"}});
  auto& other_in_b = bytes_in.Add({{"type", "other"}});
  auto& other_out = msgs_out.Add({{"type", "other"}});
  auto& other_out_b = bytes_out.Add({{"type", "other"}});
  in_messages.fill(&other_in);
  in_bytes.fill(&other_in_b);
  out_messages.fill(&other_out);
  out_bytes.fill(&other_out_b);
  for (const auto& [type, name] : kInTypes) {
    in_messages[type] = &msgs_in.Add({{"type", name}});
    in_bytes[type] = &bytes_in.Add({{"type", name}});
  }
  for (const auto& [type, name] : kOutTypes) {
    out_messages[type] = &msgs_out.Add({{"type", name}});
    out_bytes[type] = &bytes_out.Add({{"type", name}});
  }
}

void Metrics::Impl::AddOtherFamilies() {
  using prometheus::BuildCounter;
  using prometheus::BuildHistogram;
  auto& rejected = BuildCounter()
                       .Name("quire_rejections_total")
                       .Help("Messages and requests refused, by protocol error code")
                       .Register(*registry);
  for (uint16_t code : kCodes) rejections[code] = &rejected.Add({{"code", std::to_string(code)}});
  auto& closed = BuildCounter()
                     .Name("quire_sessions_closed_total")
                     .Help("WebSocket sessions the server closed, by close code")
                     .Register(*registry);
  for (uint16_t code : kCloseCodes) {
    closes[code] = &closed.Add({{"code", std::to_string(code)}});
  }
  // Acks wait for the store: from under a millisecond (async) to an fsync
  // under load.
  const prometheus::Histogram::BucketBoundaries latency = {
      0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5};
  ack_latency = &BuildHistogram()
                     .Name("quire_ack_latency_seconds")
                     .Help("From a change or op arriving to its ack being queued")
                     .Register(*registry)
                     .Add({}, latency);
  storage_write = &BuildHistogram()
                       .Name("quire_storage_write_seconds")
                       .Help("From a room handing a change to the store to it being durable")
                       .Register(*registry)
                       .Add({}, latency);
  evictions = &BuildCounter()
                   .Name("quire_evictions_total")
                   .Help("Idle documents dropped from memory")
                   .Register(*registry)
                   .Add({});
  sse_cutoffs = &BuildCounter()
                     .Name("quire_sse_cutoffs_total")
                     .Help("Server-Sent Events consumers cut off for reading too slowly")
                     .Register(*registry)
                     .Add({});
  refused_connections = &BuildCounter()
                             .Name("quire_connections_refused_total")
                             .Help("TCP connections refused: over the per-address limit")
                             .Register(*registry)
                             .Add({});
}

Metrics::Metrics() : impl_(std::make_unique<Impl>()) {}
Metrics::~Metrics() = default;

void Metrics::MessageIn(uint8_t type, size_t bytes) {
  impl_->in_messages[type]->Increment();
  impl_->in_bytes[type]->Increment(static_cast<double>(bytes));
}

void Metrics::MessageOut(uint8_t type, size_t bytes, uint64_t count) {
  impl_->out_messages[type]->Increment(static_cast<double>(count));
  impl_->out_bytes[type]->Increment(static_cast<double>(bytes));
}

void Metrics::Rejected(uint16_t code) {
  if (code < impl_->rejections.size() && impl_->rejections[code] != nullptr) {
    impl_->rejections[code]->Increment();
  }
}

void Metrics::Closed(uint16_t close_code) {
  auto it = impl_->closes.find(close_code);
  if (it != impl_->closes.end()) it->second->Increment();
}

void Metrics::AckLatency(double seconds) {
  acks_.fetch_add(1, std::memory_order_relaxed);
  ack_buckets_.Add(seconds);
  impl_->ack_latency->Observe(seconds);
}

void Metrics::StorageWrite(double seconds) { impl_->storage_write->Observe(seconds); }
void Metrics::Eviction() { impl_->evictions->Increment(); }
void Metrics::SseCutOff() { impl_->sse_cutoffs->Increment(); }
void Metrics::ConnectionRefused() { impl_->refused_connections->Increment(); }

std::string Metrics::Scrape(const ScrapeInputs& in) {
  using prometheus::MetricType;
  std::vector<prometheus::MetricFamily> families = impl_->registry->Collect();
  families.push_back(Family("quire_connections", "Open TCP connections (HTTP, WebSocket, SSE)",
                            MetricType::Gauge, static_cast<double>(connections.load())));
  families.push_back(Family("quire_sessions", "Open WebSocket sessions", MetricType::Gauge,
                            static_cast<double>(in.sessions)));
  families.push_back(Family("quire_sse_streams", "Open Server-Sent Events streams",
                            MetricType::Gauge, static_cast<double>(sse_streams.load())));
  families.push_back(Family("quire_documents_loaded", "Documents held in memory",
                            MetricType::Gauge, static_cast<double>(in.rooms_loaded)));
  families.push_back(Family("quire_rooms", "Documents with at least one client or stream",
                            MetricType::Gauge, static_cast<double>(in.rooms_active)));
  families.push_back(Family("quire_storage_writes_total",
                            "Write batches committed to the store (group commits)",
                            MetricType::Counter, static_cast<double>(in.store_writes)));
  families.push_back(Family("quire_fsyncs_total", "fsyncs of the store's write-ahead log",
                            MetricType::Counter,
                            in.store_sync ? static_cast<double>(in.store_writes) : 0.0));
  families.push_back(Family("quire_stored_changes_total", "Changes appended to the store",
                            MetricType::Counter, static_cast<double>(in.store_changes)));
  families.push_back(Family("quire_snapshots_total", "Snapshots taken by the background policy",
                            MetricType::Counter, static_cast<double>(in.snapshots)));
  const ProcessStats p = ReadProcess();
  families.push_back(Family("process_cpu_seconds_total", "User and system CPU time",
                            MetricType::Counter, p.cpu_seconds));
  families.push_back(Family("process_resident_memory_bytes", "Resident set size",
                            MetricType::Gauge, p.rss_bytes));
  families.push_back(Family("process_open_fds", "Open file descriptors", MetricType::Gauge,
                            p.open_fds));
  families.push_back(Family(
      "process_start_time_seconds", "Start time, Unix seconds", MetricType::Gauge,
      std::chrono::duration<double>(impl_->started.time_since_epoch()).count()));
  return prometheus::TextSerializer().Serialize(families);
}

// ---- SessionMeter ----

void SessionMeter::EditArrived(uint16_t channel, uint64_t ref) {
  if (metrics_ == nullptr) return;
  std::lock_guard<std::mutex> lock(mu_);
  if (pending_.size() == kMaxPending) pending_.erase(pending_.begin());
  pending_.push_back(Pending{channel, ref, std::chrono::steady_clock::now()});
}

void SessionMeter::Sent(const Frame& frame) {
  if (metrics_ == nullptr) return;
  if (frame.head_len == 0 && frame.messages > 0) {
    // A slice of a room's run (relay_run.h): whole relays of one type, each
    // a msgpack array whose second byte is its type.
    const std::string_view body = frame.Body();
    if (body.size() >= 2 && (static_cast<uint8_t>(body[0]) & 0xf0) == 0x90) {
      metrics_->MessageOut(static_cast<uint8_t>(body[1]), body.size(), frame.messages);
    }
    return;
  }
  if (frame.head_len < 2) return;
  const uint8_t type = static_cast<uint8_t>(frame.head[1]);
  metrics_->MessageOut(type, frame.size());
  if (type != 24) return;  // ack
  const FrameInfo info = InspectFrame(frame);
  if (!info.channel || !info.ref) return;
  std::lock_guard<std::mutex> lock(mu_);
  for (auto it = pending_.begin(); it != pending_.end(); ++it) {
    if (it->channel == *info.channel && it->ref == *info.ref) {
      metrics_->AckLatency(
          std::chrono::duration<double>(std::chrono::steady_clock::now() - it->at).count());
      pending_.erase(it);
      return;
    }
  }
}

void SessionMeter::Refused(uint16_t code, std::optional<uint16_t> channel,
                           std::optional<uint64_t> ref) {
  if (metrics_ == nullptr) return;
  metrics_->Rejected(code);
  if (!channel || !ref) return;
  std::lock_guard<std::mutex> lock(mu_);
  std::erase_if(pending_, [&](const Pending& p) { return p.channel == *channel && p.ref == *ref; });
}

FrameInfo InspectFrame(const Frame& frame) {
  FrameInfo info;
  if (frame.head_len < 2) return info;
  info.type = static_cast<uint8_t>(frame.head[1]);
  const auto* p = reinterpret_cast<const unsigned char*>(frame.head.data()) + 2;
  const auto* end = reinterpret_cast<const unsigned char*>(frame.head.data()) + frame.head_len;
  if (std::optional<uint64_t> ch = ReadUint(p, end); ch && *ch <= 0xffff) {
    info.channel = static_cast<uint16_t>(*ch);
  }
  if (info.type == 24 && frame.body) {
    const auto* b = reinterpret_cast<const unsigned char*>(frame.body->data());
    info.ref = ReadUint(b, b + frame.body->size());
  }
  return info;
}

}  // namespace quire::server
