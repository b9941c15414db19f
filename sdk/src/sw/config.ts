// The Service Worker's configuration: the script URL's query for the basics,
// and for routes, expiration and precaching an object a site's own worker
// script sets before it imports Cachet's:
//
//   // /sw.js
//   self.cachet = {
//     cache: "cachet",
//     routes: [
//       { match: "/api/", strategy: "network-first", timeoutMs: 3000 },
//       { match: "^https://cdn\\.example/", strategy: "cache-first" },
//       { match: "/account/", strategy: "network-only" },
//     ],
//     expiration: { maxEntries: 200, maxAgeSeconds: 86400, quotaBytes: 50e6 },
//     precache: [{ url: "/app.css", revision: "3f2a" }],
//     broadcastUpdate: true,
//   };
//   importScripts("/cachet-sw.js");
//
// The object wins over the query where both say something.

/** How a route answers. */
export type Strategy = "cache-first" | "network-first" | "stale-while-revalidate" | "cache-only" | "network-only";

const STRATEGIES: readonly Strategy[] = ["cache-first", "network-first", "stale-while-revalidate", "cache-only", "network-only"];

/** Route sends the requests it matches to a strategy. */
export interface Route {
  /**
   * What the route matches: a string starting with "/" is a path prefix on
   * the worker's own origin; any other string is a regular expression tested
   * against the whole URL.
   */
  match: string;
  strategy: Strategy;
  /** network-first only: after this long without an answer, a stored copy is served. */
  timeoutMs?: number;
}

/** Expiration limits the entries of the cache; the least recently used go first. */
export interface Expiration {
  /** Most entries kept. */
  maxEntries?: number;
  /** An entry stored longer ago than this is neither served nor kept. */
  maxAgeSeconds?: number;
  /** Most bytes of response bodies kept. */
  quotaBytes?: number;
}

/** PrecacheEntry is an asset stored at install; a new revision fetches it again. */
export interface PrecacheEntry {
  url: string;
  revision: string | null;
}

/** Config is everything the worker can be told. */
export interface Config {
  cache: string;
  /** The strategy of requests no route matches. */
  strategy: Strategy;
  cookies: "any" | "visible";
  /** Seconds of the sync bound, or null for none ("off"). */
  bound: number | null;
  offline: "error" | "stale";
  routes: Route[];
  expiration: Expiration;
  precache: PrecacheEntry[];
  /** Tell the pages ({ t: "update", key }) when a revalidation brings a changed response. */
  broadcastUpdate: boolean;
}

/** ConfigError is a configuration the worker refuses to run with. */
export class ConfigError extends Error {
  override name = "ConfigError";
}

const strategy = (s: unknown, where: string): Strategy => {
  if (STRATEGIES.includes(s as Strategy)) return s as Strategy;
  throw new ConfigError(`${where}: unknown strategy ${JSON.stringify(s)} (one of ${STRATEGIES.join(", ")})`);
};

/** configOf merges the script URL's query with a site's object (which wins); it throws ConfigError on what it cannot use. */
export function configOf(query: URLSearchParams, site: Partial<Config> = {}): Config {
  const bound = site.bound !== undefined ? site.bound : query.get("bound") === "off" ? null : Number(query.get("bound") ?? 5);
  if (bound !== null && !(bound >= 0)) throw new ConfigError(`bound: ${String(bound)} is not a number of seconds or "off"`);
  const routes = (site.routes ?? []).map((r, i) => {
    if (typeof r?.match !== "string" || r.match === "") throw new ConfigError(`routes[${i}]: match must be a non-empty string`);
    if (!r.match.startsWith("/")) new RegExp(r.match); // throws SyntaxError early
    return { ...r, strategy: strategy(r.strategy, `routes[${i}]`) };
  });
  for (const p of site.precache ?? []) if (typeof p?.url !== "string") throw new ConfigError("precache: every entry needs a url");
  return {
    cache: site.cache ?? query.get("cache") ?? "cachet",
    strategy: strategy(site.strategy ?? query.get("strategy") ?? "cache-first", "strategy"),
    cookies: (site.cookies ?? query.get("cookies")) === "visible" ? "visible" : "any",
    bound,
    offline: (site.offline ?? query.get("offline")) === "stale" ? "stale" : "error",
    routes,
    expiration: site.expiration ?? {},
    precache: site.precache ?? [],
    broadcastUpdate: site.broadcastUpdate ?? true,
  };
}

/** routeFor returns the first route matching url (seen from a worker on origin), or null. */
export function routeFor(routes: Route[], url: URL, origin: string): Route | null {
  for (const r of routes) {
    if (r.match.startsWith("/") ? url.origin === origin && (url.pathname + url.search).startsWith(r.match) : new RegExp(r.match).test(url.href)) return r;
  }
  return null;
}
