// Identities in the CRDT. Every inserted or deleted character is an op with
// an Id (agent, seq): an agent is one editing session of one replica, and
// its seq counts that agent's ops up from 0 with no gaps. A Version is a
// version vector (agent -> next seq); a document's Frontier is the set of
// ops no other op it holds depends on.
//
// Thread safety: value types.
#ifndef QUIRE_CRDT_ID_H_
#define QUIRE_CRDT_ID_H_

#include <compare>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace quire::crdt {

struct AgentId {
  uint64_t value = 0;
  friend auto operator<=>(const AgentId&, const AgentId&) = default;
};

// The agent value reserved for Id::Root(); no real agent may use it.
inline constexpr uint64_t kRootAgent = UINT64_MAX;

struct Id {
  AgentId agent;
  uint64_t seq = 0;

  // The document's start (as a left origin) or end (as a right origin).
  static constexpr Id Root() { return Id{AgentId{kRootAgent}, 0}; }
  bool IsRoot() const { return agent.value == kRootAgent; }
  friend auto operator<=>(const Id&, const Id&) = default;
};

// "(agent, seq)": how error messages name an op.
inline std::string ToString(const Id& id) {
  // Appends rather than operator+: GCC 12 -O3 warns falsely (-Wrestrict) on the chain.
  std::string s = "(";
  s += std::to_string(id.agent.value);
  s += ", ";
  s += std::to_string(id.seq);
  s += ")";
  return s;
}

// agent -> the next seq not yet seen (so {} is the empty document).
class Version {
 public:
  uint64_t Get(AgentId agent) const {
    auto it = next_.find(agent.value);
    return it == next_.end() ? 0 : it->second;
  }
  void Set(AgentId agent, uint64_t next) {
    if (next == 0) {
      next_.erase(agent.value);
    } else {
      next_[agent.value] = next;
    }
  }
  bool Contains(const Id& id) const { return id.seq < Get(id.agent); }
  // True when every op this version holds, `other` holds too.
  bool IsSubsetOf(const Version& other) const {
    for (const auto& [agent, next] : next_) {
      if (other.Get(AgentId{agent}) < next) return false;
    }
    return true;
  }
  const std::map<uint64_t, uint64_t>& entries() const { return next_; }
  friend bool operator==(const Version&, const Version&) = default;

 private:
  std::map<uint64_t, uint64_t> next_;
};

using Frontier = std::vector<Id>;  // Sorted.

}  // namespace quire::crdt

#endif  // QUIRE_CRDT_ID_H_
