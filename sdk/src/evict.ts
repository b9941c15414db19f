// Applying transitions and scope purges to Cache Storage. The leader tab
// does this itself (pages reach Cache Storage), so a sleeping Service
// Worker misses nothing.

import type { Generation, Transition } from "./record";
import { covers } from "./scope";
import { finishVersion, logPurge, mark, raiseVersion, scopeKey, uses, type Store } from "./store";

/** What applying a transition or a purge did. */
export type Outcome = "evicted" | "duplicate" | "stale";

/**
 * applyTransition evicts every variant of t.key unless this version was
 * already applied (a STALE transition marks them stale instead), and
 * returns the outcome with the number of entries evicted or marked. The
 * version is recorded (as under way) before the eviction, so a Service
 * Worker storing a response concurrently sees it move and drops its copy,
 * and marked finished after it: a crash in between makes the replay evict
 * again instead of taking it for a duplicate. The transition's tags are
 * recorded with the version, for tag purges.
 */
export const applyTransition = (db: Store, cacheName: string, t: Transition): Promise<[Outcome, number]> =>
  apply(db, cacheName, t.key, t.version, t.tags, (cache) => cache.keys(t.key, { ignoreVary: true }), t.state === "STALE");

/**
 * applyPurge applies a scope purge unless its generation was already
 * applied for (owner, scope, value): every stored copy the scope covers
 * whose fill began before the purge is evicted, or marked stale when the
 * purge is soft. A copy's tags are those its record holds (the response's
 * and the ledger's, recorded as it was stored); a copy without them (stored
 * by an older build) counts as carrying every tag. It returns the outcome
 * and the number of entries evicted or marked. The generation is recorded
 * as a version is, under its scope's key; the purge is logged (given its
 * sequence number) before the copies are looked at, so a fill that began
 * before it and is stored after it finds it.
 */
export const applyPurge = (db: Store, cacheName: string, g: Generation): Promise<[Outcome, number]> =>
  apply(db, cacheName, scopeKey(g), g.generation, undefined, async (cache) => {
    const seq = await logPurge(db, g);
    const used = await uses(db);
    return (await cache.keys()).filter((r) => {
      const u = used.get(r.url);
      return (u?.seq ?? 0) < seq && covers(g, r.url, u?.tags ?? [g.value]);
    });
  }, g.soft);

// apply records version for id as under way unless an equal (and finished)
// or newer one is there, then evicts (soft: marks stale) the entries pick
// returns, and records the version finished.
async function apply(
  db: Store, cacheName: string, id: string, version: number, tags: string[] | undefined,
  pick: (cache: Cache) => Promise<readonly Request[]>, soft?: boolean,
): Promise<[Outcome, number]> {
  const prev = await raiseVersion(db, id, version, tags);
  if (prev.version > version) return ["stale", 0];
  if (prev.version === version && prev.finished) return ["duplicate", 0];
  const cache = await caches.open(cacheName);
  const n = await drop(db, cache, await pick(cache), soft);
  await finishVersion(db, id, version);
  return ["evicted", n];
}

// drop evicts the entries reqs, or when soft marks them stale (those
// without a record to mark are evicted), and returns how many. The deletes
// are issued together: for 300 copies, about a third of the time of one
// after another in Chromium.
async function drop(db: Store, cache: Cache, reqs: readonly Request[], soft?: boolean): Promise<number> {
  const urls = reqs.map((r) => r.url);
  await Promise.all((soft ? await mark(db, urls) : urls).map((url) => cache.delete(url, { ignoreVary: true })));
  return reqs.length;
}

/**
 * flush deletes every entry of the cache that matches (all when match is
 * absent): after a gap in the stream nothing stored can be proven fresh.
 */
export async function flush(cacheName: string, match?: (url: string) => boolean): Promise<number> {
  const cache = await caches.open(cacheName);
  let n = 0;
  for (const req of await cache.keys()) {
    if (!match || match(req.url)) {
      if (await cache.delete(req, { ignoreVary: true })) n++;
    }
  }
  return n;
}
