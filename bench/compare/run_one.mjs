#!/usr/bin/env node
// Runs one CRDT library on one sequential editing trace, in this process,
// and prints one JSON line with what each phase cost.
//
//   node --expose-gc run_one.mjs LIB TRACE.json.gz
//   LIB: yjs | loro | automerge | diamond-types | json-joy
//
// Phases (each timed alone with performance.now(); the trace is read and
// parsed before any timing, and the heap is collected between phases when
// node runs with --expose-gc):
//   replay_ms        every patch as a local edit, through the library's
//                    fastest idiomatic path (what its own benchmarks do;
//                    see ADAPTERS and README.md)
//   encode_ms        save the document with its whole history; encoded_bytes
//   load_ms          load those bytes into a new document and read its text
//   merge_ms         bring an empty replica up to date from the document in
//                    memory (the library's own sync/merge path)
//   updates_ms       the replay again, committing once per trace txn and
//                    capturing the update each txn produced (a live editor)
//   remote_apply_ms  those updates applied one by one, in order, to a fresh
//                    replica; stopped as "too slow" past REMOTE_CAP_MS (ms,
//                    default 60000); SKIP_REMOTE=1 skips both these phases
// Every text read back is checked against the trace's endContent.
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { gunzipSync } from 'node:zlib';

const CAP_MS = Number(process.env.REMOTE_CAP_MS ?? 60_000);
function version(pkg) {
  const url = new URL(`./node_modules/${pkg}/package.json`, import.meta.url);
  return JSON.parse(readFileSync(url, 'utf8')).version;
}

// Each adapter: replay(txns) -> doc; text(doc); encode(doc) -> bytes;
// load(bytes) -> string; merge(doc) -> replica (text via text()); live(txns,
// deadline) -> updates or null when past the deadline; remote() -> replica;
// apply(replica, update) -> replica.
const ADAPTERS = {
  async yjs() {
    const Y = await import('yjs');
    return {
      pkg: 'yjs',
      how: 'Y.Text insert/delete, one implicit transaction per call; encodeStateAsUpdate',
      replay(txns) {
        const doc = new Y.Doc();
        const text = doc.getText('text');
        for (const txn of txns) {
          for (const [pos, del, ins] of txn.patches) {
            if (del > 0) text.delete(pos, del);
            if (ins !== '') text.insert(pos, ins);
          }
        }
        return doc;
      },
      text: (doc) => doc.getText('text').toString(),
      encode: (doc) => Y.encodeStateAsUpdate(doc),
      load(bytes) {
        const doc = new Y.Doc();
        Y.applyUpdate(doc, bytes);
        return doc.getText('text').toString();
      },
      merge(doc) {
        const empty = new Y.Doc();
        Y.applyUpdate(empty, Y.encodeStateAsUpdate(doc, Y.encodeStateVector(empty)));
        return empty;
      },
      live(txns, deadline) {
        const doc = new Y.Doc();
        const text = doc.getText('text');
        const updates = [];
        doc.on('update', (update) => updates.push(update));
        for (let i = 0; i < txns.length; i++) {
          doc.transact(() => {
            for (const [pos, del, ins] of txns[i].patches) {
              if (del > 0) text.delete(pos, del);
              if (ins !== '') text.insert(pos, ins);
            }
          });
          if ((i & 255) === 0 && performance.now() > deadline) return null;
        }
        return updates;
      },
      remote: () => new Y.Doc(),
      apply(doc, update) {
        Y.applyUpdate(doc, update);
        return doc;
      },
    };
  },

  async loro() {
    const { LoroDoc } = await import('loro-crdt');
    return {
      pkg: 'loro-crdt',
      how: 'LoroText insert/delete, one commit at the end; export snapshot',
      replay(txns) {
        const doc = new LoroDoc();
        const text = doc.getText('text');
        for (const txn of txns) {
          for (const [pos, del, ins] of txn.patches) {
            if (del > 0) text.delete(pos, del);
            if (ins !== '') text.insert(pos, ins);
          }
        }
        doc.commit();
        return doc;
      },
      text: (doc) => doc.getText('text').toString(),
      encode: (doc) => doc.export({ mode: 'snapshot' }),
      load(bytes) {
        return LoroDoc.fromSnapshot(bytes).getText('text').toString();
      },
      merge(doc) {
        const empty = new LoroDoc();
        empty.import(doc.export({ mode: 'update', from: empty.oplogVersion() }));
        return empty;
      },
      live(txns, deadline) {
        const doc = new LoroDoc();
        const text = doc.getText('text');
        const updates = [];
        const unsubscribe = doc.subscribeLocalUpdates((update) => updates.push(update));
        for (let i = 0; i < txns.length; i++) {
          for (const [pos, del, ins] of txns[i].patches) {
            if (del > 0) text.delete(pos, del);
            if (ins !== '') text.insert(pos, ins);
          }
          doc.commit();
          if ((i & 255) === 0 && performance.now() > deadline) return null;
        }
        unsubscribe();
        if (updates.length !== txns.length) {
          throw new Error(`expected ${txns.length} local updates, got ${updates.length}`);
        }
        return updates;
      },
      remote: () => new LoroDoc(),
      apply(doc, update) {
        doc.import(update);
        return doc;
      },
    };
  },

  async automerge() {
    const A = await import('@automerge/automerge');
    return {
      pkg: '@automerge/automerge',
      how: 'splice inside one A.change for the whole trace; save/load; merge',
      replay(txns) {
        return A.change(A.from({ text: '' }), (d) => {
          for (const txn of txns) {
            for (const [pos, del, ins] of txn.patches) A.splice(d, ['text'], pos, del, ins);
          }
        });
      },
      text: (doc) => doc.text,
      encode: (doc) => A.save(doc),
      load: (bytes) => A.load(bytes).text,
      merge: (doc) => A.merge(A.init(), doc),
      live(txns, deadline) {
        let doc = A.from({ text: '' });
        const updates = [A.getLastLocalChange(doc)];  // Creates the text object.
        for (let i = 0; i < txns.length; i++) {
          doc = A.change(doc, (d) => {
            for (const [pos, del, ins] of txns[i].patches) A.splice(d, ['text'], pos, del, ins);
          });
          updates.push(A.getLastLocalChange(doc));
          if ((i & 255) === 0 && performance.now() > deadline) return null;
        }
        return updates;
      },
      remote: () => A.init(),
      apply: (doc, change) => A.applyChanges(doc, [change])[0],
    };
  },

  async 'diamond-types'() {
    const { Doc } = await import('diamond-types-node');
    return {
      pkg: 'diamond-types-node',
      how: 'Doc ins/del; toBytes/fromBytes; getPatchSince + mergeBytes',
      replay(txns) {
        const doc = new Doc('local');
        for (const txn of txns) {
          for (const [pos, del, ins] of txn.patches) {
            if (del > 0) doc.del(pos, del);
            if (ins !== '') doc.ins(pos, ins);
          }
        }
        return doc;
      },
      text: (doc) => doc.get(),
      encode: (doc) => doc.toBytes(),
      load: (bytes) => Doc.fromBytes(bytes, 'loader').get(),
      merge(doc) {
        const empty = new Doc('merger');
        empty.mergeBytes(doc.getPatchSince(empty.getLocalVersion()));
        return empty;
      },
      live(txns, deadline) {
        const doc = new Doc('local');
        const updates = [];
        let since = doc.getLocalVersion();
        for (let i = 0; i < txns.length; i++) {
          for (const [pos, del, ins] of txns[i].patches) {
            if (del > 0) doc.del(pos, del);
            if (ins !== '') doc.ins(pos, ins);
          }
          updates.push(doc.getPatchSince(since));
          since = doc.getLocalVersion();
          if ((i & 255) === 0 && performance.now() > deadline) return null;
        }
        return updates;
      },
      remote: () => new Doc('remote'),
      apply(doc, bytes) {
        doc.mergeBytes(bytes);
        return doc;
      },
    };
  },

  async 'json-joy'() {
    const { Model } = await import('json-joy/lib/json-crdt/index.js');
    const { Patch } = await import('json-joy/lib/json-crdt-patch/index.js');
    const create = () => {
      const model = Model.create();
      model.api.set({ text: '' });
      return model;
    };
    return {
      pkg: 'json-joy',
      how: 'StrApi ins/del on a str node, no flush; toBinary (CRDT state); Model.merge',
      replay(txns) {
        const model = create();
        const str = model.api.str(['text']);
        for (const txn of txns) {
          for (const [pos, del, ins] of txn.patches) {
            if (del > 0) str.del(pos, del);
            if (ins !== '') str.ins(pos, ins);
          }
        }
        return model;
      },
      text: (model) => model.view().text,
      encode: (model) => model.toBinary(),
      load: (bytes) => Model.fromBinary(bytes).view().text,
      merge(model) {
        const empty = Model.create();
        empty.merge(model);
        return empty;
      },
      live(txns, deadline) {
        const model = create();
        const updates = [model.api.flush().toBinary()];  // Creates the str node.
        const str = model.api.str(['text']);
        for (let i = 0; i < txns.length; i++) {
          for (const [pos, del, ins] of txns[i].patches) {
            if (del > 0) str.del(pos, del);
            if (ins !== '') str.ins(pos, ins);
          }
          updates.push(model.api.flush().toBinary());
          if ((i & 255) === 0 && performance.now() > deadline) return null;
        }
        return updates;
      },
      remote: () => Model.create(),
      apply(model, bytes) {
        model.applyPatch(Patch.fromBinary(bytes));
        return model;
      },
    };
  },
};

function gc() {
  if (globalThis.gc) globalThis.gc();
}

function timed(fn) {
  gc();
  const start = performance.now();
  const value = fn();
  return [value, performance.now() - start];
}

const round = (ms) => (ms == null ? null : Math.round(ms * 1000) / 1000);

async function main() {
  const [lib, tracePath] = process.argv.slice(2);
  if (!lib || !tracePath || !(lib in ADAPTERS)) {
    console.error(`usage: node run_one.mjs LIB TRACE.json.gz\nLIB: ${Object.keys(ADAPTERS).join(' | ')}`);
    process.exit(2);
  }
  const trace = JSON.parse(gunzipSync(readFileSync(tracePath)).toString('utf8'));
  if (trace.kind === 'concurrent') {
    console.error('run_one: only sequential traces are supported');
    process.exit(2);
  }
  const end = trace.endContent;
  // Traces count code points; every library here but diamond-types counts
  // UTF-16 units. They agree while no text is outside the BMP.
  const astral = /[\u{10000}-\u{10FFFF}]/u;
  if (astral.test(end) || trace.txns.some((t) => t.patches.some((p) => astral.test(p[2])))) {
    console.error('run_one: this trace has characters outside the BMP; positions would differ');
    process.exit(2);
  }
  const txns = trace.txns;
  const A = await ADAPTERS[lib]();
  const out = {
    lib,
    version: version(A.pkg),
    trace: tracePath.split('/').pop().replace(/\.json(\.gz)?$/, ''),
    ok: true,
    problems: [],
    patches: txns.reduce((n, t) => n + t.patches.length, 0),
    final_chars: 0,
    how: A.how,
  };
  const check = (what, text) => {
    if (text !== end) {
      out.ok = false;
      out.problems.push(`${what} differs from endContent (${text.length} vs ${end.length} chars)`);
    }
  };

  const [doc, replayMs] = timed(() => A.replay(txns));
  out.replay_ms = round(replayMs);
  const text = A.text(doc);
  out.final_chars = [...text].length;
  check('final text', text);

  const [bytes, encodeMs] = timed(() => A.encode(doc));
  out.encode_ms = round(encodeMs);
  out.encoded_bytes = bytes.length;

  const [loaded, loadMs] = timed(() => A.load(bytes));
  out.load_ms = round(loadMs);
  check('loaded text', loaded);

  const [merged, mergeMs] = timed(() => A.merge(doc));
  out.merge_ms = round(mergeMs);
  check('merged text', A.text(merged));

  const [updates, updatesMs] = process.env.SKIP_REMOTE === '1'
    ? [undefined, 0]
    : timed(() => A.live(txns, performance.now() + CAP_MS));
  if (updates === undefined) {
    out.updates_ms = null;
    out.remote_apply_ms = null;
    out.remote_note = 'skipped (SKIP_REMOTE=1)';
  } else if (updates === null) {
    out.updates_ms = null;
    out.remote_apply_ms = null;
    out.remote_note = `too slow: making per-txn updates took over ${CAP_MS / 1000} s`;
  } else {
    out.updates_ms = round(updatesMs);
    let remote = A.remote();
    gc();
    const start = performance.now();
    let applied = 0;
    for (; applied < updates.length; applied++) {
      remote = A.apply(remote, updates[applied]);
      if ((applied & 255) === 0 && performance.now() - start > CAP_MS) break;
    }
    const remoteMs = performance.now() - start;
    if (applied < updates.length) {
      out.remote_apply_ms = null;
      out.remote_note = `too slow: ${applied} of ${updates.length} updates in ${CAP_MS / 1000} s`;
    } else {
      out.remote_apply_ms = round(remoteMs);
      out.updates = updates.length;
      check('remote text', A.text(remote));
    }
  }
  out.peak_rss_kb = process.resourceUsage().maxRSS;
  console.log(JSON.stringify(out));
  process.exit(out.ok ? 0 : 1);
}

main().catch((e) => {
  console.error(`run_one: ${e.stack || e}`);
  process.exit(2);
});
