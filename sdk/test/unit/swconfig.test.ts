import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, configOf, routeFor, type Route } from "../../src/sw/config";
import { victims } from "../../src/sw/expire";

test("configOf: the query, with a site's object winning", () => {
  const q = new URLSearchParams("cache=c1&strategy=network-first&bound=off&offline=stale&cookies=visible");
  const c = configOf(q);
  assert.deepEqual([c.cache, c.strategy, c.bound, c.offline, c.cookies, c.broadcastUpdate], ["c1", "network-first", null, "stale", "visible", true]);
  const d = configOf(q, { cache: "c2", strategy: "cache-only", bound: 2, broadcastUpdate: false });
  assert.deepEqual([d.cache, d.strategy, d.bound, d.broadcastUpdate], ["c2", "cache-only", 2, false]);
  assert.deepEqual([configOf(new URLSearchParams()).strategy, configOf(new URLSearchParams()).bound], ["cache-first", 5]);
});

test("configOf: what it refuses", () => {
  const bad: [string, Record<string, unknown>, RegExp][] = [
    ["unknown strategy", { strategy: "cache-last" }, /unknown strategy "cache-last"/],
    ["route strategy", { routes: [{ match: "/a", strategy: "nope" }] }, /routes\[0\]: unknown strategy/],
    ["empty match", { routes: [{ match: "", strategy: "cache-first" }] }, /routes\[0\]: match/],
    ["bad bound", { bound: -1 }, /bound/],
    ["precache without url", { precache: [{ revision: "1" }] }, /precache/],
  ];
  for (const [name, site, re] of bad) assert.throws(() => configOf(new URLSearchParams(), site), (e: Error) => e instanceof ConfigError && re.test(e.message), name);
  assert.throws(() => configOf(new URLSearchParams(), { routes: [{ match: "([", strategy: "cache-first" }] }), SyntaxError);
});

test("routeFor: path prefixes on the worker's origin, regular expressions on the whole URL, first match wins", () => {
  const routes: Route[] = [
    { match: "/api/", strategy: "network-first", timeoutMs: 100 },
    { match: "^https://cdn\\.example/", strategy: "cache-first" },
    { match: "\\.png$", strategy: "cache-only" },
    { match: "/", strategy: "stale-while-revalidate" },
  ];
  const o = "https://shop.example";
  const cases: [string, string | null][] = [
    ["https://shop.example/api/items", "network-first"],
    ["https://other.example/api/items", null],
    ["https://cdn.example/x.png", "cache-first"],
    ["https://other.example/x.png", "cache-only"],
    ["https://shop.example/page", "stale-while-revalidate"],
  ];
  for (const [url, want] of cases) assert.equal(routeFor(routes, new URL(url), o)?.strategy ?? null, want, url);
});

test("victims: too old first, then least recently used until count and bytes fit", () => {
  const u = (stored: number, used: number, bytes: number) => ({ stored, used, bytes });
  const all: [string, ReturnType<typeof u>][] = [["a", u(0, 50, 10)], ["b", u(900, 10, 10)], ["c", u(900, 30, 10)], ["d", u(900, 20, 10)]];
  assert.deepEqual(victims({}, all, 1000), []);
  assert.deepEqual(victims({ maxAgeSeconds: 0.5 }, all, 1000), ["a"]);
  assert.deepEqual(victims({ maxEntries: 2 }, all, 1000), ["b", "d"]);
  assert.deepEqual(victims({ quotaBytes: 25 }, all, 1000), ["b", "d"]);
  assert.deepEqual(victims({ maxAgeSeconds: 0.5, maxEntries: 2 }, all, 1000), ["a", "b"]);
  assert.deepEqual(victims({ maxEntries: 0 }, all, 1000), ["b", "d", "c", "a"]);
});
