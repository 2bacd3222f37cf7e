// Snapshotter takes snapshots by policy on its own thread: a document is
// due once it has `every_changes` changes, or `every_bytes` bytes of
// changes, since its newest snapshot (0: never by that measure). It loads
// the document through the CRDT and stores the snapshot through the Store
// like any other write, so appends never wait for it. A failed snapshot is
// tried again after a later append; the log holds every change meanwhile.
//
// Thread safety: every method may be called from any thread.
#ifndef QUIRE_STORAGE_INTERNAL_SNAPSHOTTER_H_
#define QUIRE_STORAGE_INTERNAL_SNAPSHOTTER_H_

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <mutex>
#include <set>
#include <string>
#include <thread>

#include "storage/store.h"

namespace quire::storage::internal {

class Snapshotter {
 public:
  // `store` must outlive the Snapshotter.
  Snapshotter(Store& store, uint64_t every_changes, uint64_t every_bytes);
  ~Snapshotter();  // Stop()s.
  // Stops the thread; a snapshot in progress is still written. Later
  // MaybeQueue() calls do nothing.
  void Stop();
  Snapshotter(const Snapshotter&) = delete;
  Snapshotter& operator=(const Snapshotter&) = delete;

  bool Due(const DocMeta& meta) const;
  // Queues `doc` when `meta` makes it due and it is not queued already.
  void MaybeQueue(const std::string& doc, const DocMeta& meta);
  bool Idle();
  void WaitIdle();
  uint64_t taken();

 private:
  void Loop();

  Store& store_;
  const uint64_t every_changes_;
  const uint64_t every_bytes_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::condition_variable idle_cv_;
  std::deque<std::string> queue_;
  std::set<std::string> pending_;  // Queued or being taken: never queued twice.
  bool running_ = false;
  bool stopping_ = false;
  uint64_t taken_ = 0;
  std::thread thread_;
};

}  // namespace quire::storage::internal

#endif  // QUIRE_STORAGE_INTERNAL_SNAPSHOTTER_H_
