// Expiration of the worker's cache: by age, by entry count and by the bytes
// of stored bodies, the least recently used out first. The leader tab's
// evictions remove entries without telling this bookkeeping; a record whose
// entry is gone is dropped when found.

import { setUse, uses, type Store, type Use } from "../store";
import type { Expiration } from "./config";

/** tooOld reports whether a response stored at stored is past maxAgeSeconds at now. */
export const tooOld = (x: Expiration, stored: number, now: number): boolean =>
  x.maxAgeSeconds !== undefined && now - stored > x.maxAgeSeconds * 1000;

/** victims returns the URLs to delete so that what is left fits x: the too old, then the least recently used. */
export function victims(x: Expiration, all: [string, Use][], now: number): string[] {
  const out = all.filter(([, u]) => tooOld(x, u.stored, now)).map(([url]) => url);
  const kept = all.filter(([, u]) => !tooOld(x, u.stored, now)).sort((a, b) => a[1].used - b[1].used);
  let count = kept.length;
  let bytes = kept.reduce((n, [, u]) => n + u.bytes, 0);
  for (const [url, u] of kept) {
    if (!((x.maxEntries !== undefined && count > x.maxEntries) || (x.quotaBytes !== undefined && bytes > x.quotaBytes))) break;
    out.push(url);
    count--;
    bytes -= u.bytes;
  }
  return out;
}

/** expire deletes from cache what x does not allow and returns how many entries went. */
export async function expire(db: Store, cache: Cache, x: Expiration, now = Date.now()): Promise<number> {
  if (x.maxAgeSeconds === undefined && x.maxEntries === undefined && x.quotaBytes === undefined) return 0;
  // Records of entries the leader evicted are dropped first.
  const all: [string, Use][] = [];
  const present = new Set((await cache.keys()).map((r) => r.url));
  for (const [url, u] of await uses(db)) {
    if (present.has(url)) all.push([url, u]);
    else await setUse(db, url, null);
  }
  let n = 0;
  for (const url of victims(x, all, now)) {
    if (await cache.delete(url, { ignoreVary: true })) n++;
    await setUse(db, url, null);
  }
  return n;
}

/** dropOldest deletes the least recently used entry; false when there is none. */
export async function dropOldest(db: Store, cache: Cache): Promise<boolean> {
  const all = [...(await uses(db))].sort((a, b) => a[1].used - b[1].used);
  for (const [url] of all) {
    await setUse(db, url, null);
    if (await cache.delete(url, { ignoreVary: true })) return true;
  }
  return false;
}
