// Reconnect delays: exponential backoff with full jitter, a uniformly
// random wait in [0, min(max, min * 2^attempt)] (so many clients that lost
// the same server do not come back in lockstep).
export function backoffDelay(attempt, { min = 500, max = 30000 } = {}, random = Math.random) {
  const cap = Math.min(max, min * 2 ** Math.min(attempt, 30));
  return Math.floor(random() * cap);
}
