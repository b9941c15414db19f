// Cachet as a plugin inside a site's own Workbox worker (workbox-core,
// workbox-routing, workbox-strategies from npm; e2e/workbox/sw.ts: CacheFirst
// for /r/* with cachetPlugin), in a real Chromium: Cachet's storage policy
// decides what Workbox stores, keys are canonical, and push evictions and
// late-fill refusals reach Workbox's cache.
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

async function site(t: TestContext): Promise<[Origin, Tab]> {
  const origin = await Origin.start();
  t.after(() => origin.close());
  const tb = await Tab.open(browser, origin, "", "/workbox-sw.js");
  t.after(() => tb.close().catch(() => undefined));
  return [origin, tb];
}

test("workbox: the plugin's storage policy decides what Workbox stores, under canonical keys", async (t) => {
  const [origin, a] = await site(t);
  const refused = ["/r/private", "/r/nostore", "/r/me", "/r/cookie", "/r/varystar"];
  for (const p of refused) assert.equal((await a.get(p)).status, 200, p);
  await a.get("/r/plain?b=2&a=1");
  await eventually("plain stored", async () => (await a.call("cachedPaths")).includes("/r/plain?a=1&b=2"));
  await sleep(300); // the refused ones would have been written by now
  assert.deepEqual(await a.call("cachedPaths"), ["/r/plain?a=1&b=2"], "only the shareable response is stored, canonically keyed");

  // Served by Workbox from its cache; the refused ones go to the origin again.
  assert.equal((await a.get("/r/plain?a=1&b=2")).body, "plain 1");
  assert.equal(origin.count("/r/plain?b=2&a=1") + origin.count("/r/plain?a=1&b=2"), 1);
  for (const p of refused) await a.get(p);
  assert.deepEqual(refused.map((p) => origin.count(p)), refused.map(() => 2));
});

test("workbox: push evictions and late fills apply to Workbox's cache", async (t) => {
  const [origin, a] = await site(t);
  const channels = [`origin:${origin.url}`];
  await a.call("start", { pushUrl: stack.url, token: token(channels), channels, backoff: { baseMs: 200, maxMs: 1000 } });
  await eventually("leader live", async () => (await a.call("stats")).state === "live");
  // The welcome applied (a first connection flushes what was stored before it).
  await eventually("welcome applied", async () => !!(await a.call("stats")).position);

  await a.get("/r/plain");
  await eventually("plain stored", () => a.call("cached", "/r/plain"));
  assert.equal((await a.get("/r/plain")).body, "plain 1", "cache first");
  await stack.produce({ key: origin.url + "/r/plain", version: 3 });
  await eventually("evicted from Workbox's cache", async () => !(await a.call("cached", "/r/plain")));
  assert.equal((await a.get("/r/plain")).body, "plain 2", "the next read reaches the origin");
  await eventually("stored again", () => a.call("cached", "/r/plain"));

  origin.upstreamVersion = 1;
  await a.get("/r/versioned");
  await eventually("v1 stored", () => a.call("cached", "/r/versioned"));
  await stack.produce({ key: origin.url + "/r/versioned", version: 2 });
  await eventually("v1 evicted", async () => !(await a.call("cached", "/r/versioned")));
  assert.equal((await a.get("/r/versioned")).body, "versioned v1 2", "the lagging upstream's answer is served");
  await sleep(300);
  assert.equal(await a.call("cached", "/r/versioned"), false, "but not stored: stamped older than the applied invalidation");
  assert.equal((await a.get("/r/versioned")).body, "versioned v1 3");
  origin.upstreamVersion = 2;
  assert.equal((await a.get("/r/versioned")).body, "versioned v2 4");
  await eventually("v2 stored", () => a.call("cached", "/r/versioned"));
  assert.equal((await a.get("/r/versioned")).body, "versioned v2 4", "served from Workbox's cache");
});
