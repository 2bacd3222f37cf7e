#!/usr/bin/env node
// Differential test of ot/ against ot-text-unicode 4.0.0 itself: generates
// seeded random cases where inserts and deletes meet (reference.js), runs
// them through the C++ driver (ot_diff_main.cc) over stdin/stdout, and
// requires every value to equal the package's: normalization, apply,
// transform with both sides, ShareDB's transformX, compose, compose and
// server rebase across a history, invert and cursor positions.
//
//   node tests/ot/ot_diff.js path/to/ot_diff_driver
//
// QUIRE_SEED=N changes the seed, QUIRE_OT_DIFF_CASES=N the number of cases
// (100,000). Exits 1 on the first divergence and prints the case.
'use strict';

const {spawnSync} = require('child_process');

let reference;
try {
  reference = require('./reference.js');
} catch (e) {
  console.error(`ot_diff: cannot load ot-text-unicode (${e.message.split('\n')[0]}).\n` +
                'Install it with ./scripts/deps (npm ci in tests/ot).');
  process.exit(1);
}
const {expected, makeRng, randomCase} = reference;

const driver = process.argv[2];
if (!driver) {
  console.error('usage: node ot_diff.js path/to/ot_diff_driver');
  process.exit(2);
}
const seed = process.env.QUIRE_SEED ? Number(process.env.QUIRE_SEED) >>> 0 : 20261122;
const count = Number(process.env.QUIRE_OT_DIFF_CASES || 100000);
console.log(`ot_diff: seed ${seed} (set QUIRE_SEED to change), ${count} cases`);

const started = Date.now();
const rng = makeRng(seed);
const cases = Array.from({length: count}, () => randomCase(rng));
const input = cases.map((c) => JSON.stringify(c)).join('\n') + '\n';
const run = spawnSync(driver, [], {input, encoding: 'utf8', maxBuffer: 1 << 30});
if (run.error) {
  console.error(`ot_diff: cannot run ${driver}: ${run.error.message}`);
  process.exit(1);
}
const lines = run.stdout.split('\n');

function fail(i, what) {
  const line = JSON.stringify(cases[i]);
  console.error(`ot_diff: seed ${seed}, case ${i}: ${what}\n  case: ${line}\n` +
                `  rerun it: echo '${line.replace(/'/g, `'\\''`)}' | ${driver}`);
  process.exit(1);
}

for (let i = 0; i < count; i++) {
  if (i >= lines.length || lines[i] === '') {
    fail(i, `the driver stopped (status ${run.status}, signal ${run.signal}): ${run.stderr}`);
  }
  const got = JSON.parse(lines[i]);
  if (got.error) fail(i, `the driver refused it: ${got.error}`);
  const want = expected(cases[i]);
  for (const key of Object.keys(want)) {
    const w = JSON.stringify(want[key]);
    const g = JSON.stringify(got[key]);
    if (w !== g) fail(i, `${key} differs\n  ot-text-unicode: ${w}\n  quire ot/:       ${g}`);
  }
}
if (run.status !== 0) {
  console.error(`ot_diff: the driver exited with status ${run.status}: ${run.stderr}`);
  process.exit(1);
}
console.log(`ot_diff: ${count} cases agree with ot-text-unicode ` +
            `(${((Date.now() - started) / 1000).toFixed(1)} s)`);
