// The automatic WebSocket → Server-Sent Events fallback in a real Chromium:
// a proxy in front of push starts refusing WebSocket upgrades while the
// leader is live; the client must switch to SSE after its WebSocket attempts
// fail, and every transition produced before, during and after the switch
// must be applied exactly once.
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

test("with WebSocket upgrades refused, the client falls back to SSE and loses no transition", async (t) => {
  const origin = await Origin.start();
  t.after(() => origin.close());
  const channels = [`origin:${origin.url}`];
  const key = (i: number): string => `${origin.url}/r/plain?n=${i}`;
  const a = await Tab.open(browser, origin);
  t.after(() => a.close().catch(() => undefined));
  await a.call("start", { pushUrl: stack.url, token: token(channels), channels, backoff: { baseMs: 200, maxMs: 1000 } });
  await eventually("live over WebSocket", async () => (await a.call("stats")).state === "live");
  // The welcome applied (a first connection flushes what was stored before it).
  await eventually("welcome applied", async () => !!(await a.call("stats")).position);
  assert.ok(stack.proxy.requests.some((r) => /^GET \/ws /.test(r.line)), "first connection is a WebSocket");
  for (let i = 1; i <= 12; i++) {
    await a.get(`/r/plain?n=${i}`);
    await eventually(`n=${i} stored`, () => a.call("cached", `/r/plain?n=${i}`));
  }

  // Before the switch.
  for (let i = 1; i <= 4; i++) await stack.produce({ key: key(i), version: i });
  await eventually("first four applied", async () => (await a.call("events")).filter((e) => e.type === "evict").length === 4);

  // Upgrades refused, the live WebSocket cut: produced while the client is
  // failing over.
  stack.proxy.refuseUpgrades = true;
  t.after(() => (stack.proxy.refuseUpgrades = false));
  const before = stack.proxy.requests.length;
  stack.proxy.partition();
  stack.proxy.heal();
  for (let i = 5; i <= 8; i++) await stack.produce({ key: key(i), version: i });
  await eventually("live over SSE", async () => {
    const since = stack.proxy.requests.slice(before);
    return (await a.call("stats")).state === "live" && since.some((r) => /^GET \/sse\?/.test(r.line));
  });
  const since = stack.proxy.requests.slice(before);
  const refused = since.filter((r) => r.refused).length;
  assert.equal(refused, 3, `three WebSocket attempts refused before SSE (${JSON.stringify(since)})`);
  assert.ok(since.findIndex((r) => /^GET \/sse\?/.test(r.line)) > since.map((r) => r.refused).lastIndexOf(true), "SSE after the refused attempts");

  // After the switch.
  for (let i = 9; i <= 12; i++) await stack.produce({ key: key(i), version: i });
  await eventually("all twelve applied", async () => (await a.call("events")).filter((e) => e.type === "evict").length >= 12);

  const evicts = (await a.call("events")).filter((e) => e.type === "evict");
  // Order is kept per key (Kafka partition), not across keys.
  assert.deepEqual(
    evicts.map((e) => [e.key, e.version, e.outcome]).sort((x, y) => (x[1] as number) - (y[1] as number)),
    Array.from({ length: 12 }, (_, i) => [key(i + 1), i + 1, "evicted"]),
    "every transition applied once",
  );
  for (let i = 1; i <= 12; i++) assert.equal(await a.call("cached", `/r/plain?n=${i}`), false, `n=${i} evicted`);
  const st = await a.call("stats");
  assert.equal(st.evicted, 12);
  assert.equal(st.resets, 0, "resumed from its position, no reset");
  // Receipts for all twelve evictions reach push over SSE (POST /receipts).
  await eventually("receipts acknowledged", async () => (await a.call("stats")).receipted as number >= 12 && (await a.call("outbox")) === 0);
});
