// What each loadgen thread counts, and their sum.
//
// Thread safety: one ThreadStats per thread; Merge once the threads are
// joined.
#ifndef QUIRE_BENCH_LOADGEN_STATS_H_
#define QUIRE_BENCH_LOADGEN_STATS_H_

#include <cstdint>
#include <map>
#include <string>

#include "bench/loadgen/histogram.h"

namespace quire::loadgen {

// Counters of one loadgen thread.
struct ThreadStats {
  Histogram delivery;  // Author's send to a peer's receipt.
  Histogram ack;       // Send to the author's ack.
  uint64_t deliveries = 0;  // Relays received after `synced`.
  uint64_t untimed = 0;     // ...whose send time was unknown (not counted in `delivery`).
  uint64_t acks = 0;
  uint64_t sent = 0;   // Changes and ops sent.
  uint64_t typed = 0;  // Keystrokes.
  uint64_t needs = 0;
  uint64_t bad_frames = 0;
  uint64_t order_errors = 0;  // A relay or ack whose seq did not follow the last one.
  uint64_t closed = 0;        // Connections lost before the end.
  // S5: what the server sent the clients. A presence message is one
  // server frame (RelayFrame); several may share a WebSocket message (a
  // batch) when a socket is busy.
  uint64_t presence_messages = 0;
  uint64_t presence_bytes = 0;  // Their encoded size.
  uint64_t ws_messages = 0;     // WebSocket messages received, of any kind.
  uint64_t ws_bytes = 0;        // Their payload bytes.
  std::map<uint16_t, uint64_t> errors;  // Error code -> count.
  std::map<uint16_t, std::string> error_texts;  // Error code -> its first message.

  void Error(uint16_t code, const std::string& message) {
    if (errors[code]++ == 0) error_texts[code] = message;
  }
};

inline void Merge(const ThreadStats& from, ThreadStats* to) {
  to->delivery.Merge(from.delivery);
  to->ack.Merge(from.ack);
  to->deliveries += from.deliveries;
  to->untimed += from.untimed;
  to->acks += from.acks;
  to->sent += from.sent;
  to->typed += from.typed;
  to->needs += from.needs;
  to->bad_frames += from.bad_frames;
  to->order_errors += from.order_errors;
  to->closed += from.closed;
  to->presence_messages += from.presence_messages;
  to->presence_bytes += from.presence_bytes;
  to->ws_messages += from.ws_messages;
  to->ws_bytes += from.ws_bytes;
  for (const auto& [code, n] : from.errors) to->errors[code] += n;
  for (const auto& [code, text] : from.error_texts) to->error_texts.emplace(code, text);
}

}  // namespace quire::loadgen

#endif  // QUIRE_BENCH_LOADGEN_STATS_H_
