#include "server/limits.h"

#include <algorithm>
#include <cmath>

namespace quire::server {
namespace {

// Every this many lookups, UserBudgets drops the budgets nobody holds that
// have refilled completely: forgetting them changes nothing, and the map
// stays as large as the set of users active within a refill time.
constexpr size_t kSweepEvery = 256;

}  // namespace

double TokenBucket::Available(SteadyTime now) {
  if (now > last_) {
    const double seconds = std::chrono::duration<double>(now - last_).count();
    tokens_ = std::min(burst_, tokens_ + seconds * rate_);
    last_ = now;
  }
  return tokens_;
}

bool TokenBucket::Full(SteadyTime now) { return Available(now) >= burst_; }

Budget::Budget(const RateLimits& limits, SteadyTime now)
    : edits_(limits.edits_per_s, limits.edits_burst, now),
      bytes_(limits.bytes_per_s, limits.bytes_burst, now),
      bytes_burst_(limits.bytes_burst) {}

int64_t Budget::TryTake(size_t bytes, SteadyTime now) {
  std::lock_guard<std::mutex> lock(mu_);
  const double need_bytes = std::min(static_cast<double>(bytes), bytes_burst_);
  const bool edits_ok = edits_.Available(now) >= 1;
  const bool bytes_ok = bytes_.Available(now) >= need_bytes;
  if (edits_ok && bytes_ok) {
    edits_.Take(1);
    bytes_.Take(need_bytes);
    return 0;
  }
  const double wait = std::max(edits_.SecondsUntil(1), bytes_.SecondsUntil(need_bytes));
  return std::max<int64_t>(1, static_cast<int64_t>(std::ceil(wait * 1000)));
}

bool Budget::Full(SteadyTime now) {
  std::lock_guard<std::mutex> lock(mu_);
  return edits_.Full(now) && bytes_.Full(now);
}

std::shared_ptr<Budget> UserBudgets::For(const std::string& user, SteadyTime now) {
  std::lock_guard<std::mutex> lock(mu_);
  if (++lookups_ % kSweepEvery == 0) {
    std::erase_if(budgets_, [&](auto& entry) {
      return entry.second.use_count() == 1 && entry.second->Full(now);
    });
  }
  std::shared_ptr<Budget>& slot = budgets_[user];
  if (!slot) slot = std::make_shared<Budget>(limits_, now);
  return slot;
}

size_t UserBudgets::size() {
  std::lock_guard<std::mutex> lock(mu_);
  return budgets_.size();
}

bool AddressSlots::Take(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  size_t& n = open_[address];
  if (max_ != 0 && n >= max_) {
    if (n == 0) open_.erase(address);
    return false;
  }
  ++n;
  ++total_;
  return true;
}

void AddressSlots::Give(const std::string& address) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = open_.find(address);
  if (it == open_.end()) return;
  --total_;
  if (--it->second == 0) open_.erase(it);
}

size_t AddressSlots::total() {
  std::lock_guard<std::mutex> lock(mu_);
  return total_;
}

bool OriginAllowed(const std::vector<std::string>& allowed, std::string_view origin) {
  if (allowed.empty() || origin.empty()) return true;
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& a) { return a == "*" || a == origin; });
}

}  // namespace quire::server
