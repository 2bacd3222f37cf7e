// Tokens against a real quire-server on 127.0.0.1: what the handshake
// refuses, what a token's rights allow on every open and every write,
// refresh and expiry of a live session, secret rotation, dev mode.
#include <signal.h>
#include <sys/wait.h>

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

class AuthTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> extra = {}) {
    std::vector<std::string> args = {"--jwt-secret-file", WriteSecret(dir_.path() + "/secret"),
                                     "--durability", "async"};
    args.insert(args.end(), extra.begin(), extra.end());
    server_ = std::make_unique<ServerProcess>(dir_.path() + "/data", args);
    ASSERT_TRUE(server_->Start());
  }
  uint16_t port() const { return server_->port(); }
  // The document's seq as the HTTP API reports it (with an all-reading token).
  int64_t Seq(const std::string& doc_path) {
    HttpResult r = Http(port(), http::verb::get, "/api/docs/" + doc_path, "",
                        {{"Authorization", "Bearer " + Token("auditor", "*:r")}});
    if (r.status != 200) return -1;
    return nlohmann::json::parse(r.body)["seq"].get<int64_t>();
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
};

// Unsigned-ish tokens built by hand: header and claims, base64url.
std::string B64(std::string_view in) {
  static constexpr char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t acc = 0;
  int bits = 0;
  for (unsigned char c : in) {
    acc = (acc << 8) | c;
    bits += 8;
    while (bits >= 6) out.push_back(k[(acc >> (bits -= 6)) & 63]);
  }
  if (bits > 0) out.push_back(k[(acc << (6 - bits)) & 63]);
  return out;
}

TEST_F(AuthTest, TheHandshakeRefusesEveryBadToken) {
  Start();
  const int64_t now = NowSeconds();
  const std::string claims = R"({"sub":"mallory","exp":)" + std::to_string(now + 3600) +
                             R"(,"docs":{"*":"rw"}})";
  std::string forged = Token("mallory", "*:rw");
  forged.back() = forged.back() == 'A' ? 'B' : 'A';
  server::TokenClaims future;
  future.sub = "mallory";
  future.docs = server::ParseGrants("*:rw").value();
  future.exp = now + 3600;
  future.nbf = now + 600;
  const struct {
    const char* name;
    std::string token;
    int code;
  } cases[] = {
      {"forged signature", forged, 300},
      {"signed with another secret", Token("mallory", "*:rw", 3600, kOtherSecret), 300},
      {"alg none", B64(R"({"alg":"none","typ":"JWT"})") + "." + B64(claims) + ".", 300},
      {"RS256", B64(R"({"alg":"RS256","typ":"JWT"})") + "." + B64(claims) + "." + B64("sig"), 300},
      {"missing exp",
       B64(R"({"alg":"HS256"})") + "." + B64(R"({"sub":"m","docs":{"*":"rw"}})") + ".c2ln", 300},
      {"expired", Token("mallory", "*:rw", -10), 301},
      {"not yet valid", server::MintToken(kSecret, future).value(), 300},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    // In the Authorization header...
    WsClient bearer(port(), "/ws", {{"Authorization", "Bearer " + c.token}});
    EXPECT_EQ(bearer.upgrade_status(), 401);
    EXPECT_EQ(nlohmann::json::parse(bearer.upgrade_body())["code"], c.code);
    // ...in the query, as browsers send it...
    WsClient query(port(), "/ws?token=" + c.token);
    EXPECT_EQ(query.upgrade_status(), 401);
    // ...and in hello: an error and a close, never a welcome.
    WsClient hello(port());
    ASSERT_EQ(hello.upgrade_status(), 101);
    EXPECT_FALSE(hello.Hello(c.token).has_value());
    ASSERT_TRUE(hello.last_error().has_value());
    EXPECT_EQ(static_cast<int>(hello.last_error()->code), c.code);
    EXPECT_EQ(hello.WaitClosed(), c.code == 301 ? 4004 : 4003);
  }
  // No token at all is unauthorized too.
  WsClient none(port());
  EXPECT_FALSE(none.Hello().has_value());
  EXPECT_EQ(none.WaitClosed(), 4003);
  // A good token in the header opens a session as its user.
  WsClient good(port(), "/ws", {{"Authorization", "Bearer " + Token("alice", "*:rw")}});
  std::optional<server::WelcomeMsg> w = good.Hello();
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->user, "alice");
  EXPECT_EQ(w->name, "alice (test)");
}

TEST_F(AuthTest, AReadOnlyTokenCannotWrite) {
  Start();
  WsClient reader(port());
  ASSERT_TRUE(reader.Hello(Token("rita", "public/*:r")).has_value());
  ASSERT_EQ(reader.Open(1, "public/doc"), std::optional<uint64_t>(0));
  EXPECT_FALSE(reader.Insert(1, 0, 0, "graffiti", /*ref=*/7).has_value());
  ASSERT_TRUE(reader.last_error().has_value());
  EXPECT_EQ(reader.last_error()->code, ErrorCode::kForbidden);
  EXPECT_EQ(reader.last_error()->ref, std::optional<uint64_t>(7));
  // Nothing stored; the session stays open and a writer still writes.
  EXPECT_EQ(Seq("public%2Fdoc"), 0);
  WsClient writer(port());
  ASSERT_TRUE(writer.Hello(Token("wes", "public/*:rw")).has_value());
  ASSERT_TRUE(writer.Open(1, "public/doc").has_value());
  EXPECT_EQ(writer.Insert(1, 0, 0, "hello", 1), std::optional<uint64_t>(1));
  EXPECT_EQ(Seq("public%2Fdoc"), 1);
  // The reader sees it (it may read).
  EXPECT_TRUE(reader.Expect<server::RemoteOpMsg>().has_value());
  // Over HTTP the same: 403, nothing stored.
  HttpResult post = Http(port(), http::verb::post, "/api/docs/public%2Fdoc/ops",
                         R"({"base_seq":1,"op":["x"]})",
                         {{"Authorization", "Bearer " + Token("rita", "public/*:r")}});
  EXPECT_EQ(post.status, 403);
  EXPECT_EQ(nlohmann::json::parse(post.body)["code"], 302);
  EXPECT_EQ(Seq("public%2Fdoc"), 1);
}

TEST_F(AuthTest, ANotesTokenCannotOpenPrivateDocuments) {
  Start();
  WsClient c(port());
  ASSERT_TRUE(c.Hello(Token("nora", "notes/*:rw")).has_value());
  EXPECT_FALSE(c.Open(1, "private/x").has_value());
  ASSERT_TRUE(c.last_error().has_value());
  EXPECT_EQ(c.last_error()->code, ErrorCode::kForbidden);
  EXPECT_EQ(c.last_error()->channel, std::optional<uint16_t>(1));
  // Nothing was created either, and the session goes on.
  EXPECT_EQ(Http(port(), http::verb::get, "/api/docs/private%2Fx", "",
                 {{"Authorization", "Bearer " + Token("auditor", "*:r")}})
                .status,
            404);
  ASSERT_TRUE(c.Open(2, "notes/today").has_value());
  EXPECT_EQ(c.Insert(2, 0, 0, "ok", 1), std::optional<uint64_t>(1));
  EXPECT_EQ(Http(port(), http::verb::get, "/api/docs/private%2Fx/events", "",
                 {{"Authorization", "Bearer " + Token("nora", "notes/*:rw")}})
                .status,
            403);
}

TEST_F(AuthTest, AnExpiredTokenClosesTheLiveSession) {
  Start();
  WsClient c(port());
  const auto started = std::chrono::steady_clock::now();
  ASSERT_TRUE(c.Hello(Token("eve", "notes/*:rw", /*ttl_s=*/2)).has_value());
  ASSERT_TRUE(c.Open(1, "notes/a").has_value());
  EXPECT_EQ(c.NextErrorCode(), 301);
  EXPECT_EQ(c.WaitClosed(), 4004);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_GE(took, 1s);
  EXPECT_LT(took, 6s);
}

TEST_F(AuthTest, ARefreshedTokenKeepsTheSessionOpen) {
  Start();
  WsClient c(port());
  ASSERT_TRUE(c.Hello(Token("fred", "notes/*:rw,other/*:r", /*ttl_s=*/2)).has_value());
  ASSERT_TRUE(c.Open(1, "notes/a").has_value());
  ASSERT_TRUE(c.Open(2, "other/b").has_value());
  // The new token keeps notes/* but drops other/*: that channel closes.
  c.Send(server::RefreshMsg{Token("fred", "notes/*:rw", 60)});
  auto refreshed = c.Expect<server::RefreshedMsg>();
  ASSERT_TRUE(refreshed.has_value());
  EXPECT_GE(static_cast<int64_t>(refreshed->exp), NowSeconds() + 50);
  std::this_thread::sleep_for(3s);  // Past the first token's expiry.
  EXPECT_EQ(c.Insert(1, 0, 0, "still here", 1), std::optional<uint64_t>(1));
  EXPECT_FALSE(c.closed());
  // A refresh for another user is refused and closes.
  c.Send(server::RefreshMsg{Token("mallory", "*:rw", 60)});
  EXPECT_EQ(c.NextErrorCode(), 300);
  EXPECT_EQ(c.WaitClosed(), 4003);
}

TEST_F(AuthTest, TheDroppedRightClosesItsChannelOnRefresh) {
  Start();
  WsClient c(port());
  ASSERT_TRUE(c.Hello(Token("gina", "a/*:rw,b/*:rw")).has_value());
  ASSERT_TRUE(c.Open(1, "a/x").has_value());
  ASSERT_TRUE(c.Open(2, "b/x").has_value());
  c.Send(server::RefreshMsg{Token("gina", "a/*:rw")});
  auto e = c.Expect<server::ErrorMsg>();
  ASSERT_TRUE(e.has_value());
  EXPECT_EQ(e->code, ErrorCode::kForbidden);
  EXPECT_EQ(e->channel, std::optional<uint16_t>(2));
  EXPECT_TRUE(c.Expect<server::RefreshedMsg>().has_value());
  EXPECT_EQ(c.Insert(2, 0, 0, "no", 5), std::nullopt);
  EXPECT_EQ(c.last_error()->code, ErrorCode::kUnknownChannel);
  EXPECT_EQ(c.Insert(1, 0, 0, "yes", 6), std::optional<uint64_t>(1));
}

TEST_F(AuthTest, AgentTicketsAreBoundToTheUser) {
  Start();
  WsClient alice(port());
  std::optional<server::WelcomeMsg> wa = alice.Hello(Token("alice", "*:rw"));
  ASSERT_TRUE(wa.has_value());
  // Bob presents alice's agent and ticket: he gets an agent of his own.
  server::HelloMsg hello;
  hello.token = Token("bob", "*:rw");
  hello.agent = server::AgentTicket{wa->agent, wa->ticket};
  WsClient bob(port());
  bob.Send(hello);
  std::optional<server::WelcomeMsg> wb = bob.Expect<server::WelcomeMsg>();
  ASSERT_TRUE(wb.has_value());
  EXPECT_NE(wb->agent, wa->agent);
  // Alice, reconnecting with it, resumes her agent.
  hello.token = Token("alice", "*:rw");
  WsClient again(port());
  again.Send(hello);
  std::optional<server::WelcomeMsg> wa2 = again.Expect<server::WelcomeMsg>();
  ASSERT_TRUE(wa2.has_value());
  EXPECT_EQ(wa2->agent, wa->agent);
}

TEST_F(AuthTest, ThePreviousSecretWorksUntilItsGraceEnds) {
  const std::string old_secret = WriteSecret(dir_.path() + "/old", kOtherSecret);
  Start({"--jwt-previous-secret-file", old_secret, "--jwt-previous-grace-s", "3600"});
  WsClient old_token(port());
  EXPECT_TRUE(old_token.Hello(Token("ole", "*:rw", 60, kOtherSecret)).has_value());
  WsClient new_token(port());
  EXPECT_TRUE(new_token.Hello(Token("nan", "*:rw")).has_value());
  // SIGHUP reads the files again: the old secret leaves, a newer one comes.
  const char kNewest[] = "the-newest-secret-the-newest-secret-the-newest-1";
  WriteSecret(dir_.path() + "/old", kSecret);
  WriteSecret(dir_.path() + "/secret", kNewest);
  ::kill(server_->pid(), SIGHUP);
  bool rotated = false;
  for (int i = 0; i < 100 && !rotated; ++i) {
    std::this_thread::sleep_for(50ms);
    WsClient probe(port(), "/ws", {{"Authorization", "Bearer " + Token("p", "*:r", 60, kNewest)}});
    rotated = probe.upgrade_status() == 101;
  }
  ASSERT_TRUE(rotated);
  WsClient retired(port(), "/ws",
                   {{"Authorization", "Bearer " + Token("ole", "*:rw", 60, kOtherSecret)}});
  EXPECT_EQ(retired.upgrade_status(), 401);
  WsClient previous(port(), "/ws", {{"Authorization", "Bearer " + Token("nan", "*:rw")}});
  EXPECT_EQ(previous.upgrade_status(), 101);
}

TEST_F(AuthTest, NoGraceMeansThePreviousSecretIsRefused) {
  Start({"--jwt-previous-secret-file", WriteSecret(dir_.path() + "/old", kOtherSecret),
         "--jwt-previous-grace-s", "0"});
  WsClient c(port(), "/ws", {{"Authorization", "Bearer " + Token("o", "*:rw", 60, kOtherSecret)}});
  EXPECT_EQ(c.upgrade_status(), 401);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

TEST(AuthLogTest, NoTokenOrTextReachesTheLog) {
  TempDir dir;
  ServerProcess server(dir.path() + "/data",
                       {"--jwt-secret-file", WriteSecret(dir.path() + "/secret"), "--log-level",
                        "debug", "--durability", "async"});
  server.set_log_file(dir.path() + "/log");
  ASSERT_TRUE(server.Start());
  const std::string good = Token("lou", "*:rw");
  const std::string bad = Token("lou", "*:rw", 3600, kOtherSecret);
  {
    WsClient refused(server.port(), "/ws", {{"Authorization", "Bearer " + bad}});
    EXPECT_EQ(refused.upgrade_status(), 401);
    WsClient c(server.port());
    ASSERT_TRUE(c.Hello(good).has_value());
    ASSERT_TRUE(c.Open(1, "diary").has_value());
    ASSERT_TRUE(c.Insert(1, 0, 0, "my secret plans", 1).has_value());
    c.Send(server::RefreshMsg{bad});
    EXPECT_EQ(c.WaitClosed(), 4003);
  }
  EXPECT_EQ(server.Terminate(), 0);
  const std::string log = ReadFile(dir.path() + "/log");
  EXPECT_NE(log.find("event=auth_refused"), std::string::npos) << log;
  EXPECT_NE(log.find("event=refresh_refused"), std::string::npos) << log;
  EXPECT_NE(log.find("user=lou"), std::string::npos) << log;
  for (const std::string& token : {good, bad}) {
    // No part of a token: its header, claims or signature.
    size_t at = 0;
    for (size_t dot = token.find('.'); at <= token.size(); dot = token.find('.', at)) {
      if (dot == std::string::npos) dot = token.size();
      EXPECT_EQ(log.find(token.substr(at, dot - at)), std::string::npos) << log;
      at = dot + 1;
    }
  }
  EXPECT_EQ(log.find("secret plans"), std::string::npos) << log;
}

// Runs quire-server with `args` and returns its exit status and output.
std::pair<int, std::string> RunServer(const std::vector<std::string>& args) {
  int out[2];
  EXPECT_EQ(::pipe(out), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::dup2(out[1], 2);
    ::close(out[0]);
    std::vector<std::string> argv = {QUIRE_SERVER_BIN};
    argv.insert(argv.end(), args.begin(), args.end());
    std::vector<char*> c;
    for (std::string& a : argv) c.push_back(a.data());
    c.push_back(nullptr);
    ::execv(c[0], c.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string output;
  char buf[4096];
  // A server that started would run on: the read ends at its exit, or
  // the alarm below kills it.
  std::thread killer([pid] {
    std::this_thread::sleep_for(10s);
    ::kill(pid, SIGKILL);
  });
  killer.detach();
  for (ssize_t n; (n = ::read(out[0], buf, sizeof buf)) > 0;) output.append(buf, n);
  ::close(out[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(DevModeTest, RefusesANonLoopbackAddress) {
  TempDir dir;
  auto [status, output] =
      RunServer({"--address", "0.0.0.0", "--port", "0", "--data", dir.path() + "/data"});
  EXPECT_EQ(status, 1);
  EXPECT_NE(output.find("dev mode"), std::string::npos) << output;
  EXPECT_NE(output.find("loopback"), std::string::npos) << output;
  EXPECT_FALSE(std::filesystem::exists(dir.path() + "/data")) << "nothing may be created";
}

TEST(DevModeTest, SaysSoInItsLogAndLetsAnyoneWrite) {
  TempDir dir;
  ServerProcess server(dir.path(), {"--log-format", "json"});
  server.set_log_file(dir.path() + "/log");
  ASSERT_TRUE(server.Start());
  const std::string log = ReadFile(dir.path() + "/log");
  EXPECT_NE(log.find(R"("level":"warn","event":"dev_mode")"), std::string::npos) << log;
  {
    WsClient c(server.port());
    std::optional<server::WelcomeMsg> w = c.Hello();
    ASSERT_TRUE(w.has_value());
    EXPECT_EQ(w->user, "anonymous");
    ASSERT_TRUE(c.Open(1, "anything").has_value());
    EXPECT_EQ(c.Insert(1, 0, 0, "x", 1), std::optional<uint64_t>(1));
  }
  // Every log line is one JSON object.
  EXPECT_EQ(server.Terminate(), 0);
  std::istringstream lines(ReadFile(dir.path() + "/log"));
  int n = 0;
  for (std::string line; std::getline(lines, line); ++n) {
    EXPECT_TRUE(nlohmann::json::accept(line)) << line;
  }
  EXPECT_GE(n, 4);  // dev_mode, listening, session_opened, ..., stopped.
}

}  // namespace
}  // namespace quire::test
