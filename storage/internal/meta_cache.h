// MetaCache holds documents' metadata as the store's writer last committed
// it, so that appends need no read: at most `capacity` documents, the least
// recently used evicted first. Each entry is a Result<DocMeta>: a value
// (the document exists), NotFound (no document and no records: an append
// creates it) or another error (the document cannot take appends, e.g.
// Corruption for damaged metadata).
//
// Thread safety: none; the writer thread owns it.
#ifndef QUIRE_STORAGE_INTERNAL_META_CACHE_H_
#define QUIRE_STORAGE_INTERNAL_META_CACHE_H_

#include <cstddef>
#include <functional>
#include <list>
#include <string>
#include <unordered_map>

#include "base/result.h"
#include "storage/store.h"

namespace quire::storage::internal {

class MetaCache {
 public:
  explicit MetaCache(size_t capacity) : capacity_(capacity) {}

  // The entry of `doc`, now the most recently used; nullptr when absent.
  // The pointer stays valid until the entry is erased or evicted.
  Result<DocMeta>* Find(const std::string& doc);
  // Sets the entry of `doc` (the most recently used).
  void Put(const std::string& doc, Result<DocMeta> meta);
  void Erase(const std::string& doc);
  // Evicts the least recently used entries until at most `capacity`
  // remain, except those `keep` says to keep (they may leave it larger).
  void Trim(const std::function<bool(const std::string&)>& keep);
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    Result<DocMeta> meta;
    std::list<std::string>::iterator lru;
  };
  size_t capacity_;
  std::list<std::string> lru_;  // Most recently used first.
  std::unordered_map<std::string, Entry> entries_;
};

}  // namespace quire::storage::internal

#endif  // QUIRE_STORAGE_INTERNAL_META_CACHE_H_
