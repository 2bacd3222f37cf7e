// Bytes drive edits on 3 replicas interleaved with late, reordered and
// duplicated deliveries; then everything is delivered and all replicas must
// hold the same text (and every patch Apply returned must be right).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>

#include "tests/crdt/replicas.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size > 4096) return 0;  // Long scripts add time, not coverage.
  quire::crdt::test::Replicas replicas(3, data, size, [](const std::string& what) {
    std::fprintf(stderr, "crdt_fuzzer: %s\n", what.c_str());
    std::abort();
  });
  while (!replicas.exhausted()) replicas.RandomEdits(1);
  replicas.DeliverAllShuffledWithDuplicates();
  replicas.ExpectConverged();
  return 0;
}
