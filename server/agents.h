// Agents are the CRDT identities the server hands to sessions
// (docs/protocol.md, "Agents"). Each session gets one: a random 63-bit
// value with a ticket, an HMAC-SHA256 of the agent and the user under a
// key kept in the data directory, so a client that reconnects or restarts
// from saved state can prove the agent is its own and keep authoring it.
// One agent is live in one session at a time.
//
// Thread safety: every method may be called from any thread (a mutex,
// taken at hello and at disconnect only, never on the hot path).
#ifndef QUIRE_SERVER_AGENTS_H_
#define QUIRE_SERVER_AGENTS_H_

#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "base/result.h"

namespace quire::server {

class Agents {
 public:
  // Reads the key from `dir`/agent.key, creating it (32 random bytes, mode
  // 0600) when missing.
  static Result<std::unique_ptr<Agents>> Open(const std::string& dir);
  explicit Agents(std::string key) : key_(std::move(key)) {}

  // A fresh agent: random, never 0 (the server's own replicas) or 2^64-1.
  uint64_t NewAgent() const;
  std::string Ticket(uint64_t agent, std::string_view user) const;
  bool CheckTicket(uint64_t agent, std::string_view user, std::string_view ticket) const;

  // Marks `agent` live in session `owner` (an opaque id). Returns the id of
  // the session that had it (0: none), which the caller closes.
  uint64_t Claim(uint64_t agent, uint64_t owner);
  // Forgets `agent` if `owner` still has it.
  void Release(uint64_t agent, uint64_t owner);

  // The agent of one HTTP edit by `user` (POST /api/docs/{id}/ops): the
  // user's HTTP agent while no other HTTP edit of theirs uses it, so a
  // script's edits do not add an agent to every version vector each, or a
  // fresh one meanwhile. The same agent for the server's life; never
  // handed to a session. Give it back with ReleaseHttpAgent.
  uint64_t ClaimHttpAgent(const std::string& user);
  void ReleaseHttpAgent(const std::string& user, uint64_t agent);

 private:
  std::string key_;
  std::mutex mu_;
  std::unordered_map<uint64_t, uint64_t> live_;  // agent -> session id
  struct HttpAgent {
    uint64_t agent = 0;
    bool busy = false;
  };
  std::unordered_map<std::string, HttpAgent> http_;  // user -> their HTTP agent
};

}  // namespace quire::server

#endif  // QUIRE_SERVER_AGENTS_H_
