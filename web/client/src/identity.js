// Which saved identity (agent, ticket, outboxes: a client's `storeKey`)
// this browser tab uses.
//
// The server keeps one live session per agent and closes the older one
// (4007) when a second resumes it, so two tabs must never share one: each
// tab has its own, named in sessionStorage (which survives a reload of the
// tab, so a reload resumes the same agent and replays its outbox exactly
// once). sessionStorage is copied into a duplicated tab, and a tab closed
// with unsent edits leaves its outbox behind; the Web Locks API settles
// both: a live tab holds a lock named after its identity, a duplicate that
// finds the lock taken picks another, and a new tab adopts an identity no
// live tab holds before it makes a new one, so what a closed tab typed is
// sent by the next tab that opens.
const SESSION_KEY = 'quire.identity';
const PREFIX = 'tab-';

export async function claimTabIdentity(store) {
  let id = sessionStorage.getItem(SESSION_KEY);
  if (!navigator.locks) {
    // No way to tell live tabs apart: one identity per tab, as sessionStorage has it.
    id ??= newId();
  } else {
    if (id && !(await tryLock(id))) id = null; // A duplicated tab.
    if (!id) {
      const saved = new Set((await store.keys(PREFIX)).map((k) => k.split('/')[0]));
      for (const candidate of saved) {
        if (await tryLock(candidate)) {
          id = candidate;
          break;
        }
      }
    }
    if (!id) {
      id = newId();
      await tryLock(id);
    }
  }
  sessionStorage.setItem(SESSION_KEY, id);
  return id;
}

function newId() {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return PREFIX + Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

// Takes the lock `quire:<id>` if no one holds it, and keeps it until the
// page goes away.
function tryLock(id) {
  return new Promise((resolve) => {
    navigator.locks.request(`quire:${id}`, { ifAvailable: true }, (lock) => {
      resolve(Boolean(lock));
      return lock ? new Promise(() => {}) : undefined;
    });
  });
}
