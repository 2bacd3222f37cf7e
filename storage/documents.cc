#include "storage/documents.h"

#include "crdt/change_codec.h"

namespace quire::storage {
namespace {

// Replicas that only read stored documents use this agent; it never edits.
constexpr crdt::AgentId kReaderAgent{UINT64_MAX - 1};

std::string At(std::string_view doc, uint64_t seq) {
  std::string s = "document '";
  s.append(doc);
  s += "' change ";
  s += std::to_string(seq);
  return s;
}

}  // namespace

Status ApplyStored(std::string_view name, const std::vector<StoredChange>& changes,
                   crdt::TextDoc* doc) {
  for (const StoredChange& c : changes) {
    Result<crdt::Change> change = crdt::DecodeChange(c.change);
    if (!change.ok()) return Corruption(At(name, c.seq) + ": " + change.status().message());
    const Status s = doc->Integrate(*change);
    if (!s.ok()) return Corruption(At(name, c.seq) + " does not apply: " + s.message());
  }
  if (doc->PendingCount() > 0) {
    return Corruption("document '" + std::string(name) +
                      "' has changes whose dependencies are not in the log");
  }
  return Status::Ok();
}

Result<LoadedTextDoc> LoadTextDoc(Store& store, std::string_view name, crdt::AgentId agent) {
  QUIRE_ASSIGN_OR_RETURN(LoadedDoc loaded, store.Load(name));
  LoadedTextDoc out{crdt::TextDoc(agent), loaded.meta.head_seq, loaded.meta.epoch};
  if (loaded.snapshot_seq > 0) {
    Result<crdt::TextDoc> doc = crdt::TextDoc::Decode(loaded.snapshot, agent);
    if (!doc.ok()) {
      return Corruption("document '" + std::string(name) + "' snapshot " +
                        std::to_string(loaded.snapshot_seq) + ": " + doc.status().message());
    }
    out.doc = std::move(*doc);
  }
  QUIRE_RETURN_IF_ERROR(ApplyStored(name, loaded.tail, &out.doc));
  return out;
}

Result<LoadedTextDoc> LoadTextDocAt(Store& store, std::string_view name, uint64_t seq,
                                    crdt::AgentId agent) {
  QUIRE_ASSIGN_OR_RETURN(DocMeta meta, store.GetMeta(name));
  if (seq > meta.head_seq) {
    return OutOfRange("document '" + std::string(name) + "' ends at seq " +
                      std::to_string(meta.head_seq));
  }
  LoadedTextDoc out{crdt::TextDoc(agent), seq, meta.epoch};
  uint64_t from = 1;
  Result<std::pair<uint64_t, std::string>> snap = store.SnapshotAtOrBefore(name, seq);
  if (snap.ok()) {
    Result<crdt::TextDoc> doc = crdt::TextDoc::Decode(snap->second, agent);
    if (!doc.ok()) {
      return Corruption("document '" + std::string(name) + "' snapshot " +
                        std::to_string(snap->first) + ": " + doc.status().message());
    }
    out.doc = std::move(*doc);
    from = snap->first + 1;
  } else if (snap.status().code() != StatusCode::kNotFound) {
    return snap.status();
  }
  if (from <= seq) {
    if (from < meta.first_seq) {
      return NotFound("document '" + std::string(name) + "' before seq " +
                      std::to_string(meta.first_seq) + " was compacted away");
    }
    QUIRE_ASSIGN_OR_RETURN(std::vector<StoredChange> changes,
                           store.ReadChanges(name, from, seq - from + 1, SIZE_MAX));
    if (changes.size() != seq - from + 1 || changes.front().seq != from ||
        changes.back().seq != seq) {
      return Corruption("document '" + std::string(name) + "' is missing changes before seq " +
                        std::to_string(seq));
    }
    QUIRE_RETURN_IF_ERROR(ApplyStored(name, changes, &out.doc));
  }
  return out;
}

Status TakeSnapshot(Store& store, std::string_view name) {
  QUIRE_ASSIGN_OR_RETURN(LoadedTextDoc loaded, LoadTextDoc(store, name, kReaderAgent));
  if (loaded.seq == 0) return Status::Ok();
  return store.WriteSnapshot(name, loaded.epoch, loaded.seq, loaded.doc.Encode());
}

Status CompactDocument(Store& store, std::string_view name, bool drop_covered_changes) {
  QUIRE_RETURN_IF_ERROR(TakeSnapshot(store, name));
  if (drop_covered_changes) {
    QUIRE_ASSIGN_OR_RETURN(DocMeta meta, store.GetMeta(name));
    QUIRE_RETURN_IF_ERROR(store.DropChangesThrough(name, meta.epoch, meta.snapshot_seq));
  }
  return store.CompactStorage();
}

Result<VerifyReport> Verify(Store& store, const std::function<void(size_t, size_t)>& progress) {
  VerifyReport report;
  QUIRE_ASSIGN_OR_RETURN(std::vector<std::string> names, store.ListDocuments());
  for (size_t i = 0; i < names.size(); ++i) {
    const std::string& name = names[i];
    if (progress) progress(i, names.size());
    ++report.documents;
    auto problem = [&](const Status& s) { report.problems.push_back(s.ToString()); };
    Result<DocMeta> meta = store.GetMeta(name);
    if (!meta.ok()) {
      problem(meta.status());
      continue;
    }
    // Every change decodes; replay the log as far as it reaches.
    Result<std::vector<StoredChange>> changes =
        store.ReadChanges(name, meta->first_seq, SIZE_MAX, SIZE_MAX);
    if (!changes.ok()) {
      problem(changes.status());
      continue;
    }
    report.changes += changes->size();
    if (changes->size() != meta->head_seq + 1 - meta->first_seq ||
        (!changes->empty() && changes->front().seq != meta->first_seq)) {
      problem(Corruption("document '" + name + "' log holds " + std::to_string(changes->size()) +
                         " changes, its metadata says seqs " + std::to_string(meta->first_seq) +
                         ".." + std::to_string(meta->head_seq)));
      continue;
    }
    Result<std::vector<uint64_t>> snapshots = store.ListSnapshots(name);
    if (!snapshots.ok()) {
      problem(snapshots.status());
      continue;
    }
    report.snapshots += snapshots->size();
    // Each snapshot must equal the replay of the log up to its seq (when
    // the log still starts at 1), replayed once, snapshot by snapshot.
    bool ok = true;
    crdt::TextDoc replay(kReaderAgent);
    size_t replayed = 0;  // Changes of *changes applied to `replay`.
    for (uint64_t seq : *snapshots) {
      Result<std::pair<uint64_t, std::string>> snap = store.SnapshotAtOrBefore(name, seq);
      if (!snap.ok()) {
        problem(snap.status());
        ok = false;
        continue;
      }
      Result<crdt::TextDoc> stored = crdt::TextDoc::Decode(snap->second, kReaderAgent);
      if (!stored.ok()) {
        problem(Corruption("document '" + name + "' snapshot " + std::to_string(seq) + ": " +
                           stored.status().message()));
        ok = false;
        continue;
      }
      if (meta->first_seq != 1 || !ok) continue;
      const size_t upto = static_cast<size_t>(std::min<uint64_t>(seq, changes->size()));
      const std::vector<StoredChange> step(changes->begin() + static_cast<ptrdiff_t>(replayed),
                                           changes->begin() + static_cast<ptrdiff_t>(upto));
      replayed = upto;
      const Status s = ApplyStored(name, step, &replay);
      if (!s.ok()) {
        problem(s);
        ok = false;
      } else if (replay.Text() != stored->Text() || replay.GetVersion() != stored->GetVersion()) {
        problem(Corruption("document '" + name + "' snapshot " + std::to_string(seq) +
                           " differs from the replay of its log"));
        ok = false;
      }
    }
    if (!ok) continue;
    // The head loads (newest snapshot plus tail).
    Result<LoadedTextDoc> head = LoadTextDoc(store, name, kReaderAgent);
    if (!head.ok()) {
      problem(head.status());
      continue;
    }
    if (meta->first_seq == 1) {
      const std::vector<StoredChange> rest(changes->begin() + static_cast<ptrdiff_t>(replayed),
                                           changes->end());
      const Status s = ApplyStored(name, rest, &replay);
      if (!s.ok()) {
        problem(s);
      } else if (replay.Text() != head->doc.Text()) {
        problem(Corruption("document '" + name + "' head differs from the replay of its log"));
      }
    }
  }
  if (progress) progress(names.size(), names.size());
  return report;
}

}  // namespace quire::storage
