#include "presence/presence.h"

#include <algorithm>

namespace quire::presence {

std::string ColorFor(std::string_view user_id) {
  // Twelve colors far apart in hue, dark enough for a caret on white.
  static constexpr const char* kPalette[] = {
      "#e6194b", "#3cb44b", "#4363d8", "#f58231", "#911eb4", "#008080",
      "#f032e6", "#9a6324", "#800000", "#808000", "#000075", "#2f4f4f",
  };
  uint32_t h = 2166136261u;  // FNV-1a: stable across runs and machines.
  for (unsigned char c : user_id) h = (h ^ c) * 16777619u;
  return kPalette[h % (sizeof(kPalette) / sizeof(kPalette[0]))];
}

void RoomPresence::Join(uint64_t session, const std::string& user_id, const std::string& name,
                        int64_t now_ms) {
  Member& m = members_[session];
  m.state = State{};
  m.state.user_id = user_id;
  m.state.name = name;
  m.state.color = ColorFor(user_id);
  m.last_seen_ms = now_ms;
  m.tokens = limits_.burst;
  m.refilled_ms = now_ms;
  std::erase(left_, session);
  Changed(session, m, kAllKeys);
}

void RoomPresence::Changed(uint64_t session, Member& m, uint8_t keys) {
  ++m.clock;
  changed_[session] |= keys;
}

bool RoomPresence::TakeToken(Member& m, int64_t now_ms) {
  const double elapsed_s = static_cast<double>(std::max<int64_t>(0, now_ms - m.refilled_ms)) / 1000;
  m.tokens = std::min(limits_.burst, m.tokens + elapsed_s * limits_.updates_per_second);
  m.refilled_ms = now_ms;
  if (m.tokens < 1) return false;
  m.tokens -= 1;
  return true;
}

Status RoomPresence::Apply(uint64_t session, const Update& u, int64_t now_ms) {
  if ((u.keys & kApp) && u.app.size() > limits_.max_app_bytes) {
    return InvalidArgument("the app map takes " + std::to_string(u.app.size()) +
                           " bytes, more than " + std::to_string(limits_.max_app_bytes));
  }
  if ((u.keys & kSelections) && u.selections.size() > limits_.max_selections) {
    return InvalidArgument("more than " + std::to_string(limits_.max_selections) + " selections");
  }
  if ((u.keys & kUser) && ((u.name && u.name->size() > limits_.max_name_bytes) ||
                           (u.color && u.color->size() > 16))) {
    return InvalidArgument("the name or color is too long");
  }
  auto it = members_.find(session);
  if (it == members_.end()) return NotFound("not present");
  Member& m = it->second;
  if (!TakeToken(m, now_ms)) {
    return ResourceExhausted("more than " + std::to_string(limits_.updates_per_second) +
                             " presence updates a second");
  }
  m.last_seen_ms = now_ms;
  uint8_t changed = 0;
  if (u.keys & kUser) {
    if (u.name && *u.name != m.state.name) m.state.name = *u.name, changed |= kUser;
    if (u.color && *u.color != m.state.color) m.state.color = *u.color, changed |= kUser;
  }
  if ((u.keys & kCursor) && u.cursor != m.state.cursor) {
    m.state.cursor = u.cursor;
    changed |= kCursor;
  }
  if ((u.keys & kSelections) && u.selections != m.state.selections) {
    m.state.selections = u.selections;
    changed |= kSelections;
  }
  if ((u.keys & kTyping) && u.typing != m.state.typing) {
    m.state.typing = u.typing;
    m.typing_until_ms = u.typing ? now_ms + limits_.typing_ms : 0;
    changed |= kTyping;
  }
  if ((u.keys & kApp) && u.app != m.state.app) {
    m.state.app = u.app;
    changed |= kApp;
  }
  if (changed != 0) Changed(session, m, changed);
  return Status::Ok();
}

void RoomPresence::Touch(uint64_t session, int64_t now_ms) {
  auto it = members_.find(session);
  if (it != members_.end()) it->second.last_seen_ms = now_ms;
}

void RoomPresence::Typed(uint64_t session, int64_t now_ms) {
  auto it = members_.find(session);
  if (it == members_.end()) return;
  Member& m = it->second;
  m.last_seen_ms = now_ms;
  m.typing_until_ms = now_ms + limits_.typing_ms;
  if (!m.state.typing) {
    m.state.typing = true;
    Changed(session, m, kTyping);
  }
}

void RoomPresence::Leave(uint64_t session) {
  if (members_.erase(session) == 0) return;
  changed_.erase(session);
  left_.push_back(session);
}

std::vector<uint64_t> RoomPresence::Tick(int64_t now_ms) {
  std::vector<uint64_t> expired;
  for (auto& [session, m] : members_) {
    if (now_ms - m.last_seen_ms > limits_.ttl_ms) {
      expired.push_back(session);
    } else if (m.state.typing && m.typing_until_ms != 0 && now_ms >= m.typing_until_ms) {
      m.state.typing = false;
      m.typing_until_ms = 0;
      Changed(session, m, kTyping);
    }
  }
  for (uint64_t session : expired) Leave(session);
  return expired;
}

std::vector<Entry> RoomPresence::TakeChanges() {
  std::vector<Entry> out;
  out.reserve(changed_.size() + left_.size());
  for (const auto& [session, keys] : changed_) {
    const Member& m = members_.at(session);
    out.push_back(Entry{session, m.clock, keys, false, m.state});
  }
  for (uint64_t session : left_) out.push_back(Entry{session, 0, 0, true, State{}});
  changed_.clear();
  left_.clear();
  return out;
}

std::vector<Entry> RoomPresence::Snapshot() const {
  std::vector<Entry> out;
  out.reserve(members_.size());
  for (const auto& [session, m] : members_) {
    out.push_back(Entry{session, m.clock, kAllKeys, false, m.state});
  }
  return out;
}

}  // namespace quire::presence
