// Writer runs every write of a store on one thread, in the order it was
// submitted for each document. It takes every append queued since its last
// write and commits them as one WriteBatch with one fsync (group commit).
// It keeps each document's metadata in a bounded cache (MetaCache), so an
// append never reads; when a task needs a document the cache lacks, a
// second thread reads it (Db::ReadMetaForWrite) while the writer goes on
// with other documents, and the task, with every later one of the same
// documents, waits until the read is back. docs/storage.md has the picture.
//
// Thread safety: SubmitAppend() and SubmitEdit() may be called from any thread,
// including from a completion (which runs on the writer thread).
#ifndef QUIRE_STORAGE_INTERNAL_WRITER_H_
#define QUIRE_STORAGE_INTERNAL_WRITER_H_

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

#include "storage/internal/meta_cache.h"
#include "storage/internal/rocksdb_db.h"
#include "storage/store.h"

namespace quire::storage::internal {

struct WriterOptions {
  bool sync = true;          // fsync each write (Durability::kSync).
  bool group_commit = true;  // StoreOptions::group_commit.
  uint64_t max_document_bytes = kMaxDocumentBytes;
  size_t meta_cache_entries = 10000;
  uint64_t next_epoch = 1;  // Db::ReadNextEpoch().
};

class Writer {
 public:
  // A write to one document other than an append. Given the document's
  // committed metadata (a MetaCache entry), it fills `batch` and sets
  // `*after` to what the entry becomes once written (NotFound: deleted);
  // or it returns an error and the batch is not written.
  using Edit = std::function<Status(const Result<DocMeta>& meta, rocksdb::WriteBatch* batch,
                                    Result<DocMeta>* after)>;
  // Runs on the writer thread after each committed append, per document.
  using Committed = std::function<void(const std::string& doc, const DocMeta& meta)>;

  Writer(Db& db, const WriterOptions& options, Committed committed);
  // Runs every task submitted so far, then stops its threads.
  ~Writer();
  Writer(const Writer&) = delete;
  Writer& operator=(const Writer&) = delete;

  // REQUIRES: the batch passed ValidateBatch (rocksdb_store.cc).
  void SubmitAppend(std::vector<AppendRequest> batch, Store::AppendDone done);
  void SubmitEdit(std::string doc, Edit edit, std::function<void(Status)> done);
  // Creates `doc` (metadata with the next epoch, no changes) unless it
  // exists; `done` gets its metadata either way.
  void SubmitCreate(std::string doc, std::function<void(Result<DocMeta>)> done);

  bool OnWriterThread() const { return std::this_thread::get_id() == thread_.get_id(); }
  // Waits until nothing submitted is left to run. Not on the writer thread.
  void WaitIdle();
  bool Idle();
  // Committed writes and appended changes so far (StoreStats).
  std::pair<uint64_t, uint64_t> Counts();

 private:
  struct AppendTask {
    std::vector<AppendRequest> batch;
    Store::AppendDone done;
  };
  struct EditTask {
    std::string doc;
    Writer::Edit edit;
    std::function<void(Status)> done;
  };
  struct CreateTask {
    std::string doc;
    std::function<void(Result<DocMeta>)> done;
  };
  // The loader's answer for a document's metadata.
  struct LoadedTask {
    std::string doc;
    Result<DocMeta> meta;
  };
  using Task = std::variant<AppendTask, EditTask, CreateTask, LoadedTask>;

  void Submit(Task task);
  void Loop();
  void LoaderLoop();
  // Runs a batch of tasks taken from the queue (writer thread).
  void Process(std::deque<Task> incoming);
  static std::vector<std::string> Docs(const Task& task);  // Distinct documents written.
  bool Ready(const Task& task);
  void Defer(Task task);
  void Release(std::deque<Task>* out);
  void CommitAppends(std::vector<AppendTask>& tasks);
  void RunEdit(EditTask& task);
  void RunCreate(CreateTask& task);
  // What an append task writes, or why it must fail alone.
  Status PlanAppend(const AppendTask& task, int64_t now,
                    std::unordered_map<std::string, DocMeta>* touched, uint64_t* next_epoch,
                    rocksdb::WriteBatch* batch, std::vector<uint64_t>* firsts);

  Db& db_;
  const WriterOptions options_;
  const Committed committed_;
  rocksdb::WriteOptions write_options_;

  std::mutex mu_;
  std::condition_variable cv_;         // queue_ or stopping_ changed.
  std::condition_variable loader_cv_;  // load_queue_ or loader_stopping_ changed.
  std::condition_variable idle_cv_;
  std::deque<Task> queue_;
  bool busy_ = false;  // The writer is processing, or has tasks waiting for loads.
  bool stopping_ = false;
  std::deque<std::string> load_queue_;
  bool loader_stopping_ = false;
  uint64_t writes_ = 0;
  uint64_t appended_changes_ = 0;

  // Writer thread only.
  MetaCache cache_;
  std::deque<Task> deferred_;                  // Waiting for loads, in submission order.
  std::unordered_map<std::string, int> held_;  // Documents of deferred tasks: how many.
  std::unordered_set<std::string> loading_;    // Documents being read by the loader.
  uint64_t next_epoch_;

  std::thread thread_;
  std::thread loader_;
};

}  // namespace quire::storage::internal

#endif  // QUIRE_STORAGE_INTERNAL_WRITER_H_
