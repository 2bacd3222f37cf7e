// What an operator does with the `quire` CLI around a real server: mint
// tokens, read the audit trail, back up (online and offline) and restore.
#include <signal.h>

#include <cstdio>
#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "tests/server/http_client.h"
#include "tests/server/server_process.h"
#include "tests/server/tokens.h"

namespace quire::test {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;

// Runs `quire ARGS` through the shell; its exit status and stdout.
std::pair<int, std::string> Quire(const std::string& args) {
  const std::string cmd = std::string(QUIRE_CLI) + " " + args + " 2>/dev/null";
  FILE* p = ::popen(cmd.c_str(), "r");
  std::string out;
  char buf[4096];
  for (size_t n; p != nullptr && (n = std::fread(buf, 1, sizeof buf, p)) > 0;) out.append(buf, n);
  const int status = p == nullptr ? -1 : ::pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

class OpsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    secret_ = WriteSecret(dir_.path() + "/secret");
    server_ = std::make_unique<ServerProcess>(
        data(), std::vector<std::string>{"--jwt-secret-file", secret_, "--backup-dir",
                                         dir_.path() + "/backups"});
    ASSERT_TRUE(server_->Start());
  }
  std::string data() const { return dir_.path() + "/data"; }
  // Mints a token with the CLI, as an operator would.
  std::string CliToken(const std::string& sub, const std::string& docs) {
    auto [status, out] = Quire("token --secret-file " + secret_ + " --sub " + sub + " --name '" +
                               sub + " N.' --docs '" + docs + "' --ttl 1h");
    EXPECT_EQ(status, 0);
    while (!out.empty() && out.back() == '\n') out.pop_back();
    return out;
  }
  std::unique_ptr<WsClient> Editor(const std::string& token, const std::string& doc) {
    auto c = std::make_unique<WsClient>(server_->port());
    EXPECT_TRUE(c->Hello(token).has_value());
    EXPECT_TRUE(c->Open(1, doc).has_value());
    return c;
  }

  TempDir dir_;
  std::string secret_;
  std::unique_ptr<ServerProcess> server_;
};

TEST_F(OpsTest, TokensFromTheCliWork) {
  const std::string token = CliToken("alice", "notes/*:rw,public/*:r");
  WsClient c(server_->port());
  std::optional<server::WelcomeMsg> w = c.Hello(token);
  ASSERT_TRUE(w.has_value());
  EXPECT_EQ(w->user, "alice");
  EXPECT_EQ(w->name, "alice N.");
  EXPECT_TRUE(c.Open(1, "notes/x").has_value());
  EXPECT_FALSE(c.Open(2, "secret").has_value());
  EXPECT_EQ(Quire("token --secret-file " + secret_ + " --sub a --docs '*:rw' --ttl soon").first, 2);
  EXPECT_EQ(Quire("token --secret-file " + secret_ + " --sub a --docs '*:write'").first, 2);
  EXPECT_EQ(Quire("token --secret-file /nonexistent --sub a --docs '*:r'").first, 2);
  // quire cat with the token in QUIRE_TOKEN.
  ASSERT_TRUE(c.Insert(1, 0, 0, "from alice", 1).has_value());
  auto [status, text] = Quire("cat ws://127.0.0.1:" + std::to_string(server_->port()) +
                              "/notes/x --token " + token);
  EXPECT_EQ(status, 0);
  EXPECT_EQ(text, "from alice");
}

TEST_F(OpsTest, TheAuditTrailNamesEachAuthor) {
  auto alice = Editor(CliToken("alice", "*:rw"), "shared");
  auto bob = Editor(CliToken("bob", "*:rw"), "shared");
  ASSERT_EQ(alice->Insert(1, 0, 0, "hello", 1), std::optional<uint64_t>(1));
  ASSERT_EQ(bob->Insert(1, 1, 5, " world\n", 1), std::optional<uint64_t>(2));
  ot::TextOp del;
  del.Delete(1);
  ASSERT_EQ(alice->Apply(1, 2, del, 2), std::optional<uint64_t>(3));
  HttpResult post = Http(server_->port(), http::verb::post, "/api/docs/shared/ops",
                         R"({"base_seq":3,"op":[4,"!"]})",
                         {{"Authorization", "Bearer " + CliToken("hook", "*:rw")}});
  ASSERT_EQ(post.status, 200);
  alice.reset();
  bob.reset();
  ASSERT_EQ(server_->Terminate(), 0);

  auto [status, out] = Quire("log --data " + data() + " shared");
  ASSERT_EQ(status, 0);
  std::istringstream lines(out);
  std::vector<std::string> l;
  for (std::string line; std::getline(lines, line);) l.push_back(line);
  ASSERT_EQ(l.size(), 4u) << out;
  EXPECT_NE(l[0].find("1  20"), std::string::npos) << l[0];  // seq, then the year.
  EXPECT_NE(l[0].find("\"alice\"  insert 5 at 0 \"hello\""), std::string::npos) << l[0];
  EXPECT_NE(l[1].find("\"bob\"  insert 7 at 5 \" world\\n\""), std::string::npos) << l[1];
  EXPECT_NE(l[2].find("\"alice\"  delete 1 at 0"), std::string::npos) << l[2];
  EXPECT_NE(l[3].find("\"hook\"  insert 1 at 4 \"!\""), std::string::npos) << l[3];
  auto [status2, since] = Quire("log --data " + data() + " shared --since 2 --json");
  ASSERT_EQ(status2, 0);
  std::istringstream json_lines(since);
  std::string first;
  std::getline(json_lines, first);
  const json j = json::parse(first);
  EXPECT_EQ(j["seq"], 3);
  EXPECT_EQ(j["user"], "alice");
  EXPECT_EQ(j["op"], json::array({json{{"d", 1}}}));
  EXPECT_EQ(Quire("log --data " + data() + " nosuchdoc").first, 2);
}

TEST_F(OpsTest, BackupsRestore) {
  auto w = Editor(CliToken("w", "*:rw"), "precious");
  ASSERT_EQ(w->Insert(1, 0, 0, "keep me", 1), std::optional<uint64_t>(1));
  // Online: SIGUSR1 takes a checkpoint while the server runs.
  ::kill(server_->pid(), SIGUSR1);
  std::string online;
  for (int i = 0; i < 200 && online.empty(); ++i) {
    std::this_thread::sleep_for(25ms);
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(dir_.path() + "/backups", ec)) {
      if (std::filesystem::exists(e.path() / "agent.key")) online = e.path().string();
    }
  }
  ASSERT_FALSE(online.empty());
  ASSERT_EQ(w->Insert(1, 1, 7, " and me", 2), std::optional<uint64_t>(2));
  w.reset();
  ASSERT_EQ(server_->Terminate(), 0);
  // Offline: quire backup of the stopped server's directory.
  const std::string offline = dir_.path() + "/offline";
  auto [status, out] = Quire("backup --data " + data() + " --to " + offline);
  ASSERT_EQ(status, 0) << out;
  EXPECT_EQ(Quire("backup --data " + data() + " --to " + offline).first, 2) << "exists already";
  // Each restores: a server on the copy serves the text as of the backup.
  const std::string reader = "Bearer " + CliToken("r", "*:r");
  for (const auto& [dir, want] : {std::pair<std::string, std::string>{online, "keep me"},
                                  {offline, "keep me and me"}}) {
    SCOPED_TRACE(dir);
    EXPECT_EQ(Quire("verify --data " + dir).first, 0);
    ServerProcess restored(dir, {"--jwt-secret-file", secret_});
    ASSERT_TRUE(restored.Start());
    HttpResult get = Http(restored.port(), http::verb::get, "/api/docs/precious", "",
                          {{"Authorization", reader}});
    ASSERT_EQ(get.status, 200);
    EXPECT_EQ(json::parse(get.body)["text"], want);
  }
}

}  // namespace
}  // namespace quire::test
