// Every limit of docs/operations.md exceeded once against a real server,
// answered as documented, while another client carries on. (The frame
// size limit is bad_input_test's AFrameOverTheLimitCloses.)
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/server/http_client.h"
#include "tests/server/server_process.h"
#include "tests/server/tokens.h"

namespace quire::test {
namespace {

using namespace std::chrono_literals;
using server::ErrorCode;

class LimitsTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra) {
    std::vector<std::string> args = {"--jwt-secret-file", WriteSecret(dir_.path() + "/secret"),
                                     "--durability", "async"};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<ServerProcess>(dir_.path() + "/data", args);
    ASSERT_TRUE(server_->Start());
  }
  uint16_t port() const { return server_->port(); }
  // A session of `user` with every right, `doc` open on channel 1.
  std::unique_ptr<WsClient> Editor(const std::string& user, const std::string& doc) {
    auto c = std::make_unique<WsClient>(port());
    EXPECT_TRUE(c->Hello(Token(user, "*:rw")).has_value());
    EXPECT_TRUE(c->Open(1, doc).has_value());
    return c;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(LimitsTest, DocumentSize) {
  Start({"--max-doc-bytes", "4096"});
  auto big = Editor("bea", "d");
  auto small = Editor("sam", "d");
  EXPECT_EQ(small->Insert(1, 0, 0, "small", 1), std::optional<uint64_t>(1));
  EXPECT_FALSE(big->Insert(1, 1, 0, std::string(5000, 'x'), 1).has_value());
  EXPECT_EQ(big->last_error()->code, ErrorCode::kDocTooLarge);
  EXPECT_EQ(small->Insert(1, 1, 5, " still", 2), std::optional<uint64_t>(2));
}

TEST_F(LimitsTest, OpenDocumentsPerConnection) {
  Start({"--max-open-docs", "2"});
  WsClient c(port());
  ASSERT_TRUE(c.Hello(Token("olga", "*:rw")).has_value());
  ASSERT_TRUE(c.Open(1, "a").has_value());
  ASSERT_TRUE(c.Open(2, "b").has_value());
  EXPECT_FALSE(c.Open(3, "c").has_value());
  EXPECT_EQ(c.last_error()->code, ErrorCode::kTooManyDocs);
  EXPECT_EQ(c.Insert(1, 0, 0, "fine", 1), std::optional<uint64_t>(1));
}

TEST_F(LimitsTest, ClientsPerRoom) {
  Start({"--max-clients-per-room", "2"});
  auto a = Editor("a", "room");
  auto b = Editor("b", "room");
  WsClient c(port());
  ASSERT_TRUE(c.Hello(Token("c", "*:rw")).has_value());
  EXPECT_FALSE(c.Open(1, "room").has_value());
  EXPECT_EQ(c.last_error()->code, ErrorCode::kRoomFull);
  ASSERT_TRUE(c.Open(2, "another room").has_value());  // Other rooms have space.
  EXPECT_EQ(a->Insert(1, 0, 0, "a", 1), std::optional<uint64_t>(1));
  // An event stream is a client of the room too.
  HttpResult sse = Http(port(), http::verb::get, "/api/docs/room/events", "",
                        {{"Authorization", "Bearer " + Token("d", "*:r")}});
  EXPECT_EQ(sse.status, 503);
  EXPECT_EQ(nlohmann::json::parse(sse.body)["code"], 403);
}

TEST_F(LimitsTest, ConnectionsPerAddress) {
  Start({"--max-conns-per-ip", "3"});
  std::vector<std::unique_ptr<WsClient>> held;
  for (int i = 0; i < 3; ++i) {
    held.push_back(std::make_unique<WsClient>(port()));
    ASSERT_EQ(held.back()->upgrade_status(), 101);
  }
  WsClient fourth(port());
  EXPECT_EQ(fourth.upgrade_status(), 429);
  EXPECT_EQ(Http(port(), http::verb::get, "/healthz").status, 429);
  // The three still work; closing one frees its place.
  ASSERT_TRUE(held[0]->Hello(Token("u", "*:rw")).has_value());
  held.pop_back();
  bool again = false;
  for (int i = 0; i < 50 && !again; ++i) {
    again = Http(port(), http::verb::get, "/healthz").status == 200;
    if (!again) std::this_thread::sleep_for(20ms);
  }
  EXPECT_TRUE(again);
}

TEST_F(LimitsTest, EditsPerSecondHoldAcrossReconnects) {
  Start({"--user-edits-per-s", "0.2", "--user-edits-burst", "3"});
  uint64_t seq = 0;
  {
    auto first = Editor("rory", "doc");
    for (uint64_t i = 1; i <= 3; ++i) {
      ASSERT_EQ(first->Insert(1, seq, 0, "x", i), std::optional<uint64_t>(seq + 1));
      ++seq;
    }
    EXPECT_FALSE(first->Insert(1, seq, 0, "x", 4).has_value());
    EXPECT_EQ(first->last_error()->code, ErrorCode::kRateLimited);
  }
  // Reconnecting (a new session, the same user) does not refill it...
  auto second = Editor("rory", "doc");
  EXPECT_FALSE(second->Insert(1, seq, 0, "x", 1).has_value());
  EXPECT_EQ(second->last_error()->code, ErrorCode::kRateLimited);
  // ...nor does HTTP, which shares the user's budget...
  HttpResult post = Http(port(), http::verb::post, "/api/docs/doc/ops",
                         R"({"base_seq":3,"op":["y"]})",
                         {{"Authorization", "Bearer " + Token("rory", "*:rw")}});
  EXPECT_EQ(post.status, 429);
  EXPECT_FALSE(post.headers["Retry-After"].empty());
  // ...while another user edits on, and nothing refused was stored.
  auto other = Editor("olive", "doc");
  EXPECT_EQ(other->Insert(1, seq, 0, "o", 1), std::optional<uint64_t>(4));
  HttpResult get = Http(port(), http::verb::get, "/api/docs/doc", "",
                        {{"Authorization", "Bearer " + Token("a", "*:r")}});
  EXPECT_EQ(nlohmann::json::parse(get.body)["text"], "oxxx");
}

TEST_F(LimitsTest, BytesPerSecond) {
  Start({"--user-bytes-per-s", "10", "--user-bytes-burst", "3000"});
  auto c = Editor("bob", "doc");
  EXPECT_EQ(c->Insert(1, 0, 0, std::string(2000, 'b'), 1), std::optional<uint64_t>(1));
  EXPECT_FALSE(c->Insert(1, 1, 0, std::string(2000, 'b'), 2).has_value());
  EXPECT_EQ(c->last_error()->code, ErrorCode::kRateLimited);
  EXPECT_EQ(c->Insert(1, 1, 0, "tiny", 3), std::optional<uint64_t>(2));
}

TEST_F(LimitsTest, OutboundQueueClosesASlowReader) {
  Start({"--max-queue-bytes", "65536"});
  // The slow reader opens the document, then stops reading with a tiny
  // receive buffer; the writer's relays pile up in its queue.
  WsClient slow(port(), "/ws", {}, /*rcvbuf=*/4096);
  ASSERT_TRUE(slow.Hello(Token("slow", "*:r")).has_value());
  ASSERT_TRUE(slow.Open(1, "doc").has_value());
  auto writer = Editor("writer", "doc");
  const auto started = std::chrono::steady_clock::now();
  for (uint64_t i = 1; i <= 60; ++i) {
    ASSERT_EQ(writer->Insert(1, i - 1, 0, std::string(20000, 'w'), i),
              std::optional<uint64_t>(i));  // Never held up by the slow one.
  }
  EXPECT_LT(std::chrono::steady_clock::now() - started, 20s);
  EXPECT_EQ(slow.WaitClosed(), 4005);
}

TEST_F(LimitsTest, ACatchUpLargerThanTheQueueCapIsDelivered) {
  Start({"--max-queue-bytes", "65536"});
  auto writer = Editor("writer", "doc");
  for (uint64_t i = 1; i <= 20; ++i) {
    ASSERT_EQ(writer->Insert(1, i - 1, 0, std::string(20000, 'w'), i), std::optional<uint64_t>(i));
  }
  // 400 KB of catch-up for a reader that reads slowly: it asked for it, so
  // it is not a slow reader to be closed (4005)...
  WsClient late(port(), "/ws", {}, /*rcvbuf=*/4096);
  ASSERT_TRUE(late.Hello(Token("late", "*:r")).has_value());
  EXPECT_EQ(late.Open(1, "doc"), std::optional<uint64_t>(20));
  EXPECT_FALSE(late.closed());
  // ...and afterwards the cap holds again for what follows.
  EXPECT_EQ(writer->Insert(1, 20, 0, "x", 21), std::optional<uint64_t>(21));
  EXPECT_TRUE(late.Expect<server::RemoteOpMsg>().has_value());
}

TEST_F(LimitsTest, HandshakeTimeout) {
  Start({"--handshake-timeout-ms", "300"});
  // A connection that says nothing is dropped...
  asio::io_context io;
  asio::ip::tcp::socket idle(io);
  idle.connect({asio::ip::make_address("127.0.0.1"), port()});
  SetReadTimeout(idle, 5s);
  char byte;
  beast::error_code ec;
  const auto started = std::chrono::steady_clock::now();
  idle.read_some(asio::buffer(&byte, 1), ec);
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_LT(std::chrono::steady_clock::now() - started, 3s);
  // ...and so is a WebSocket that sends no hello: 101, then 4001.
  WsClient quiet(port());
  ASSERT_EQ(quiet.upgrade_status(), 101);
  EXPECT_EQ(quiet.NextErrorCode(), 101);
  EXPECT_EQ(quiet.WaitClosed(), 4001);
}

TEST_F(LimitsTest, IdleTimeout) {
  Start({"--idle-timeout-ms", "700"});
  auto idle = Editor("ida", "doc");
  auto busy = Editor("bo", "doc");
  // The busy one edits every 200 ms for 1.5 s; the idle one only pings.
  for (uint64_t i = 1; i <= 7; ++i) {
    ASSERT_EQ(busy->Insert(1, i - 1, 0, "b", i), std::optional<uint64_t>(i));
    idle->Send(server::PingMsg{i});
    std::this_thread::sleep_for(200ms);
  }
  EXPECT_EQ(idle->WaitClosed(), 4008);
  EXPECT_EQ(busy->Insert(1, 7, 0, "b", 8), std::optional<uint64_t>(8));
}

TEST_F(LimitsTest, OriginAllowList) {
  Start({"--allowed-origins", "https://good.example,https://also.example"});
  EXPECT_EQ(WsClient(port(), "/ws", {{"Origin", "https://evil.example"}}).upgrade_status(), 403);
  EXPECT_EQ(WsClient(port(), "/ws", {{"Origin", "https://good.example"}}).upgrade_status(), 101);
  EXPECT_EQ(WsClient(port(), "/ws").upgrade_status(), 101);  // Not a browser.
  EXPECT_EQ(Http(port(), http::verb::get, "/api/docs/x", "", {{"Origin", "https://evil.example"}})
                .status,
            403);
  HttpResult ok = Http(port(), http::verb::get, "/api/docs/x", "",
                       {{"Origin", "https://also.example"}});
  EXPECT_EQ(ok.status, 401);  // Past the origin check: now it wants a token.
  EXPECT_EQ(ok.headers["Access-Control-Allow-Origin"], "https://also.example");
}

}  // namespace
}  // namespace quire::test
