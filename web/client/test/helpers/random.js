// Seeded randomness for tests: a failure names its seed (QUIRE_SEED=N
// replays it).

// mulberry32: small, fast, good enough for test inputs.
export function rng(seed) {
  let a = seed >>> 0;
  const next = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  return {
    next,
    int: (n) => (n <= 0 ? 0 : Math.floor(next() * n)),
    pick: (arr) => arr[Math.floor(next() * arr.length)],
  };
}

// Letters, CJK, combining marks and astral characters (emoji, musical
// symbols), so UTF-16 and code points differ.
const ALPHABET = ['a', 'b', 'c', ' ', '\n', 'é', '中', '😀', '👍', '𝄞', '🎉', 'z'];

export function randomText(r, n) {
  let s = '';
  for (let i = 0; i < n; i++) s += r.pick(ALPHABET);
  return s;
}

// A random edit op (code points) on a text of `len` code points.
export function randomOp(r, len) {
  const pos = r.int(len + 1);
  if (len > 0 && r.int(3) === 0) {
    const n = 1 + r.int(Math.min(3, len - pos));
    if (pos < len) return [pos, { d: n }].filter((c) => c !== 0);
  }
  return [pos, randomText(r, 1 + r.int(3))].filter((c) => c !== 0);
}
