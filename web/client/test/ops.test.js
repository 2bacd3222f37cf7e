// Code points against UTF-16, the wire form, and position mapping.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  cpLength,
  cpToUtf16,
  utf16ToCp,
  toWire,
  fromWire,
  transformCursor,
  mapBack,
  diffOp,
  opToUtf16Changes,
  utf16ChangesToOp,
  otType,
} from '../src/ops.js';
import { rng, randomText } from './helpers/random.js';

test('code point and UTF-16 offsets agree on astral characters', () => {
  const s = 'a😀b𝄞c';
  assert.equal(cpLength(s), 5);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map((cp) => cpToUtf16(s, cp)), [0, 1, 3, 4, 6, 7]);
  assert.deepEqual([0, 1, 3, 4, 6, 7].map((o) => utf16ToCp(s, o)), [0, 1, 2, 3, 4, 5]);
  // An offset between the halves of a pair counts as the pair's start.
  assert.equal(utf16ToCp(s, 2), 1);
  // A lone surrogate is one code point (editors can hold one mid-edit).
  assert.equal(cpLength('\ud83d'), 1);
});

test('ops go to the wire and back, deletes as negative integers', () => {
  const op = [3, 'ab😀', { d: 2 }, 1, { d: 'xy' }];
  assert.deepEqual(toWire(op), [3, 'ab😀', -2, 1, -2]);
  assert.deepEqual(fromWire([3, 'ab😀', -2]), [3, 'ab😀', { d: 2 }]);
  assert.deepEqual(fromWire([5n, -1n]), [5, { d: 1 }]);
  for (const bad of [[0], [''], [1.5], [null], [{}], 'x']) {
    assert.throws(() => fromWire(bad), TypeError, JSON.stringify(bad));
  }
});

test('a caret sticks to the character after it, or to the last one at the end', () => {
  // Insert right at the caret: the caret stays before its character.
  assert.equal(transformCursor(1, [1, 'xx'], 3), 3);
  // At the end of the text it stays after the last character.
  assert.equal(transformCursor(3, [3, 'xx'], 3), 3);
  assert.equal(transformCursor(2, [{ d: 1 }], 3), 1);
  // Its character deleted: where the character was.
  assert.equal(transformCursor(2, [1, { d: 2 }], 4), 1);
  assert.equal(transformCursor(0, ['😀'], 1), 1);
  // Back through an op: inside inserted text lands at the insert.
  assert.equal(mapBack(3, [1, 'xyz']), 1);
  assert.equal(mapBack(5, [1, 'xyz', 2]), 2);
  assert.equal(mapBack(2, [{ d: 2 }, 'ab']), 2);
});

test('UTF-16 changes and code point ops convert both ways (random, astral)', () => {
  const seed = Number(process.env.QUIRE_SEED ?? Date.now() % 100000);
  const r = rng(seed);
  for (let i = 0; i < 2000; i++) {
    const text = randomText(r, r.int(12));
    // Random non-overlapping changes in UTF-16, on code point boundaries.
    const cps = Array.from(text);
    const changes = [];
    let cp = 0;
    while (cp <= cps.length && r.int(3) > 0) {
      const from = cp + r.int(cps.length - cp + 1);
      const to = from + r.int(cps.length - from + 1);
      const offFrom = cpToUtf16(text, from);
      const offTo = cpToUtf16(text, to);
      const insert = r.int(2) ? randomText(r, 1 + r.int(3)) : '';
      if (offFrom === offTo && !insert) break;
      changes.push({ from: offFrom, to: offTo, insert });
      cp = to + 1;
    }
    const expected = applyUtf16(text, changes);
    const op = utf16ChangesToOp(text, changes);
    assert.equal(otType.apply(text, op), expected, `seed ${seed} case ${i}`);
    assert.equal(applyUtf16(text, opToUtf16Changes(text, op)), expected, `seed ${seed} case ${i}`);
  }
});

test('diffOp turns one text into the other', () => {
  for (const [a, b] of [['', 'x'], ['abc', 'abc'], ['a😀c', 'a𝄞c'], ['hello', 'help'], ['xx', '']]) {
    assert.equal(otType.apply(a, diffOp(a, b)), b);
  }
});

function applyUtf16(text, changes) {
  let out = '';
  let at = 0;
  for (const c of changes) {
    out += text.slice(at, c.from) + c.insert;
    at = c.to;
  }
  return out + text.slice(at);
}
