// The messages of docs/protocol.md that an OT client sends and receives,
// as msgpack through msgpackr.
//
// msgpackr is configured for plain MessagePack: no record extension, maps
// as plain objects, 64-bit integers decoded exactly (as BigInt when they do
// not fit a double's 53 bits). Agent ids are random 63-bit values, so they
// are always carried as BigInt here. On the way out, msgpackr would write
// an integer of 2^32 or more as a float64, which the server refuses, so
// every integer field goes through `int()`.
//
// Decoding checks every field the client uses; a message that does not
// have the shape the spec gives is refused (throws), never half-used.
import { Packr } from 'msgpackr';
import { fromWire, toWire } from './ops.js';

const packr = new Packr({
  useRecords: false,
  mapsAsObjects: true,
  variableMapSize: true,
  int64AsType: 'auto',
  encodeUndefinedAsNil: true,
});

export const T = Object.freeze({
  batch: 0,
  hello: 1,
  welcome: 2,
  error: 3,
  ping: 4,
  pong: 5,
  refresh: 6,
  refreshed: 7,
  open: 16,
  opened: 17,
  close: 18,
  snapshot: 19,
  text: 20,
  synced: 21,
  op: 23,
  ack: 24,
  remoteOp: 26,
  presenceSet: 48,
  presence: 49,
  broadcast: 50,
  broadcasted: 51,
});

export const PROTOCOL_VERSION = 1;

// A non-negative integer as msgpackr should write it: a number below 2^32
// (shortest form), a BigInt above (int64; the server takes any integer
// form with a non-negative value).
function int(x) {
  if (typeof x === 'bigint') return x < 0x100000000n ? Number(x) : x;
  if (!Number.isSafeInteger(x) || x < 0) throw new RangeError('not a non-negative integer: ' + x);
  return x < 0x100000000 ? x : BigInt(x);
}

function encode(msg) {
  // msgpackr packs into a reused buffer; the socket gets its own copy.
  return packr.pack(msg).slice();
}

export const encodeHello = ({ token, name, client, agent, ticket }) => {
  const opts = { client: client ?? 'quire-js/0.1' };
  if (token) opts.token = token;
  if (name) opts.name = name;
  if (agent != null && ticket) opts.agent = [int(agent), ticket];
  return encode([T.hello, PROTOCOL_VERSION, opts]);
};
export const encodePing = (nonce) => encode([T.ping, int(nonce)]);
export const encodePong = (nonce) => encode([T.pong, int(nonce)]);
export const encodeRefresh = (token) => encode([T.refresh, token]);
export const encodeOpen = (ch, doc, epoch, seq) =>
  encode([T.open, ch, doc, 1, int(epoch), int(seq)]);
export const encodeClose = (ch) => encode([T.close, ch]);
export const encodeOp = (ch, ref, baseSeq, op, agentSeq) =>
  encode([T.op, ch, int(ref), int(baseSeq), toWire(op), int(agentSeq)]);
export const encodePresenceSet = (ch, seq, state) => encode([T.presenceSet, ch, int(seq), state]);
export const encodeBroadcast = (ch, payload) => encode([T.broadcast, ch, payload]);

// ---- Decoding ----

class Bad extends Error {}

function uint(v, what) {
  if (typeof v === 'bigint') {
    if (v < 0n) throw new Bad(what + ': negative');
    return v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }
  if (!Number.isSafeInteger(v) || v < 0) throw new Bad(what + ': not an unsigned integer');
  return v;
}
// Seqs, refs, channels: numbers (a seq past 2^53 is not a thing this client handles).
function num(v, what) {
  const n = uint(v, what);
  if (typeof n === 'bigint') throw new Bad(what + ': too large');
  return n;
}
function agentId(v, what) {
  const n = uint(v, what);
  return BigInt(n);
}
function str(v, what) {
  if (typeof v !== 'string') throw new Bad(what + ': not a string');
  return v;
}
function map(v, what) {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || v instanceof Uint8Array) {
    throw new Bad(what + ': not a map');
  }
  return v;
}
function optNum(v, what) {
  return v == null ? null : num(v, what);
}

const decoders = {
  [T.welcome](m) {
    const info = map(m[2], 'welcome.info');
    if (!(info.ticket instanceof Uint8Array)) throw new Bad('welcome.ticket: not bin');
    return {
      type: 'welcome',
      version: num(m[1], 'welcome.version'),
      session: String(uint(info.session, 'welcome.session')),
      user: str(info.user, 'welcome.user'),
      name: str(info.name, 'welcome.name'),
      agent: agentId(info.agent, 'welcome.agent'),
      ticket: Uint8Array.from(info.ticket),
      pingMs: optNum(info.ping_ms, 'welcome.ping_ms') ?? 15000,
      limits: info.limits && typeof info.limits === 'object' ? info.limits : {},
      server: typeof info.server === 'string' ? info.server : '',
    };
  },
  [T.error](m) {
    const detail = m[5] && typeof m[5] === 'object' ? m[5] : null;
    return {
      type: 'error',
      code: num(m[1], 'error.code'),
      message: typeof m[2] === 'string' ? m[2] : '',
      channel: optNum(m[3], 'error.channel'),
      ref: optNum(m[4], 'error.ref'),
      detail,
    };
  },
  [T.ping]: (m) => ({ type: 'ping', nonce: uint(m[1], 'ping.nonce') }),
  [T.pong]: (m) => ({ type: 'pong', nonce: uint(m[1], 'pong.nonce') }),
  [T.refreshed]: (m) => ({ type: 'refreshed', exp: num(m[1], 'refreshed.exp') }),
  [T.opened]: (m) => ({
    type: 'opened',
    channel: num(m[1], 'opened.channel'),
    epoch: uint(m[2], 'opened.epoch'),
    seq: num(m[3], 'opened.seq'),
  }),
  [T.text]: (m) => ({
    type: 'text',
    channel: num(m[1], 'text.channel'),
    seq: num(m[2], 'text.seq'),
    text: str(m[3], 'text.text'),
  }),
  [T.synced]: (m) => ({
    type: 'synced',
    channel: num(m[1], 'synced.channel'),
    seq: num(m[2], 'synced.seq'),
    agentNext: num(m[4], 'synced.agent_next'),
  }),
  [T.ack]: (m) => ({
    type: 'ack',
    channel: num(m[1], 'ack.channel'),
    ref: num(m[2], 'ack.ref'),
    seq: num(m[3], 'ack.seq'),
    agentNext: num(m[4], 'ack.agent_next'),
  }),
  [T.remoteOp](m) {
    if (!Array.isArray(m[4]) || m[4].length < 2) throw new Bad('remote_op.origin: not [agent, seq]');
    let op;
    try {
      op = fromWire(m[3]);
    } catch (e) {
      throw new Bad('remote_op.op: ' + e.message);
    }
    return {
      type: 'remoteOp',
      channel: num(m[1], 'remote_op.channel'),
      seq: num(m[2], 'remote_op.seq'),
      op,
      origin: { agent: agentId(m[4][0], 'origin.agent'), seq: num(m[4][1], 'origin.seq') },
    };
  },
  [T.presence](m) {
    if (!Array.isArray(m[3])) throw new Bad('presence.entries: not an array');
    return {
      type: 'presence',
      channel: num(m[1], 'presence.channel'),
      seq: num(m[2], 'presence.seq'),
      entries: m[3].map((e) => {
        if (!Array.isArray(e) || e.length < 3) throw new Bad('presence entry: not [session, clock, state]');
        return {
          session: String(uint(e[0], 'presence.session')),
          clock: uint(e[1], 'presence.clock'),
          state: e[2] == null ? null : map(e[2], 'presence.state'),
        };
      }),
    };
  },
  [T.broadcasted]: (m) => ({
    type: 'broadcasted',
    channel: num(m[1], 'broadcasted.channel'),
    session: String(uint(m[2], 'broadcasted.session')),
    payload: m[3],
  }),
};

function decodeOne(m) {
  if (!Array.isArray(m) || m.length === 0) throw new Bad('not an array');
  const type = uint(m[0], 'type');
  const d = decoders[type];
  // Types this client does not know (CRDT-only ones, 128+) are skipped.
  return d ? d(m) : null;
}

// One WebSocket message (ArrayBuffer or Uint8Array) as a list of messages.
// Throws when it is not a valid message of the protocol.
export function decodeFrame(data) {
  const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
  let m;
  try {
    m = packr.unpack(bytes);
  } catch (e) {
    throw new Bad('not msgpack: ' + e.message);
  }
  if (!Array.isArray(m)) throw new Bad('not an array');
  if (uint(m[0], 'type') === T.batch) {
    const out = [];
    for (let i = 1; i < m.length; i++) {
      if (Array.isArray(m[i]) && m[i][0] === T.batch) throw new Bad('nested batch');
      const one = decodeOne(m[i]);
      if (one) out.push(one);
    }
    return out;
  }
  const one = decodeOne(m);
  return one ? [one] : [];
}

// Tests and tools: a raw message as the server would send it.
export function encodeServerMessage(msg) {
  return encode(msg);
}
