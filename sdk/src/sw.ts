// The Cachet Service Worker: serves GET responses from Cache Storage and
// stores what policy allows under the canonical cache key. Evictions are
// done by the leader tab (src/client.ts); this worker only has to avoid
// storing a response that an eviction overtook.
//
// Configuration comes from the script URL's query, e.g.
//   /cachet-sw.js?cache=cachet&strategy=cache-first
// and, for routes, expiration, a precache and broadcast updates, from an
// object a site's own worker sets before importScripts (src/sw/config.ts).
// strategy: cache-first (default; revalidates by ETag once max-age or
// no-cache says so), network-first (optionally with a timeout after which a
// stored copy answers), stale-while-revalidate, cache-only, network-only
// (never stored).
// bound: seconds (default 5; "off" disables) the worker serves from cache
// after the leader tab last recorded it was in sync with push (SYNCED in
// IndexedDB); past it (tab closed, partition, worker woken cold) every read
// is revalidated with a conditional request until the client is back in
// sync. No bound applies before a client has ever recorded a sync.
// offline: "error" (default) answers 504 when past the bound the origin
// cannot be reached; "stale" serves the stored copy and tells the pages
// ({ t: "stale", key, syncedAt } on the BroadcastChannel).
// cookies: "any" (default) treats every request that sends cookies as
// carrying some, since HttpOnly cookies are invisible to the worker;
// "visible" trusts the Cookie Store API: a request to this origin carries
// cookies only when cookieStore finds one (set it only when every cookie
// that changes what the origin answers is visible to scripts, not HttpOnly,
// and has a Path the worker's scope covers).
//
// A copy that a soft purge or a STALE transition marked stale (the leader
// tab marks its record in IndexedDB) is served once more while it is
// revalidated in the background (unless it needs revalidation anyway;
// network-first asks the origin first in any case; cache-only keeps serving
// it until the background revalidation replaces it); after that a read
// revalidates before it is served. A revalidation that stores a fresh copy
// clears the mark.
//
// Analytics' advice, stored by the leader tab in IndexedDB, is honoured on
// every read: a recommended max-age caps how long a copy is served without
// revalidation, and "invalidate-early" makes the next read revalidate. What
// each read was (hit, miss, stale) is told to the pages on the
// BroadcastChannel; the leader tab sends it to push.

import { canonical } from "./cachekey";
import type { ReadKind, SwRead } from "./record";
import { tagsOf } from "./scope";
import { fillStart, getMeta, openStore, served, settle, spendEarly, SYNCED, versionOf, type Fill, type Store, type Use } from "./store";
import { configOf, routeFor, type Config, type Strategy } from "./sw/config";
import { carriesCookies, jarPrint } from "./sw/cookies";
import { dropOldest, expire, tooOld } from "./sw/expire";
import { mayServeStale, merge, needsRevalidation, outdated, refusal, sameResponse, stampOf } from "./sw/policy";
import { cleanup, install, precacheName } from "./sw/precache";

declare const self: ServiceWorkerGlobalScope & { cachet?: Partial<Config> };

const config = configOf(new URL(self.location.href).searchParams, self.cachet);
const CACHE = config.cache;
const VISIBLE_COOKIES = config.cookies === "visible";
const BOUND_MS = config.bound === null ? NaN : config.bound * 1000; // NaN: no bound
const OFFLINE_STALE = config.offline === "stale";
const STORED_AT = "x-cachet-stored";

/** Counters reported to pages by stats(). */
const counters: Record<string, number> = {
  hit: 0, miss: 0, revalidated: 0, stored: 0, dropped: 0, unsynced: 0, offline: 0, raced: 0, late: 0, purged: 0, soft: 0, expired: 0, updated: 0,
  precached: 0,
};
const bump = (name: string, n = 1): void => {
  counters[name] = (counters[name] ?? 0) + n;
};

let store: Promise<Store> | undefined;
const db = (): Promise<Store> => (store ??= openStore(CACHE));

// Reads are told to the pages in batches, at most every 200 ms.
const bc = new BroadcastChannel("cachet:" + CACHE);
const seen: SwRead[] = [];
let told: Promise<void> | null = null;

// report records one read of key; the worker stays up until it is told.
function report(e: FetchEvent, kind: ReadKind, key: string): void {
  const at = new Date().toISOString();
  e.waitUntil(
    (async () => {
      const version = await versionOf(await db(), key);
      seen.push({ kind, key, at, ...(version ? { version } : {}) });
      await (told ??= new Promise<void>((r) => setTimeout(r, 200)).then(() => {
        told = null;
        bc.postMessage({ t: "reads", r: seen.splice(0) });
      }));
    })().catch(() => undefined),
  );
}

const cookies = jarPrint;
const credentialed = (req: Request): Promise<boolean> => carriesCookies(req, VISIBLE_COOKIES);

const keyOf = (url: string): string => canonical(new URL(url, self.location.href).href);

self.addEventListener("install", (e) => {
  void self.skipWaiting();
  e.waitUntil(install(CACHE, config.precache, keyOf, STORED_AT).then((n) => void (counters.precached! += n)));
});
self.addEventListener("activate", (e) => e.waitUntil(Promise.all([self.clients.claim(), cleanup(CACHE, config.precache, keyOf)])));

self.addEventListener("message", (e) => {
  const msg = e.data as { t?: string } | null;
  if (msg?.t === "stats") e.ports[0]?.postMessage({ ...counters, strategy: config.strategy, cache: CACHE });
});

const precached = new Set(config.precache.map((p) => keyOf(p.url)));

self.addEventListener("fetch", (e) => {
  const req = e.request;
  if (req.method !== "GET" || !/^https?:/.test(req.url)) return;
  if (req.cache === "no-store" || /no-store/i.test(req.headers.get("cache-control") ?? "")) return;
  let key: string;
  try {
    key = canonical(req.url);
  } catch {
    return; // not a key Cachet can name: the browser handles it
  }
  if (precached.has(key)) return e.respondWith(fromPrecache(req, key));
  const route = routeFor(config.routes, new URL(req.url), self.location.origin);
  const strategy = route?.strategy ?? config.strategy;
  // Never stored: the browser's HTTP cache is bypassed as for every fetch of this worker.
  if (strategy === "network-only") return e.respondWith(fetch(req, req.cache === "default" ? { cache: "no-cache" } : {}));
  e.respondWith(serve(e, req, key, strategy, route?.timeoutMs));
});

async function fromPrecache(req: Request, key: string): Promise<Response> {
  return (await (await caches.open(precacheName(CACHE))).match(key)) ?? fetch(req);
}

async function serve(e: FetchEvent, req: Request, key: string, strategy: Strategy, timeoutMs?: number): Promise<Response> {
  const cache = await caches.open(CACHE);
  // Stored under the canonical URL, with the page's headers so Vary matches.
  const keyReq = key === req.url ? req : new Request(key, { headers: req.headers });
  let hit = await cache.match(keyReq);
  // Past its age limit a copy is gone, whatever the strategy.
  if (hit && tooOld(config.expiration, Number(hit.headers.get(STORED_AT) ?? 0), Date.now())) {
    await cache.delete(keyReq, { ignoreVary: true });
    bump("expired");
    hit = undefined;
  }
  if (strategy === "cache-only" && !hit) return new Response(null, { status: 504, statusText: "Gateway Timeout" });
  // Recorded as used, and a stale mark's one serving spent, before anything is served.
  const { hint, stale: marked } = hit ? await served(await db(), key, Date.now()) : { hint: undefined, stale: 0 };
  // Marked and already served once since: it must be revalidated first.
  const stale = hit ? marked === 2 || needsRevalidation(hit, Number(hit.headers.get(STORED_AT) ?? 0), Date.now(), hint?.maxAge) : false;
  // Out of sync: no tab confirmed within the bound that nothing was invalidated.
  const synced = hit && BOUND_MS >= 0 ? await getMeta<number>(await db(), SYNCED) : undefined;
  const behind = synced !== undefined && Date.now() - synced > BOUND_MS;
  if (behind) bump("unsynced");
  if (strategy === "cache-only") {
    // Never asks the origin: out of sync, it answers as when the origin is unreachable.
    if (behind) return offline(e, key, hit!, false, synced);
    if (marked === 1) e.waitUntil(revalidate(e, req, keyReq, key, hit!).catch(() => undefined));
    bump("hit");
    report(e, "hit", key);
    return hit!;
  }
  // Out of sync, the origin's answer is waited for (no timeout).
  if (strategy === "network-first" && hit && timeoutMs !== undefined && !behind && marked !== 2) {
    // The stored copy answers when the origin is slower than the timeout; the fetch still stores what it brings.
    const got = fetchAndStore(e, req, keyReq, key);
    e.waitUntil(got.catch(() => undefined));
    const late = new Promise<null>((r) => setTimeout(() => r(null), timeoutMs));
    const res = await Promise.race([got.catch(() => null), late]);
    if (res) {
      report(e, "miss", key);
      return res;
    }
    return offline(e, key, hit, stale, behind && synced);
  }
  if (strategy === "network-first" || !hit) {
    try {
      const res = await fetchAndStore(e, req, keyReq, key);
      if (!hit) bump("miss");
      report(e, "miss", key);
      return res;
    } catch (err) {
      if (!hit) throw err;
      return offline(e, key, hit, stale, behind && synced);
    }
  }
  // Stale-while-revalidate serves what it has; the other strategies a copy
  // marked stale once more, unless it needs revalidation anyway.
  if (!hint?.early && !behind && (strategy === "stale-while-revalidate" ? marked !== 2 : marked === 1 && !stale)) {
    // Served now; the revalidation tells whether what was served was stale.
    if (marked) bump("soft");
    e.waitUntil(
      revalidate(e, req, keyReq, key, hit).then(
        ([, same]) => report(e, same ? "hit" : "stale", key),
        () => report(e, "hit", key),
      ),
    );
  } else if (hint?.early || stale || behind) {
    try {
      const [res, same] = await revalidate(e, req, keyReq, key, hit);
      // The origin answered: the one-shot early revalidation is spent.
      if (hint?.early) e.waitUntil(spendEarly(await db(), key));
      report(e, same ? "hit" : "miss", key);
      return res;
    } catch {
      return offline(e, key, hit, stale, behind && synced);
    }
  }
  bump("hit");
  report(e, "hit", key);
  return hit;
}

// offline answers when the origin cannot be reached: the stored copy is the
// best there is, unless it is stale and says it must not be served stale,
// or the client is out of sync (unsynced: its last sync) and the
// configuration does not allow serving it then.
function offline(e: FetchEvent, key: string, hit: Response, stale: boolean, unsynced: number | false | undefined): Response {
  if ((stale && !mayServeStale(hit)) || (unsynced && !OFFLINE_STALE)) return new Response(null, { status: 504, statusText: "Gateway Timeout" });
  if (unsynced) bc.postMessage({ t: "stale", key, syncedAt: unsynced });
  bump("offline");
  report(e, "hit", key);
  return hit;
}

// revalidate asks the origin whether hit is still current (If-None-Match,
// or If-Modified-Since for a copy with no entity tag).
// A 304 freshens the stored copy with its headers, restarts its age and
// reports true; when the freshened response may no longer be stored (the
// 304 says no-store or private, say), the copy is deleted instead.
async function revalidate(e: FetchEvent, req: Request, keyReq: Request, key: string, hit: Response): Promise<[Response, boolean]> {
  // Copied before the first await: stale-while-revalidate serves hit itself.
  const stored = hit.clone();
  // The copy's validator (RFC 9111 §4.3.1): its entity tag, else its Last-Modified.
  const etag = hit.headers.get("etag");
  const modified = hit.headers.get("last-modified");
  const headers = new Headers(req.headers);
  if (etag) headers.set("if-none-match", etag);
  else if (modified) headers.set("if-modified-since", modified);
  // The worker holds the copy and its validator: the browser's HTTP cache
  // is left out ("no-store", as Fetch does for a request carrying its own
  // validator). Through it, a second revalidation of the URL would wait
  // for the first's cache entry (up to 20 s in Chromium) while a slow
  // origin holds the first.
  const cond = new Request(req.url, { headers, credentials: req.credentials, cache: "no-store" });
  const fill = await fillStart(await db(), key);
  const jarBefore = await cookies();
  const withCookies = await credentialed(req);
  const res = await fetch(cond);
  if (res.status !== 304) {
    const { done } = await keep(e, req, keyReq, key, res, fill, jarBefore, withCookies, true);
    // Told once the changed response is in the cache.
    if (config.broadcastUpdate && res.ok && !sameResponse(stored, res)) {
      e.waitUntil(done.then(() => {
        bump("updated");
        bc.postMessage({ t: "update", key });
      }, () => undefined));
    }
    return [res, false];
  }
  bump("revalidated");
  const fresh = new Response(stored.body, { status: stored.status, statusText: stored.statusText, headers: merge(stored.headers, res.headers) });
  await keep(e, req, keyReq, key, fresh, fill, jarBefore, withCookies, true);
  return [fresh, true];
}

async function fetchAndStore(e: FetchEvent, req: Request, keyReq: Request, key: string): Promise<Response> {
  const fill = await fillStart(await db(), key);
  const jarBefore = await cookies();
  const withCookies = await credentialed(req);
  // The browser's HTTP cache may hold a copy that Cachet has since evicted:
  // ask the origin (a cheap 304 when the HTTP cache's copy is current).
  const res = await fetch(req, req.cache === "default" ? { cache: "no-cache" } : {});
  await keep(e, req, keyReq, key, res, fill, jarBefore, withCookies, false);
  return res;
}

// keep stores res when policy allows it and no visible cookie changed during
// the fetch; otherwise, when res replaces a stored copy, that copy goes. It
// resolves once that is decided; the returned promise once it is done (the
// worker stays up for it either way).
async function keep(
  e: FetchEvent, req: Request, keyReq: Request, key: string, res: Response,
  fill: Fill, jarBefore: string, withCookies: boolean, replaces: boolean,
): Promise<{ done: Promise<void> }> {
  let done = Promise.resolve();
  if (refusal(req, res, withCookies) === null && (jarBefore === "" || (await cookies()) === jarBefore)) {
    done = put(keyReq, key, res.clone(), fill);
  } else if (replaces) {
    done = caches.open(CACHE).then((c) => c.delete(keyReq)).then(() => bump("dropped"));
  }
  e.waitUntil(done);
  return { done };
}

// put stores res stamped with the time unless it is out of date, checked
// before and again after the put (when it then is, the copy goes; when it
// is not, the copy's record is written in the same transaction as the
// check). A response the origin stamped with its version (Cachet-Version)
// is out of date when that is older than the newest version applied for
// the key (a late fill); an unstamped one when the key's version moved
// while it was in flight; either when a purge applied since its fill began
// covers it (its tags: Cache-Tag, Surrogate-Key and the ledger's).
async function put(keyReq: Request, key: string, res: Response, fill: Fill): Promise<void> {
  const d = await db();
  const stamped = stampOf(res);
  const tags = tagsOf(res.headers);
  const check = (use?: Use): Promise<string | null> =>
    settle(d, key, fill, tags, (now) => outdated(stamped, fill.version, now), use, res.headers.has("vary"));
  let why = await check();
  if (why) return void bump(why);
  const headers = new Headers(res.headers);
  headers.set(STORED_AT, String(Date.now()));
  const body = await res.arrayBuffer();
  const cache = await caches.open(CACHE);
  const stored = new Response(body, { status: res.status, statusText: res.statusText, headers });
  // Out of storage: the least recently used go, one at a time, until it fits.
  for (;;) {
    try {
      await cache.put(keyReq, stored.clone());
      break;
    } catch (err) {
      if ((err as DOMException).name !== "QuotaExceededError" || !(await dropOldest(d, cache))) throw err;
      bump("expired");
    }
  }
  const now = Date.now();
  if ((why = await check({ stored: now, used: now, bytes: body.byteLength }))) {
    await cache.delete(keyReq);
    return void bump(why);
  }
  bump("stored");
  bump("expired", await expire(d, cache, config.expiration, now));
}
