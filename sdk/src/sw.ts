// The Cachet Service Worker: serves GET responses from Cache Storage and
// stores what policy allows under the canonical cache key. Evictions are
// done by the leader tab (src/client.ts); this worker only has to avoid
// storing a response that an eviction overtook.
//
// Configuration comes from the script URL's query, e.g.
//   /cachet-sw.js?cache=cachet&strategy=cache-first
// strategy: cache-first (default; revalidates by ETag once max-age or
// no-cache says so), network-first, stale-while-revalidate.
//
// Analytics' advice, stored by the leader tab in IndexedDB, is honoured on
// every read: a recommended max-age caps how long a copy is served without
// revalidation, and "invalidate-early" makes the next read revalidate. What
// each read was (hit, miss, stale) is told to the pages on the
// BroadcastChannel; the leader tab sends it to push.

import { canonical } from "./cachekey";
import type { ReadKind, SwRead } from "./record";
import { hintOf, openStore, spendEarly, versionOf, type Store } from "./store";
import { needsRevalidation, refusal } from "./sw/policy";

declare const self: ServiceWorkerGlobalScope;

type Strategy = "cache-first" | "network-first" | "stale-while-revalidate";

const params = new URL(self.location.href).searchParams;
const CACHE = params.get("cache") ?? "cachet";
const STRATEGY = (params.get("strategy") ?? "cache-first") as Strategy;
const STORED_AT = "x-cachet-stored";

/** Counters reported to pages by stats(). */
const counters: Record<string, number> = { hit: 0, miss: 0, revalidated: 0, stored: 0, offline: 0, raced: 0 };
const bump = (name: string): void => {
  counters[name] = (counters[name] ?? 0) + 1;
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

interface CookieJar {
  getAll(): Promise<unknown[]>;
}
const jar = (self as unknown as { cookieStore?: CookieJar }).cookieStore;
// cookies returns a fingerprint of the script-visible cookie jar; a change
// across a fetch means the response set a cookie (Set-Cookie itself is
// hidden from Service Workers).
const cookies = async (): Promise<string> => (jar ? JSON.stringify(await jar.getAll()) : "");

self.addEventListener("install", () => void self.skipWaiting());
self.addEventListener("activate", (e) => e.waitUntil(self.clients.claim()));

self.addEventListener("message", (e) => {
  const msg = e.data as { t?: string } | null;
  if (msg?.t === "stats") e.ports[0]?.postMessage({ ...counters, strategy: STRATEGY, cache: CACHE });
});

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
  e.respondWith(serve(e, req, key));
});

async function serve(e: FetchEvent, req: Request, key: string): Promise<Response> {
  const cache = await caches.open(CACHE);
  // Stored under the canonical URL, with the page's headers so Vary matches.
  const keyReq = key === req.url ? req : new Request(key, { headers: req.headers });
  const hit = await cache.match(keyReq);
  if (STRATEGY === "network-first" || !hit) {
    try {
      const res = await fetchAndStore(e, req, keyReq, key);
      if (!hit) bump("miss");
      report(e, "miss", key);
      return res;
    } catch (err) {
      if (!hit) throw err;
      bump("offline");
      report(e, "hit", key);
      return hit;
    }
  }
  const storedAt = Number(hit.headers.get(STORED_AT) ?? 0);
  const hint = await hintOf(await db(), key);
  if (STRATEGY === "stale-while-revalidate" && !hint?.early) {
    // Served now; the revalidation tells whether what was served was stale.
    e.waitUntil(
      revalidate(e, req, keyReq, key, hit).then(
        (res) => report(e, res === hit ? "hit" : "stale", key),
        () => report(e, "hit", key),
      ),
    );
  } else if (hint?.early || needsRevalidation(hit, storedAt, Date.now(), hint?.maxAge)) {
    try {
      const res = await revalidate(e, req, keyReq, key, hit);
      // The origin answered: the one-shot early revalidation is spent.
      if (hint?.early) e.waitUntil(spendEarly(await db(), key));
      report(e, res === hit ? "hit" : "miss", key);
      return res;
    } catch {
      bump("offline");
      report(e, "hit", key);
      return hit; // offline: the cached copy is the best there is
    }
  }
  bump("hit");
  report(e, "hit", key);
  return hit;
}

// revalidate asks the origin whether hit is still current (If-None-Match);
// a 304 keeps the stored body and restarts its age.
async function revalidate(e: FetchEvent, req: Request, keyReq: Request, key: string, hit: Response): Promise<Response> {
  const etag = hit.headers.get("etag");
  const headers = new Headers(req.headers);
  if (etag) headers.set("if-none-match", etag);
  const cond = new Request(req.url, { headers, credentials: req.credentials, cache: "no-cache" });
  const before = await versionOf(await db(), key);
  const jarBefore = await cookies();
  const res = await fetch(cond);
  if (res.status !== 304) return fetchResult(e, req, keyReq, key, res, before, jarBefore);
  bump("revalidated");
  e.waitUntil(put(keyReq, key, hit.clone(), before));
  return hit;
}

async function fetchAndStore(e: FetchEvent, req: Request, keyReq: Request, key: string): Promise<Response> {
  const before = await versionOf(await db(), key);
  const jarBefore = await cookies();
  // The browser's HTTP cache may hold a copy that Cachet has since evicted:
  // ask the origin (a cheap 304 when the HTTP cache's copy is current).
  const res = await fetch(req, req.cache === "default" ? { cache: "no-cache" } : {});
  return fetchResult(e, req, keyReq, key, res, before, jarBefore);
}

async function fetchResult(e: FetchEvent, req: Request, keyReq: Request, key: string, res: Response, before: number, jarBefore: string): Promise<Response> {
  if (refusal(req, res) === null && (jarBefore === "" || (await cookies()) === jarBefore)) {
    e.waitUntil(put(keyReq, key, res.clone(), before));
  }
  return res;
}

// put stores res stamped with the time, unless the key's version moved while
// the response was in flight; if it moves during the put, the copy goes.
async function put(keyReq: Request, key: string, res: Response, before: number): Promise<void> {
  const d = await db();
  if ((await versionOf(d, key)) !== before) return void bump("raced");
  const headers = new Headers(res.headers);
  headers.set(STORED_AT, String(Date.now()));
  const cache = await caches.open(CACHE);
  await cache.put(keyReq, new Response(await res.arrayBuffer(), { status: res.status, statusText: res.statusText, headers }));
  if ((await versionOf(d, key)) !== before) {
    await cache.delete(keyReq);
    return void bump("raced");
  }
  bump("stored");
}
