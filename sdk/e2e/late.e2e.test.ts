// Late fills in a real Chromium: the origin stamps responses with the ledger
// version they were built from (Cachet-Version, by the SDK's node
// middleware). When its upstream lags and serves an old version after the
// browser applied an invalidation of a newer one, the Service Worker must not
// store that copy, and the next read must reach the origin again.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
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

const sw = async (tb: Tab): Promise<Record<string, number>> => (await tb.call("stats")).sw as Record<string, number>;

test("a fill stamped older than an applied invalidation is served, not stored, and the next read asks the origin", async (t) => {
  const origin = await Origin.start();
  t.after(() => origin.close());
  const channels = [`origin:${origin.url}`];
  const a = await Tab.open(browser, origin);
  t.after(() => a.close().catch(() => undefined));
  await a.call("start", { pushUrl: stack.url, token: token(channels), channels, backoff: { baseMs: 200, maxMs: 1000 } });
  await eventually("leader live", async () => (await a.call("stats")).state === "live");
  // The welcome applied (a first connection flushes what was stored before it).
  await eventually("welcome applied", async () => !!(await a.call("stats")).position);

  // Version 1: stored, served from cache.
  origin.upstreamVersion = 1;
  assert.equal((await a.get("/r/versioned")).body, "versioned v1 1");
  await eventually("v1 stored", () => a.call("cached", "/r/versioned"));
  assert.equal((await a.get("/r/versioned")).fromCache, true);

  // Version 2 is invalidated on the ledger; the browser applies it.
  await stack.produce({ key: origin.url + "/r/versioned", version: 2 });
  await eventually("evicted", async () => (await a.call("events")).some((e) => e.type === "evict" && e.version === 2 && e.outcome === "evicted"));
  assert.equal(await a.call("cached", "/r/versioned"), false);

  // The upstream still serves version 1: the page gets it, the cache does not.
  const lateGot = await a.get("/r/versioned");
  assert.deepEqual([lateGot.body, lateGot.fromCache], ["versioned v1 2", false]);
  await eventually("refused as late", async () => (await sw(a)).late === 1);
  assert.equal(await a.call("cached", "/r/versioned"), false);
  const next = await a.get("/r/versioned");
  assert.deepEqual([next.body, next.fromCache], ["versioned v1 3", false], "the next read goes to the origin");
  assert.equal(origin.count("/r/versioned"), 3);
  await eventually("refused again", async () => (await sw(a)).late === 2);

  // Caught up: the fill stamped with version 2 is stored.
  origin.upstreamVersion = 2;
  assert.equal((await a.get("/r/versioned")).body, "versioned v2 4");
  await eventually("v2 stored", () => a.call("cached", "/r/versioned"));
  const cached = await a.get("/r/versioned");
  assert.deepEqual([cached.body, cached.fromCache], ["versioned v2 4", true]);
  assert.equal((await sw(a)).raced, 0, "stamped fills are judged by their stamp, not the in-flight check");
});
