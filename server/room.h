// Room runs one open document's RoomState on its own strand and carries out
// what the state asks of its host: durable appends through the store's
// writer thread, history rebuilt from the log on the loader pool, and
// loading the document itself on first use. Messages that arrive while the
// document loads wait in order.
//
// Rooms (the registry) maps names to rooms. A room with no sessions and
// nothing in flight is dropped after ServerOptions::evict_after.
//
// Thread safety: Room's public methods may be called from any thread (they
// post to the strand). Rooms' methods take its mutex: at open, close and
// eviction, never per change.
#ifndef QUIRE_SERVER_ROOM_H_
#define QUIRE_SERVER_ROOM_H_

#include <algorithm>
#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>

#include "server/context.h"
#include "server/room_state.h"

namespace quire::server {

class Room : public RoomHost, public std::enable_shared_from_this<Room> {
 public:
  Room(ServerContext& ctx, std::string name);

  const std::string& name() const { return name_; }
  // Channels (sessions' and streams') holding the room: the clients in it.
  size_t users() const { return static_cast<size_t>(std::max(0, users_.load())); }

  void Open(MemberInfo member, OpenMsg open);
  void Close(std::shared_ptr<Peer> peer, uint16_t channel);
  void Leave(std::shared_ptr<Peer> peer);
  void Change(std::shared_ptr<Peer> peer, ChangeMsg msg);
  void Op(std::shared_ptr<Peer> peer, OpMsg msg);
  void SetPresence(std::shared_ptr<Peer> peer, PresenceSetMsg msg);
  void Broadcast(std::shared_ptr<Peer> peer, BroadcastMsg msg);

  // Runs `fn` on the strand with the state once loaded (nullptr if the
  // load failed). For shutdown barriers and statistics.
  void Visit(std::function<void(const RoomState*)> fn);

 private:
  friend class Rooms;
  struct Deferred {
    std::function<void(RoomState&)> run;
    std::shared_ptr<Peer> peer;        // Told when the load fails...
    std::optional<uint16_t> channel;   // ...if this was its open.
  };
  struct Loaded {
    uint64_t epoch = 0, head = 0;
    crdt::TextDoc doc{crdt::AgentId{0}};
  };

  // Store writes: Append gathers, Commit hands what it gathered to the
  // store as one write, at most once per ServerOptions::batch_interval.
  void ScheduleCommit();
  void Commit();
  std::chrono::microseconds BatchInterval() const;
  void StartLoading();
  Result<Loaded> LoadFromStore();
  void OnLoaded(Result<Loaded> loaded);
  void Run(Deferred d);  // On the strand.
  void AfterEvent();     // On the strand: drop the room when it is broken or idle.
  void SchedulePresence();  // On the strand: a flush after the presence interval.

  // RoomHost, called on the strand by state_.
  void Append(uint64_t seq, storage::NewChange change) override;
  void LoadHistory(uint64_t from, uint64_t to) override;
  int64_t NowMs() override;

  ServerContext& ctx_;
  std::string name_;
  boost::asio::strand<boost::asio::io_context::executor_type> strand_;
  boost::asio::steady_timer idle_timer_;
  boost::asio::steady_timer presence_timer_;
  bool presence_armed_ = false;
  boost::asio::steady_timer commit_timer_;
  bool commit_armed_ = false;
  std::vector<storage::NewChange> to_commit_;  // Accepted, not yet handed to the store.
  uint64_t to_commit_last_ = 0;                // The seq of the last of them.
  std::chrono::steady_clock::time_point last_commit_{};
  std::optional<RoomState> state_;
  bool loading_ = true;
  Status load_error_;
  std::vector<Deferred> deferred_;

  // Sessions holding the room (Rooms::Acquire/Release), and how many times
  // it was acquired: eviction only proceeds if neither moved since the room
  // found itself idle.
  std::atomic<int> users_{0};
  std::atomic<uint64_t> acquisitions_{0};
};

class Rooms {
 public:
  explicit Rooms(ServerContext& ctx) : ctx_(ctx) {}
  // The room for `name`, created (and loading) when absent. The caller
  // holds it until Release.
  std::shared_ptr<Room> Acquire(const std::string& name);
  void Release(const std::shared_ptr<Room>& room);
  // Drops `room` if nobody acquired it since `seen` acquisitions (eviction),
  // or at once when `force` (a broken room or a failed load).
  bool Drop(const std::shared_ptr<Room>& room, uint64_t seen, bool force);
  std::vector<std::shared_ptr<Room>> All();
  size_t size();

 private:
  ServerContext& ctx_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Room>> rooms_;
};

}  // namespace quire::server

#endif  // QUIRE_SERVER_ROOM_H_
