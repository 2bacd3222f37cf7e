// server/metrics.h and server/log.h without a server: the exposition
// parses as Prometheus text and moves with what is counted; ack latency is
// measured from arrival to ack; log lines stay one line whatever the values.
#include "server/metrics.h"

#include <thread>

#include <gtest/gtest.h>

#include "server/log.h"
#include "server/protocol.h"
#include "tests/server/prometheus_text.h"

namespace quire::server {
namespace {

TEST(PrometheusTextTest, TheReaderRefusesMalformedText) {
  std::string error;
  EXPECT_TRUE(test::ParsePrometheusText("# TYPE a counter\na 1\na{x=\"1\"} 2\n", &error))
      << error;
  EXPECT_FALSE(test::ParsePrometheusText("a 1\n", &error));  // No TYPE.
  EXPECT_FALSE(test::ParsePrometheusText("# TYPE a counter\na one\n", &error));
  EXPECT_FALSE(test::ParsePrometheusText("# TYPE a counter\na{x=\"1} 2\n", &error));
  EXPECT_FALSE(test::ParsePrometheusText("# TYPE 9a counter\n9a 1\n", &error));
  EXPECT_FALSE(test::ParsePrometheusText(
      "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 4\nh_count 4\nh_sum 1\n",
      &error));
}

TEST(MetricsTest, ScrapeParsesAndMoves) {
  Metrics m;
  std::string error;
  auto before = test::ParsePrometheusText(m.Scrape({}), &error);
  ASSERT_TRUE(before) << error;
  m.MessageIn(23, 40);  // op
  m.MessageIn(23, 60);
  m.MessageOut(24, 10);  // ack
  m.Rejected(402);
  m.AckLatency(0.003);
  m.StorageWrite(0.001);
  m.Closed(4008);
  ScrapeInputs in;
  in.sessions = 3;
  in.store_writes = 7;
  auto after = test::ParsePrometheusText(m.Scrape(in), &error);
  ASSERT_TRUE(after) << error;
  EXPECT_EQ(after->Get("quire_messages_received_total{type=\"op\"}"), 2);
  EXPECT_EQ(after->Get("quire_received_bytes_total{type=\"op\"}"), 100);
  EXPECT_EQ(after->Get("quire_messages_sent_total{type=\"ack\"}"), 1);
  EXPECT_EQ(after->Get("quire_rejections_total{code=\"402\"}"), 1);
  EXPECT_EQ(after->Get("quire_sessions_closed_total{code=\"4008\"}"), 1);
  EXPECT_EQ(after->Get("quire_ack_latency_seconds_count"), 1);
  EXPECT_EQ(after->Get("quire_ack_latency_seconds_bucket{le=\"0.005\"}"), 1);
  EXPECT_EQ(after->Get("quire_ack_latency_seconds_bucket{le=\"0.002\"}"), 0);
  EXPECT_EQ(after->Get("quire_storage_write_seconds_count"), 1);
  EXPECT_EQ(after->Get("quire_sessions"), 3);
  EXPECT_EQ(after->Get("quire_fsyncs_total"), 7);
  EXPECT_GT(after->Get("process_resident_memory_bytes"), 1e6);
  EXPECT_GE(after->Get("process_cpu_seconds_total"), 0);
  EXPECT_EQ(after->types.at("quire_ack_latency_seconds"), "histogram");
  EXPECT_EQ(after->types.at("quire_rejections_total"), "counter");
}

TEST(MetricsTest, AckLatencyRunsFromArrivalToAck) {
  Metrics m;
  SessionMeter meter(&m);
  meter.EditArrived(/*channel=*/300, /*ref=*/70000);
  meter.EditArrived(300, 70001);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  meter.Sent(AckFrame(300, 70001, 5, 1));
  EXPECT_EQ(m.acks(), 1u);
  meter.Sent(AckFrame(300, 99, 6, 2));  // Not an edit it saw: not timed.
  EXPECT_EQ(m.acks(), 1u);
  meter.Refused(402, 300, 70000);  // Refused: forgotten, never timed.
  meter.Sent(AckFrame(300, 70000, 7, 3));
  EXPECT_EQ(m.acks(), 1u);
  const auto now = m.ack_buckets().Snapshot();
  const std::array<uint64_t, LatencyBuckets::kBuckets> zero{};
  const double p50 = LatencyBuckets::QuantileMs(now, zero, 0.5).value();
  EXPECT_GT(p50, 18);
  EXPECT_LT(p50, 200);
  EXPECT_FALSE(LatencyBuckets::QuantileMs(zero, zero, 0.5).has_value());
}

// A room's run goes to a member as one frame of several relays with no
// head (server/relay_run.h): each of them is counted, by its type.
TEST(MetricsTest, EveryRelayOfARunIsCounted) {
  Metrics m;
  SessionMeter meter(&m);
  auto body = std::make_shared<std::string>();
  for (uint64_t seq : {5, 6, 7}) {
    ot::TextOp op;
    op.Insert("x");
    *body += RelayFrame(MsgType::kRemoteOp, 1, RemoteOpBody(seq, op, crdt::Id{crdt::AgentId{2}, seq}))
                 .Bytes();
  }
  Frame run;
  run.body = body;
  run.messages = 3;
  meter.Sent(run);
  meter.Sent(AckFrame(1, 9, 8, 1));
  std::string error;
  auto after = test::ParsePrometheusText(m.Scrape({}), &error);
  ASSERT_TRUE(after) << error;
  EXPECT_EQ(after->Get("quire_messages_sent_total{type=\"remote_op\"}"), 3);
  EXPECT_EQ(after->Get("quire_sent_bytes_total{type=\"remote_op\"}"),
            static_cast<double>(body->size()));
  EXPECT_EQ(after->Get("quire_messages_sent_total{type=\"ack\"}"), 1);
}

TEST(MetricsTest, InspectFrameReadsAcks) {
  const FrameInfo info = InspectFrame(AckFrame(65535, uint64_t{1} << 40, 9, 1));
  EXPECT_EQ(info.type, 24);
  EXPECT_EQ(info.channel, std::optional<uint16_t>(65535));
  EXPECT_EQ(info.ref, std::optional<uint64_t>(uint64_t{1} << 40));
}

TEST(LogTest, LinesStayOneLineAndQuoted) {
  const std::vector<std::pair<std::string, std::string>> fields = {
      {"user", EncodeLogString(LogFormat::kLogfmt, "a b\nlevel=error")},
      {"doc", EncodeLogString(LogFormat::kLogfmt, "notes/x")},
      {"code", "300"}};
  const std::string line =
      FormatLogLine(LogFormat::kLogfmt, "2024-01-01T00:00:00.000Z", LogLevel::kWarn, "auth", fields);
  EXPECT_EQ(line,
            "ts=2024-01-01T00:00:00.000Z level=warn event=auth user=\"a b\\nlevel=error\" "
            "doc=notes/x code=300");
  const std::vector<std::pair<std::string, std::string>> json_fields = {
      {"user", EncodeLogString(LogFormat::kJson, "q\"\x01")}};
  EXPECT_EQ(FormatLogLine(LogFormat::kJson, "T", LogLevel::kInfo, "e", json_fields),
            "{\"ts\":\"T\",\"level\":\"info\",\"event\":\"e\",\"user\":\"q\\\"\\u0001\"}");
  EXPECT_FALSE(InitLog("xml", "info").ok());
  EXPECT_FALSE(InitLog("json", "loud").ok());
}

}  // namespace
}  // namespace quire::server
