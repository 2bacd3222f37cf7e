#include "storage/documents.h"

#include "crdt/change_codec.h"
#include "storage/records.h"

namespace quire::storage {
namespace {

// Replicas that only read stored documents use this agent; it never edits.
constexpr crdt::AgentId kReaderAgent{UINT64_MAX - 1};

// Damage, which another way to the same document may avoid (unlike I/O
// errors or a missing document).
bool IsDamage(const Status& s) {
  return s.code() == StatusCode::kCorruption || s.code() == StatusCode::kResourceExhausted;
}

// The document at `seq` built from the snapshot at `base` (0: none) and the
// changes (base, seq].
Status LoadFrom(Store& store, std::string_view name, uint64_t base, uint64_t seq,
                crdt::TextDoc* doc) {
  if (base > 0) {
    QUIRE_ASSIGN_OR_RETURN(auto snap, store.SnapshotAtOrBefore(name, base));
    if (snap.first != base) return Corruption(RecordName(name, "snapshot", base) + " is missing");
    QUIRE_ASSIGN_OR_RETURN(*doc, DecodeSnapshot(name, base, snap.second, doc->agent()));
  }
  if (base == seq) return Status::Ok();
  QUIRE_ASSIGN_OR_RETURN(std::vector<StoredChange> changes,
                         store.ReadChanges(name, base + 1, seq - base, SIZE_MAX));
  if (changes.size() != seq - base || changes.front().seq != base + 1 ||
      changes.back().seq != seq) {
    return Corruption(DocName(name) + " is missing changes before seq " + std::to_string(seq));
  }
  return ApplyStored(name, changes, doc);
}

// The document at `seq` from the newest snapshot at or before it that
// loads, or from the whole log: each snapshot that fails is passed over
// (and named in skipped_snapshots) for an older one, as long as the log
// reaches back to it.
Result<LoadedTextDoc> LoadFromSnapshotThatLoads(Store& store, std::string_view name,
                                                const DocMeta& meta, uint64_t seq,
                                                crdt::AgentId agent) {
  QUIRE_ASSIGN_OR_RETURN(std::vector<uint64_t> snapshots, store.ListSnapshots(name));
  LoadedTextDoc out{crdt::TextDoc(agent), seq, meta.epoch, {}};
  Status last;
  for (auto it = snapshots.rbegin();; ++it) {
    const uint64_t base = it == snapshots.rend() ? 0 : *it;
    if (base > seq) continue;
    if (base + 1 < meta.first_seq) break;  // The log does not reach back to it.
    crdt::TextDoc doc(agent);
    last = LoadFrom(store, name, base, seq, &doc);
    if (last.ok()) {
      out.doc = std::move(doc);
      return out;
    }
    if (!IsDamage(last) || base == 0) return last;
    out.skipped_snapshots.push_back(last.ToString());
  }
  if (!last.ok()) return last;
  return NotFound(DocName(name) + " before seq " + std::to_string(meta.first_seq) +
                  " was compacted away");
}

}  // namespace

Result<crdt::TextDoc> DecodeSnapshot(std::string_view name, uint64_t seq, std::string_view bytes,
                                     crdt::AgentId agent) {
  // LIMIT WIRING: the one place the store decodes a document. Pass
  // kMaxDocumentBytes (store.h) to Decode here once crdt's Decode takes a
  // caller-set limit.
  Result<crdt::TextDoc> doc = crdt::TextDoc::Decode(bytes, agent);
  if (!doc.ok()) {
    return Status(doc.status().code(),
                  RecordName(name, "snapshot", seq) + ": " + doc.status().message());
  }
  return doc;
}

Status ApplyStored(std::string_view name, const std::vector<StoredChange>& changes,
                   crdt::TextDoc* doc) {
  for (const StoredChange& c : changes) {
    Result<crdt::Change> change = crdt::DecodeChange(c.change);
    if (!change.ok()) {
      return Corruption(RecordName(name, "change", c.seq) + ": " + change.status().message());
    }
    const Status s = doc->Integrate(*change);
    if (!s.ok()) {
      return Corruption(RecordName(name, "change", c.seq) + " does not apply: " + s.message());
    }
  }
  if (doc->PendingCount() > 0) {
    return Corruption(DocName(name) + " has changes whose dependencies are not in the log");
  }
  return Status::Ok();
}

Result<LoadedTextDoc> LoadTextDoc(Store& store, std::string_view name, crdt::AgentId agent) {
  // The common case: the newest snapshot and the changes after it, read
  // at one point in time.
  Result<LoadedDoc> loaded = store.Load(name);
  Status failed;
  if (loaded.ok()) {
    LoadedTextDoc out{crdt::TextDoc(agent), loaded->meta.head_seq, loaded->meta.epoch, {}};
    if (loaded->snapshot_seq > 0) {
      Result<crdt::TextDoc> doc =
          DecodeSnapshot(name, loaded->snapshot_seq, loaded->snapshot, agent);
      if (doc.ok()) out.doc = std::move(*doc);
      failed = doc.status();
    }
    if (failed.ok()) failed = ApplyStored(name, loaded->tail, &out.doc);
    if (failed.ok()) return out;
    if (loaded->snapshot_seq == 0) return failed;  // No other way to the document.
  } else {
    failed = loaded.status();
  }
  // A snapshot that is damaged, or that this build cannot decode (a lower
  // limit), must not make the document unloadable while the log still
  // holds it: a snapshot is a cache of the log.
  if (!IsDamage(failed)) return failed;
  QUIRE_ASSIGN_OR_RETURN(DocMeta meta, store.GetMeta(name));
  Result<LoadedTextDoc> other = LoadFromSnapshotThatLoads(store, name, meta, meta.head_seq, agent);
  if (!other.ok()) return failed;  // The first error says most.
  if (other->skipped_snapshots.empty()) other->skipped_snapshots.push_back(failed.ToString());
  return other;
}

Result<LoadedTextDoc> LoadTextDocAt(Store& store, std::string_view name, uint64_t seq,
                                    crdt::AgentId agent) {
  QUIRE_ASSIGN_OR_RETURN(DocMeta meta, store.GetMeta(name));
  if (seq > meta.head_seq) {
    return OutOfRange(DocName(name) + " ends at seq " + std::to_string(meta.head_seq));
  }
  return LoadFromSnapshotThatLoads(store, name, meta, seq, agent);
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

namespace {

// Verify's checks of one document; each problem goes to `report`.
void VerifyDocument(Store& store, const std::string& name, VerifyReport* report) {
  auto problem = [&](const Status& s) { report->problems.push_back(s.ToString()); };
  Result<DocMeta> meta = store.GetMeta(name);
  if (!meta.ok()) return problem(meta.status());
  // Every change decodes (and sits under its own key); replay the log as
  // far as it reaches.
  Result<std::vector<StoredChange>> changes =
      store.ReadChanges(name, meta->first_seq, SIZE_MAX, SIZE_MAX);
  if (!changes.ok()) return problem(changes.status());
  report->changes += changes->size();
  if (changes->size() != meta->head_seq + 1 - meta->first_seq ||
      (!changes->empty() && changes->front().seq != meta->first_seq)) {
    return problem(Corruption(DocName(name) + " log holds " + std::to_string(changes->size()) +
                              " changes, its metadata says seqs " +
                              std::to_string(meta->first_seq) + ".." +
                              std::to_string(meta->head_seq)));
  }
  Result<std::vector<uint64_t>> snapshots = store.ListSnapshots(name);
  if (!snapshots.ok()) return problem(snapshots.status());
  report->snapshots += snapshots->size();
  // Each snapshot must equal the replay of the log up to its seq (when
  // the log still starts at 1), replayed once, snapshot by snapshot.
  bool ok = true;
  crdt::TextDoc replay(kReaderAgent);
  size_t replayed = 0;  // Changes of *changes applied to `replay`.
  for (uint64_t seq : *snapshots) {
    Result<std::pair<uint64_t, std::string>> snap = store.SnapshotAtOrBefore(name, seq);
    Result<crdt::TextDoc> stored = snap.ok() ? DecodeSnapshot(name, seq, snap->second, kReaderAgent)
                                             : Result<crdt::TextDoc>(snap.status());
    if (!stored.ok()) {
      problem(stored.status());
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
      problem(
          Corruption(RecordName(name, "snapshot", seq) + " differs from the replay of its log"));
      ok = false;
    }
  }
  if (!ok) return;
  // The head loads (newest snapshot plus tail).
  Result<LoadedTextDoc> head = LoadTextDoc(store, name, kReaderAgent);
  if (!head.ok()) return problem(head.status());
  if (meta->first_seq != 1) return;
  const std::vector<StoredChange> rest(changes->begin() + static_cast<ptrdiff_t>(replayed),
                                       changes->end());
  const Status s = ApplyStored(name, rest, &replay);
  if (!s.ok()) {
    problem(s);
  } else if (replay.Text() != head->doc.Text()) {
    problem(Corruption(DocName(name) + " head differs from the replay of its log"));
  }
}

}  // namespace

Result<VerifyReport> Verify(Store& store, const std::function<void(size_t, size_t)>& progress) {
  VerifyReport report;
  QUIRE_ASSIGN_OR_RETURN(std::vector<std::string> names, store.ListDocuments());
  // Records of no document: their metadata is gone.
  Result<std::vector<OrphanedRecords>> orphans = store.ListOrphanedRecords();
  if (!orphans.ok()) {
    report.problems.push_back(orphans.status().ToString());
  } else {
    for (const OrphanedRecords& o : *orphans) {
      report.problems.push_back(Corruption(DocName(o.doc) + " has " + std::to_string(o.changes) +
                                           " change and " + std::to_string(o.snapshots) +
                                           " snapshot records but no metadata")
                                    .ToString());
    }
  }
  for (size_t i = 0; i < names.size(); ++i) {
    if (progress) progress(i, names.size());
    ++report.documents;
    VerifyDocument(store, names[i], &report);
  }
  if (progress) progress(names.size(), names.size());
  return report;
}

}  // namespace quire::storage
