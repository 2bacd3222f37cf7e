#!/usr/bin/env node
// Compares Quire with other CRDTs on the shared sequential editing traces.
// Every (library, trace) pair runs RUNS times, each in a fresh process
// (run_one.mjs, or `quire replay --json`); each metric keeps its minimum
// over the runs. Prints machine info and one markdown table on stdout;
// progress goes to stderr.
//
//   node bench/compare/run.mjs
//
// Environment:
//   RUNS=5            runs per pair
//   TRACES=a,b        trace names (default: every trace in TRACES_DIR/sequential)
//   LIBS=yjs,loro     libraries (default: all, plus quire)
//   QUIRE_BIN=path    default ../../build/release/tools/quire from this file
//   TRACES_DIR=path   default ../../../shared/traces from this file
//   REMOTE_CAP_MS     passed to run_one.mjs (default 60000)
//   TIMEOUT_S=600     per process
//   RESULTS_JSON=f    also write every run's raw result to f
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const RUNS = Number(process.env.RUNS ?? 5);
const TIMEOUT_S = Number(process.env.TIMEOUT_S ?? 600);
// Paths from the environment are relative to the working directory; the
// defaults, to this file.
const QUIRE_BIN = process.env.QUIRE_BIN
  ? path.resolve(process.env.QUIRE_BIN)
  : path.resolve(here, '../../build/release/tools/quire');
const TRACES_DIR = process.env.TRACES_DIR
  ? path.resolve(process.env.TRACES_DIR)
  : path.resolve(here, '../../../shared/traces');
const JS_LIBS = ['yjs', 'loro', 'automerge', 'diamond-types', 'json-joy'];
const ALL_LIBS = ['quire', ...JS_LIBS];
const LIBS = process.env.LIBS ? process.env.LIBS.split(',') : ALL_LIBS;

const METRICS = [
  ['replay_ms', 'local replay (ms)'],
  ['updates_ms', 'replay + per-txn updates (ms)'],
  ['remote_apply_ms', 'remote apply, per txn (ms)'],
  ['encode_ms', 'encode (ms)'],
  ['encoded_bytes', 'encoded size (bytes)'],
  ['load_ms', 'load: decode + text (ms)'],
  ['merge_ms', 'merge into empty (ms)'],
  ['merge_diverged_ms', 'merge into a replica with an edit of its own (ms)'],
  ['peak_rss_kb', 'peak RSS, whole process (MB)'],
];

function traceNames() {
  if (process.env.TRACES) return process.env.TRACES.split(',');
  return readdirSync(path.join(TRACES_DIR, 'sequential'))
    .filter((f) => f.endsWith('.json.gz'))
    .map((f) => f.replace(/\.json\.gz$/, ''))
    .sort();
}

// One fresh process. Returns the parsed JSON line, or {error}.
function runOnce(lib, tracePath, env) {
  const [cmd, args] = lib === 'quire'
    ? [QUIRE_BIN, ['replay', '--json', tracePath]]
    : [process.execPath,
       ['--expose-gc', '--max-old-space-size=8192', path.join(here, 'run_one.mjs'), lib, tracePath]];
  const r = spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: TIMEOUT_S * 1000,
    maxBuffer: 1 << 20,
    env: { ...process.env, ...env },
  });
  if (r.error) return { error: r.error.code === 'ETIMEDOUT' ? `timed out after ${TIMEOUT_S} s` : String(r.error) };
  const line = r.stdout.trim().split('\n').pop();
  try {
    const result = JSON.parse(line);
    // Quire's replay_ms uses LocalInsert/LocalRemove; replay_changes_ms is
    // the same replay with every edit returning its Change.
    if (lib === 'quire') result.updates_ms = result.replay_changes_ms ?? null;
    if (r.status !== 0 && result.ok !== false) result.ok = false;
    if (r.stderr.trim()) result.stderr = r.stderr.trim();
    return result;
  } catch {
    return { error: `exit ${r.status}: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' / ')}` };
  }
}

function runPair(lib, trace) {
  const tracePath = path.join(TRACES_DIR, 'sequential', `${trace}.json.gz`);
  if (lib === 'quire' && !existsSync(QUIRE_BIN)) {
    return { skipped: `no quire binary at ${path.relative(process.cwd(), QUIRE_BIN)}` };
  }
  const runs = [];
  const env = {};
  for (let i = 0; i < RUNS; i++) {
    process.stderr.write(`${trace} ${lib} run ${i + 1}/${RUNS} ... `);
    const r = runOnce(lib, tracePath, env);
    process.stderr.write(r.error ? `error: ${r.error}\n` : `ok=${r.ok} replay ${r.replay_ms} ms\n`);
    runs.push(r);
    if (r.error) break;
    // Once the remote phase was too slow, later runs skip it: it would only
    // hit the cap again.
    if (r.remote_note?.startsWith('too slow')) env.SKIP_REMOTE = '1';
  }
  const good = runs.filter((r) => !r.error);
  if (good.length === 0) return { error: runs[0].error, runs };
  const best = { ...good[0], runs: good.length };
  for (const [key] of METRICS) {
    const values = good.map((r) => r[key]).filter((v) => typeof v === 'number');
    best[key] = values.length ? Math.min(...values) : null;
  }
  best.ok = good.every((r) => r.ok);
  best.remote_note = good.find((r) => r.remote_note?.startsWith('too slow'))?.remote_note;
  best.problems = [...new Set(good.flatMap((r) => r.problems ?? (r.ok ? [] : ['text differs'])))];
  best.all = runs;
  return best;
}

const fmtInt = (n) => Math.round(n).toLocaleString('en-US');
function fmtMs(ms) {
  if (ms >= 100) return fmtInt(ms);
  if (ms >= 10) return ms.toFixed(1);
  return ms.toFixed(2);
}

function cell(result, key) {
  if (!result) return '';
  if (result.skipped) return key === 'replay_ms' ? `skipped: ${result.skipped}` : '';
  if (result.error) return key === 'replay_ms' ? `error: ${result.error}` : '';
  const v = result[key];
  if (key === 'remote_apply_ms' && v == null && result.remote_note) return 'too slow (> cap)';
  if (v == null) return '—';
  if (key === 'encoded_bytes') return fmtInt(v);
  if (key === 'peak_rss_kb') return (v / 1024).toFixed(0);
  let s = fmtMs(v);
  if (key === 'replay_ms' && !result.ok) s += ' ✗ text differs';
  return s;
}

function main() {
  const unknown = LIBS.filter((lib) => !ALL_LIBS.includes(lib));
  if (unknown.length) {
    console.error(`run: unknown LIBS ${unknown.join(',')}; known: ${ALL_LIBS.join(',')}`);
    process.exit(2);
  }
  const traces = traceNames();
  const results = {};  // trace -> lib -> result
  const versions = {};
  for (const trace of traces) {
    results[trace] = {};
    for (const lib of LIBS) {
      const r = runPair(lib, trace);
      results[trace][lib] = r;
      if (r.version) versions[lib] = r.version;
    }
  }
  if (process.env.RESULTS_JSON) {
    writeFileSync(process.env.RESULTS_JSON, JSON.stringify(results, null, 2));
  }

  const cpus = os.cpus();
  const out = [];
  out.push(`Machine: ${cpus[0]?.model ?? 'unknown CPU'} (${cpus.length} cores), ` +
           `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}; ` +
           `node ${process.version}; ${new Date().toISOString()}`);
  out.push(`Each cell: the minimum over ${RUNS} run(s), each in a fresh process (JS numbers include JIT warm-up).`);
  out.push('');
  const header = LIBS.map((lib) => (versions[lib] ? `${lib} ${versions[lib]}` : lib));
  out.push(`| trace / metric | ${header.join(' | ')} |`);
  out.push(`|---|${LIBS.map(() => '---:').join('|')}|`);
  for (const trace of traces) {
    const r = results[trace];
    const sample = Object.values(r).find((x) => x.patches);
    const what = sample ? ` (${fmtInt(sample.patches)} patches, ${fmtInt(sample.final_chars)} chars)` : '';
    out.push(`| **${trace}**${what} | ${LIBS.map(() => '').join(' | ')} |`);
    for (const [key, label] of METRICS) {
      out.push(`| ${label} | ${LIBS.map((lib) => cell(r[lib], key)).join(' | ')} |`);
    }
  }
  out.push('');
  const notes = [];
  for (const trace of traces) {
    for (const lib of LIBS) {
      const r = results[trace][lib];
      if (r.skipped) notes.push(`- ${lib}, ${trace}: skipped: ${r.skipped}`);
      if (r.remote_note) notes.push(`- ${lib}, ${trace}: ${r.remote_note}`);
      if (r.problems?.length) notes.push(`- ${lib}, ${trace}: ${r.problems.join('; ')}`);
    }
  }
  notes.push('- quire: `local replay` is LocalInsert/LocalRemove (an editor\'s per-keystroke path); ' +
    '`replay + per-txn updates` is the same replay with every edit returning its Change (Insert/Remove).');
  notes.push('- quire: `merge into empty` takes the other replica\'s state whole (nothing of its own to ' +
    'reconcile); `merge into a replica with an edit of its own` integrates every op of the history. ' +
    'The JS libraries report only the first row.');
  notes.push('- encoded size: the whole history for quire, loro (snapshot), automerge (save) and ' +
             'diamond-types; Yjs and json-joy keep no op history, so theirs is the CRDT state with tombstones.');
  const how = Object.values(results).flatMap((r) => Object.entries(r))
    .filter(([, x]) => x.how).map(([lib, x]) => [lib, x.how]);
  for (const [lib, h] of new Map(how)) notes.push(`- ${lib}: ${h}`);
  out.push('Notes:', ...notes);
  console.log(out.join('\n'));
}

main();
