// The HTTP side of a real server: health, the document API, Server-Sent
// Events (order, resume, a slow consumer, heartbeats, curl -N), live
// statistics and /metrics.
#include <cstdio>
#include <set>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "ot/text_op.h"
#include "tests/server/http_client.h"
#include "tests/server/prometheus_text.h"
#include "tests/server/server_process.h"
#include "tests/server/tokens.h"

namespace quire::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

class HttpApiTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--jwt-secret-file", WriteSecret(dir_.path() + "/secret"),
                                     "--durability", "async"};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<ServerProcess>(dir_.path() + "/data", args);
    ASSERT_TRUE(server_->Start());
  }
  uint16_t port() const { return server_->port(); }
  std::map<std::string, std::string> Auth(const std::string& docs = "*:rw") {
    return {{"Authorization", "Bearer " + Token("hal", docs)}};
  }
  std::unique_ptr<WsClient> Editor(const std::string& doc) {
    auto c = std::make_unique<WsClient>(port());
    EXPECT_TRUE(c->Hello(Token("ed", "*:rw")).has_value());
    EXPECT_TRUE(c->Open(1, doc).has_value());
    return c;
  }
  json Get(const std::string& doc) {
    HttpResult r = Http(port(), http::verb::get, "/api/docs/" + doc, "", Auth("*:r"));
    EXPECT_EQ(r.status, 200) << r.body;
    return r.status == 200 ? json::parse(r.body) : json();
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

// Applies a patch event's op (ot-text-unicode JSON) to `text`.
std::string ApplyJsonOp(const std::string& text, const json& op) {
  ot::TextOp o;
  for (const json& c : op) {
    if (c.is_number()) o.Retain(c.get<size_t>());
    if (c.is_string()) o.Insert(c.get<std::string>());
    if (c.is_object()) o.Delete(c["d"].get<size_t>());
  }
  return ot::Apply(text, o).value();
}

TEST_F(HttpApiTest, HealthAndReadiness) {
  Start();
  EXPECT_EQ(Http(port(), http::verb::get, "/healthz").body, "ok\n");
  EXPECT_EQ(Http(port(), http::verb::get, "/readyz").status, 200);
}

TEST_F(HttpApiTest, GetAndPostGoThroughTheRoom) {
  Start();
  auto ws = Editor("notes/a");
  ASSERT_EQ(ws->Insert(1, 0, 0, "hello", 1), std::optional<uint64_t>(1));
  json doc = Get("notes%2Fa");
  EXPECT_EQ(doc["text"], "hello");
  EXPECT_EQ(doc["seq"], 1);
  EXPECT_GT(doc["epoch"].get<uint64_t>(), 0u);
  // An op made at seq 0 (before "hello") is rebased onto the head.
  HttpResult post = Http(port(), http::verb::post, "/api/docs/notes%2Fa/ops",
                         R"({"base_seq":0,"op":["> "]})", Auth());
  ASSERT_EQ(post.status, 200) << post.body;
  EXPECT_EQ(json::parse(post.body)["seq"], 2);
  EXPECT_EQ(Get("notes%2Fa")["text"], "> hello");
  // The WebSocket client saw it as a remote op.
  auto remote = ws->Expect<server::RemoteOpMsg>();
  ASSERT_TRUE(remote.has_value());
  EXPECT_EQ(remote->seq, 2u);
  // Deletes in both JSON forms; each post made at the head.
  for (int base = 2; base <= 3; ++base) {
    HttpResult del = Http(port(), http::verb::post, "/api/docs/notes%2Fa/ops",
                          R"({"base_seq":)" + std::to_string(base) + R"(,"op":[{"d":1}]})", Auth());
    ASSERT_EQ(del.status, 200);
    EXPECT_EQ(json::parse(del.body)["seq"], base + 1);
  }
  EXPECT_EQ(Get("notes%2Fa")["text"], "hello");
  // Made at an older seq, the same delete rebases to nothing: acked at the
  // head, nothing stored.
  HttpResult stale = Http(port(), http::verb::post, "/api/docs/notes%2Fa/ops",
                          R"({"base_seq":2,"op":[{"d":1}]})", Auth());
  EXPECT_EQ(json::parse(stale.body)["seq"], 4);
  EXPECT_EQ(Get("notes%2Fa")["text"], "hello");
  EXPECT_EQ(Http(port(), http::verb::post, "/api/docs/notes%2Fa/ops",
                 R"({"base_seq":4,"op":[4,{"d":"o"}]})", Auth())
                .status,
            200);
  EXPECT_EQ(Get("notes%2Fa")["text"], "hell");
}

TEST_F(HttpApiTest, BadRequestsAreRefusedWithTheirCode) {
  Start();
  auto ws = Editor("d");
  ASSERT_EQ(ws->Insert(1, 0, 0, "abc", 1), std::optional<uint64_t>(1));
  const struct {
    const char* name;
    std::string body;
    int status, code;
  } cases[] = {
      {"not JSON", "{", 400, 104},
      {"no base_seq", R"({"op":["x"]})", 400, 104},
      {"negative retain", R"({"base_seq":1,"op":[-1]})", 400, 104},
      {"zero delete", R"({"base_seq":1,"op":[{"d":0}]})", 400, 104},
      {"float", R"({"base_seq":1,"op":[1.5]})", 400, 104},
      {"past the text", R"({"base_seq":1,"op":[10,"x"]})", 422, 201},
      {"base past the head", R"({"base_seq":9,"op":["x"]})", 409, 205},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    HttpResult r = Http(port(), http::verb::post, "/api/docs/d/ops", c.body, Auth());
    EXPECT_EQ(r.status, c.status) << r.body;
    EXPECT_EQ(json::parse(r.body)["code"], c.code);
  }
  EXPECT_EQ(Get("d")["text"], "abc");
  EXPECT_EQ(Get("d")["seq"], 1);
  EXPECT_EQ(Http(port(), http::verb::get, "/api/docs/missing", "", Auth()).status, 404);
  EXPECT_EQ(Http(port(), http::verb::get, "/api/docs/d").status, 401);
  EXPECT_EQ(Http(port(), http::verb::delete_, "/api/docs/d", "", Auth()).status, 405);
}

TEST_F(HttpApiTest, EventsArriveInOrderAndResumeExactly) {
  Start();
  auto a = Editor("live");
  ASSERT_EQ(a->Insert(1, 0, 0, "start", 1), std::optional<uint64_t>(1));
  SseStream sse(port(), "/api/docs/live/events?token=" + Token("sid", "live:r"));
  ASSERT_EQ(sse.ReadHead(), 200);
  EXPECT_NE(sse.head().find("text/event-stream"), std::string::npos);
  std::optional<SseEvent> snap = sse.Next();
  ASSERT_TRUE(snap.has_value());
  EXPECT_EQ(snap->event, "snapshot");
  EXPECT_EQ(snap->id, "1");
  std::string text = json::parse(snap->data)["text"];
  // Two writers, interleaved.
  auto b = Editor("live");
  uint64_t seq = 1;
  for (int i = 0; i < 20; ++i) {
    WsClient& w = i % 2 == 0 ? *a : *b;
    std::optional<uint64_t> s = w.Insert(1, seq, 0, std::to_string(i), 100 + i);
    ASSERT_TRUE(s.has_value());
    // A writer's base is its own last seq; the server rebases.
    seq = *s;
  }
  std::string last_id;
  for (uint64_t want = 2; want <= 21; ++want) {
    std::optional<SseEvent> e = sse.Next();
    ASSERT_TRUE(e.has_value()) << want;
    EXPECT_EQ(e->event, "");
    EXPECT_EQ(e->id, std::to_string(want));
    const json data = json::parse(e->data);
    EXPECT_EQ(data["seq"], want);
    text = ApplyJsonOp(text, data["op"]);
    last_id = e->id;
    if (want == 10) break;  // Drop the stream halfway.
  }
  // Reconnect as EventSource would: exactly the rest, none twice.
  SseStream resumed(port(), "/api/docs/live/events",
                    {{"Last-Event-ID", last_id}, {"Authorization", "Bearer " + Token("sid", "live:r")}});
  ASSERT_EQ(resumed.ReadHead(), 200);
  for (uint64_t want = 11; want <= 21; ++want) {
    std::optional<SseEvent> e = resumed.Next();
    ASSERT_TRUE(e.has_value()) << want;
    EXPECT_EQ(e->id, std::to_string(want));
    text = ApplyJsonOp(text, json::parse(e->data)["op"]);
  }
  EXPECT_EQ(text, Get("live")["text"]);
  // ?since= too, and a seq past the head is an HTTP error, not an event.
  SseStream since(port(), "/api/docs/live/events?since=20&token=" + Token("sid", "live:r"));
  ASSERT_EQ(since.ReadHead(), 200);
  EXPECT_EQ(since.Next()->id, "21");
  EXPECT_EQ(Http(port(), http::verb::get, "/api/docs/live/events?since=99", "", Auth()).status,
            409);
}

TEST_F(HttpApiTest, ResumeAfterARestartRebuildsFromTheLog) {
  Start();
  {
    auto a = Editor("log");
    for (uint64_t i = 1; i <= 30; ++i) ASSERT_TRUE(a->Insert(1, i - 1, 0, "k", i).has_value());
  }
  const uint16_t p = port();
  ASSERT_EQ(server_->Terminate(), 0);
  ASSERT_TRUE(server_->Start(p));  // A fresh room: its OT window is empty.
  SseStream sse(p, "/api/docs/log/events?since=3&token=" + Token("sid", "*:r"));
  ASSERT_EQ(sse.ReadHead(), 200);
  for (uint64_t want = 4; want <= 30; ++want) {
    std::optional<SseEvent> e = sse.Next();
    ASSERT_TRUE(e.has_value()) << want;
    EXPECT_EQ(e->id, std::to_string(want));
    EXPECT_EQ(json::parse(e->data)["op"], json::array({"k"}));
  }
}

TEST_F(HttpApiTest, ASlowConsumerIsCutOffWithoutStallingTheRoom) {
  Start({"--max-queue-bytes", "65536"});
  auto w = Editor("busy");
  ASSERT_EQ(w->Insert(1, 0, 0, "x", 1), std::optional<uint64_t>(1));
  const std::string token = Token("sid", "*:r");
  SseStream slow(port(), "/api/docs/busy/events?since=1&token=" + token, {}, /*rcvbuf=*/4096);
  SseStream fast(port(), "/api/docs/busy/events?since=1&token=" + token);
  ASSERT_EQ(fast.ReadHead(), 200);
  std::this_thread::sleep_for(200ms);  // Both streams are open in the room.
  const auto started = std::chrono::steady_clock::now();
  const uint64_t kEdits = 60;
  std::thread reader([&] {
    for (uint64_t want = 2; want <= kEdits + 1; ++want) {
      std::optional<SseEvent> e = fast.Next();
      ASSERT_TRUE(e.has_value());
      EXPECT_EQ(e->id, std::to_string(want));
    }
  });
  for (uint64_t i = 1; i <= kEdits; ++i) {
    ASSERT_EQ(w->Insert(1, i, 0, std::string(20000, 'y'), 1 + i), std::optional<uint64_t>(i + 1));
  }
  reader.join();
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
  // The slow one got a prefix, then its stream ended; resuming from the
  // last id it saw brings exactly the rest.
  ASSERT_EQ(slow.ReadHead(), 200);
  std::string last = "1";
  while (std::optional<SseEvent> e = slow.Next()) {
    EXPECT_EQ(std::stoull(e->id), std::stoull(last) + 1);
    last = e->id;
  }
  EXPECT_TRUE(slow.ended());
  EXPECT_LT(std::stoull(last), kEdits + 1);
  SseStream again(port(), "/api/docs/busy/events?token=" + token, {{"Last-Event-ID", last}});
  ASSERT_EQ(again.ReadHead(), 200);
  for (uint64_t want = std::stoull(last) + 1; want <= kEdits + 1; ++want) {
    std::optional<SseEvent> e = again.Next();
    ASSERT_TRUE(e.has_value());
    EXPECT_EQ(e->id, std::to_string(want));
  }
  HttpResult metrics = Http(port(), http::verb::get, "/metrics");
  std::string error;
  auto parsed = ParsePrometheusText(metrics.body, &error);
  ASSERT_TRUE(parsed) << error;
  EXPECT_EQ(parsed->Get("quire_sse_cutoffs_total"), 1);
}

TEST_F(HttpApiTest, HeartbeatsAndTheEndOfAToken) {
  Start({"--sse-heartbeat-ms", "100"});
  auto w = Editor("quiet");
  SseStream sse(port(), "/api/docs/quiet/events?token=" + Token("sid", "*:r", /*ttl_s=*/2));
  ASSERT_EQ(sse.ReadHead(), 200);
  EXPECT_EQ(sse.Next()->event, "snapshot");
  std::optional<SseEvent> end = sse.Next();  // Heartbeats until the token expires.
  ASSERT_TRUE(end.has_value());
  EXPECT_EQ(end->event, "end");
  EXPECT_EQ(json::parse(end->data)["code"], 301);
  EXPECT_GE(sse.comments(), 5);
  EXPECT_FALSE(sse.Next().has_value());
}

TEST_F(HttpApiTest, CurlFollowsTheStream) {
  Start();
  auto w = Editor("curl doc");
  ASSERT_EQ(w->Insert(1, 0, 0, "a", 1), std::optional<uint64_t>(1));
  const std::string cmd = "curl -sS -N --max-time 4 -H 'Authorization: Bearer " +
                          Token("sid", "*:r") + "' 'http://127.0.0.1:" + std::to_string(port()) +
                          "/api/docs/curl%20doc/events?since=1' 2>&1";
  std::string output;
  std::thread curl([&] {
    FILE* p = ::popen(cmd.c_str(), "r");
    ASSERT_NE(p, nullptr);
    char buf[4096];
    for (size_t n; (n = std::fread(buf, 1, sizeof buf, p)) > 0;) output.append(buf, n);
    ::pclose(p);
  });
  std::this_thread::sleep_for(1s);  // curl is connected and waiting.
  for (uint64_t i = 1; i <= 3; ++i) {
    ASSERT_TRUE(w->Insert(1, i, i, "b", 1 + i).has_value());
  }
  curl.join();  // --max-time ends it.
  EXPECT_NE(output.find("retry: 1000\n\n"), std::string::npos) << output;
  const size_t e2 = output.find("id: 2\ndata: {\"seq\":2,\"op\":[1,\"b\"]}\n\n");
  const size_t e3 = output.find("id: 3\ndata: {\"seq\":3,\"op\":[2,\"b\"]}\n\n");
  const size_t e4 = output.find("id: 4\ndata: {\"seq\":4,\"op\":[3,\"b\"]}\n\n");
  EXPECT_NE(e2, std::string::npos) << output;
  EXPECT_LT(e2, e3);
  EXPECT_LT(e3, e4);
  EXPECT_EQ(output.find("id: 1\n"), std::string::npos) << "since=1 excludes seq 1";
}

TEST_F(HttpApiTest, StatsStreamSamplesTheServer) {
  Start({"--stats-interval-ms", "200"});
  auto w = Editor("stats");
  SseStream stats(port(), "/api/stats/events");
  ASSERT_EQ(stats.ReadHead(), 200);
  bool saw_edits = false;
  std::thread typist([&] {
    for (uint64_t i = 1; i <= 40; ++i) {
      ASSERT_TRUE(w->Insert(1, i - 1, 0, "s", i).has_value());
      std::this_thread::sleep_for(10ms);
    }
  });
  for (int i = 0; i < 5; ++i) {
    std::optional<SseEvent> e = stats.Next();
    ASSERT_TRUE(e.has_value());
    const json s = json::parse(e->data);
    for (const char* key : {"time_ms", "connections", "sessions", "sse_streams", "rooms",
                            "documents_loaded", "edits_per_s", "ack_p50_ms", "ack_p99_ms"}) {
      EXPECT_TRUE(s.contains(key)) << key;
    }
    EXPECT_GE(s["sessions"], 1);
    EXPECT_GE(s["sse_streams"], 1);
    if (s["edits_per_s"].get<double>() > 0) {
      saw_edits = true;
      EXPECT_GT(s["ack_p50_ms"].get<double>(), 0);
      EXPECT_GE(s["ack_p99_ms"].get<double>(), s["ack_p50_ms"].get<double>());
    }
  }
  typist.join();
  EXPECT_TRUE(saw_edits);
}

TEST_F(HttpApiTest, StreamsAndApiCallsAreNotInPresence) {
  Start();
  auto a = std::make_unique<WsClient>(port());
  std::optional<server::WelcomeMsg> wa = a->Hello(Token("ann", "*:rw"));
  ASSERT_TRUE(wa.has_value());
  ASSERT_TRUE(a->Open(1, "p").has_value());
  SseStream sse(port(), "/api/docs/p/events?token=" + Token("sid", "*:r"));
  ASSERT_EQ(sse.ReadHead(), 200);
  ASSERT_EQ(Http(port(), http::verb::post, "/api/docs/p/ops", R"({"base_seq":0,"op":["x"]})",
                 Auth())
                .status,
            200);
  WsClient b(port());
  std::optional<server::WelcomeMsg> wb = b.Hello(Token("bo", "*:rw"));
  ASSERT_TRUE(wb.has_value());
  ASSERT_TRUE(b.Open(1, "p").has_value());
  std::optional<server::PresenceMsg> snapshot = b.Expect<server::PresenceMsg>();
  ASSERT_TRUE(snapshot.has_value());
  std::set<uint64_t> sessions;
  for (const auto& e : snapshot->entries) sessions.insert(e.session);
  EXPECT_EQ(sessions, (std::set<uint64_t>{wa->session, wb->session}));
}

TEST_F(HttpApiTest, MetricsParseAndMove) {
  Start();
  std::string error;
  auto before = ParsePrometheusText(Http(port(), http::verb::get, "/metrics").body, &error);
  ASSERT_TRUE(before) << error;
  auto w = Editor("m");
  for (uint64_t i = 1; i <= 5; ++i) ASSERT_TRUE(w->Insert(1, i - 1, 0, "m", i).has_value());
  WsClient reader(port());
  ASSERT_TRUE(reader.Hello(Token("r", "m:r")).has_value());
  ASSERT_TRUE(reader.Open(1, "m").has_value());
  EXPECT_FALSE(reader.Insert(1, 5, 0, "no", 1).has_value());  // 302
  HttpResult res = Http(port(), http::verb::get, "/metrics");
  EXPECT_EQ(res.headers["Content-Type"], "text/plain; version=0.0.4; charset=utf-8");
  auto after = ParsePrometheusText(res.body, &error);
  ASSERT_TRUE(after) << error;
  auto moved = [&](const std::string& key) { return after->Get(key) - before->Get(key); };
  EXPECT_EQ(moved("quire_messages_received_total{type=\"op\"}"), 6);
  EXPECT_EQ(moved("quire_messages_sent_total{type=\"ack\"}"), 5);
  EXPECT_GT(moved("quire_received_bytes_total{type=\"op\"}"), 6 * 5);
  EXPECT_EQ(moved("quire_ack_latency_seconds_count"), 5);
  EXPECT_EQ(moved("quire_rejections_total{code=\"302\"}"), 1);
  EXPECT_GE(moved("quire_storage_writes_total"), 1);
  EXPECT_GE(moved("quire_storage_write_seconds_count"), 5);
  EXPECT_EQ(after->Get("quire_sessions"), 2);
  EXPECT_GE(after->Get("quire_connections"), 3);  // Two sessions and this request.
  EXPECT_EQ(after->Get("quire_documents_loaded"), 1);
  EXPECT_GT(after->Get("process_resident_memory_bytes"), 0);
}

}  // namespace
}  // namespace quire::test
