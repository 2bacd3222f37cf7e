// Presence against a real server: cursors that stay on their character,
// joins and leaves, dead and silent clients, limits, the newcomer's snapshot.
#include <gtest/gtest.h>

#include "base/wire.h"
#include "client/client.h"
#include "tests/server/raw_client.h"
#include "tests/server/server_process.h"

namespace quire::test {
namespace {

using client::Client;
using client::PeerPresence;
using server::Mode;
using namespace std::chrono_literals;

client::ClientOptions Options(uint16_t port, std::string name) {
  client::ClientOptions o;
  o.port = port;
  o.name = std::move(name);
  o.backoff_min = 20ms;
  o.backoff_max = 200ms;
  return o;
}

// Waits until `c` sees, on `channel`, the member `session` satisfy `pred`
// (or be gone, with `gone`).
bool WaitPeer(const Client& c, uint16_t channel, uint64_t session,
              const std::function<bool(const PeerPresence&)>& pred, bool gone = false,
              std::chrono::milliseconds timeout = 10s) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    const auto peers = c.Peers(channel);
    auto it = peers.find(session);
    if (gone ? it == peers.end() : (it != peers.end() && pred(it->second))) return true;
    std::this_thread::sleep_for(5ms);
  }
  return false;
}

bool Synced(const client::DocStatus& s) { return s.synced; }

bool WaitText(const Client& c, uint16_t channel, const std::string& text) {
  const auto deadline = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < deadline) {
    if (c.Text(channel) == text) return true;
    std::this_thread::sleep_for(5ms);
  }
  ADD_FAILURE() << "text is '" << c.Text(channel) << "', expected '" << text << "'";
  return false;
}

class PresenceTest : public ::testing::Test {
 protected:
  void Start(std::vector<std::string> flags = {}) {
    server_ = std::make_unique<ServerProcess>(dir_.path(), std::move(flags));
    ASSERT_TRUE(server_->Start());
  }
  std::unique_ptr<Client> Join(const std::string& name, Mode mode, uint16_t* channel,
                               const std::string& doc = "doc") {
    auto c = std::make_unique<Client>(io_.io(), Options(server_->port(), name));
    c->Start();
    *channel = c->Open(doc, mode);
    EXPECT_TRUE(c->WaitFor(*channel, Synced, 20s));
    return c;
  }

  TempDir dir_;
  std::unique_ptr<ServerProcess> server_;
  IoThread io_;
};

TEST_F(PresenceTest, ACursorStaysBeforeItsCharacterWhileOthersEdit) {
  Start();
  uint16_t ca, cb, cc;
  auto a = Join("Ada", Mode::kCrdt, &ca);
  auto b = Join("Bob", Mode::kOt, &cb);
  auto c = Join("Cyd", Mode::kCrdt, &cc);
  ASSERT_TRUE(a->Insert(ca, 0, "hello world").ok());
  ASSERT_TRUE(a->WaitFor(ca, Synced, 10s));
  ASSERT_TRUE(b->WaitFor(cb, [](auto& s) { return s.seq >= 1; }, 10s));
  // Ada's caret before the 'w' (position 6).
  ASSERT_TRUE(a->SetCursor(ca, 6).ok());
  const uint64_t ada = a->session();
  auto at = [](size_t pos) { return [pos](const PeerPresence& p) { return p.cursor == pos; }; };
  EXPECT_TRUE(WaitPeer(*b, cb, ada, at(6)));
  EXPECT_TRUE(WaitPeer(*c, cc, ada, at(6)));

  // Inserts before it move it; inserts after it do not.
  ASSERT_TRUE(b->Insert(cb, 0, "XX").ok());
  ASSERT_TRUE(c->Insert(cc, 11, "!").ok());
  EXPECT_TRUE(WaitPeer(*b, cb, ada, at(8)));
  EXPECT_TRUE(WaitPeer(*c, cc, ada, at(8)));
  // Deleting around it: "XXhello " goes.
  ASSERT_TRUE(WaitText(*c, cc, "XXhello world!"));
  ASSERT_TRUE(c->Remove(cc, 0, 8).ok());
  EXPECT_TRUE(WaitPeer(*b, cb, ada, at(0)));
  EXPECT_TRUE(WaitPeer(*c, cc, ada, at(0)));
  // The character itself goes: the caret stays where it was.
  ASSERT_TRUE(WaitText(*b, cb, "world!"));
  ASSERT_TRUE(b->Insert(cb, 0, "ab").ok());
  EXPECT_TRUE(WaitPeer(*c, cc, ada, at(2)));
  ASSERT_TRUE(c->Remove(cc, 2, 1).ok());  // The 'w'.
  EXPECT_TRUE(WaitPeer(*b, cb, ada, at(2)));
  EXPECT_TRUE(WaitPeer(*c, cc, ada, at(2)));
  EXPECT_EQ(c->Text(cc), "aborld!");
  for (auto* x : {a.get(), b.get(), c.get()}) x->Stop();
}

TEST_F(PresenceTest, ThreeClientsSeeEachOtherJoinMoveSelectTypeAndLeave) {
  Start();
  uint16_t ca, cb, cc;
  auto a = Join("Ada", Mode::kCrdt, &ca);
  auto b = Join("Bob", Mode::kOt, &cb);
  ASSERT_TRUE(a->Insert(ca, 0, "shared text").ok());
  auto c = Join("Cyd", Mode::kOt, &cc);
  const uint64_t ada = a->session(), bob = b->session(), cyd = c->session();
  for (auto [x, ch] : {std::pair{a.get(), ca}, {b.get(), cb}, {c.get(), cc}}) {
    for (uint64_t who : {ada, bob, cyd}) {
      EXPECT_TRUE(WaitPeer(*x, ch, who, [](const PeerPresence& p) { return !p.name.empty(); }))
          << "a member does not see " << who << " join";
    }
  }
  EXPECT_TRUE(WaitPeer(*b, cb, cyd, [](const PeerPresence& p) {
    return p.name == "Cyd" && p.color.size() == 7 && p.color[0] == '#';
  }));
  ASSERT_TRUE(b->SetCursor(cb, 3).ok());
  ASSERT_TRUE(c->SetSelections(cc, {{0, 6}}).ok());
  EXPECT_TRUE(WaitPeer(*a, ca, bob, [](const PeerPresence& p) { return p.cursor == 3u; }));
  EXPECT_TRUE(WaitPeer(*a, ca, cyd, [](const PeerPresence& p) {
    return p.selections == std::vector<std::pair<size_t, size_t>>{{0, 6}};
  }));
  // Typing: an accepted edit sets the flag; it clears by itself.
  ASSERT_TRUE(a->Insert(ca, 0, ">").ok());
  EXPECT_TRUE(WaitPeer(*b, cb, ada, [](const PeerPresence& p) { return p.typing; }));
  EXPECT_TRUE(WaitPeer(*b, cb, ada, [](const PeerPresence& p) { return !p.typing; }, false, 10s));
  // Leaving: at once on a clean close.
  c->Stop();
  EXPECT_TRUE(WaitPeer(*a, ca, cyd, nullptr, /*gone=*/true, 2s));
  EXPECT_TRUE(WaitPeer(*b, cb, cyd, nullptr, /*gone=*/true, 2s));
  a->Stop();
  b->Stop();
}

TEST_F(PresenceTest, ADeadClientGoesWithinThePingTimeout) {
  Start({"--ping-ms", "100"});
  uint16_t ca;
  auto a = Join("Ada", Mode::kCrdt, &ca);
  RawClient dead(server_->port());
  const server::WelcomeMsg w = dead.Hello();
  dead.OpenDoc(1, "doc", Mode::kOt);
  EXPECT_TRUE(WaitPeer(*a, ca, w.session, [](const PeerPresence&) { return true; }));
  // It never reads again, so it never answers a ping: gone after two
  // missed pongs (~300 ms), though its socket stays open.
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitPeer(*a, ca, w.session, nullptr, /*gone=*/true, 3s));
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 2s);
  a->Stop();
}

TEST_F(PresenceTest, ASilentClientGoesAfterTheTtl) {
  Start({"--presence-ttl-ms", "400"});
  uint16_t ca;
  auto a = Join("Ada", Mode::kCrdt, &ca);
  RawClient silent(server_->port());
  const server::WelcomeMsg w = silent.Hello();
  silent.OpenDoc(1, "doc", Mode::kOt);
  EXPECT_TRUE(WaitPeer(*a, ca, w.session, [](const PeerPresence&) { return true; }));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(WaitPeer(*a, ca, w.session, nullptr, /*gone=*/true, 5s));
  EXPECT_GE(std::chrono::steady_clock::now() - t0, 200ms);
  a->Stop();
}

TEST_F(PresenceTest, OversizedStateBroadcastsAndFloodsAreRefusedWithACode) {
  Start();
  uint16_t ca, cb;
  auto a = Join("Ada", Mode::kCrdt, &ca);
  std::atomic<int> broadcasts{0};
  client::DocCallbacks cbs;
  cbs.on_broadcast = [&](uint64_t, const std::string&) { ++broadcasts; };
  auto b = std::make_unique<Client>(io_.io(), Options(server_->port(), "Bob"));
  b->Start();
  cb = b->Open("doc", Mode::kOt, cbs);
  ASSERT_TRUE(b->WaitFor(cb, Synced, 20s));

  RawClient r(server_->port());
  r.Hello();
  r.OpenDoc(1, "doc", Mode::kOt);
  auto presence = [&](std::string app) {
    server::PresenceSetMsg m;
    m.channel = 1;
    m.state.keys = presence::kApp;
    m.state.app = std::move(app);
    r.Send(m);
  };
  // An app map of 2,000 bytes: over the 1 KiB limit.
  wire::Buffer big;
  wire::Packer pk(big);
  pk.pack_map(1);
  wire::PackStr(pk, "blob");
  wire::PackStr(pk, std::string(2000, 'x'));
  presence(std::string(big.view()));
  EXPECT_EQ(r.NextErrorCode(), server::ErrorCode::kTooLarge);
  // A broadcast of 5,000 bytes: over 4 KiB.
  wire::Buffer payload;
  wire::Packer(payload).pack_str(5000);
  std::string value(payload.view());
  value.append(5000, 'y');
  r.Send(server::BroadcastMsg{1, value});
  EXPECT_EQ(r.NextErrorCode(), server::ErrorCode::kTooLarge);
  // A flood past the budget (30 a second, bursts of 60).
  wire::Buffer small;
  wire::Packer ps(small);
  ps.pack_map(0);
  for (int i = 0; i < 100; ++i) presence(std::string(small.view()));
  EXPECT_EQ(r.NextErrorCode(), server::ErrorCode::kRateLimited);
  // The others carry on: a small broadcast reaches Bob, edits flow.
  ASSERT_TRUE(a->Broadcast(ca, std::string("\xa2hi", 3)).ok());
  const auto deadline = std::chrono::steady_clock::now() + 5s;
  while (broadcasts.load() == 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(broadcasts.load(), 1);
  ASSERT_TRUE(a->Insert(ca, 0, "still fine").ok());
  EXPECT_TRUE(b->WaitFor(cb, [](auto& s) { return s.seq >= 1; }, 10s));
  EXPECT_EQ(b->Text(cb), "still fine");
  a->Stop();
  b->Stop();
}

TEST_F(PresenceTest, ANewcomerGetsOneCompleteSnapshot) {
  Start();
  uint16_t ca, cb;
  auto a = Join("Ada", Mode::kCrdt, &ca);
  auto b = Join("Bob", Mode::kOt, &cb);
  ASSERT_TRUE(a->Insert(ca, 0, "0123456789").ok());
  ASSERT_TRUE(a->WaitFor(ca, Synced, 10s));
  ASSERT_TRUE(a->SetCursor(ca, 4).ok());
  ASSERT_TRUE(a->SetSelections(ca, {{1, 3}}).ok());
  ASSERT_TRUE(b->SetUser(cb, "Bobby", "#123456").ok());
  ASSERT_TRUE(WaitPeer(*a, ca, b->session(),
                       [](const PeerPresence& p) { return p.name == "Bobby"; }));
  ASSERT_TRUE(WaitPeer(*b, cb, a->session(), [](const PeerPresence& p) { return p.cursor == 4u; }));

  RawClient newcomer(server_->port());
  newcomer.Hello();
  newcomer.OpenDoc(1, "doc", Mode::kOt);
  auto snapshot = newcomer.Expect<server::PresenceMsg>();
  ASSERT_TRUE(snapshot.has_value());
  std::map<uint64_t, server::PresenceEntryMsg> by_session;
  for (auto& e : snapshot->entries) by_session[e.session] = e;
  ASSERT_EQ(by_session.count(a->session()), 1u);
  ASSERT_EQ(by_session.count(b->session()), 1u);
  const server::WireState& ada = by_session[a->session()].state;
  EXPECT_EQ(ada.name, std::optional<std::string>("Ada"));
  ASSERT_TRUE(ada.cursor.has_value());
  EXPECT_EQ(std::get<uint64_t>(*ada.cursor), 4u);
  ASSERT_EQ(ada.selections.size(), 1u);
  EXPECT_EQ(std::get<uint64_t>(ada.selections[0].anchor), 1u);
  EXPECT_EQ(std::get<uint64_t>(ada.selections[0].head), 3u);
  EXPECT_EQ(by_session[b->session()].state.color, std::optional<std::string>("#123456"));
  a->Stop();
  b->Stop();
}

}  // namespace
}  // namespace quire::test
