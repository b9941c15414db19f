// The precache: assets named in the configuration's manifest, stored at
// install in a cache of their own (<cache>-precache) and served from there.
// An entry is fetched again only when its revision changes (null: the URL
// itself is versioned, fetched once); entries no longer in the manifest are
// deleted when the worker activates. Precached assets are versioned by their
// revision, not by the ledger: push does not evict them.

import type { PrecacheEntry } from "./config";

const REVISION = "x-cachet-revision";

/** precacheName is the cache the precache of cache lives in. */
export const precacheName = (cache: string): string => cache + "-precache";

/**
 * install stores every entry whose stored revision differs, keyed by key(url).
 * An asset that cannot be fetched fails the install, so a worker never runs
 * with part of its precache.
 */
export async function install(cache: string, entries: PrecacheEntry[], key: (url: string) => string, storedAt: string): Promise<number> {
  const c = await caches.open(precacheName(cache));
  let fetched = 0;
  await Promise.all(entries.map(async (p) => {
    const url = key(p.url);
    const have = await c.match(url);
    if (have && have.headers.get(REVISION) === String(p.revision)) return;
    const res = await fetch(url, { cache: "reload", credentials: "same-origin" });
    if (!res.ok) throw new Error(`precache ${url}: ${res.status}`);
    const headers = new Headers(res.headers);
    headers.set(REVISION, String(p.revision));
    headers.set(storedAt, String(Date.now()));
    await c.put(url, new Response(await res.arrayBuffer(), { status: res.status, statusText: res.statusText, headers }));
    fetched++;
  }));
  return fetched;
}

/** cleanup deletes what the manifest no longer names. */
export async function cleanup(cache: string, entries: PrecacheEntry[], key: (url: string) => string): Promise<void> {
  const c = await caches.open(precacheName(cache));
  const keep = new Set(entries.map((p) => key(p.url)));
  for (const req of await c.keys()) if (!keep.has(req.url)) await c.delete(req);
}
