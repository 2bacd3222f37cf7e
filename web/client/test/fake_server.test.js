// The client against a scripted server (the `ws` package on 127.0.0.1):
// what a real server cannot easily be made to do on cue, or does not do
// yet: token refresh, replaced sessions, reconnect backoff, presence
// positions across concurrent edits, malformed frames.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import WebSocket, { WebSocketServer } from 'ws';
import { Packr } from 'msgpackr';
import { QuireClient, backoffDelay } from '../src/index.js';
import { until, sleep } from './helpers/server.js';

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint', variableMapSize: true });

// A server that records what clients send and lets the test answer.
class FakeServer {
  async start() {
    servers.add(this);
    this.wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
    await new Promise((r) => this.wss.once('listening', r));
    this.sockets = [];
    this.received = []; // [socketIndex, message]
    this.wss.on('connection', (ws) => {
      const index = this.sockets.push(ws) - 1;
      ws.on('message', (data) => {
        const m = packr.unpack(data);
        this.received.push([index, m]);
        this.onMessage?.(ws, m, index);
      });
    });
    return this;
  }
  get url() {
    return `ws://127.0.0.1:${this.wss.address().port}/ws`;
  }
  send(ws, msg) {
    ws.send(packr.pack(msg));
  }
  welcome(ws, session = 1) {
    this.send(ws, [2, 1, { session, user: 'u', name: 'n', agent: 77n, ticket: Buffer.from([1, 2]), ping_ms: 15000, limits: {}, server: 'fake' }]);
  }
  of(type) {
    return this.received.filter(([, m]) => m[0] === type).map(([, m]) => m);
  }
  async stop() {
    if (!servers.delete(this)) return;
    for (const ws of this.sockets) ws.terminate();
    await new Promise((r) => this.wss.close(r));
  }
}

const clients = new Set();
const servers = new Set();
after(async () => {
  clients.forEach((c) => c.close());
  await Promise.all([...servers].map((s) => s.stop()));
});

function client(server, options = {}) {
  const c = new QuireClient({ url: server.url, WebSocket, backoff: { min: 50, max: 200 }, ...options });
  clients.add(c);
  return c;
}

function jwt(exp) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  return `${b64({ alg: 'HS256' })}.${b64({ sub: 'ann', exp })}.sig`;
}

test('the token rides in hello and is refreshed in-band before it expires', async () => {
  const server = await new FakeServer().start();
  server.onMessage = (ws, m) => m[0] === 1 && server.welcome(ws);
  let n = 0;
  const c = client(server, { getToken: async () => jwt(Math.floor(Date.now() / 1000) + 61 + n++ * 1000) });
  await c.start();
  await until(() => c.isOpen(), 5000, 'welcome');
  const hello = server.of(1)[0];
  assert.equal(hello[2].token.split('.').length, 3);
  // exp is 61 s away and refreshes happen 60 s before: about a second from now.
  await until(() => server.of(6).length === 1, 5000, 'a refresh');
  assert.notEqual(server.of(6)[0][1], hello[2].token);
  // The app can push one too.
  c.setToken('abc.def.ghi');
  await until(() => server.of(6).length === 2, 2000, 'setToken');
  assert.equal(server.of(6)[1][1], 'abc.def.ghi');
  c.close();
  await server.stop();
});

test('a session replaced by another on its agent (4007) does not fight back', async () => {
  const server = await new FakeServer().start();
  server.onMessage = (ws, m) => {
    if (m[0] === 1) {
      server.welcome(ws);
      setTimeout(() => ws.close(4007, 'replaced'), 20);
    }
  };
  const c = client(server);
  await c.start();
  await until(() => c.status.state === 'offline', 5000, 'offline');
  assert.equal(c.status.reason, 'replaced');
  await sleep(400);
  assert.equal(server.sockets.length, 1, 'no reconnect');
  c.close();
  await server.stop();
});

test('reconnects back off with full jitter and report the next attempt', async () => {
  const server = await new FakeServer().start();
  server.onMessage = (ws) => ws.close(1011);
  const statuses = [];
  const c = client(server);
  c.on('status', (s) => statuses.push({ ...s, at: Date.now() }));
  await c.start();
  await until(() => server.sockets.length >= 4, 5000, 'four attempts');
  const waits = statuses.filter((s) => s.state === 'reconnecting');
  assert.ok(waits.length >= 3);
  for (const s of waits) {
    assert.ok(s.nextAttemptAt >= s.at - 1 && s.nextAttemptAt <= s.at + 200 + 5, JSON.stringify(s));
  }
  c.close();
  await server.stop();
  // The delay is uniform in [0, min(max, min * 2^attempt)].
  assert.equal(backoffDelay(0, { min: 100, max: 1000 }, () => 0.999), 99);
  assert.equal(backoffDelay(3, { min: 100, max: 1000 }, () => 0.5), 400);
  assert.equal(backoffDelay(10, { min: 100, max: 1000 }, () => 0.999), 999);
  assert.equal(backoffDelay(10, { min: 100, max: 1000 }, () => 0), 0);
});

test('presence: others at the right place across remote and pending edits', async () => {
  const server = await new FakeServer().start();
  server.onMessage = (ws, m) => {
    if (m[0] === 1) server.welcome(ws, 1);
    if (m[0] === 16) {
      const ch = m[1];
      server.send(ws, [17, ch, 9, 5]);
      server.send(ws, [20, ch, 5, 'hello world']);
      server.send(ws, [21, ch, 5, null, 0]);
    }
  };
  const c = client(server);
  await c.start();
  const doc = await c.open('p');
  await until(() => doc.synced, 5000, 'synced');
  const ws = server.sockets[0];
  const events = [];
  doc.on('presence', (e) => events.push(e));
  // A snapshot: Bob before "world", and ourselves (ignored as a member).
  server.send(ws, [49, 0, 5, [[2, 1, { user: { name: 'Bob', color: '#ff0000' }, cursor: 6, sel: [[0, 5]] }], [1, 1, { user: { name: 'n' } }]]]);
  await until(() => events.length === 1, 2000, 'join');
  assert.equal(events[0].type, 'join');
  assert.deepEqual(doc.members().map((m) => [m.user.name, m.cursor]), [['Bob', 6]]);
  // Someone inserts "XX" at 0 (seq 6): Bob's caret stays before "world".
  server.send(ws, [26, 0, 6, ['XX'], [5, 0]]);
  await until(() => doc.text === 'XXhello world', 2000, 'remote op');
  assert.equal(doc.members()[0].cursor, 8);
  assert.deepEqual(doc.members()[0].sel, [[2, 7]]);
  // An update at seq 7 arrives before op 7: it waits for it.
  server.send(ws, [49, 0, 7, [[2, 2, { cursor: 0 }]]]);
  await sleep(50);
  assert.equal(doc.members()[0].cursor, 8);
  server.send(ws, [26, 0, 7, [13, '!'], [5, 1]]);
  await until(() => doc.members()[0].cursor === 0, 2000, 'the update at seq 7');
  // Our own unacknowledged typing at 0 moves what we show, not what we send.
  doc.insert(0, 'abc');
  assert.equal(doc.members()[0].cursor, 3);
  doc.setPresence({ cursor: 3 });
  await until(() => server.of(48).length > 0 && server.of(48).some((m) => m[3].cursor === 0), 2000, 'presence_set');
  const set = server.of(48).find((m) => m[3].cursor === 0);
  assert.equal(set[2], 7, 'positions at the confirmed seq, without our pending op');
  // Bob leaves.
  server.send(ws, [49, 0, 7, [[2, 3, null]]]);
  await until(() => events.some((e) => e.type === 'leave'), 2000, 'leave');
  assert.equal(doc.members().length, 0);
  c.close();
  await server.stop();
});

test('a malformed frame is ignored and the session goes on; pings get pongs', async () => {
  const server = await new FakeServer().start();
  server.onMessage = (ws, m) => m[0] === 1 && server.welcome(ws);
  const c = client(server);
  const errors = [];
  c.on('error', (e) => errors.push(e));
  await c.start();
  await until(() => c.isOpen(), 5000, 'welcome');
  const ws = server.sockets[0];
  ws.send(Buffer.from([0xc1])); // Never valid msgpack.
  ws.send(packr.pack([26, 0, 'x'])); // Fields of the wrong type.
  server.send(ws, [4, 42]);
  await until(() => server.of(5).length === 1, 2000, 'pong');
  assert.equal(server.of(5)[0][1], 42);
  assert.equal(errors.length, 2);
  assert.ok(c.isOpen());
  c.close();
  await server.stop();
});
