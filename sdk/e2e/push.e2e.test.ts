// The whole path in a real Chromium: transitions produced to Kafka reach a
// real `cachet push`, the leader tab evicts from Cache Storage, leadership
// passes between tabs, a partition is survived and a reset flushes.
import assert from "node:assert/strict";
import { after, before, test, type TestContext } from "node:test";
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

interface Started {
  origin: Origin;
  key: (path: string) => string;
  channels: string[];
}

async function site(t: TestContext): Promise<Started> {
  const origin = await Origin.start();
  t.after(() => origin.close());
  return { origin, key: (p) => origin.url + p, channels: [`origin:${origin.url}`] };
}

async function tab(t: TestContext, s: Started, opts: Record<string, unknown> = {}): Promise<Tab> {
  const tb = await Tab.open(browser, s.origin);
  t.after(() => tb.close().catch(() => undefined));
  await tb.call("start", {
    pushUrl: stack.url, token: token(s.channels), channels: s.channels, backoff: { baseMs: 200, maxMs: 1000 }, ...opts,
  });
  return tb;
}

const stats = (tb: Tab): Promise<Record<string, unknown>> => tb.call("stats");
const live = (tb: Tab): Promise<boolean> => stats(tb).then((s) => s.state === "live");
const evictions = async (tb: Tab): Promise<{ key: string; version: number; outcome: string }[]> =>
  (await tb.call("events")).filter((e) => e.type === "evict") as never;

async function cache(tb: Tab, path: string): Promise<void> {
  await tb.get(path);
  await eventually(`${path} stored`, () => tb.call("cached", path));
}

test("a produced invalidation evicts the cached response; only newer versions apply", async (t) => {
  const s = await site(t);
  const a = await tab(t, s);
  await eventually("leader live", () => live(a));
  await cache(a, "/r/plain");
  assert.equal((await a.get("/r/plain")).fromCache, true);

  await stack.produce({ key: s.key("/r/plain"), version: 5 });
  await eventually("eviction", async () => !(await a.call("cached", "/r/plain")));
  const after = await a.get("/r/plain");
  assert.deepEqual([after.body, after.fromCache], ["plain 2", false]);
  await eventually("re-stored", () => a.call("cached", "/r/plain"));

  // An older version and a replay of version 5 must not evict the new copy.
  await stack.produce({ key: s.key("/r/plain"), version: 4 }, { key: s.key("/r/plain"), version: 5 });
  await eventually("both heard", async () => (await evictions(a)).length === 3);
  assert.deepEqual((await evictions(a)).map((e) => [e.version, e.outcome]), [[5, "evicted"], [4, "stale"], [5, "duplicate"]]);
  assert.equal(await a.call("cached", "/r/plain"), true);
  assert.equal(s.origin.count("/r/plain"), 2);
});

test("a response in flight when its key is invalidated is served but never stored", async (t) => {
  const s = await site(t);
  const a = await tab(t, s);
  await eventually("live", () => live(a));
  let release = (): void => undefined;
  s.origin.gate = new Promise((r) => (release = r));
  await a.call("startGet", "/r/slow");
  await eventually("the request at the origin", async () => s.origin.count("/r/slow") === 1);
  await stack.produce({ key: s.key("/r/slow"), version: 1 });
  await eventually("the eviction applied", async () => (await evictions(a)).some((e) => e.key === s.key("/r/slow")));
  release();
  assert.equal((await a.call("awaitGet", "/r/slow")).body, "slow 1");
  await eventually("the worker dropped its copy", async () => ((await stats(a)).sw as Record<string, number>).raced === 1);
  assert.equal(await a.call("cached", "/r/slow"), false);
  s.origin.gate = null;
  await cache(a, "/r/slow"); // the next response, fetched after the invalidation, is stored
});

test("closing the leader hands over to another tab without losing a transition", async (t) => {
  const s = await site(t);
  const a = await tab(t, s);
  await eventually("a leads", async () => (await stats(a)).leader === true && (await live(a)));
  const b = await tab(t, s);
  assert.equal((await stats(b)).leader, false);
  const paths = Array.from({ length: 8 }, (_, i) => `/r/plain?k=${i}`);
  for (const p of paths) await cache(b, p);

  // Half before the leader goes, half while no tab leads.
  await stack.produce(...paths.slice(0, 4).map((p) => ({ key: s.key(p), version: 1 })));
  await a.close();
  await stack.produce(...paths.slice(4).map((p) => ({ key: s.key(p), version: 1 })));

  await eventually("b leads", async () => (await stats(b)).leader === true);
  for (const p of paths) await eventually(`${p} evicted`, async () => !(await b.call("cached", p)));
  // What was produced after the old leader closed reached b as events over
  // its own connection, resumed from the stored position (no reset).
  const heard = new Set((await evictions(b)).map((e) => e.key));
  for (const p of paths.slice(4)) assert.ok(heard.has(s.key(p)), `b never heard of ${p}`);
  assert.equal((await stats(b)).resets, 0);
  assert.equal(s.origin.count(paths[0]!), 1);
});

test("cut off from push, the page serves from cache; on reconnect missed invalidations apply", async (t) => {
  const s = await site(t);
  const a = await tab(t, s);
  await eventually("live", () => live(a));
  for (const p of ["/r/plain?k=1", "/r/plain?k=2", "/r/plain?k=3"]) await cache(a, p);

  stack.proxy.partition();
  t.after(() => stack.proxy.heal());
  s.origin.down = true;
  await eventually("offline", async () => (await stats(a)).state === "offline");
  for (const p of ["/r/plain?k=1", "/r/plain?k=2", "/r/plain?k=3"]) {
    const got = await a.get(p);
    assert.deepEqual([got.status, got.fromCache], [200, true], p);
  }
  await stack.produce({ key: s.key("/r/plain?k=1"), version: 3 }, { key: s.key("/r/plain?k=2"), version: 3 });

  stack.proxy.heal();
  s.origin.down = false;
  await eventually("k=1 and k=2 evicted", async () => !(await a.call("cached", "/r/plain?k=1")) && !(await a.call("cached", "/r/plain?k=2")));
  assert.equal(await a.call("cached", "/r/plain?k=3"), true, "an entry nobody invalidated was flushed");
  const st = await stats(a);
  assert.equal(st.state, "live");
  assert.equal(st.resets, 0, "the client resumed; it should not have needed a reset");
});

test("a reset flushes every entry that cannot be proven fresh", async (t) => {
  const s = await site(t);
  const a = await tab(t, s);
  await eventually("live", () => live(a));
  await cache(a, "/r/plain?k=1");
  await cache(a, "/r/vary");
  await eventually("a position stored", async () => !!(await stats(a)).position);
  await a.call("stopClient");
  // The same browser comes back following one more channel: its stored
  // position was issued for another channel set, so push answers reset.
  const channels = [...s.channels, "tag:catalog"];
  await a.call("start", { pushUrl: stack.url, token: token(channels), channels, backoff: { baseMs: 200, maxMs: 1000 } });
  await eventually("reset", async () => (await a.call("events")).some((e) => e.type === "reset"));
  const reset = (await a.call("events")).find((e) => e.type === "reset")!;
  assert.equal(reset.reason, "channels");
  assert.equal(reset.flushed, 2);
  assert.equal(await a.call("cachedCount"), 0);
});

test("over Server-Sent Events too", async (t) => {
  const s = await site(t);
  // EventSource carries no CORS preflight: serve push from the page's origin.
  s.origin.push = stack.url;
  const a = await tab(t, s, { transport: "sse", pushUrl: s.origin.url + "/push" });
  await eventually("live", () => live(a));
  await cache(a, "/r/plain");
  await stack.produce({ key: s.key("/r/plain"), version: 2 });
  await eventually("eviction", async () => !(await a.call("cached", "/r/plain")));
});

test("a refused token stops the client instead of retrying forever", async (t) => {
  const s = await site(t);
  // Signed for another channel: push closes with 4404 (channel forbidden).
  const a = await tab(t, s, { token: token(["origin:https://elsewhere.example"]) });
  await eventually("stopped", async () => (await stats(a)).state === "stopped");
  const states = (await a.call("events")).filter((e) => e.type === "state").map((e) => e.state);
  assert.ok(!states.includes("live"), `went live: ${states.join(",")}`);
  assert.equal((await stats(a)).reconnects, 0);
});
