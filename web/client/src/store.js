// Where a client keeps what must survive a reload: its agent and ticket,
// and each document's text, seq and unacknowledged ops (the outbox).
//
// A store is anything with these async methods (values are plain objects,
// strings, numbers, arrays and Uint8Arrays):
//   get(key) -> value | undefined      put(key, value)      delete(key)
//   keys(prefix) -> [key, ...]
// MemoryStore keeps copies in a Map (Node, tests: two clients over one
// MemoryStore are a reload). IndexedDBStore keeps them in the browser.

export class MemoryStore {
  constructor() {
    this.map = new Map();
  }
  async get(key) {
    const v = this.map.get(key);
    return v === undefined ? undefined : structuredClone(v);
  }
  async put(key, value) {
    this.map.set(key, structuredClone(value));
  }
  async delete(key) {
    this.map.delete(key);
  }
  async keys(prefix = '') {
    return [...this.map.keys()].filter((k) => k.startsWith(prefix));
  }
}

// One object store in one IndexedDB database. Each put is its own
// transaction, issued at once, so a write started before the page unloads
// is committed by the browser.
export class IndexedDBStore {
  constructor(dbName = 'quire', storeName = 'kv') {
    this.storeName = storeName;
    this.db = new Promise((resolve, reject) => {
      const req = indexedDB.open(dbName, 1);
      req.onupgradeneeded = () => req.result.createObjectStore(storeName);
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  async run(mode, fn) {
    const db = await this.db;
    return new Promise((resolve, reject) => {
      const tx = db.transaction(this.storeName, mode);
      const req = fn(tx.objectStore(this.storeName));
      tx.oncomplete = () => resolve(req?.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error ?? new Error('IndexedDB transaction aborted'));
    });
  }
  get(key) {
    return this.run('readonly', (s) => s.get(key));
  }
  put(key, value) {
    return this.run('readwrite', (s) => s.put(value, key));
  }
  delete(key) {
    return this.run('readwrite', (s) => s.delete(key));
  }
  async keys(prefix = '') {
    const range = IDBKeyRange.bound(prefix, prefix + '\uffff');
    return this.run('readonly', (s) => s.getAllKeys(range));
  }
}
