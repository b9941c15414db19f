// The SDK's IndexedDB database, shared by every tab and the Service Worker
// of an origin: the newest version seen per cache key, and the stream
// positions the leader resumes from.

const VERSIONS = "versions";
const META = "meta";

/** Store is an open database. */
export type Store = IDBDatabase;

const done = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

/** openStore opens (and on first use creates) the database called name. */
export function openStore(name: string): Promise<Store> {
  const r = indexedDB.open(name, 1);
  r.onupgradeneeded = () => {
    r.result.createObjectStore(VERSIONS);
    r.result.createObjectStore(META);
  };
  return done(r);
}

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

/** getMeta reads a small value (a stream position, a client id). */
export async function getMeta<T>(db: Store, name: string): Promise<T | undefined> {
  return (await done(db.transaction(META).objectStore(META).get(name))) as T | undefined;
}

/** setMeta writes a small value and resolves once it is durable. */
export function setMeta(db: Store, name: string, value: unknown): Promise<void> {
  const tx = db.transaction(META, "readwrite");
  tx.objectStore(META).put(value, name);
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = () => reject(tx.error);
  });
}
