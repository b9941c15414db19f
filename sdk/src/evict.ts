// Applying a transition to Cache Storage. The leader tab does this itself
// (pages reach Cache Storage), so a sleeping Service Worker misses nothing.

import type { Transition } from "./record";
import { raiseVersion, type Store } from "./store";

/** What applying a transition did. */
export type Outcome = "evicted" | "duplicate" | "stale";

/**
 * applyTransition evicts every variant of t.key unless a newer version was
 * already applied. The version is raised before the eviction so a Service
 * Worker that stores a response concurrently sees it changed and drops its
 * copy; a replay of the same version evicts again (harmless), so a crash
 * between the two steps cannot leave a stale entry behind.
 */
export async function applyTransition(db: Store, cacheName: string, t: Transition): Promise<Outcome> {
  const before = await raiseVersion(db, t.key, t.version);
  if (before > t.version) return "stale";
  const cache = await caches.open(cacheName);
  await cache.delete(t.key, { ignoreVary: true });
  return before === t.version ? "duplicate" : "evicted";
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
