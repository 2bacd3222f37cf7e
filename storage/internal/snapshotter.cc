#include "storage/internal/snapshotter.h"

#include "storage/documents.h"

namespace quire::storage::internal {

Snapshotter::Snapshotter(Store& store, uint64_t every_changes, uint64_t every_bytes)
    : store_(store), every_changes_(every_changes), every_bytes_(every_bytes) {
  thread_ = std::thread([this] { Loop(); });
}

Snapshotter::~Snapshotter() { Stop(); }

void Snapshotter::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

bool Snapshotter::Due(const DocMeta& meta) const {
  return (every_changes_ > 0 && meta.changes_since_snapshot >= every_changes_) ||
         (every_bytes_ > 0 && meta.bytes_since_snapshot >= every_bytes_);
}

void Snapshotter::MaybeQueue(const std::string& doc, const DocMeta& meta) {
  if (!Due(meta)) return;
  {
    std::lock_guard<std::mutex> lock(mu_);
    if (stopping_ || !pending_.insert(doc).second) return;
    queue_.push_back(doc);
  }
  cv_.notify_one();
}

bool Snapshotter::Idle() {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.empty() && !running_;
}

void Snapshotter::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return (queue_.empty() && !running_) || stopping_; });
}

uint64_t Snapshotter::taken() {
  std::lock_guard<std::mutex> lock(mu_);
  return taken_;
}

void Snapshotter::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
    if (stopping_) break;
    const std::string doc = std::move(queue_.front());
    queue_.pop_front();
    running_ = true;
    lock.unlock();
    // Still due? (A snapshot may have landed since this was queued.)
    Result<DocMeta> meta = store_.GetMeta(doc);
    const bool taken = meta.ok() && Due(*meta) && TakeSnapshot(store_, doc).ok();
    // Appends that came in meanwhile may have made it due again.
    Result<DocMeta> after = taken ? store_.GetMeta(doc) : Result<DocMeta>(NotFound(doc));
    const bool again = after.ok() && Due(*after);
    lock.lock();
    // Only now may the document be queued again: no back-to-back copies.
    if (again) {
      queue_.push_back(doc);
    } else {
      pending_.erase(doc);
    }
    running_ = false;
    if (taken) ++taken_;
    if (queue_.empty()) idle_cv_.notify_all();
  }
  idle_cv_.notify_all();
}

}  // namespace quire::storage::internal
