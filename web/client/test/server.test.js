// The JS client against a real quire-server (the built binary): concurrent
// editing with the C++ client, edits made while the server is down, a
// reload over a persisted outbox, astral characters.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { MemoryStore, cpLength } from '../src/index.js';
import { Server, sleep, until, runCli, tempDir } from './helpers/server.js';
import { makeClient, openSynced, settled, filteringWebSocket, closeAll } from './helpers/clients.js';
import { rng } from './helpers/random.js';

const server = await new Server().start();
after(async () => {
  closeAll();
  await server.stop();
  server.cleanup();
});

let docCounter = 0;
const docName = (what) => `${what}-${process.pid}-${++docCounter}`;

async function cat(doc) {
  const r = await runCli(['cat', `ws://127.0.0.1:${server.port}/${encodeURIComponent(doc)}`]);
  assert.equal(r.code, 0, r.stderr);
  return r.stdout;
}

test('three JS clients and the C++ client edit concurrently and converge', async (t) => {
  const seed = Number(process.env.QUIRE_SEED ?? Date.now() % 1000000);
  t.diagnostic(`seed ${seed} (QUIRE_SEED=${seed} replays it)`);
  const r = rng(seed);
  const name = docName('converge');
  const clients = [0, 1, 2].map((i) => makeClient(server, { name: `js${i}` }));
  const docs = await Promise.all(clients.map((c) => openSynced(c, name)));
  const errors = [];
  docs.forEach((d, i) => d.on('error', (e) => errors.push({ client: i, ...e })));

  // The C++ client (quire type, CRDT mode) types a line at the end, a
  // character every 3 ms, while the JS clients edit.
  const cppText = 'C++ types 🦊 here, in CRDT mode.\n'.repeat(3);
  const file = join(tempDir(), 'typed.txt');
  writeFileSync(file, cppText);
  const cpp = runCli(['type', `ws://127.0.0.1:${server.port}/${name}`, '--file', file, '--delay-ms', '3']);

  // JS edits: unique markers (with astral characters), filler '·' and
  // deletes of filler, never inside a marker, so every marker and every
  // character the C++ client typed must survive whole.
  const markers = [];
  const outsideMarkers = (text) => {
    const cps = Array.from(text);
    const ok = [];
    let depth = 0;
    for (let i = 0; i <= cps.length; i++) {
      if (depth === 0) ok.push(i);
      if (cps[i] === '⟨') depth++;
      if (cps[i] === '⟩') depth--;
    }
    return ok;
  };
  for (let step = 0; step < 240; step++) {
    const i = r.int(3);
    const doc = docs[i];
    const cps = Array.from(doc.text);
    const what = r.int(4);
    if (what === 0) {
      const filler = cps.flatMap((c, k) => (c === '·' ? [k] : []));
      if (filler.length) doc.delete(r.pick(filler), 1);
    } else if (what === 1) {
      const m = `⟨${i}:${step}😀⟩`;
      markers.push(m);
      doc.insert(r.pick(outsideMarkers(doc.text)), m);
    } else {
      doc.insert(r.pick(outsideMarkers(doc.text)), '·');
    }
    if (step % 4 === 0) await sleep(r.int(9));
  }
  const typed = await cpp;
  assert.equal(typed.code, 0, typed.stderr);
  await Promise.all(docs.map((d) => settled(d)));
  await until(() => docs.every((d) => d.text === docs[0].text), 10000, 'the JS clients to agree');
  assert.deepEqual(errors.filter((e) => e.refused || e.code !== 402), [], 'no edit refused');
  const final = docs[0].text;
  assert.equal(await cat(name), final, 'the server has what the clients have');
  // The markers' characters and the C++ client's are disjoint sets, so each
  // side can be read on its own. (`quire type` reads the length of its text
  // and then inserts there: a remote edit landing in between puts its
  // character before the end, even inside a marker, and out of its order.)
  const isMarker = (c) => /[⟨⟩0-9:😀]/u.test(c);
  const cps = Array.from(final);
  const markerText = cps.filter(isMarker).join('');
  for (const m of markers) assert.equal(markerText.split(m).length, 2, `marker ${m} exactly once in ${JSON.stringify(final)}`);
  assert.equal(markerText.length, markers.join('').length, 'nothing but the markers');
  const sorted = (t) => Array.from(t).sort().join('');
  const cppTyped = cps.filter((c) => !isMarker(c) && c !== '·').join('');
  assert.equal(sorted(cppTyped), sorted(cppText), "the C++ client's characters, each once");
  for (const c of clients) c.close();
});

test('edits made while the server is down are all there after it comes back', async () => {
  const name = docName('down');
  const a = makeClient(server, { name: 'a' });
  const doc = await openSynced(a, name);
  doc.insert(0, 'before ');
  await settled(doc);

  const statuses = [];
  a.on('status', (s) => statuses.push(s));
  await server.stop();
  await until(() => a.status.state === 'reconnecting', 5000, 'reconnecting');
  const words = ['while ', 'the ', 'server ', 'was ', 'down 🛠'];
  for (const w of words) doc.insert(cpLength(doc.text), w);
  assert.equal(a.status.pending, words.length);
  const s = a.status;
  assert.ok(s.nextAttemptAt > Date.now() - 1000, 'a next attempt time');

  await server.start(); // Same port, same data.
  await settled(doc);
  const expected = 'before while the server was down 🛠';
  assert.equal(doc.text, expected);
  assert.equal(await cat(name), expected);
  assert.ok(statuses.some((x) => x.state === 'reconnecting' && x.pending === words.length));
  assert.equal(a.status.state, 'synced');
  a.close();
});

test('a reload replays the outbox exactly once', async () => {
  const name = docName('reload');
  const store = new MemoryStore();
  const a = makeClient(server, { store, storeKey: 'tab-1' });
  const doc = await openSynced(a, name);
  doc.insert(0, 'seen ');
  await settled(doc);
  await server.stop();
  doc.insert(5, 'offline 1 ');
  doc.insert(cpLength(doc.text), 'offline 2');
  await a.whenPersisted();
  a.close(); // The page goes away with two edits unsent.

  await server.start();
  const a2 = makeClient(server, { store, storeKey: 'tab-1' });
  await a2.start();
  const doc2 = await a2.open(name);
  assert.equal(doc2.text, 'seen offline 1 offline 2', 'the saved text is there before any network');
  assert.equal(doc2.pending, 2);
  await settled(doc2);
  assert.equal(await cat(name), 'seen offline 1 offline 2');
  a2.close();
  // A third start over the same store has nothing left to send.
  const a3 = makeClient(server, { store, storeKey: 'tab-1' });
  const doc3 = await openSynced(a3, name);
  assert.equal(doc3.pending, 0);
  await sleep(100);
  assert.equal(await cat(name), 'seen offline 1 offline 2');
  a3.close();
});

test('an op whose ack was lost is recognized in the catch-up after a reload', async () => {
  const name = docName('lost-ack');
  const store = new MemoryStore();
  const b = makeClient(server);
  const docB = await openSynced(b, name);
  docB.insert(0, '>');
  await settled(docB);

  const dropAcks = filteringWebSocket((m) => m[0] !== 24);
  const a = makeClient(server, { store, storeKey: 'tab-a', WebSocket: dropAcks });
  const docA = await openSynced(a, name);
  docA.insert(1, 'hello');
  await until(() => docB.text === '>hello', 5000, 'the op to land');
  docA.insert(6, ' world'); // Waits behind the op whose ack never comes.
  await a.whenPersisted();
  a.close();
  docB.insert(0, '[');

  const a2 = makeClient(server, { store, storeKey: 'tab-a' });
  const doc2 = await openSynced(a2, name);
  await settled(doc2);
  await until(() => docB.text === doc2.text, 5000, 'B to agree');
  assert.equal(doc2.text, '[>hello world');
  assert.equal(await cat(name), '[>hello world');
  a2.close();
  b.close();
});

test('on a new document (a text catch-up) too', async () => {
  const name = docName('lost-ack-new');
  const store = new MemoryStore();
  const dropAcks = filteringWebSocket((m) => m[0] !== 24);
  const a = makeClient(server, { store, storeKey: 'tab-a', WebSocket: dropAcks });
  const docA = await openSynced(a, name);
  const b = makeClient(server);
  const docB = await openSynced(b, name);
  docA.insert(0, 'ab');
  await until(() => docB.text === 'ab', 5000, 'the op to land');
  docA.insert(2, 'cd😀');
  await a.whenPersisted();
  a.close();
  docB.insert(0, 'X');
  await settled(docB);

  const a2 = makeClient(server, { store, storeKey: 'tab-a' });
  const doc2 = await openSynced(a2, name);
  await settled(doc2);
  await until(() => docB.text === doc2.text, 5000, 'B to agree');
  assert.equal(doc2.text, 'Xabcd😀');
  assert.equal(await cat(name), 'Xabcd😀');
  a2.close();
  b.close();
});

test('an op sent at once whose store write never landed comes back once', async () => {
  // A fresh edit (nothing pending before it) is sent without waiting for
  // the store; the browser dies before the write lands.
  const name = docName('lost-write');
  const store = new MemoryStore();
  const b = makeClient(server);
  const docB = await openSynced(b, name);
  docB.insert(0, 'base');
  await settled(docB);
  const a = makeClient(server, { store, storeKey: 'tab-a' });
  const docA = await openSynced(a, name);
  await a.whenPersisted();
  const put = store.put.bind(store);
  store.put = async () => {}; // Nothing written from here on.
  docA.insert(4, '+fresh');
  await until(() => docB.text === 'base+fresh', 5000, 'the op to land');
  a.close();
  store.put = put;

  const a2 = makeClient(server, { store, storeKey: 'tab-a' });
  const doc2 = await openSynced(a2, name);
  await settled(doc2);
  assert.equal(doc2.text, 'base+fresh');
  assert.equal(await cat(name), 'base+fresh');
  a2.close();
  b.close();
});

test('astral characters round-trip through the server and the C++ client', async () => {
  const name = docName('astral');
  const a = makeClient(server);
  const b = makeClient(server);
  const docA = await openSynced(a, name);
  const docB = await openSynced(b, name);
  docA.insert(0, 'a😀b');
  docA.insert(1, '𝄞'); // Between 'a' and the emoji: code point 1.
  docA.delete(2, 1); // The emoji.
  docA.insert(cpLength(docA.text), '👍🏽é中');
  await settled(docA);
  await until(() => docB.text === docA.text, 5000, 'B to have it');
  assert.equal(docB.text, 'a𝄞b👍🏽é中');
  assert.equal(await cat(name), 'a𝄞b👍🏽é中');
  // The C++ client appends; the JS clients see it at the right place.
  const file = join(tempDir(), 'astral.txt');
  writeFileSync(file, '🎉z');
  assert.equal((await runCli(['type', `ws://127.0.0.1:${server.port}/${name}`, '--file', file])).code, 0);
  await until(() => docA.text.endsWith('🎉z') && docB.text === docA.text, 5000, 'the C++ edit');
  docB.delete(cpLength(docB.text) - 2, 1); // The party popper, by code point.
  await settled(docB);
  await until(() => docA.text === docB.text, 5000, 'A to agree');
  assert.equal(docA.text, 'a𝄞b👍🏽é中z');
  a.close();
  b.close();
});

test('presence through the server: a caret, a selection, a name, a broadcast, and leaving', async (t) => {
  const name = docName('presence');
  const a = makeClient(server, { name: 'Ann' });
  const b = makeClient(server, { name: 'Ben' });
  const docA = await openSynced(a, name);
  const docB = await openSynced(b, name);
  a.setUser({ name: 'Ann', color: '#aa3355' });
  docA.insert(0, 'a😀 hello world');
  await settled(docA);
  await until(() => docB.text === docA.text, 5000, 'B to have the text');
  docA.setPresence({ cursor: 3, sel: [[4, 9]] }); // After "a😀 ", "hello" selected.
  const ready = () => docB.members().find((m) => m.user?.name === 'Ann' && m.cursor === 3);
  await sleep(300);
  if (!docA.presence.enabled) {
    t.skip('this server does not speak presence (error 103)');
  } else {
    await until(ready, 5000, "Ann's caret at B");
    const ann = ready();
    assert.deepEqual(ann.sel, [[4, 9]]);
    assert.equal(ann.user.color, '#aa3355');
    // B types before Ann's caret: B shows it moved with the text.
    docB.insert(0, '>> ');
    await until(() => docB.members()[0]?.cursor === 6, 5000, 'the caret to move with the text');
    // An app-defined broadcast reaches the others, named by its sender.
    const got = new Promise((resolve) => docB.on('broadcast', resolve));
    docA.broadcast({ reaction: '👍', at: 3 });
    const msg = await got;
    assert.deepEqual(msg.payload, { reaction: '👍', at: 3 });
    assert.equal(msg.session, a.session);
    const left = new Promise((resolve) => docB.on('presence', (e) => e.type === 'leave' && resolve(e.member)));
    a.close();
    assert.equal((await left).user.name, 'Ann');
    assert.equal(docB.members().length, 0);
  }
  a.close();
  b.close();
});

test("in-band token refresh keeps a session past its first token's expiry", async (t) => {
  const secret = join(tempDir(), 'jwt.secret');
  writeFileSync(secret, randomBytes(32).toString('hex'));
  const authed = new Server({ args: ['--jwt-secret-file', secret] });
  try {
    await authed.start();
  } catch {
    t.skip('this server has no tokens (--jwt-secret-file)');
    authed.cleanup();
    return;
  }
  try {
    // Tokens that live 3 s: the client refreshes a minute before expiry,
    // so at once (after 1 s) and again after every refreshed.
    let minted = 0;
    const mint = async () => {
      minted++;
      const r = await runCli(['token', '--secret-file', secret, '--sub', 'ann', '--docs', '*:rw', '--ttl', '3s']);
      assert.equal(r.code, 0, r.stderr);
      return r.stdout.trim();
    };
    const c = makeClient(authed, { getToken: mint });
    let welcomes = 0;
    c.on('welcome', () => welcomes++);
    const doc = await openSynced(c, docName('refresh'));
    await sleep(4500); // Past the first token's expiry.
    doc.insert(0, 'still here');
    await settled(doc);
    assert.equal(welcomes, 1, 'one session all along');
    assert.ok(minted >= 3, `refreshed in-band (${minted} tokens)`);
    c.close();
  } finally {
    await authed.stop();
    authed.cleanup();
  }
});
