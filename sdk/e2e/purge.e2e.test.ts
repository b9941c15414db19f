// Scope purges in a real Chromium: record.Generation records produced to
// cachet.purges reach a real `cachet push`, and the leader tab evicts (or,
// soft, marks stale) every stored copy the scope covers: by tag (from the
// response's Cache-Tag and Surrogate-Key and from the ledger's transitions),
// path prefix, host and origin. Also soft single-key invalidations (STALE),
// fills overtaken by a purge, and invalidations of a refilled key.
import assert from "node:assert/strict";
import { after, before, test, type TestContext } from "node:test";
import { eventually, launch, type Browser } from "./browser";
import { Tab } from "./helpers";
import { Origin } from "./origin";
import { Stack, token, type PurgeIn } from "./stack";

let browser: Browser;
let stack: Stack;
before(async () => {
  [browser, stack] = await Promise.all([launch(), Stack.start()]);
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

interface Site {
  origin: Origin;
  tab: Tab;
  key: (path: string) => string;
}

// site starts an origin and a tab on it whose leader is live with its first
// connection applied (a first connection flushes what was stored before it).
async function site(t: TestContext): Promise<Site> {
  const origin = await Origin.start();
  t.after(() => origin.close());
  const tab = await Tab.open(browser, origin);
  t.after(() => tab.close().catch(() => undefined));
  const channels = [`origin:${origin.url}`];
  await tab.call("start", { pushUrl: stack.url, token: token(channels), channels, backoff: { baseMs: 200, maxMs: 1000 } });
  await eventually("welcome applied", async () => !!(await tab.call("stats")).position);
  return { origin, tab, key: (p) => (p.startsWith("http") ? p : origin.url + p) };
}

// Tags and values unique to this run: the broker outlives no run, but other
// files' origins share the host.
const uniq = (name: string): string => `${name}-${process.pid}-${Math.floor(Math.random() * 1e6)}`;

async function cache(tb: Tab, ...paths: string[]): Promise<void> {
  for (const p of paths) {
    await tb.get(p);
    await eventually(`${p} stored`, () => tb.call("cached", p));
  }
}

const cached = async (tb: Tab, paths: string[]): Promise<Record<string, boolean>> =>
  Object.fromEntries(await Promise.all(paths.map(async (p) => [p, await tb.call("cached", p)] as const)));

type Event = Record<string, unknown>;
const events = async (tb: Tab, type: string): Promise<Event[]> => (await tb.call("events")).filter((e) => e.type === type);

// purged produces p and waits until the tab's leader has applied it; it returns the purge event.
async function purged(tb: Tab, p: PurgeIn): Promise<Event> {
  const seen = (await events(tb, "purge")).length;
  await stack.purge(p);
  const got = await eventually(`purge ${p.scope} ${p.value} ${p.generation} applied`, async () => (await events(tb, "purge"))[seen]);
  assert.deepEqual([got!.scope, got!.value, got!.generation], [p.scope, p.value, p.generation]);
  return got!;
}

const sw = async (tb: Tab): Promise<Record<string, number>> => (await tb.call("stats")).sw as Record<string, number>;

test("a tag purge evicts what carries the tag by Cache-Tag, Surrogate-Key or the ledger, and nothing else", async (t) => {
  const s = await site(t);
  const tag = uniq("catalog");
  // The ledger names the tag of /r/plain?k=ledger: its publication arrives before the page reads it.
  await stack.produce({ key: s.key("/r/plain?k=ledger"), version: 1, state: "VALID", tags: [tag, "other"] });
  await eventually("the publication applied", async () => (await events(s.tab, "evict")).length === 1);
  const tagged = [`/r/tagged?ct=eu,${tag}`, `/r/tagged?sk=eu%20${tag}`, "/r/plain?k=ledger"];
  const untagged = ["/r/plain?k=none", "/r/tagged?ct=eu,other", `/r/tagged?ct=${tag}x`];
  await cache(s.tab, ...tagged, ...untagged);

  const e = await purged(s.tab, { scope: "tag", value: tag, generation: 1 });
  assert.deepEqual([e.outcome, e.evicted, e.soft], ["evicted", 3, undefined]);
  assert.deepEqual(await cached(s.tab, [...tagged, ...untagged]), Object.fromEntries([...tagged.map((p) => [p, false]), ...untagged.map((p) => [p, true])]));
  // The evicted ones come from the origin again, the others from cache.
  for (const p of tagged) assert.equal((await s.tab.get(p)).fromCache, false, p);
  for (const p of untagged) assert.equal((await s.tab.get(p)).fromCache, true, p);
  assert.equal((await s.tab.call("stats")).purges, 1);
});

test("a prefix purge evicts the keys under the prefix and leaves the rest of the origin", async (t) => {
  const s = await site(t);
  const under = ["/shop/r/plain", "/shop/r/tagged?ct=x", "/shop/r/plain?a=1"];
  const outside = ["/r/plain", "/shopx/r/plain", "/other/r/plain"];
  await cache(s.tab, ...under, ...outside);
  const e = await purged(s.tab, { scope: "prefix", value: s.key("/shop/"), generation: 1 });
  assert.deepEqual([e.outcome, e.evicted], ["evicted", 3]);
  assert.deepEqual(await cached(s.tab, [...under, ...outside]), Object.fromEntries([...under.map((p) => [p, false]), ...outside.map((p) => [p, true])]));
});

test("a host purge evicts the host's keys on every port and leaves other host names", async (t) => {
  const s = await site(t);
  const other = await Origin.start(); // the same host on another port
  t.after(() => other.close());
  const port = new URL(other.url).port;
  const onHost = ["/r/plain", `${other.url}/r/plain`];
  const elsewhere = [`http://localhost:${port}/r/plain`];
  await cache(s.tab, ...onHost, ...elsewhere);
  const e = await purged(s.tab, { scope: "host", value: "127.0.0.1", generation: 1 });
  assert.deepEqual([e.outcome, e.evicted], ["evicted", 2]);
  assert.deepEqual(await cached(s.tab, [...onHost, ...elsewhere]), Object.fromEntries([...onHost.map((p) => [p, false]), ...elsewhere.map((p) => [p, true])]));
});

test("an origin purge evicts that origin's keys, not another port's", async (t) => {
  const s = await site(t);
  const other = await Origin.start();
  t.after(() => other.close());
  await cache(s.tab, "/r/plain", "/shop/r/plain", `${other.url}/r/plain`);
  const e = await purged(s.tab, { scope: "origin", value: s.origin.url, generation: 1 });
  assert.deepEqual([e.outcome, e.evicted], ["evicted", 2]);
  assert.deepEqual(await cached(s.tab, ["/r/plain", "/shop/r/plain", `${other.url}/r/plain`]), {
    "/r/plain": false, "/shop/r/plain": false, [`${other.url}/r/plain`]: true,
  });
});

test("a soft purge serves the stale copy once while revalidating, then the fresh one", async (t) => {
  const s = await site(t);
  const tag = uniq("soft");
  const p = `/r/tagged?ct=${tag}`;
  await cache(s.tab, p);
  assert.equal(s.origin.count(p), 1);
  const e = await purged(s.tab, { scope: "tag", value: tag, generation: 1, soft: true });
  assert.deepEqual([e.outcome, e.evicted, e.soft], ["evicted", 1, true]);
  assert.equal(await s.tab.call("cached", p), true, "marked stale, not evicted");

  const first = await s.tab.get(p);
  assert.deepEqual([first.body, first.fromCache], ["tagged 1", true], "the stale copy, once");
  // The background revalidation brings the origin's new body and stores it.
  await eventually("revalidated", async () => s.origin.count(p) === 2 && (await s.tab.call("cachedBody", p)) === "tagged 2");
  for (let i = 0; i < 2; i++) {
    const next = await s.tab.get(p);
    assert.deepEqual([next.body, next.fromCache], ["tagged 2", true], "the fresh copy, from cache");
  }
  assert.equal(s.origin.count(p), 2, "nothing more asked of the origin");
  assert.equal((await sw(s.tab)).soft, 1);
});

test("a soft invalidation (STALE) serves the copy once; a read while it revalidates waits for the origin", async (t) => {
  const s = await site(t);
  await cache(s.tab, "/r/slow");
  await stack.produce({ key: s.key("/r/slow"), version: 1, state: "STALE" });
  const e = await eventually("applied", async () => (await events(s.tab, "evict"))[0]);
  assert.deepEqual([e!.state, e!.outcome, e!.evicted], ["STALE", "evicted", 1]);
  assert.equal(await s.tab.call("cached", "/r/slow"), true, "marked stale, not evicted");

  let release = (): void => undefined;
  s.origin.gate = new Promise((r) => (release = r));
  const first = await s.tab.get("/r/slow");
  assert.deepEqual([first.body, first.fromCache], ["slow 1", true]);
  await eventually("the background revalidation at the origin", async () => s.origin.count("/r/slow") === 2);
  // Served once: this read must not get the stale copy again, nor wait for
  // the first revalidation (Chromium's HTTP cache would hold it 20 s).
  await s.tab.call("startGet", "/r/slow");
  await eventually("the second read at the origin", async () => s.origin.count("/r/slow") === 3, 10_000);
  release();
  s.origin.gate = null;
  const second = await s.tab.call("awaitGet", "/r/slow");
  assert.deepEqual([second.body, second.fromCache], ["slow 3", false]);
  await eventually("a fresh copy stored", async () => (await s.tab.call("cachedBody", "/r/slow"))?.startsWith("slow ") && (await s.tab.call("cachedBody", "/r/slow")) !== "slow 1");
  assert.equal((await s.tab.get("/r/slow")).fromCache, true);
});

test("a replayed or older generation does nothing", async (t) => {
  const s = await site(t);
  const tag = uniq("replay");
  const p = `/r/tagged?ct=${tag}`;
  await cache(s.tab, p);
  assert.equal((await purged(s.tab, { scope: "tag", value: tag, generation: 5 })).evicted, 1);
  await cache(s.tab, p); // refilled after the purge: not covered by it
  assert.equal(s.origin.count(p), 2);
  const replay = await purged(s.tab, { scope: "tag", value: tag, generation: 5 });
  const older = await purged(s.tab, { scope: "tag", value: tag, generation: 4 });
  assert.deepEqual([replay.outcome, replay.evicted, older.outcome, older.evicted], ["duplicate", 0, "stale", 0]);
  assert.equal(await s.tab.call("cached", p), true, "the refill stays");
  // Another owner's scope of the same name is its own generation.
  const mine = await purged(s.tab, { scope: "tag", value: tag, generation: 1, owner: "Org2MSP" });
  assert.deepEqual([mine.outcome, mine.evicted], ["evicted", 1]);
  await cache(s.tab, p);
  const newer = await purged(s.tab, { scope: "tag", value: tag, generation: 6 });
  assert.deepEqual([newer.outcome, newer.evicted], ["evicted", 1]);
  assert.equal(s.origin.count(p), 3);
});

test("a fill in flight when a purge covering it is applied is served but never stored", async (t) => {
  const s = await site(t);
  let release = (): void => undefined;
  s.origin.gate = new Promise((r) => (release = r));
  await s.tab.call("startGet", "/r/slow");
  await eventually("the request at the origin", async () => s.origin.count("/r/slow") === 1);
  await purged(s.tab, { scope: "prefix", value: s.key("/r/"), generation: 1 });
  release();
  s.origin.gate = null;
  assert.equal((await s.tab.call("awaitGet", "/r/slow")).body, "slow 1");
  await eventually("the worker refused the copy", async () => (await sw(s.tab)).purged === 1);
  assert.equal(await s.tab.call("cached", "/r/slow"), false);
  await cache(s.tab, "/r/slow"); // fetched after the purge: stored
});

test("a refill after an invalidation is evicted by the next invalidation of the key", async (t) => {
  const s = await site(t);
  await cache(s.tab, "/r/plain");
  for (const version of [1, 2]) {
    await stack.produce({ key: s.key("/r/plain"), version });
    await eventually(`version ${version} evicted`, async () => !(await s.tab.call("cached", "/r/plain")));
    const got = await s.tab.get("/r/plain");
    assert.deepEqual([got.body, got.fromCache], [`plain ${version + 1}`, false]);
    await eventually("refilled", () => s.tab.call("cached", "/r/plain"));
  }
  assert.deepEqual((await events(s.tab, "evict")).map((e) => [e.version, e.outcome, e.evicted]), [[1, "evicted", 1], [2, "evicted", 1]]);
});
