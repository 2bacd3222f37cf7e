// The demo's service worker: the page, its script and its style come from
// the network when it answers and from this cache when it does not, so a
// reload while offline still opens the editor (whose outbox is in
// IndexedDB). The WebSocket, the API and the event streams never pass here.
const VERSION = '__QUIRE_BUILD__'; // Replaced by build.mjs with a hash of the bundle.
const CACHE = `quire-demo-${VERSION}`;
const SHELL = ['/', '/app.js', '/style.css', '/dashboard', '/dashboard.js'];

self.addEventListener('install', (event) => {
  event.waitUntil(
    caches
      .open(CACHE)
      .then((c) => c.addAll(SHELL))
      .then(() => self.skipWaiting()),
  );
});

self.addEventListener('activate', (event) => {
  event.waitUntil(
    caches
      .keys()
      .then((keys) => Promise.all(keys.filter((k) => k.startsWith('quire-demo-') && k !== CACHE).map((k) => caches.delete(k))))
      .then(() => self.clients.claim()),
  );
});

self.addEventListener('fetch', (event) => {
  const req = event.request;
  const url = new URL(req.url);
  if (req.method !== 'GET' || url.origin !== self.location.origin) return;
  if (/^\/(ws|api\/|healthz|readyz|metrics)/.test(url.pathname)) return;
  event.respondWith(
    fetch(req)
      .then((res) => {
        if (res.ok) {
          const copy = res.clone();
          const key = url.pathname === '/' ? '/' : req;
          caches.open(CACHE).then((c) => c.put(key, copy));
        }
        return res;
      })
      .catch(async () => {
        const hit = await caches.match(url.pathname === '/' ? '/' : req, { ignoreSearch: true });
        return hit ?? Response.error();
      }),
  );
});
