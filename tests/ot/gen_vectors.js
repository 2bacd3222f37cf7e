#!/usr/bin/env node
// Writes tests/ot/vectors.json: reference cases for ot/ computed by
// ot-text-unicode 4.0.0 itself (ShareDB's text type), through reference.js.
// vectors_test.cc checks the C++ module against the file without Node.
//
//   node tests/ot/gen_vectors.js           rewrite vectors.json
//   node tests/ot/gen_vectors.js --check   exit 1 unless the file is what
//                                          the package gives (a ctest test)
//
// Named cases first (the regressions of issue 7, then inserts and deletes
// meeting in every arrangement, astral characters, JSON escapes), then
// seeded random cases from the differential test's generator.
'use strict';

const fs = require('fs');
const path = require('path');
let reference;
try {
  reference = require('./reference.js');
} catch (e) {
  console.error(`gen_vectors: cannot load ot-text-unicode (${e.message.split('\n')[0]}).\n` +
                'Install it with ./scripts/deps (npm ci in tests/ot).');
  process.exit(1);
}
const {expected, makeRng, randomCase} = reference;

const kSeed = 20240611;
const kRandomCases = 400;
const kFile = path.join(__dirname, 'vectors.json');

// {name, doc, a, b, c?, h?}: c defaults to [] and h to [b] (b accepted by a
// server before a arrives).
const kNamed = [
  // Issue 7: the tie-break that normal form used to change. In every case
  // a is the op that arrives, h what the server accepted before it.
  {name: 'issue 7: Q, a=[1,"y"] arrives after b=[{d:1},"x"]', doc: 'Q',
   a: [1, 'y'], b: [{d: 1}, 'x']},
  {name: 'issue 7: Q, a=[{d:1},"x"] arrives after b=[1,"y"]', doc: 'Q',
   a: [{d: 1}, 'x'], b: [1, 'y']},
  {name: 'issue 7: Q, a=[{d:1},"x"] arrives after b=["y"]', doc: 'Q',
   a: [{d: 1}, 'x'], b: ['y']},
  {name: 'issue 7: Q, a=["y"] arrives after b=[{d:1},"x"]', doc: 'Q',
   a: ['y'], b: [{d: 1}, 'x']},
  {name: 'issue 7: ab, a=[{d:1},1,"x"] arrives after h=[[1,{d:1}],[1,"y"]]', doc: 'ab',
   a: [{d: 1}, 1, 'x'], b: [1, {d: 1}], h: [[1, {d: 1}], [1, 'y']]},
  {name: 'issue 7: cursor 1 over a=[{d:1},"x"]', doc: 'Q', a: [{d: 1}, 'x'], b: []},
  {name: 'cursor 1 over a=["x",{d:1}]', doc: 'Q', a: ['x', {d: 1}], b: []},
  // Inserts and deletes meeting.
  {name: 'empty doc, identity ops', doc: '', a: [], b: []},
  {name: 'empty doc, both insert (tie)', doc: '', a: ['x'], b: ['y']},
  {name: 'same gap insert in the middle', doc: 'hello', a: [2, 'X'], b: [2, 'YZ']},
  {name: 'insert inside a concurrent delete', doc: 'abcdef', a: [3, 'X'], b: [1, {d: 4}]},
  {name: 'overlapping deletes', doc: 'abcdef', a: [1, {d: 3}], b: [2, {d: 3}]},
  {name: 'same delete both sides', doc: 'abcdef', a: [2, {d: 2}], b: [2, {d: 2}]},
  {name: 'replace vs replace, delete first', doc: 'abc', a: [1, {d: 1}, 'X'],
   b: [1, {d: 1}, 'Y']},
  {name: 'replace vs replace, insert first', doc: 'abc', a: [1, 'X', {d: 1}],
   b: [1, 'Y', {d: 1}]},
  {name: 'delete-insert vs insert-delete', doc: 'abc', a: [1, {d: 1}, 'X'],
   b: [1, 'Y', {d: 1}]},
  {name: 'insert at a delete\'s end', doc: 'abc', a: [2, 'X'], b: [1, {d: 1}]},
  {name: 'insert at a delete\'s start', doc: 'abc', a: [1, 'X'], b: [1, {d: 1}]},
  {name: 'delete, insert, delete', doc: 'abcd', a: [{d: 1}, 'X', {d: 1}], b: [1, 'Y']},
  {name: 'insert, delete, insert', doc: 'abcd', a: ['X', {d: 2}, 'Y'], b: [2, 'Z']},
  {name: 'unnormalized input: split retain, split insert, trailing retain', doc: 'abcd',
   a: [1, 1, 'x', 'y', {d: 1}, {d: 1}], b: [2, 'z', 2]},
  {name: 'compose: b types where a deleted', doc: 'abc', a: [1, {d: 1}], b: [],
   c: [1, 'X']},
  {name: 'compose: b types after a delete it passed', doc: 'abc', a: [1, {d: 1}], b: [],
   c: [2, 'X']},
  {name: 'compose: b deletes a\'s insert', doc: 'abc', a: [1, 'XYZ'], b: [],
   c: [2, {d: 1}]},
  // Astral characters: one code point, two UTF-16 units, four UTF-8 bytes.
  {name: 'astral document and inserts', doc: '😀a𝄞b', a: [1, {d: 1}, '🎉'],
   b: [2, {d: 1}, '🙂🙂']},
  {name: 'astral replace vs astral insert', doc: '🙂🙂🙂', a: [{d: 2}, '語😀'],
   b: [1, '𝄞']},
  {name: 'history of keystrokes over astral text', doc: '😀😀', a: [1, {d: 1}, 'x'],
   b: [], h: [['a'], [1, '🎉'], [3, {d: 1}], [2, 'é']]},
  // Text that JSON must escape.
  {name: 'quotes, backslashes, tabs and newlines', doc: 'a\nb', a: [1, '"\\\t'],
   b: [1, {d: 1}, '\n']},
];

function build() {
  const cases = kNamed.map(({name, doc, a, b, c = [], h = [b]}) => ({name, doc, a, b, c, h}));
  const rng = makeRng(kSeed);
  for (let i = 0; i < kRandomCases; i++) cases.push({name: `random ${i}`, ...randomCase(rng)});
  const lines = cases.map((c) => JSON.stringify({...c, ...expected(c)}));
  const head = JSON.stringify({
    version: 2,
    generator: 'tests/ot/gen_vectors.js',
    reference: 'ot-text-unicode@4.0.0',
    seed: kSeed,
  }).slice(0, -1);
  return `${head},"cases":[\n${lines.join(',\n')}\n]}\n`;
}

const text = build();
if (process.argv[2] === '--check') {
  const old = fs.existsSync(kFile) ? fs.readFileSync(kFile, 'utf8') : '';
  if (old !== text) {
    console.error(`gen_vectors: ${kFile} is not what ot-text-unicode gives; ` +
                  'run node tests/ot/gen_vectors.js and commit the result');
    process.exit(1);
  }
  console.log(`gen_vectors: ${kFile} matches ot-text-unicode`);
} else {
  fs.writeFileSync(kFile, text);
  console.log(`gen_vectors: wrote ${kNamed.length + kRandomCases} cases to ${kFile}`);
}
