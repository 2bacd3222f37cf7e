// End-to-end sync against a real quire-server on 127.0.0.1: CRDT and OT
// clients editing together, offline edits, crashes and restarts.
#include <random>

#include <gtest/gtest.h>

#include "client/client.h"
#include "tests/server/server_process.h"

namespace quire::test {
namespace {

using client::Client;
using client::ClientOptions;
using client::DocStatus;
using server::Mode;
using namespace std::chrono_literals;

ClientOptions Options(uint16_t port, std::string name = "test") {
  ClientOptions o;
  o.port = port;
  o.name = std::move(name);
  o.backoff_min = 20ms;
  o.backoff_max = 200ms;
  return o;
}

bool Synced(const DocStatus& s) { return s.synced; }

// Waits until every client is synced and shows the same text; returns it.
std::string Converge(std::vector<Client*> clients, uint16_t channel) {
  for (Client* c : clients) EXPECT_TRUE(c->WaitFor(channel, Synced, 20s)) << "not synced";
  // Synced means acked and caught up; relays of the last acks may still be
  // on their way to the others.
  const auto deadline = std::chrono::steady_clock::now() + 20s;
  for (;;) {
    bool same = true;
    for (Client* c : clients) same = same && c->Text(channel) == clients[0]->Text(channel);
    if (same || std::chrono::steady_clock::now() > deadline) break;
    std::this_thread::sleep_for(5ms);
  }
  for (Client* c : clients) EXPECT_EQ(c->Text(channel), clients[0]->Text(channel));
  return clients[0]->Text(channel);
}

// A fresh client's view of the server's text.
std::string ServerText(uint16_t port, const std::string& doc, Mode mode = Mode::kOt) {
  IoThread io;
  Client c(io.io(), Options(port, "reader"));
  c.Start();
  const uint16_t ch = c.Open(doc, mode);
  EXPECT_TRUE(c.WaitFor(ch, Synced, 20s));
  std::string text = c.Text(ch);
  c.Stop();
  return text;
}

void RandomEdit(Client& c, uint16_t ch, std::mt19937_64& rng, int id) {
  const std::string text = c.Text(ch);
  size_t len = 0;  // Code points: every inserted character below is ASCII or 2-4 bytes.
  for (unsigned char b : text) len += (b & 0xC0) != 0x80;
  static const char* kPieces[] = {"a", "é", "€", "😀", "xyz"};
  if (len > 0 && rng() % 3 == 0) {
    const size_t pos = rng() % len;
    const size_t n = 1 + rng() % std::min<size_t>(3, len - pos);
    EXPECT_TRUE(c.Remove(ch, pos, n).ok());
  } else {
    std::string piece = kPieces[rng() % 5];
    piece += std::to_string(id);
    EXPECT_TRUE(c.Insert(ch, rng() % (len + 1), piece).ok());
  }
}

TEST(SyncTest, CrdtAndOtClientsConverge) {
  const uint64_t seed = Seed(1);
  TempDir dir;
  ServerProcess server(dir.path());
  ASSERT_TRUE(server.Start());
  IoThread io;
  std::vector<std::unique_ptr<Client>> clients;
  std::vector<uint16_t> channels;
  for (int i = 0; i < 4; ++i) {
    clients.push_back(std::make_unique<Client>(io.io(), Options(server.port())));
    clients.back()->Start();
    channels.push_back(clients.back()->Open("shared", i < 2 ? Mode::kCrdt : Mode::kOt));
    ASSERT_TRUE(clients.back()->WaitFor(channels.back(), Synced, 20s));
  }
  std::mt19937_64 rng(seed);
  for (int step = 0; step < 300; ++step) {
    const int who = static_cast<int>(rng() % 4);
    RandomEdit(*clients[who], channels[who], rng, who);
    if (step % 50 == 0) std::this_thread::sleep_for(2ms);
  }
  std::vector<Client*> all;
  for (auto& c : clients) all.push_back(c.get());
  const std::string text = Converge(all, channels[0]);
  EXPECT_FALSE(text.empty());
  EXPECT_EQ(ServerText(server.port(), "shared"), text);
  for (auto& c : clients) c->Stop();
}

TEST(SyncTest, OfflineEditsArriveAfterReconnect) {
  TempDir dir;
  ServerProcess server(dir.path());
  ASSERT_TRUE(server.Start());
  const uint16_t port = server.port();
  IoThread io;
  Client a(io.io(), Options(port)), b(io.io(), Options(port));
  a.Start();
  b.Start();
  const uint16_t ca = a.Open("doc", Mode::kCrdt), cb = b.Open("doc", Mode::kOt);
  ASSERT_TRUE(a.WaitFor(ca, Synced, 20s));
  ASSERT_TRUE(b.WaitFor(cb, Synced, 20s));
  ASSERT_TRUE(a.Insert(ca, 0, "online ").ok());
  Converge({&a, &b}, ca);

  // The server goes away; both keep typing.
  ASSERT_EQ(server.Terminate(), 0);
  ASSERT_TRUE(a.Insert(ca, 0, "A-offline ").ok());
  ASSERT_TRUE(b.Insert(cb, b.Text(cb).size(), "B-offline").ok());
  EXPECT_GT(a.StatusOf(ca).pending, 0u);
  EXPECT_FALSE(a.StatusOf(ca).synced);
  ASSERT_TRUE(server.Start(port));
  const std::string text = Converge({&a, &b}, ca);
  EXPECT_EQ(text, "A-offline online B-offline");
  EXPECT_EQ(ServerText(port, "doc"), text);
  a.Stop();
  b.Stop();
}

TEST(SyncTest, EveryAckedEditSurvivesSigkill) {
  TempDir dir;
  ServerProcess server(dir.path());
  ASSERT_TRUE(server.Start());
  const uint16_t port = server.port();
  IoThread io;
  std::mutex mu;
  uint64_t acked = 0;
  Client a(io.io(), Options(port));
  a.Start();
  client::DocCallbacks cb;
  cb.on_ack = [&](uint64_t, uint64_t) {
    std::lock_guard<std::mutex> lock(mu);
    ++acked;
  };
  const uint16_t ch = a.Open("crash", Mode::kOt, cb);
  ASSERT_TRUE(a.WaitFor(ch, Synced, 20s));
  // Type; kill the server while edits are in flight.
  for (int i = 0; i < 200; ++i) {
    ASSERT_TRUE(a.Insert(ch, a.Text(ch).size(), "<" + std::to_string(i) + ">").ok());
    if (i == 150) server.Kill();
    std::this_thread::sleep_for(1ms);
  }
  uint64_t acked_before_crash;
  {
    std::lock_guard<std::mutex> lock(mu);
    acked_before_crash = acked;
  }
  a.Stop();
  ASSERT_GT(acked_before_crash, 0u);
  ASSERT_TRUE(server.Start(port));
  const std::string text = ServerText(port, "crash");
  // OT acks come in order, one op in flight: the first `acked` ops, each
  // holding one or more tokens, are all there. Count the tokens.
  size_t tokens = 0;
  for (char c : text) tokens += c == '<';
  std::string prefix;
  for (int i = 0; i < static_cast<int>(tokens); ++i) prefix += "<" + std::to_string(i) + ">";
  EXPECT_EQ(text, prefix) << "the stored text is not an unbroken prefix of what was typed";
  EXPECT_GE(tokens, acked_before_crash);
}

TEST(SyncTest, ResumeSendsOnlyWhatIsMissing) {
  TempDir dir;
  ServerProcess server(dir.path());
  ASSERT_TRUE(server.Start());
  IoThread io;
  std::atomic<int> remote_changes{0};
  Client a(io.io(), Options(server.port())), b(io.io(), Options(server.port()));
  a.Start();
  b.Start();
  client::DocCallbacks count;
  count.on_remote = [&](const ot::TextOp&, uint64_t) { ++remote_changes; };
  const uint16_t ca = a.Open("resume", Mode::kCrdt, count);
  const uint16_t cb = b.Open("resume", Mode::kCrdt);
  ASSERT_TRUE(a.WaitFor(ca, Synced, 20s));
  ASSERT_TRUE(b.WaitFor(cb, Synced, 20s));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(b.Insert(cb, 0, "x").ok());
  Converge({&a, &b}, ca);
  const int before = remote_changes.load();
  EXPECT_GT(before, 0);

  a.Disconnect();
  ASSERT_TRUE(b.Insert(cb, 0, "missed-1 ").ok());
  ASSERT_TRUE(b.WaitFor(cb, Synced, 20s));
  ASSERT_TRUE(b.Insert(cb, 0, "missed-2 ").ok());
  const std::string text = Converge({&a, &b}, ca);
  EXPECT_EQ(text.substr(0, 18), "missed-2 missed-1 ");
  // Only the two changes a lacked came back, not the 50 it had.
  EXPECT_LE(remote_changes.load() - before, 2);
  a.Stop();
  b.Stop();
}

TEST(SyncTest, ASecondDocumentOnTheSameConnectionIsIndependent) {
  TempDir dir;
  ServerProcess server(dir.path());
  ASSERT_TRUE(server.Start());
  IoThread io;
  Client a(io.io(), Options(server.port())), b(io.io(), Options(server.port()));
  a.Start();
  b.Start();
  const uint16_t a1 = a.Open("one", Mode::kCrdt), a2 = a.Open("two", Mode::kOt);
  const uint16_t b1 = b.Open("one", Mode::kOt), b2 = b.Open("two", Mode::kCrdt);
  for (auto [c, ch] : {std::pair{&a, a1}, {&a, a2}, {&b, b1}, {&b, b2}}) {
    ASSERT_TRUE(c->WaitFor(ch, Synced, 20s));
  }
  ASSERT_TRUE(a.Insert(a1, 0, "first").ok());
  ASSERT_TRUE(b.Insert(b2, 0, "second").ok());
  EXPECT_EQ(Converge({&a, &b}, a1), "first");
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(a.Text(a2), "second");
  EXPECT_EQ(b.Text(b1), "first");
  a.Stop();
  b.Stop();
}

TEST(SyncTest, SigtermWhileClientsTypeLosesNoAckedEdit) {
  TempDir dir;
  ServerProcess server(dir.path());
  ASSERT_TRUE(server.Start());
  const uint16_t port = server.port();
  IoThread io;
  std::mutex mu;
  std::vector<uint64_t> acked_refs;
  Client a(io.io(), Options(port));
  a.Start();
  client::DocCallbacks cb;
  cb.on_ack = [&](uint64_t ref, uint64_t) {
    std::lock_guard<std::mutex> lock(mu);
    acked_refs.push_back(ref);
  };
  const uint16_t ch = a.Open("term", Mode::kCrdt, cb);
  ASSERT_TRUE(a.WaitFor(ch, Synced, 20s));
  std::thread typist([&] {
    for (int i = 0; i < 300; ++i) {
      (void)a.Insert(ch, 0, "k");
      std::this_thread::sleep_for(1ms);
    }
  });
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(server.Terminate(), 0);
  const uint64_t acked_ops = a.StatusOf(ch).acked_ops;  // Acks that arrived before it exited.
  typist.join();
  a.Stop();
  // Whatever the server acknowledged is in the CRDT ops it stored; a's
  // replica holds them too: the server's text has at least the acked
  // keystrokes, and after a restart everything a typed arrives.
  ASSERT_TRUE(server.Start(port));
  const size_t stored = ServerText(port, "term").size();
  {
    std::lock_guard<std::mutex> lock(mu);
    EXPECT_FALSE(acked_refs.empty());
  }
  EXPECT_GT(acked_ops, 0u);
  EXPECT_GE(stored, acked_ops);
  Client again(io.io(), Options(port));
  again.Start();
  const uint16_t ch2 = again.Open("term", Mode::kCrdt);
  ASSERT_TRUE(again.WaitFor(ch2, Synced, 20s));
  EXPECT_EQ(again.Text(ch2), std::string(stored, 'k'));
  again.Stop();
}

}  // namespace
}  // namespace quire::test

namespace quire::test {
namespace {

// Runs state_client with `args`; returns its exit status, or, with
// `kill_after_line`, SIGKILLs it once it printed a line and returns -9.
int RunStateClient(std::vector<std::string> args, bool kill_after_line = false) {
  int out[2];
  EXPECT_EQ(::pipe(out), 0);
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::dup2(out[1], 1);
    ::close(out[0]);
    args.insert(args.begin(), QUIRE_STATE_CLIENT_BIN);
    std::vector<char*> c;
    for (std::string& a : args) c.push_back(a.data());
    c.push_back(nullptr);
    ::execv(c[0], c.data());
    ::_exit(127);
  }
  ::close(out[1]);
  if (kill_after_line) {
    char ch;
    while (::read(out[0], &ch, 1) == 1 && ch != '\n') {
    }
    ::kill(pid, SIGKILL);
  }
  int status = 0;
  ::waitpid(pid, &status, 0);
  ::close(out[0]);
  if (kill_after_line) return -9;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST(SyncTest, AClientKilledWhileOfflineDeliversItsEditsExactlyOnce) {
  TempDir dir;
  ServerProcess server(dir.path());
  ASSERT_TRUE(server.Start());
  const std::string port = std::to_string(server.port());
  const std::string state = dir.path() + "/client.state";
  // Connect once: the client gets its agent and saves it.
  ASSERT_EQ(RunStateClient({port, state, "offline-doc", "--wait-synced"}), 0);
  // Offline: the server is down; the client types and is killed.
  ASSERT_EQ(server.Terminate(), 0);
  RunStateClient({port, state, "offline-doc", "--insert", "typed offline", "--hang"},
                 /*kill_after_line=*/true);
  // Back: the restarted client replays its queue.
  ASSERT_TRUE(server.Start(static_cast<uint16_t>(std::stoi(port))));
  ASSERT_EQ(RunStateClient({port, state, "offline-doc", "--wait-synced"}), 0);
  // And once more: nothing is sent twice.
  ASSERT_EQ(RunStateClient({port, state, "offline-doc", "--wait-synced"}), 0);
  EXPECT_EQ(ServerText(server.port(), "offline-doc"), "typed offline");
}

}  // namespace
}  // namespace quire::test
