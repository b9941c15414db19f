// Cachet's own worker configured as a site would (self.cachet, then
// importScripts): routes with their own strategy, expiration by age, count
// and bytes (least recently used first), a precache manifest with
// revisions, and broadcast updates, in a real Chromium.
import assert from "node:assert/strict";
import { after, before, test, type TestContext } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { eventually, launch, type Browser } from "./browser";
import { Tab } from "./helpers";
import { Origin } from "./origin";
import { Stack, token } from "./stack";

let browser: Browser;
let stack: Stack;
before(async () => {
  [browser, stack] = await Promise.all([launch(), Stack.start()]);
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

// site starts an origin whose /site-sw.js sets config, and a tab controlled by it with the client running.
async function site(t: TestContext, config: Record<string, unknown>): Promise<[Origin, Tab]> {
  const origin = await Origin.start();
  t.after(() => origin.close());
  origin.swConfig = config;
  const tb = await Tab.open(browser, origin, "", "/site-sw.js");
  t.after(() => tb.close().catch(() => undefined));
  const channels = [`origin:${origin.url}`];
  await tb.call("start", { pushUrl: stack.url, token: token(channels), channels, backoff: { baseMs: 200, maxMs: 1000 } });
  // The welcome applied (a first connection flushes what was stored before it).
  await eventually("welcome applied", async () => !!(await tb.call("stats")).position);
  return [origin, tb];
}

const sw = async (tb: Tab): Promise<Record<string, number>> => (await tb.call("stats")).sw as Record<string, number>;
const got = async (tb: Tab, path: string): Promise<[number, string, boolean]> => {
  const g = await tb.get(path);
  return [g.status, g.body, g.fromCache];
};

test("routes: network-only, cache-only, network-first with a timeout, stale-while-revalidate with a broadcast update", async (t) => {
  const [origin, a] = await site(t, {
    routes: [
      { match: "/r/plain?net", strategy: "network-only" },
      { match: "/r/plain?only", strategy: "cache-only" },
      { match: "/r/slow", strategy: "network-first", timeoutMs: 500 },
      { match: "plain\\?swr$", strategy: "stale-while-revalidate" }, // a regular expression on the whole URL
    ],
  });

  assert.deepEqual(await got(a, "/r/plain?net"), [200, "plain 1", false]);
  assert.deepEqual(await got(a, "/r/plain?net"), [200, "plain 2", false]);
  assert.equal(await a.call("cached", "/r/plain?net"), false, "network-only never stores");

  assert.equal((await a.get("/r/plain?only")).status, 504, "cache-only without a copy");
  assert.equal(origin.count("/r/plain?only"), 0);

  assert.deepEqual(await got(a, "/r/slow"), [200, "slow 1", false]);
  await eventually("slow stored", () => a.call("cached", "/r/slow"));
  let release = (): void => undefined;
  origin.gate = new Promise((r) => (release = r));
  const t0 = Date.now();
  assert.deepEqual(await got(a, "/r/slow"), [200, "slow 1", true], "the stored copy answers after the timeout");
  assert.ok(Date.now() - t0 < 5000);
  release();
  origin.gate = null;
  // The fetch that lost the race still stores what it brings.
  await eventually("the late answer stored", async () => (await a.call("cachedBody", "/r/slow")) === "slow 2");
  assert.equal(origin.count("/r/slow"), 2);

  assert.deepEqual(await got(a, "/r/plain?swr"), [200, "plain 1", false]);
  await eventually("swr stored", () => a.call("cached", "/r/plain?swr"));
  assert.deepEqual(await got(a, "/r/plain?swr"), [200, "plain 1", true], "served from cache, revalidated behind");
  const update = await eventually("the update event", async () => (await a.call("events")).find((e) => e.type === "update"));
  assert.equal(update!.key, origin.url + "/r/plain?swr");
  assert.deepEqual(await got(a, "/r/plain?swr"), [200, "plain 2", true], "the changed response replaced the copy");
  assert.ok(((await sw(a)).updated ?? 0) >= 1);
});

test("expiration by entry count: the least recently used go first", async (t) => {
  const [, a] = await site(t, { expiration: { maxEntries: 3 } });
  for (const n of [1, 2, 3]) {
    await a.get(`/r/plain?e=${n}`);
    await eventually(`e=${n} stored`, () => a.call("cached", `/r/plain?e=${n}`));
  }
  assert.equal((await a.get("/r/plain?e=1")).fromCache, true); // e=1 is now the most recently used
  await sleep(50);
  for (const n of [4, 5]) {
    await a.get(`/r/plain?e=${n}`);
    await eventually(`e=${n} stored`, () => a.call("cached", `/r/plain?e=${n}`));
  }
  await eventually("three left", async () => JSON.stringify(await a.call("cachedPaths")) === JSON.stringify(["/r/plain?e=1", "/r/plain?e=4", "/r/plain?e=5"]));
  assert.equal((await sw(a)).expired, 2);
});

test("expiration by age and by bytes", async (t) => {
  const [origin, a] = await site(t, { expiration: { maxAgeSeconds: 1, quotaBytes: 20 } });
  // Bodies are "plain N": 7 bytes each, so 20 bytes hold two.
  for (const n of [1, 2, 3]) {
    await a.get(`/r/plain?q=${n}`);
    await eventually(`q=${n} stored`, () => a.call("cached", `/r/plain?q=${n}`));
  }
  await eventually("two left", async () => JSON.stringify(await a.call("cachedPaths")) === JSON.stringify(["/r/plain?q=2", "/r/plain?q=3"]));
  assert.equal((await a.get("/r/plain?q=3")).fromCache, true);
  await sleep(1500);
  assert.deepEqual(await got(a, "/r/plain?q=3"), [200, "plain 2", false], "past its age the copy is not served");
  assert.equal(origin.count("/r/plain?q=3"), 2);
});

test("precache: stored at install, served from the precache, fetched again only for a new revision", async (t) => {
  const [origin, a] = await site(t, {
    precache: [{ url: "/r/plain?asset=a", revision: "1" }, { url: "/r/plain?asset=b", revision: null }],
  });
  assert.deepEqual(await a.call("cachedPaths", "cachet-precache"), ["/r/plain?asset=a", "/r/plain?asset=b"]);
  assert.deepEqual(await got(a, "/r/plain?asset=a"), [200, "plain 1", true]);
  assert.equal(origin.count("/r/plain?asset=a"), 1);

  origin.swConfig = { precache: [{ url: "/r/plain?asset=a", revision: "2" }, { url: "/r/plain?asset=c", revision: "1" }] };
  await a.call("update");
  await eventually("old entries cleaned up", async () =>
    JSON.stringify(await a.call("cachedPaths", "cachet-precache")) === JSON.stringify(["/r/plain?asset=a", "/r/plain?asset=c"]));
  assert.deepEqual([origin.count("/r/plain?asset=a"), origin.count("/r/plain?asset=b"), origin.count("/r/plain?asset=c")], [2, 1, 1]);
  assert.deepEqual(await got(a, "/r/plain?asset=a"), [200, "plain 2", true]);
});
