// JS clients for tests: QuireClient over the `ws` package, and a socket
// wrapper that can drop chosen server messages (a lost ack).
import WebSocket from 'ws';
import { QuireClient } from '../../src/index.js';
import { Packr } from 'msgpackr';
import { until } from './server.js';

const made = new Set();

// Closes every client makeClient made (a test that failed half-way leaves
// its clients reconnecting, which would keep the process alive).
export function closeAll() {
  for (const c of made) c.close();
  made.clear();
}

export function makeClient(server, options = {}) {
  const client = new QuireClient({
    url: server.url,
    WebSocket: options.WebSocket ?? WebSocket,
    backoff: { min: 50, max: 400 },
    ...options,
  });
  made.add(client);
  return client;
}

// Starts a client, opens `name` and waits until it is synced.
export async function openSynced(client, name, ms = 10000) {
  await client.start();
  const doc = await client.open(name);
  await until(() => doc.synced, ms, `'${name}' synced`);
  return doc;
}

export async function settled(doc, ms = 15000) {
  await until(() => doc.synced && doc.pending === 0, ms, `'${doc.name}' settled`);
}

// A `ws` WebSocket that hands the client only the server messages `keep`
// accepts (each message as its raw array, [type, ...fields]): the others
// are lost as if with the network.
export function filteringWebSocket(keep) {
  return class extends WebSocket {
    set onmessage(fn) {
      super.onmessage = (ev) => {
        const m = packr.unpack(new Uint8Array(ev.data));
        const msgs = m[0] === 0 ? m.slice(1) : [m];
        const kept = msgs.filter(keep);
        if (kept.length === 0) return;
        const out = kept.length === 1 ? kept[0] : [0, ...kept];
        fn({ data: packr.pack(bigToInt64(out)).slice() });
      };
    }
  };
}

const packr = new Packr({ useRecords: false, mapsAsObjects: true, int64AsType: 'bigint', variableMapSize: true });

// msgpackr writes numbers of 2^32 and more as floats; BigInts as integers.
function bigToInt64(v) {
  if (Array.isArray(v)) return v.map(bigToInt64);
  if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) >= 2 ** 32) return BigInt(v);
  return v;
}
