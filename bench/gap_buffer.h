// GapBuffer is the baseline the CRDT benchmarks compare against: a plain
// text buffer over code points, as an editor without collaboration would
// keep, with no ids, history or merging. Text lives in one array with a gap
// at the last edit; an edit moves the gap there (copying only the text
// between the old and the new place) and then writes into or widens it.
// Typing near the last edit, which is what real traces do, costs O(1).
//
// Thread safety: a value type; const methods may run concurrently.
#ifndef QUIRE_BENCH_GAP_BUFFER_H_
#define QUIRE_BENCH_GAP_BUFFER_H_

#include <algorithm>
#include <cassert>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

namespace quire::bench {

class GapBuffer {
 public:
  size_t size() const { return buf_.size() - GapSize(); }

  // Inserts `n` code points before code point `pos`. REQUIRES: pos <= size().
  void Insert(size_t pos, const char32_t* text, size_t n) {
    assert(pos <= size());
    MoveGap(pos);
    if (GapSize() < n) Grow(n);
    std::copy(text, text + n, buf_.begin() + static_cast<ptrdiff_t>(gap_start_));
    gap_start_ += n;
  }

  // Removes `n` code points from `pos`. REQUIRES: pos + n <= size().
  void Erase(size_t pos, size_t n) {
    assert(pos + n <= size());
    MoveGap(pos);
    gap_end_ += n;
  }

  std::u32string Text() const {
    std::u32string out(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(gap_start_));
    out.append(buf_.begin() + static_cast<ptrdiff_t>(gap_end_), buf_.end());
    return out;
  }

 private:
  size_t GapSize() const { return gap_end_ - gap_start_; }

  // Moves the gap to start at code point `pos`, copying the text between.
  void MoveGap(size_t pos) {
    const auto at = [this](size_t i) { return buf_.begin() + static_cast<ptrdiff_t>(i); };
    if (pos < gap_start_) {
      const size_t n = gap_start_ - pos;
      std::copy_backward(at(pos), at(gap_start_), at(gap_end_));
      gap_start_ -= n;
      gap_end_ -= n;
    } else if (pos > gap_start_) {
      const size_t n = pos - gap_start_;
      std::copy(at(gap_end_), at(gap_end_ + n), at(gap_start_));
      gap_start_ += n;
      gap_end_ += n;
    }
  }

  // Makes the gap hold at least `need` code points: the array at least
  // doubles, so n inserts cost O(n) copying in all.
  void Grow(size_t need) {
    const size_t after = buf_.size() - gap_end_;
    const size_t capacity = std::max({buf_.size() * 2, size() + need, size_t{64}});
    std::vector<char32_t> grown(capacity);
    std::copy(buf_.begin(), buf_.begin() + static_cast<ptrdiff_t>(gap_start_), grown.begin());
    std::copy(buf_.end() - static_cast<ptrdiff_t>(after), buf_.end(),
              grown.end() - static_cast<ptrdiff_t>(after));
    gap_end_ = capacity - after;
    buf_ = std::move(grown);
  }

  std::vector<char32_t> buf_;  // [0, gap_start_) text, gap, [gap_end_, size) text.
  size_t gap_start_ = 0;
  size_t gap_end_ = 0;
};

}  // namespace quire::bench

#endif  // QUIRE_BENCH_GAP_BUFFER_H_
