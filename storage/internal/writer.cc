#include "storage/internal/writer.h"

#include <algorithm>
#include <cassert>
#include <chrono>

#include "base/coding.h"
#include "storage/records.h"

namespace quire::storage::internal {
namespace {

int64_t NowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Writer::Writer(Db& db, const WriterOptions& options, Committed committed)
    : db_(db),
      options_(options),
      committed_(std::move(committed)),
      cache_(std::max<size_t>(options.meta_cache_entries, 1)),
      next_epoch_(options.next_epoch) {
  write_options_.sync = options.sync;
  thread_ = std::thread([this] { Loop(); });
  loader_ = std::thread([this] { LoaderLoop(); });
}

Writer::~Writer() {
  // The writer first: tasks still waiting for a load need the loader.
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
  {
    std::lock_guard<std::mutex> lock(mu_);
    loader_stopping_ = true;
  }
  loader_cv_.notify_all();
  loader_.join();
}

void Writer::SubmitAppend(std::vector<AppendRequest> batch, Store::AppendDone done) {
  Submit(AppendTask{std::move(batch), std::move(done)});
}

void Writer::SubmitEdit(std::string doc, Writer::Edit edit, std::function<void(Status)> done) {
  Submit(EditTask{std::move(doc), std::move(edit), std::move(done)});
}

void Writer::SubmitCreate(std::string doc, std::function<void(Result<DocMeta>)> done) {
  Submit(CreateTask{std::move(doc), std::move(done)});
}

void Writer::Submit(Task task) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(task));
  }
  cv_.notify_one();
}

bool Writer::Idle() {
  std::lock_guard<std::mutex> lock(mu_);
  return queue_.empty() && !busy_;
}

void Writer::WaitIdle() {
  std::unique_lock<std::mutex> lock(mu_);
  idle_cv_.wait(lock, [this] { return queue_.empty() && !busy_; });
}

std::pair<uint64_t, uint64_t> Writer::Counts() {
  std::lock_guard<std::mutex> lock(mu_);
  return {writes_, appended_changes_};
}

void Writer::Loop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    // deferred_ is this thread's own: reading it under the lock is safe.
    cv_.wait(lock, [this] { return !queue_.empty() || (stopping_ && deferred_.empty()); });
    if (queue_.empty()) break;  // Stopping, and nothing waits for a load.
    std::deque<Task> incoming;
    incoming.swap(queue_);
    busy_ = true;
    lock.unlock();
    Process(std::move(incoming));
    lock.lock();
    busy_ = !deferred_.empty();
    if (!busy_ && queue_.empty()) idle_cv_.notify_all();
  }
}

void Writer::LoaderLoop() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    loader_cv_.wait(lock, [this] { return loader_stopping_ || !load_queue_.empty(); });
    if (load_queue_.empty()) break;
    std::string doc = std::move(load_queue_.front());
    load_queue_.pop_front();
    lock.unlock();
    Result<DocMeta> meta = db_.ReadMetaForWrite(doc);
    lock.lock();
    queue_.push_back(LoadedTask{std::move(doc), std::move(meta)});
    cv_.notify_one();
  }
}

std::vector<std::string> Writer::Docs(const Task& task) {
  std::vector<std::string> docs;
  if (const auto* a = std::get_if<AppendTask>(&task)) {
    for (const AppendRequest& r : a->batch) {
      if (std::find(docs.begin(), docs.end(), r.doc) == docs.end()) docs.push_back(r.doc);
    }
  } else if (const auto* e = std::get_if<EditTask>(&task)) {
    docs.push_back(e->doc);
  } else if (const auto* c = std::get_if<CreateTask>(&task)) {
    docs.push_back(c->doc);
  }
  return docs;
}

bool Writer::Ready(const Task& task) {
  // Every task passes here: no copies of the names (Docs() makes them).
  auto ready = [this](const std::string& doc) {
    return (held_.empty() || held_.count(doc) == 0) && cache_.Find(doc) != nullptr;
  };
  if (const auto* a = std::get_if<AppendTask>(&task)) {
    return std::all_of(a->batch.begin(), a->batch.end(),
                       [&](const AppendRequest& r) { return ready(r.doc); });
  }
  if (const auto* e = std::get_if<EditTask>(&task)) return ready(e->doc);
  if (const auto* c = std::get_if<CreateTask>(&task)) return ready(c->doc);
  return true;
}

void Writer::Defer(Task task) {
  for (const std::string& doc : Docs(task)) {
    ++held_[doc];
    if (cache_.Find(doc) == nullptr && loading_.insert(doc).second) {
      std::lock_guard<std::mutex> lock(mu_);
      load_queue_.push_back(doc);
      loader_cv_.notify_one();
    }
  }
  deferred_.push_back(std::move(task));
}

void Writer::Release(std::deque<Task>* out) {
  // In submission order: a task goes once its documents are all cached and
  // none of them belongs to an earlier task that still waits.
  std::unordered_set<std::string> blocked;
  std::deque<Task> still;
  for (Task& task : deferred_) {
    const std::vector<std::string> docs = Docs(task);
    bool ready = true;
    for (const std::string& doc : docs) {
      if (blocked.count(doc) > 0 || cache_.Find(doc) == nullptr) ready = false;
    }
    if (!ready) {
      blocked.insert(docs.begin(), docs.end());
      still.push_back(std::move(task));
      continue;
    }
    for (const std::string& doc : docs) {
      if (--held_[doc] == 0) held_.erase(doc);
    }
    out->push_back(std::move(task));
  }
  deferred_.swap(still);
}

void Writer::Process(std::deque<Task> incoming) {
  // Metadata the loader read: into the cache, and release what waited for it.
  std::vector<std::string> transient;  // Errors a later read may not repeat (I/O).
  std::deque<Task> released;
  bool loaded = false;
  for (Task& task : incoming) {
    auto* l = std::get_if<LoadedTask>(&task);
    if (l == nullptr) continue;
    loading_.erase(l->doc);
    const StatusCode code = l->meta.ok() ? StatusCode::kOk : l->meta.status().code();
    if (code != StatusCode::kOk && code != StatusCode::kNotFound &&
        code != StatusCode::kCorruption) {
      transient.push_back(l->doc);
    }
    cache_.Put(l->doc, std::move(l->meta));
    loaded = true;
  }
  if (loaded) Release(&released);

  // Released tasks first (they were submitted before anything incoming),
  // then the incoming ones that need no load; appends next to each other
  // share one write.
  std::vector<AppendTask> group;
  auto commit = [&] {
    if (group.empty()) return;
    CommitAppends(group);
    group.clear();
  };
  auto run = [&](Task& task) {
    if (auto* a = std::get_if<AppendTask>(&task)) {
      group.push_back(std::move(*a));
      if (!options_.group_commit) commit();
    } else if (auto* c = std::get_if<CreateTask>(&task)) {
      commit();
      RunCreate(*c);
    } else {
      commit();
      RunEdit(std::get<EditTask>(task));
    }
  };
  for (Task& task : released) run(task);
  for (Task& task : incoming) {
    if (std::holds_alternative<LoadedTask>(task)) continue;
    if (Ready(task)) {
      run(task);
    } else {
      Defer(std::move(task));
    }
  }
  commit();
  for (const std::string& doc : transient) {
    if (held_.count(doc) == 0) cache_.Erase(doc);
  }
  cache_.Trim([this](const std::string& doc) { return held_.count(doc) > 0; });
}

Status Writer::PlanAppend(const AppendTask& task, int64_t now,
                          std::unordered_map<std::string, DocMeta>* touched, uint64_t* next_epoch,
                          rocksdb::WriteBatch* batch, std::vector<uint64_t>* firsts) {
  // Every document's metadata and size first: a task that fails writes
  // nothing, and the other tasks of the group go on.
  std::unordered_map<std::string, DocMeta> metas;
  std::unordered_map<std::string, uint64_t> growth;
  uint64_t epoch = *next_epoch;
  for (const AppendRequest& r : task.batch) {
    for (const NewChange& c : r.changes) growth[r.doc] += c.change.size();
    if (metas.count(r.doc) > 0) continue;
    if (auto t = touched->find(r.doc); t != touched->end()) {
      metas[r.doc] = t->second;
      continue;
    }
    const Result<DocMeta>* cached = cache_.Find(r.doc);
    assert(cached != nullptr && "Ready() checked that every document is cached");
    if (cached->ok()) {
      metas[r.doc] = **cached;
    } else if (cached->status().code() == StatusCode::kNotFound) {
      DocMeta fresh;  // A new document.
      fresh.epoch = epoch++;
      fresh.created_ms = now;
      metas[r.doc] = fresh;
    } else {
      return cached->status();
    }
  }
  for (const auto& [doc, bytes] : growth) {
    const uint64_t total = metas[doc].history_bytes + bytes;
    if (total > options_.max_document_bytes) {
      return ResourceExhausted(DocName(doc) + " would grow to " + std::to_string(total) +
                               " bytes of changes, past its limit of " +
                               std::to_string(options_.max_document_bytes) +
                               "; nothing was written");
    }
  }
  *next_epoch = epoch;
  for (const AppendRequest& r : task.batch) {
    DocMeta& meta = metas[r.doc];
    firsts->push_back(meta.head_seq + 1);
    for (const NewChange& c : r.changes) {
      ++meta.head_seq;
      const std::string record = EncodeChangeRecord(r.doc, meta.head_seq, c);
      batch->Put(db_.changes(), SeqKey(r.doc, meta.head_seq), record);
      meta.change_bytes += record.size();
      meta.bytes_since_snapshot += record.size();
      meta.history_bytes += c.change.size();
      ++meta.changes_since_snapshot;
    }
    meta.updated_ms = now;
  }
  for (auto& [doc, meta] : metas) (*touched)[doc] = meta;
  return Status::Ok();
}

void Writer::CommitAppends(std::vector<AppendTask>& tasks) {
  rocksdb::WriteBatch batch;
  std::unordered_map<std::string, DocMeta> touched;  // Metadata as of this batch.
  uint64_t next_epoch = next_epoch_;
  uint64_t changes = 0;
  const int64_t now = NowMs();
  std::vector<Result<std::vector<uint64_t>>> results;
  for (const AppendTask& task : tasks) {
    std::vector<uint64_t> firsts;
    const Status planned = PlanAppend(task, now, &touched, &next_epoch, &batch, &firsts);
    if (!planned.ok()) {
      results.emplace_back(planned);
      continue;
    }
    for (const AppendRequest& r : task.batch) changes += r.changes.size();
    results.emplace_back(std::move(firsts));
  }
  for (const auto& [doc, meta] : touched) {
    batch.Put(db_.docs(), doc, EncodeMetaRecord(doc, meta));
  }
  if (next_epoch != next_epoch_) {
    std::string v;
    PutVarint(&v, next_epoch);
    batch.Put(db_.docs(), kNextEpochKey, v);
  }
  const Status written =
      touched.empty() ? Status::Ok() : db_.Write(write_options_, &batch, "appending");
  if (written.ok() && !touched.empty()) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      ++writes_;
      appended_changes_ += changes;
    }
    next_epoch_ = next_epoch;
    for (const auto& [doc, meta] : touched) {
      cache_.Put(doc, meta);
      committed_(doc, meta);
    }
  }
  for (size_t i = 0; i < tasks.size(); ++i) {
    tasks[i].done(written.ok() ? std::move(results[i]) : Result<std::vector<uint64_t>>(written));
  }
}

void Writer::RunEdit(EditTask& task) {
  const Result<DocMeta>* meta = cache_.Find(task.doc);
  assert(meta != nullptr && "Ready() checked that the document is cached");
  rocksdb::WriteBatch batch;
  Result<DocMeta> after = *meta;
  Status s = task.edit(*meta, &batch, &after);
  const bool write = s.ok() && batch.Count() > 0;
  if (write) s = db_.Write(write_options_, &batch, "writing");
  if (s.ok()) {
    cache_.Put(task.doc, std::move(after));
    if (write) {
      std::lock_guard<std::mutex> lock(mu_);
      ++writes_;
    }
  }
  task.done(std::move(s));
}

void Writer::RunCreate(CreateTask& task) {
  const Result<DocMeta>* meta = cache_.Find(task.doc);
  assert(meta != nullptr && "Ready() checked that the document is cached");
  if (meta->ok() || meta->status().code() != StatusCode::kNotFound) return task.done(*meta);
  DocMeta fresh;
  fresh.epoch = next_epoch_;
  fresh.created_ms = fresh.updated_ms = NowMs();
  rocksdb::WriteBatch batch;
  batch.Put(db_.docs(), task.doc, EncodeMetaRecord(task.doc, fresh));
  std::string next;
  PutVarint(&next, next_epoch_ + 1);
  batch.Put(db_.docs(), kNextEpochKey, next);
  if (Status s = db_.Write(write_options_, &batch, "creating a document"); !s.ok()) {
    return task.done(std::move(s));
  }
  ++next_epoch_;
  cache_.Put(task.doc, fresh);
  {
    std::lock_guard<std::mutex> lock(mu_);
    ++writes_;
  }
  task.done(fresh);
}

}  // namespace quire::storage::internal
