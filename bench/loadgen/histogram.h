// Histogram of latencies in microseconds, log-linear: exact below 128 us,
// then 64 buckets per power of two (at most 1.6% above the true value).
// Each loadgen thread fills its own; Merge() adds them up at the end.
//
// Thread safety: none (one per thread).
#ifndef QUIRE_BENCH_LOADGEN_HISTOGRAM_H_
#define QUIRE_BENCH_LOADGEN_HISTOGRAM_H_

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>

namespace quire::loadgen {

class Histogram {
 public:
  void Add(int64_t us) {
    const uint64_t v = us < 0 ? 0 : static_cast<uint64_t>(us);
    ++counts_[Index(v)];
    ++count_;
    sum_ += v;
    max_ = std::max(max_, v);
  }
  void Merge(const Histogram& other) {
    for (size_t i = 0; i < kBuckets; ++i) counts_[i] += other.counts_[i];
    count_ += other.count_;
    sum_ += other.sum_;
    max_ = std::max(max_, other.max_);
  }
  uint64_t count() const { return count_; }
  uint64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0 : static_cast<double>(sum_) / count_; }
  // The upper edge of the bucket holding the q-quantile (0 < q <= 1), so a
  // percentile is never understated; the exact maximum for q = 1.
  uint64_t Quantile(double q) const {
    if (count_ == 0) return 0;
    const auto rank = static_cast<uint64_t>(q * static_cast<double>(count_) + 0.999999);
    uint64_t seen = 0;
    for (size_t i = 0; i < kBuckets; ++i) {
      seen += counts_[i];
      if (seen >= rank && counts_[i] > 0) return std::min(UpperEdge(i), max_);
    }
    return max_;
  }

 private:
  static constexpr size_t kLinear = 128;
  static constexpr size_t kPerOctave = 64;
  static constexpr size_t kBuckets = kLinear + 58 * kPerOctave;

  static size_t Index(uint64_t v) {
    if (v < kLinear) return v;
    const int shift = std::bit_width(v) - 7;  // v >> shift is in [64, 128).
    return std::min(kBuckets - 1, kLinear + static_cast<size_t>(shift - 1) * kPerOctave +
                                      static_cast<size_t>((v >> shift) - kPerOctave));
  }
  static uint64_t UpperEdge(size_t i) {
    if (i < kLinear) return i;
    const size_t shift = (i - kLinear) / kPerOctave + 1;
    const uint64_t top = (i - kLinear) % kPerOctave + kPerOctave;
    return ((top + 1) << shift) - 1;
  }

  std::array<uint64_t, kBuckets> counts_{};
  uint64_t count_ = 0, sum_ = 0, max_ = 0;
};

}  // namespace quire::loadgen

#endif  // QUIRE_BENCH_LOADGEN_HISTOGRAM_H_
