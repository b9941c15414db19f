// Bounded staleness in a real Chromium against a real `cachet push`: the
// Service Worker serves from cache only while a leader tab recorded within
// the bound (5 s) that it was in sync with push. With every tab closed an
// invalidation goes unheard, so a reopened tab must not be shown the copy it
// invalidated, not even before its leader resumes.
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

const BOUND_MS = 5000;

async function site(t: TestContext): Promise<Origin> {
  const origin = await Origin.start();
  t.after(() => origin.close());
  return origin;
}

async function open(t: TestContext, origin: Origin, swQuery = ""): Promise<Tab> {
  const tb = await Tab.open(browser, origin, swQuery);
  t.after(() => tb.close().catch(() => undefined));
  return tb;
}

async function start(tb: Tab, origin: Origin): Promise<void> {
  const channels = [`origin:${origin.url}`];
  await tb.call("start", { pushUrl: stack.url, token: token(channels), channels, backoff: { baseMs: 200, maxMs: 1000 } });
}

const live = async (tb: Tab): Promise<boolean> => (await tb.call("stats")).state === "live";

// cachedByLeader opens a leading tab, stores /r/plain ("plain 1") and checks
// that past the bound, while the leader is live, reads still come from cache.
async function cachedByLeader(t: TestContext, origin: Origin, swQuery = ""): Promise<Tab> {
  const a = await open(t, origin, swQuery);
  await start(a, origin);
  await eventually("leader live", () => live(a));
  await a.get("/r/plain");
  await eventually("stored", () => a.call("cached", "/r/plain"));
  await sleep(BOUND_MS + 1000);
  const got = await a.get("/r/plain");
  assert.deepEqual([got.body, got.fromCache], ["plain 1", true], "in sync, the copy is served from cache past the bound");
  assert.equal(origin.count("/r/plain"), 1);
  return a;
}

test("past the bound, a reopened tab never sees the copy invalidated while every tab was closed", async (t) => {
  const origin = await site(t);
  const a = await cachedByLeader(t, origin);
  await a.stopWorkers(); // the worker wakes cold for the next tab
  await a.close();
  await stack.produce({ key: origin.url + "/r/plain", version: 1 });
  await sleep(BOUND_MS + 1000);

  const b = await open(t, origin);
  // Before any client runs in this tab: the worker asks the origin.
  const got = await b.get("/r/plain");
  assert.deepEqual([got.body, got.fromCache], ["plain 2", false]);
  assert.equal(origin.conditional.get("/r/plain"), 1, "revalidated with a conditional request");

  // The leader resumes and applies the invalidation it missed; back in sync,
  // reads are served from cache again.
  await start(b, origin);
  await eventually("the missed invalidation applied", async () => (await b.call("events")).some((e) => e.type === "evict" && e.outcome === "evicted"));
  // (The first record of being in sync comes a second after the welcome.)
  await eventually("served from cache once in sync again", async () => (await b.get("/r/plain")).fromCache);
});

test("past the bound with the origin unreachable: 504 by default", async (t) => {
  const origin = await site(t);
  const a = await cachedByLeader(t, origin);
  await a.close();
  await sleep(BOUND_MS + 1000);
  origin.down = true;
  const b = await open(t, origin);
  assert.equal((await b.get("/r/plain")).status, 504);
});

test("past the bound with the origin unreachable: offline=stale serves the copy and tells the pages", async (t) => {
  const origin = await site(t);
  const a = await cachedByLeader(t, origin, "&offline=stale");
  await a.close();
  await sleep(BOUND_MS + 1000);
  origin.down = true;
  stack.proxy.partition(); // the new tab's client cannot get back in sync
  t.after(() => stack.proxy.heal());
  const b = await open(t, origin, "&offline=stale");
  await start(b, origin);
  const got = await b.get("/r/plain");
  assert.deepEqual([got.status, got.body, got.fromCache], [200, "plain 1", true]);
  // eventually returns only a truthy value.
  const told = (await eventually("the stale event", async () => (await b.call("events")).find((e) => e.type === "stale")))!;
  assert.equal(told.key, origin.url + "/r/plain");
  assert.ok(typeof told.syncedAt === "number" && Date.now() - told.syncedAt > BOUND_MS, "syncedAt is the last sync, past the bound");
});
