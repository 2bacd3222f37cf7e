// The load generator's clients. Each is one WebSocket connection with one
// document open on channel 0 (docs/protocol.md). A typist types one
// character per Tick() at its caret and keeps one change (CRDT) or op (OT)
// in flight; what it types meanwhile goes out as one when the ack comes.
//
// Typists keep no replica of their own: they do for the server exactly
// what a real client does, minus drawing the text. An OT typist keeps the
// text's length, its caret and the op in flight, which it transforms
// across every remote op (parse.h, WalkOp). A CRDT typist builds each
// change on the room's mirror (RoomShared), a replica of the document as
// sequenced by the server: its changes have up-to-date parents and real
// origins, as an editor's would. In each room, the first typist of each
// mode is its keeper: the CRDT keeper integrates every change into the
// mirror, the OT keeper applies every op to a text.
//
// Convergence without a replica per typist: every client adds a hash of
// each message it receives (the bytes the room shares) and of the message
// its own change became (which it can compute: a CRDT change is relayed as
// sent; an OT op as the client's in-flight op transformed across what came
// before its ack, which checks the client's transform against the
// server's rebase). A client whose sum and count equal its keeper's
// received exactly the keeper's sequence, in seq order (checked on every
// message), so it holds the keeper's text, which is compared with the
// server's (read at the end by a fresh client, a Checker).
//
// Thread safety: a client runs on its connection's thread. The atomics
// below are read by the controlling thread; a client's digest and text are
// read only after its last_seq (stored last, with release) shows it is done.
#ifndef QUIRE_BENCH_LOADGEN_CLIENTS_H_
#define QUIRE_BENCH_LOADGEN_CLIENTS_H_

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "bench/loadgen/conn.h"
#include "bench/loadgen/parse.h"
#include "bench/loadgen/stats.h"
#include "bench/loadgen/workers.h"
#include "crdt/text_doc.h"
#include "ot/text_op.h"

namespace quire::loadgen {

using server::Mode;

// Send times of one author's changes, by the agent seq of their first op.
// Written by the author's thread, read by every receiver's.
class SendTimes {
 public:
  explicit SendTimes(size_t capacity);
  void Set(uint64_t agent_seq, int64_t us) {
    if (agent_seq < n_) t_[agent_seq].store(us, std::memory_order_release);
  }
  int64_t Get(uint64_t agent_seq) const {  // 0: unknown.
    return agent_seq < n_ ? t_[agent_seq].load(std::memory_order_acquire) : 0;
  }

 private:
  std::unique_ptr<std::atomic<int64_t>[]> t_;
  size_t n_;
};

// Agent -> its send times: an open-addressing table, looked up for every
// delivery. Built once every typist has its agent, before typing starts;
// read-only afterwards.
class Authors {
 public:
  explicit Authors(const std::vector<std::pair<uint64_t, const SendTimes*>>& all);
  const SendTimes* Find(uint64_t agent) const {
    for (size_t i = Slot(agent);; i = (i + 1) & mask_) {
      if (slots_[i].first == agent) return slots_[i].second;
      if (slots_[i].first == 0) return nullptr;  // Agent 0 is never handed out.
    }
  }

 private:
  size_t Slot(uint64_t agent) const {
    return static_cast<size_t>((agent * 0x9e3779b97f4a7c15ull) >> 32) & mask_;
  }
  std::vector<std::pair<uint64_t, const SendTimes*>> slots_;
  size_t mask_ = 0;
};

// What the clients of one document share.
struct RoomShared {
  std::string doc;
  std::mutex mu;                        // Guards mirror.
  std::optional<crdt::TextDoc> mirror;  // The CRDT observer's replica.
  std::atomic<uint64_t> mirror_seq{0};  // The seq it holds.
};

// What a client needs of the run it is in.
struct RunContext {
  boost::asio::ip::tcp::endpoint server;
  std::atomic<const Authors*> authors{nullptr};
  // A client that has seen `synced`, or failed to get there.
  std::function<void(bool ok)> on_ready;
};

class LoadClient : public Conn::Handler, public FrameVisitor, public Ticked {
 public:
  LoadClient(boost::asio::io_context& io, Mode mode, RoomShared* room, RunContext* run,
             ThreadStats* stats);
  ~LoadClient() override;

  Mode mode() const { return mode_; }
  RoomShared* room() const { return room_; }
  // Connects, says hello, opens the room's document.
  void Start();
  void Close() {
    closing_ = true;
    conn_.Close();
  }

  void Tick(int64_t) override {}  // A keystroke (typists).
  virtual bool idle() const { return true; }  // Nothing typed that is not acknowledged.
  virtual const SendTimes* send_times() const { return nullptr; }
  // A keeper's or checker's replica (empty for others).
  virtual bool keeper() const { return false; }
  virtual std::string Text() const { return {}; }

  uint64_t agent() const { return agent_.load(std::memory_order_acquire); }
  uint64_t last_seq() const { return last_seq_.load(std::memory_order_acquire); }
  bool failed() const { return failed_.load(); }
  uint64_t digest() const { return digest_; }
  uint64_t digest_count() const { return digest_count_; }

 protected:
  // After `synced`, in seq order: another client's change/op, and this
  // client's own ack (called before last_seq moves on; returns the hash of
  // the relay its change became, or 0 when unknown).
  virtual void OnRemote(const Relay& relay) = 0;
  virtual uint64_t OnOwnAck(const server::AckMsg& ack) = 0;
  // Before `synced`: catch-up.
  virtual void OnCatchUp(const Relay&) {}
  virtual void OnText(const server::TextMsg&) {}
  virtual void OnSnapshot(const server::SnapshotMsg&) {}
  virtual void OnWelcome() {}
  virtual void OnLive() {}  // `synced` arrived.
  virtual void AfterAck() {}

  void Send(std::string message) { conn_.Send(std::move(message)); }
  void Fail(const std::string& why);
  int64_t now() const { return now_; }
  bool live() const { return live_; }
  ThreadStats* stats() const { return stats_; }
  boost::asio::io_context& io() { return io_; }

  std::atomic<uint64_t> agent_{0};
  uint64_t agent_next_ = 0;  // This agent's next seq in the document.

 private:
  void OnFrame(std::string_view frame, int64_t now_us) override;
  void OnClosed(const std::string& why) override;
  void OnRelay(const Relay& relay) override;
  void OnAck(const server::AckMsg& ack) override;
  void OnMessage(server::ServerMessage& message) override;
  void OnBadFrame(const std::string& why) override;
  void Ready(bool ok);
  void TimeDelivery(const Relay& relay);

  boost::asio::io_context& io_;
  Conn conn_;
  const Mode mode_;
  RoomShared* room_;
  RunContext* run_;
  ThreadStats* stats_;
  int64_t now_ = 0;
  bool live_ = false;
  bool reported_ = false;
  bool closing_ = false;
  std::atomic<bool> failed_{false};
  std::atomic<uint64_t> last_seq_{0};
  uint64_t digest_ = 0, digest_count_ = 0;
};

// A typist (see the file comment); `keeper`: it keeps the room's reference
// replica of its mode (the first typist of each mode in a room).
std::unique_ptr<LoadClient> MakeTypist(boost::asio::io_context& io, Mode mode, bool keeper,
                                       RoomShared* room, RunContext* run, ThreadStats* stats,
                                       size_t max_ops, uint64_t seed);
// A client that opens the room's document in OT mode and keeps the text it
// is sent: the server's text, once the room is quiet.
std::unique_ptr<LoadClient> MakeChecker(boost::asio::io_context& io, RoomShared* room,
                                        RunContext* run, ThreadStats* stats);

uint64_t HashBytes(std::string_view bytes);

}  // namespace quire::loadgen

#endif  // QUIRE_BENCH_LOADGEN_CLIENTS_H_
