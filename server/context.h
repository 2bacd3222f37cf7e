// ServerContext is what every part of a running server shares: options, the
// io_context, the pool for blocking storage reads, the store, and the
// registries of rooms, agents and sessions. Server owns it.
//
// Thread safety: the members are set once before any thread starts; each
// registry is safe to use from any thread.
#ifndef QUIRE_SERVER_CONTEXT_H_
#define QUIRE_SERVER_CONTEXT_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/thread_pool.hpp>

#include "server/agents.h"
#include "server/options.h"
#include "storage/store.h"

namespace quire::server {

class AddressSlots;
class Authenticator;
class Metrics;
class Rooms;
class Session;
class StatsSampler;
class UserBudgets;

// Live sessions by id: for closing a session whose agent another one
// resumed, and for shutdown. Touched at connect and disconnect only.
class Sessions {
 public:
  void Add(uint64_t id, std::weak_ptr<Session> session);
  void Remove(uint64_t id);
  std::shared_ptr<Session> Get(uint64_t id);
  std::vector<std::shared_ptr<Session>> All();
  size_t size();

 private:
  std::mutex mu_;
  std::unordered_map<uint64_t, std::weak_ptr<Session>> sessions_;
};

struct ServerContext {
  ServerOptions options;
  boost::asio::io_context* io = nullptr;
  boost::asio::thread_pool* loaders = nullptr;  // Blocking storage reads.
  storage::Store* store = nullptr;
  Rooms* rooms = nullptr;
  Agents* agents = nullptr;
  Authenticator* auth = nullptr;      // Tokens, or dev mode.
  Metrics* metrics = nullptr;
  UserBudgets* budgets = nullptr;     // Rate limits per user.
  AddressSlots* addresses = nullptr;  // Connections per client address.
  StatsSampler* stats = nullptr;      // For GET /api/stats/events.
  Sessions sessions;
  std::atomic<bool> stopping{false};
  std::atomic<uint64_t> next_session_id{1};
};

}  // namespace quire::server

#endif  // QUIRE_SERVER_CONTEXT_H_
