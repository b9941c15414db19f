// Cachet inside an existing Workbox worker: a plugin for Workbox's
// strategies that adds Cachet's storage policy and makes the entries
// reachable by Cachet's evictions, without replacing the site's worker.
//
//   import { registerRoute } from "workbox-routing";
//   import { StaleWhileRevalidate } from "workbox-strategies";
//   import { cachetPlugin } from "@cachet/sdk/workbox";
//   registerRoute(({ url }) => url.pathname.startsWith("/api/"),
//     new StaleWhileRevalidate({ cacheName: "cachet", plugins: [cachetPlugin()] }));
//
// The strategy's cacheName must be the client's cacheName (default
// "cachet"): the leader tab evicts from that cache, by canonical key, which
// cacheKeyWillBeUsed makes every entry's key. cacheWillUpdate refuses what a
// shared cache must not hold (src/sw/policy.ts), responses that set a
// visible cookie, late fills (Cachet-Version older than the newest version
// applied), unstamped responses whose key's version moved while they were
// in flight, and responses a scope purge applied while they were in flight
// covers; cacheDidUpdate drops a copy an eviction or purge overtook during
// the put, and otherwise records the copy's tags and fill position for
// later purges; requestWillFetch asks the origin past the browser's HTTP
// cache (cache: no-cache), which may hold a copy Cachet evicted;
// cachedResponseWillBeUsed does not hand out a copy when no tab was in sync
// with push within the bound, nor a copy a soft purge or STALE transition
// marked stale once it was handed out after the mark (the strategy then
// goes to the network, as Cachet's own worker revalidates).

import { canonical } from "./cachekey";
import { tagsOf } from "./scope";
import { fillStart, getMeta, openStore, served, settle, SYNCED, type Fill, type Store, type Use } from "./store";
import { carriesCookies, jarPrint } from "./sw/cookies";
import { outdated, refusal, stampOf } from "./sw/policy";

/** Options of cachetPlugin. */
export interface CachetPluginOptions {
  /** The client's cacheName: its IndexedDB holds the versions applied (default "cachet"). */
  cacheName?: string;
  /** As the worker's cookies parameter: "any" (default) or "visible". */
  cookies?: "any" | "visible";
  /** Seconds a copy is served after the last sync with push (default 5; null: no bound). */
  bound?: number | null;
}

/** The state Workbox keeps per plugin and strategy invocation. */
type State = Record<string, unknown> | undefined;

/** The subset of Workbox's WorkboxPlugin that Cachet implements (structurally compatible). */
export interface CachetPlugin {
  cacheKeyWillBeUsed(p: { request: Request; mode: string }): Promise<Request>;
  requestWillFetch(p: { request: Request; state?: State }): Promise<Request>;
  cacheWillUpdate(p: { request: Request; response: Response; state?: State }): Promise<Response | null>;
  cacheDidUpdate(p: { cacheName: string; request: Request; newResponse: Response; state?: State }): Promise<void>;
  cachedResponseWillBeUsed(p: { request: Request; cachedResponse?: Response }): Promise<Response | null>;
}

const keyOf = (url: string): string | null => {
  try {
    return canonical(url);
  } catch {
    return null;
  }
};

/** cachetPlugin returns the plugin; one instance may serve several strategies. */
export function cachetPlugin(o: CachetPluginOptions = {}): CachetPlugin {
  let store: Promise<Store> | undefined;
  const db = (): Promise<Store> => (store ??= openStore(o.cacheName ?? "cachet"));
  const boundMs = o.bound === null ? NaN : (o.bound ?? 5) * 1000;
  // check says why res, whose fill of key began at fill, must not be (or
  // stay) stored, or null; given use, it records the copy when it may.
  const check = async (key: string, fill: Fill, res: Response, use?: Use): Promise<string | null> => {
    const stamped = stampOf(res);
    return settle(await db(), key, fill, tagsOf(res.headers), (now) => outdated(stamped, fill.version, now), use, res.headers.has("vary"));
  };
  return {
    async cacheKeyWillBeUsed({ request }) {
      const key = keyOf(request.url);
      return !key || key === request.url ? request : new Request(key, { headers: request.headers });
    },
    async requestWillFetch({ request, state }) {
      const key = keyOf(request.url);
      if (state && key) {
        state.fill = await fillStart(await db(), key);
        state.jar = await jarPrint();
        state.cookies = await carriesCookies(request, o.cookies === "visible");
      }
      // The browser's HTTP cache may hold a copy Cachet has since evicted:
      // ask the origin (a cheap 304 when the HTTP cache's copy is current).
      // A navigation request cannot be copied with changes.
      return request.cache === "default" && request.mode !== "navigate" ? new Request(request, { cache: "no-cache" }) : request;
    },
    async cacheWillUpdate({ request, response, state }) {
      const key = keyOf(request.url);
      const fill = state?.fill as Fill | undefined;
      if (!key || !fill) return null; // nothing known about its flight: not stored
      if (refusal(request, response, state!.cookies !== false) !== null) return null;
      if (state!.jar !== "" && (await jarPrint()) !== state!.jar) return null;
      return (await check(key, fill, response)) ? null : response;
    },
    async cacheDidUpdate({ cacheName, request, newResponse, state }) {
      const key = keyOf(request.url);
      const fill = state?.fill as Fill | undefined;
      if (!key || !fill) return;
      const now = Date.now();
      if (await check(key, fill, newResponse, { stored: now, used: now, bytes: Number(newResponse.headers.get("content-length")) || 0 })) {
        await (await caches.open(cacheName)).delete(key, { ignoreVary: true });
      }
    },
    async cachedResponseWillBeUsed({ request, cachedResponse }) {
      const key = keyOf(request.url);
      if (!cachedResponse || !key) return cachedResponse ?? null;
      // Marked stale and handed out once since: the strategy asks the origin.
      if ((await served(await db(), key, Date.now())).stale === 2) return null;
      if (!(boundMs >= 0)) return cachedResponse;
      const synced = await getMeta<number>(await db(), SYNCED);
      return synced !== undefined && Date.now() - synced > boundMs ? null : cachedResponse;
    },
  };
}
