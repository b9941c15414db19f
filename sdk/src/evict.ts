// Applying a transition to Cache Storage. The leader tab does this itself
// (pages reach Cache Storage), so a sleeping Service Worker misses nothing.

import type { Transition } from "./record";
import { finishVersion, raiseVersion, type Store } from "./store";

/** What applying a transition did. */
export type Outcome = "evicted" | "duplicate" | "stale";

/**
 * applyTransition evicts every variant of t.key unless this version was
 * already applied, and returns the outcome with the number of entries
 * removed. The version is recorded (as under way) before the eviction, so a
 * Service Worker storing a response concurrently sees it move and drops its
 * copy, and marked finished after it: a crash in between makes the replay
 * evict again instead of taking it for a duplicate.
 */
export async function applyTransition(db: Store, cacheName: string, t: Transition): Promise<[Outcome, number]> {
  const prev = await raiseVersion(db, t.key, t.version);
  if (prev.version > t.version) return ["stale", 0];
  if (prev.version === t.version && prev.finished) return ["duplicate", 0];
  const cache = await caches.open(cacheName);
  let n = 0;
  for (const req of await cache.keys(t.key, { ignoreVary: true })) {
    if (await cache.delete(req, { ignoreVary: true })) n++;
  }
  await finishVersion(db, t.key, t.version);
  return ["evicted", n];
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
