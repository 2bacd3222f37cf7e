#include "bench/loadgen/report.h"

#include <cstdio>

namespace quire::loadgen {
namespace {

double Ms(uint64_t us) { return static_cast<double>(us) / 1000.0; }

nlohmann::json Latency(const Histogram& h) {
  return {{"count", h.count()},
          {"mean_ms", h.mean() / 1000.0},
          {"p50_ms", Ms(h.Quantile(0.50))},
          {"p95_ms", Ms(h.Quantile(0.95))},
          {"p99_ms", Ms(h.Quantile(0.99))},
          {"max_ms", Ms(h.max())}};
}

nlohmann::json Proc(const ProcSample& p) {
  return {{"user_s", p.user_s}, {"system_s", p.system_s}, {"rss_bytes", p.rss_bytes},
          {"threads", p.threads}};
}

}  // namespace

double CpuPerDeliveryUs(const RunResult& r) {
  if (!r.server_sampled || r.totals.deliveries == 0) return 0;
  return (r.server_end.cpu_s() - r.server_start.cpu_s()) * 1e6 /
         static_cast<double>(r.totals.deliveries);
}

nlohmann::json ToJson(const RunResult& r) {
  const ThreadStats& t = r.totals;
  nlohmann::json errors = nlohmann::json::object();
  for (const auto& [code, n] : t.errors) errors[std::to_string(code)] = n;
  nlohmann::json error_texts = nlohmann::json::object();
  for (const auto& [code, text] : t.error_texts) error_texts[std::to_string(code)] = text;
  const double server_cpu = r.server_end.cpu_s() - r.server_start.cpu_s();
  const double self_cpu = r.self_end.cpu_s() - r.self_start.cpu_s();
  return {
      {"label", r.spec.label},
      {"ok", r.ok},
      {"failure", r.failure},
      {"spec",
       {{"clients", r.spec.clients},
        {"rooms", r.spec.rooms},
        {"rate_per_client", r.spec.rate},
        {"seconds", r.spec.seconds},
        {"ot_fraction", r.spec.ot_fraction},
        {"phases", r.spec.burst ? "burst" : "spread"},
        {"threads", r.spec.threads}}},
      {"connect_s", r.connect_s},
      {"measured_s", r.measured_s},
      {"keystrokes", t.typed},
      {"sent", t.sent},
      {"accepted_changes", r.changes},
      {"acks", t.acks},
      {"deliveries", t.deliveries},
      {"deliveries_per_s", r.measured_s > 0 ? t.deliveries / r.measured_s : 0},
      {"untimed_deliveries", t.untimed},
      {"delivery_latency", Latency(t.delivery)},
      {"ack_latency", Latency(t.ack)},
      {"errors", errors},
      {"error_texts", error_texts},
      {"needs", t.needs},
      {"order_errors", t.order_errors},
      {"bad_frames", t.bad_frames},
      {"connections_lost", t.closed},
      {"server",
       {{"sampled", r.server_sampled},
        {"start", Proc(r.server_start)},
        {"end", Proc(r.server_end)},
        {"cpu_s", server_cpu},
        {"cpu_share", r.measured_s > 0 ? server_cpu / r.measured_s : 0},
        {"cpu_us_per_delivery", CpuPerDeliveryUs(r)}}},
      {"presence",
       {{"messages", t.presence_messages},
        {"messages_per_s", r.measured_s > 0 ? t.presence_messages / r.measured_s : 0},
        {"bytes", t.presence_bytes},
        {"bytes_per_s", r.measured_s > 0 ? t.presence_bytes / r.measured_s : 0},
        {"ws_messages", t.ws_messages},
        {"ws_bytes", t.ws_bytes}}},
      {"loadgen", {{"cpu_s", self_cpu}, {"cpu_share", r.measured_s > 0 ? self_cpu / r.measured_s : 0}}},
  };
}

void PrintRunTable(const std::vector<RunResult>& runs) {
  std::printf(
      "%-14s %7s %5s %8s %10s %7s %7s %7s %7s %7s %7s %6s %7s %6s %6s %5s %s\n", "run", "clients",
      "rooms", "edits/s", "deliv/s", "p50ms", "p95ms", "p99ms", "maxms", "ack50", "ack99",
      "srvCPU", "us/dlv", "RSSMB", "genCPU", "errs", "converged");
  for (const RunResult& r : runs) {
    const ThreadStats& t = r.totals;
    uint64_t errs = t.needs + t.bad_frames + t.order_errors;
    for (const auto& [code, n] : t.errors) errs += n;
    const double m = r.measured_s > 0 ? r.measured_s : 1;
    std::printf(
        "%-14s %7d %5d %8.0f %10.0f %7.2f %7.2f %7.2f %7.1f %7.2f %7.2f %5.0f%% %7.2f %6.1f "
        "%5.0f%% %5llu %s\n",
        r.spec.label.c_str(), r.spec.clients, r.spec.rooms, t.sent / m,
        t.deliveries / m, Ms(t.delivery.Quantile(0.5)), Ms(t.delivery.Quantile(0.95)),
        Ms(t.delivery.Quantile(0.99)), Ms(t.delivery.max()), Ms(t.ack.Quantile(0.5)),
        Ms(t.ack.Quantile(0.99)), 100 * (r.server_end.cpu_s() - r.server_start.cpu_s()) / m,
        CpuPerDeliveryUs(r), r.server_end.rss_bytes / 1048576.0,
        100 * (r.self_end.cpu_s() - r.self_start.cpu_s()) / m,
        static_cast<unsigned long long>(errs), r.ok ? "yes" : ("NO: " + r.failure).c_str());
  }
}

void PrintPresenceTable(const std::vector<RunResult>& runs) {
  std::printf("%-16s %12s %12s %12s %12s %10s %7s %7s %7s %7s\n", "run", "moves/s",
              "presence/s", "presKB/s", "wsMsgs/s", "wsKB/s", "srvCPU", "p50ms", "p99ms",
              "maxms");
  for (const RunResult& r : runs) {
    const ThreadStats& t = r.totals;
    const double m = r.measured_s > 0 ? r.measured_s : 1;
    std::printf("%-16s %12.0f %12.0f %12.1f %12.0f %10.1f %6.0f%% %7.2f %7.2f %7.1f\n",
                r.spec.label.c_str(), t.sent / m, t.presence_messages / m,
                t.presence_bytes / m / 1024, t.ws_messages / m, t.ws_bytes / m / 1024,
                100 * (r.server_end.cpu_s() - r.server_start.cpu_s()) / m,
                Ms(t.delivery.Quantile(0.5)), Ms(t.delivery.Quantile(0.99)), Ms(t.delivery.max()));
  }
}

}  // namespace quire::loadgen
