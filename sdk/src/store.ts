// The SDK's IndexedDB database, shared by every tab and the Service Worker
// of an origin: the newest version seen per cache key (and the newest
// generation per purge scope) and the tags the ledger last named for a key,
// the log of the purges applied, the stream positions the leader resumes
// from, the outbox of receipts and read telemetry not yet acknowledged by
// push, analytics' advice per key, and what is known of each stored
// response: when it was stored and last used (for expiration), its tags,
// when its fill began, whether a soft purge marked it stale.

import type { Generation } from "./record";
import { covers } from "./scope";

const VERSIONS = "versions";
const META = "meta";
const OUTBOX = "outbox";
const ADVICE = "advice";
const USED = "used";
const TAGS = "tags";
const PURGES = "purges";
// Purges kept in the log; a fill that began more purges ago than this is not stored.
const PURGES_KEPT = 64;

/** Store is an open database. */
export type Store = IDBDatabase;

const done = <T>(r: IDBRequest<T>): Promise<T> =>
  new Promise((resolve, reject) => {
    r.onsuccess = () => resolve(r.result);
    r.onerror = () => reject(r.error);
  });

/** openStore opens (and on first use creates) the database called name. */
export function openStore(name: string): Promise<Store> {
  // Version 4 adds the tags and purges stores. Records of responses stored
  // before it have no tags nor fill position: a purge reads such a copy's
  // tags from its headers and takes it as filled before any purge.
  const r = indexedDB.open(name, 4);
  r.onupgradeneeded = () => {
    const db = r.result;
    for (const s of [VERSIONS, META, ADVICE, USED, TAGS, PURGES]) if (!db.objectStoreNames.contains(s)) db.createObjectStore(s);
    if (!db.objectStoreNames.contains(OUTBOX)) db.createObjectStore(OUTBOX, { autoIncrement: true });
  };
  // A newer build of the SDK (in another tab or a new worker) upgrading the
  // schema must not wait on this connection.
  return done(r).then((db) => ((db.onversionchange = () => db.close()), db));
}

type Stores = (name: string) => IDBObjectStore;

// transact runs body on the stores of one new transaction over names and
// resolves once the transaction has completed (rejects if it failed).
function transact(db: Store, names: string[], body: (os: Stores) => void, mode: IDBTransactionMode = "readwrite"): Promise<void> {
  const tx = db.transaction(names, mode);
  body((n) => tx.objectStore(n));
  return new Promise((resolve, reject) => {
    tx.oncomplete = () => resolve();
    tx.onerror = tx.onabort = () => reject(tx.error);
  });
}

// got calls fn with r's result once it succeeds (within its transaction).
const got = <T>(r: IDBRequest, fn: (result: T) => void): void => void (r.onsuccess = () => fn(r.result as T));

// A key's record is its newest version, negated while the eviction for it
// is still under way: a replay of a version whose eviction never finished
// evicts again, a replay of a finished one is a duplicate. A purge scope's
// newest generation is kept the same way, under scopeKey (which no cache
// key can be).

/** scopeKey names g's (owner, scope, value) among the versions. */
export const scopeKey = (g: Generation): string => ["", g.owner, g.scope, g.value].join("\n");

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
 * one is there, in one transaction, and returns what was there before. With
 * tags (a transition carries all of its entry's tags), they become the
 * key's tags when the version is raised.
 */
export function raiseVersion(db: Store, key: string, version: number, tags?: string[]): Promise<Previous> {
  let before = 0;
  return transact(db, [VERSIONS, TAGS], (os) =>
    got(os(VERSIONS).get(key), (b: number = 0) => {
      before = b;
      if (version <= Math.abs(b)) return;
      os(VERSIONS).put(-version, key);
      if (tags?.length) os(TAGS).put(tags, key);
      else os(TAGS).delete(key);
    }),
  ).then(() => ({ version: Math.abs(before), finished: before >= 0 }));
}

/** finishVersion marks the eviction for version of key as done. */
export function finishVersion(db: Store, key: string, version: number): Promise<void> {
  return transact(db, [VERSIONS], (os) => got(os(VERSIONS).get(key), (v?: number) => v === -version && os(VERSIONS).put(version, key)));
}

// The purge log: each purge applied, under its purge sequence number (1,
// 2, ...). A fill remembers the newest number as it begins; a purge covers
// the copies whose fill began before its number.

/** logPurge appends g's scope to the purge log and returns its purge sequence number. */
export function logPurge(db: Store, g: Generation): Promise<number> {
  let seq = 0;
  return transact(db, [PURGES], (os) =>
    got(os(PURGES).openKeyCursor(null, "prev"), (c: IDBCursor | null) => {
      seq = Number(c?.key ?? 0) + 1;
      os(PURGES).put({ scope: g.scope, value: g.value }, seq);
      os(PURGES).delete(IDBKeyRange.upperBound(seq - PURGES_KEPT));
    }),
  ).then(() => seq);
}

/** Fill is what a fill records as it begins: the key's version and the newest purge sequence number. */
export interface Fill {
  version: number;
  seq: number;
}

/** fillStart reads, in one transaction, what a fill of key must remember as it begins. */
export function fillStart(db: Store, key: string): Promise<Fill> {
  const f: Fill = { version: 0, seq: 0 };
  return transact(db, [VERSIONS, PURGES], (os) => {
    got(os(VERSIONS).get(key), (v: number = 0) => (f.version = Math.abs(v)));
    got(os(PURGES).openKeyCursor(null, "prev"), (c: IDBCursor | null) => (f.seq = Number(c?.key ?? 0)));
  }, "readonly").then(() => f);
}

/**
 * settle decides, in one transaction, whether a response to key whose fill
 * began at fill may be (or stay) stored: versioned(v) says why not given
 * the key's newest version v (or null), and "purged" when a purge applied
 * since the fill began covers it (tags: the response's own, to which the
 * ledger's for key are added), or when the log no longer holds every purge
 * since. When it may and use is given, use with those tags becomes the
 * copy's record in the same transaction; for a response that varies it is
 * merged with the record there (tags added, the older fill position kept:
 * another variant may be older).
 */
export function settle<R extends string>(
  db: Store, key: string, fill: Fill, tags: string[], versioned: (v: number) => R | null, use?: Use, varies = false,
): Promise<R | "purged" | null> {
  let why: R | "purged" | null = null;
  return transact(db, [VERSIONS, PURGES, TAGS, USED], (os) => {
    const v = os(VERSIONS).get(key);
    const t = os(TAGS).get(key);
    const u = os(USED).get(key);
    const after = IDBKeyRange.lowerBound(fill.seq, true);
    const seqs = os(PURGES).getAllKeys(after);
    // Requests complete in order: when this one has, so have the others.
    got(os(PURGES).getAll(after), (since: Pick<Generation, "scope" | "value">[]) => {
      const all = [...tags, ...((t.result as string[] | undefined) ?? [])];
      const gap = since.length > 0 && seqs.result[0] !== fill.seq + 1;
      why = versioned(Math.abs((v.result as number | undefined) ?? 0)) ?? (gap || since.some((g) => covers(g, key, all)) ? "purged" : null);
      if (why || !use) return;
      const old = u.result as Use | undefined;
      const merged = varies && old ? { tags: [...(old.tags ?? []), ...all], seq: Math.min(old.seq ?? 0, fill.seq) } : { tags: all, seq: fill.seq };
      os(USED).put({ ...use, ...merged, tags: [...new Set(merged.tags)] }, key);
    });
  }, use ? "readwrite" : "readonly").then(() => why);
}

/**
 * mark marks the records of the stored responses at urls stale (a soft
 * purge or a STALE transition): the worker serves such a copy once more
 * while it revalidates. It returns the urls without a record (stored by
 * another worker, or before records were kept), which cannot be marked.
 */
export function mark(db: Store, urls: string[]): Promise<string[]> {
  const left: string[] = [];
  return transact(db, [USED], (os) => {
    for (const url of urls) got(os(USED).get(url), (u?: Use) => (u ? os(USED).put({ ...u, stale: u.stale || 1 }, url) : left.push(url)));
  }).then(() => left);
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
  return transact(db, [META], (os) => os(META).put(value, name));
}

/** Largest number of records the outbox keeps; more are dropped until push acknowledges some. */
export const OUTBOX_MAX = 10_000;

/** enqueue appends records to the outbox; it returns how many were dropped because it was full. */
export function enqueue(db: Store, items: unknown[]): Promise<number> {
  let dropped = 0;
  return transact(db, [OUTBOX], (os) =>
    got(os(OUTBOX).count(), (n: number) => {
      const room = Math.max(0, OUTBOX_MAX - n);
      dropped = Math.max(0, items.length - room);
      for (const it of items.slice(0, room)) os(OUTBOX).add(it);
    }),
  ).then(() => dropped);
}

/** peek returns the oldest n outbox records and the key of the last one. */
export function peek<T>(db: Store, n: number): Promise<{ items: T[]; keys: IDBValidKey[] }> {
  const os = db.transaction(OUTBOX).objectStore(OUTBOX);
  return Promise.all([done(os.getAll(null, n)), done(os.getAllKeys(null, n))]).then(([items, keys]) => ({ items: items as T[], keys }));
}

/** forget deletes the outbox records up to and including key last. */
export function forget(db: Store, last: IDBValidKey): Promise<void> {
  return transact(db, [OUTBOX], (os) => os(OUTBOX).delete(IDBKeyRange.upperBound(last)));
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
  return transact(db, [ADVICE], (os) => (h ? os(ADVICE).put(h, key) : os(ADVICE).delete(key)));
}

/** spendEarly clears the one-shot "revalidate next read" flag of key. */
export function spendEarly(db: Store, key: string): Promise<void> {
  return transact(db, [ADVICE], (os) => got(os(ADVICE).get(key), (h?: Hint) => h?.early && os(ADVICE).put({ ...h, early: false }, key)));
}

/** Use is what is known of a stored response. */
export interface Use {
  /** When it was stored and last served (epoch ms). */
  stored: number;
  used: number;
  /** Its body's size in bytes. */
  bytes: number;
  /** Its tags (Cache-Tag, Surrogate-Key); absent in a record of an older build. */
  tags?: string[];
  /** The newest purge sequence number when its fill began (absent: before any). */
  seq?: number;
  /** Marked stale: 1 until it is served once more, then 2 until a revalidation replaces it. */
  stale?: number;
}

/** setUse records (or, given null, forgets) the use of the stored response at url. */
export function setUse(db: Store, url: string, u: Use | null): Promise<void> {
  return transact(db, [USED], (os) => (u ? os(USED).put(u, url) : os(USED).delete(url)));
}

/** Served is what the worker learns as it is about to serve a stored copy of a key. */
export interface Served {
  hint?: Hint;
  /** The copy's stale mark before this read (0: none). */
  stale: number;
}

/**
 * served records, in one transaction, that the stored response at key is
 * served at now, spends a stale mark's one serving (1 becomes 2), and
 * returns the advice for key and the mark as it was.
 */
export function served(db: Store, key: string, now: number): Promise<Served> {
  const out: Served = { stale: 0 };
  return transact(db, [USED, ADVICE], (os) => {
    got(os(USED).get(key), (u?: Use) => {
      if (u) os(USED).put({ ...u, used: now, stale: u.stale && 2 }, key);
      out.stale = u?.stale ?? 0;
    });
    got(os(ADVICE).get(key), (h?: Hint) => (out.hint = h));
  }).then(() => out);
}

/** uses returns every record of a stored response, by URL. */
export async function uses(db: Store): Promise<Map<string, Use>> {
  const os = db.transaction(USED).objectStore(USED);
  const [keys, values] = await Promise.all([done(os.getAllKeys()), done(os.getAll())]);
  return new Map(keys.map((k, i) => [String(k), values[i] as Use]));
}
