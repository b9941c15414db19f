// The SDK's IndexedDB database, shared by every tab and the Service Worker
// of an origin: the newest version seen per cache key, the stream positions
// the leader resumes from, the outbox of receipts and read telemetry not yet
// acknowledged by push, analytics' advice per key, and when each stored
// response was stored and last used (for expiration).

const VERSIONS = "versions";
const META = "meta";
const OUTBOX = "outbox";
const ADVICE = "advice";
const USED = "used";

/** Store is an open database. */
export type Store = IDBDatabase;

const done = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

/** openStore opens (and on first use creates) the database called name. */
export function openStore(name: string): Promise<Store> {
  const r = indexedDB.open(name, 3);
  r.onupgradeneeded = () => {
    const db = r.result;
    for (const s of [VERSIONS, META, ADVICE, USED]) if (!db.objectStoreNames.contains(s)) db.createObjectStore(s);
    if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { autoIncrement: true });
  };
  // A newer build of the SDK (in another tab or a new worker) upgrading the
  // schema must not wait on this connection.
  return done(r).then((db) => ((db.onversionchange = () => db.close()), db));
}

const txDone = (tx: IDBTransaction): Promise<void> =>
  new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error);
  });

// A key's record is its newest version, negated while the eviction for it
// is still under way: a replay of a version whose eviction never finished
// evicts again, a replay of a finished one is a duplicate.

/** versionOf returns the newest version recorded for key, 0 if none. */
export async function versionOf(db: Store, key: string): Promise<number> {
  return Math.abs(((await done(db.transaction(VERSIONS).objectStore(VERSIONS).get(key))) as number | undefined) ?? 0);
}

/** Previous is what raiseVersion found: the version and whether its eviction finished. */
export interface Previous {
  version: number;
  finished: boolean;
}

/**
 * raiseVersion records version for key as under way unless a newer or equal
 * one is there, in one transaction, and returns what was there before.
 */
export function raiseVersion(db: Store, key: string, version: number): Promise<Previous> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(VERSIONS, "readwrite");
    const os = tx.objectStore(VERSIONS);
    let before = 0;
    const r = os.get(key);
    r.onsuccess = () => {
      before = (r.result as number | undefined) ?? 0;
      if (version > Math.abs(before)) os.put(-version, key);
    };
    tx.oncomplete = () => resolve({ version: Math.abs(before), finished: before >= 0 });
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

/** finishVersion marks the eviction for version of key as done. */
export function finishVersion(db: Store, key: string, version: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const tx = db.transaction(VERSIONS, "readwrite");
    const os = tx.objectStore(VERSIONS);
    const r = os.get(key);
    r.onsuccess = () => {
      if (r.result === -version) os.put(version, key);
    };
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

/**
 * SYNCED names the meta entry where the leader tab records, every second
 * while its push connection is live, when it last was in sync (epoch ms,
 * written after the frames received before it are applied). The Service
 * Worker does not serve from cache once it is older than its bound.
 */
export const SYNCED = "synced";

/** getMeta reads a small value (a stream position, a client id). */
export async function getMeta<T>(db: Store, name: string): Promise<T | undefined> {
  return (await done(db.transaction(META).objectStore(META).get(name))) as T | undefined;
}

/** setMeta writes a small value and resolves once it is durable. */
export function setMeta(db: Store, name: string, value: unknown): Promise<void> {
  const tx = db.transaction(META, "readwrite");
  tx.objectStore(META).put(value, name);
  return txDone(tx);
}

/** Largest number of records the outbox keeps; more are dropped until push acknowledges some. */
export const OUTBOX_MAX = 10_000;

/** enqueue appends records to the outbox; it returns how many were dropped because it was full. */
export function enqueue(db: Store, items: unknown[]): Promise<number> {
  const tx = db.transaction(OUTBOX, "readwrite");
  const os = tx.objectStore(OUTBOX);
  let dropped = 0;
  const c = os.count();
  c.onsuccess = () => {
    const room = Math.max(0, OUTBOX_MAX - c.result);
    dropped = Math.max(0, items.length - room);
    for (const it of items.slice(0, room)) os.add(it);
  };
  return txDone(tx).then(() => dropped);
}

/** peek returns the oldest n outbox records and the key of the last one. */
export function peek<T>(db: Store, n: number): Promise<{ items: T[]; keys: IDBValidKey[] }> {
  const os = db.transaction(OUTBOX).objectStore(OUTBOX);
  return Promise.all([done(os.getAll(null, n)), done(os.getAllKeys(null, n))]).then(([items, keys]) => ({ items: items as T[], keys }));
}

/** forget deletes the outbox records up to and including key last. */
export function forget(db: Store, last: IDBValidKey): Promise<void> {
  const tx = db.transaction(OUTBOX, "readwrite");
  tx.objectStore(OUTBOX).delete(IDBKeyRange.upperBound(last));
  return txDone(tx);
}

/** Hint is the advice the Service Worker honours for a key. */
export interface Hint {
  /** Serve without revalidation at most this many seconds (0: no cap). */
  maxAge: number;
  /** Revalidate the next read instead of serving the stored copy. */
  early: boolean;
}

/** setHint stores (or, given null, removes) the advice for key. */
export function setHint(db: Store, key: string, h: Hint | null): Promise<void> {
  const tx = db.transaction(ADVICE, "readwrite");
  const os = tx.objectStore(ADVICE);
  if (h) os.put(h, key);
  else os.delete(key);
  return txDone(tx);
}

/** hintOf returns the advice stored for key, if any. */
export async function hintOf(db: Store, key: string): Promise<Hint | undefined> {
  return (await done(db.transaction(ADVICE).objectStore(ADVICE).get(key))) as Hint | undefined;
}

/** spendEarly clears the one-shot "revalidate next read" flag of key. */
export function spendEarly(db: Store, key: string): Promise<void> {
  const tx = db.transaction(ADVICE, "readwrite");
  const os = tx.objectStore(ADVICE);
  const r = os.get(key);
  r.onsuccess = () => {
    const h = r.result as Hint | undefined;
    if (h?.early) os.put({ ...h, early: false }, key);
  };
  return txDone(tx);
}

/** Use is what expiration knows of a stored response. */
export interface Use {
  /** When it was stored and last served (epoch ms). */
  stored: number;
  used: number;
  /** Its body's size in bytes. */
  bytes: number;
}

/** setUse records (or, given null, forgets) the use of the stored response at url. */
export function setUse(db: Store, url: string, u: Use | null): Promise<void> {
  const tx = db.transaction(USED, "readwrite");
  const os = tx.objectStore(USED);
  if (u) os.put(u, url);
  else os.delete(url);
  return txDone(tx);
}

/** touch records that the stored response at url was served now. */
export function touch(db: Store, url: string, now: number): Promise<void> {
  const tx = db.transaction(USED, "readwrite");
  const os = tx.objectStore(USED);
  const r = os.get(url);
  r.onsuccess = () => {
    const u = r.result as Use | undefined;
    if (u) os.put({ ...u, used: now }, url);
  };
  return txDone(tx);
}

/** uses returns every recorded use, by URL. */
export async function uses(db: Store): Promise<[string, Use][]> {
  const os = db.transaction(USED).objectStore(USED);
  const [keys, values] = await Promise.all([done(os.getAllKeys()), done(os.getAll())]);
  return keys.map((k, i) => [String(k), values[i] as Use]);
}
