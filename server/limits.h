// Per-user and per-address limits (docs/operations.md, "Limits").
//
// UserBudgets: every user (a token's `sub`) has two token buckets, edits
// per second and bytes per second, shared by all of that user's sessions
// and HTTP requests, and kept while it refills after the last of them
// left: reconnecting does not reset a budget. An edit (a change, an op, a
// POSTed op) takes one edit and its size in bytes; it is refused whole
// (error 402) when either bucket lacks what it needs.
//
// AddressSlots: open TCP connections per client address.
//
// Thread safety: every method may be called from any thread. The
// registries take their mutex when a session or connection starts and
// ends; a Budget has its own mutex, shared only by one user's sessions.
#ifndef QUIRE_SERVER_LIMITS_H_
#define QUIRE_SERVER_LIMITS_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace quire::server {

using SteadyTime = std::chrono::steady_clock::time_point;

struct RateLimits {
  double edits_per_s = 100;   // Sustained edits (changes/ops) per user.
  double edits_burst = 1000;  // Bucket size: a burst after a pause.
  double bytes_per_s = double{1 << 20};
  double bytes_burst = double{16 << 20};
};

// A token bucket: `rate` tokens a second up to `burst`.
class TokenBucket {
 public:
  TokenBucket(double rate, double burst, SteadyTime now)
      : rate_(rate), burst_(burst), tokens_(burst), last_(now) {}
  // Tokens available at `now` (refilled since the last call).
  double Available(SteadyTime now);
  void Take(double n) { tokens_ -= n; }
  // Seconds until `n` tokens will be there.
  double SecondsUntil(double n) const { return n <= tokens_ ? 0 : (n - tokens_) / rate_; }
  bool Full(SteadyTime now);

 private:
  double rate_, burst_, tokens_;
  SteadyTime last_;
};

class Budget {
 public:
  Budget(const RateLimits& limits, SteadyTime now);
  // Takes one edit of `bytes` if both buckets hold enough; otherwise takes
  // nothing and returns the milliseconds until it would fit (> 0). An edit
  // larger than the byte burst could never fit: it is charged against a
  // full bucket (so one large paste passes after a pause).
  int64_t TryTake(size_t bytes, SteadyTime now);
  bool Full(SteadyTime now);

 private:
  std::mutex mu_;
  TokenBucket edits_, bytes_;
  double bytes_burst_;
};

class UserBudgets {
 public:
  explicit UserBudgets(RateLimits limits) : limits_(limits) {}
  // The budget of `user`, created full when it has none. Callers keep the
  // pointer for the session's life.
  std::shared_ptr<Budget> For(const std::string& user, SteadyTime now);
  size_t size();

 private:
  RateLimits limits_;
  std::mutex mu_;
  std::unordered_map<std::string, std::shared_ptr<Budget>> budgets_;
  size_t lookups_ = 0;
};

class AddressSlots {
 public:
  // `max_per_address` 0: no limit.
  explicit AddressSlots(size_t max_per_address) : max_(max_per_address) {}
  // Takes a slot for `address`; false when it has max_per_address already.
  bool Take(const std::string& address);
  void Give(const std::string& address);
  size_t total();

 private:
  size_t max_;
  std::mutex mu_;
  std::unordered_map<std::string, size_t> open_;
  size_t total_ = 0;
};

// The Origin allow-list for browsers: true when `allowed` is empty (no
// list: any origin), when the request has no Origin (not a browser), or
// when the origin is listed exactly ("https://app.example.com") or "*" is.
bool OriginAllowed(const std::vector<std::string>& allowed, std::string_view origin);

}  // namespace quire::server

#endif  // QUIRE_SERVER_LIMITS_H_
