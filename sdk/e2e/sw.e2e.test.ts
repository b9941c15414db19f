// The Service Worker in a real Chromium: what it stores, what it never
// stores, Vary, ETag revalidation and serving while the origin is down.
import assert from "node:assert/strict";
import { after, before, test, type TestContext } from "node:test";
import { eventually, launch, type Browser } from "./browser";
import { Tab } from "./helpers";
import { Origin } from "./origin";

let browser: Browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

// fresh gives a test its own origin (so its own Service Worker and caches)
// and one tab on it, both closed when the test ends.
async function fresh(t: TestContext): Promise<{ origin: Origin; tab: Tab }> {
  const origin = await Origin.start();
  t.after(() => origin.close());
  const tab = await Tab.open(browser, origin);
  t.after(() => tab.close());
  return { origin, tab };
}

test("a cacheable GET is stored under its canonical key and served from cache", async (t) => {
  const { origin, tab } = await fresh(t);
  const first = await tab.get("/r/plain?b=2&a=1");
  assert.deepEqual([first.status, first.body, first.fromCache], [200, "plain 1", false]);
  await eventually("the entry in Cache Storage", () => tab.call("cached", "/r/plain?a=1&b=2"));
  // Same resource, parameters in another order: one canonical key, one copy.
  const second = await tab.get("/r/plain?a=1&b=2");
  assert.deepEqual([second.body, second.fromCache], ["plain 1", true]);
  assert.equal(origin.count("/r/plain?a=1&b=2") + origin.count("/r/plain?b=2&a=1"), 1);
});

test("no-store, private, Set-Cookie, Vary: * and non-GET responses are never cached", async (t) => {
  const { origin, tab } = await fresh(t);
  for (const path of ["/r/nostore", "/r/private", "/r/cookie", "/r/varystar"]) {
    for (let i = 1; i <= 3; i++) {
      const got = await tab.get(path);
      assert.equal(got.fromCache, false, `${path} #${i} came from cache`);
      assert.match(got.body, new RegExp(` ${i}$`), path);
    }
    assert.equal(origin.count(path), 3, path);
  }
  await tab.get("/r/plain", {}, "POST");
  await tab.get("/r/plain", {}, "POST");
  assert.equal(origin.count("/r/plain"), 2);
  // A cacheable resource fetched last is stored; by then any wrongly stored
  // one would be there too.
  await tab.get("/r/vary", { "x-variant": "z" });
  await eventually("the control entry", () => tab.call("cached", "/r/vary"));
  for (const path of ["/r/nostore", "/r/private", "/r/cookie", "/r/varystar", "/r/plain"]) {
    assert.equal(await tab.call("cached", path), false, `${path} is in Cache Storage`);
  }
});

test("Vary is honoured: a stored variant never answers a request for another", async (t) => {
  const { origin, tab } = await fresh(t);
  assert.equal((await tab.get("/r/vary", { "x-variant": "a" })).body, "vary a 1");
  await eventually("variant a stored", () => tab.call("cached", "/r/vary"));
  const a2 = await tab.get("/r/vary", { "x-variant": "a" });
  assert.deepEqual([a2.body, a2.fromCache], ["vary a 1", true]);
  const b1 = await tab.get("/r/vary", { "x-variant": "b" });
  assert.deepEqual([b1.body, b1.fromCache], ["vary b 2", false]);
  // Chromium's Cache Storage keeps one response per URL: b replaces a.
  await eventually("variant b stored", async () => (await tab.get("/r/vary", { "x-variant": "b" })).fromCache);
  const a3 = await tab.get("/r/vary", { "x-variant": "a" });
  assert.deepEqual([a3.body.startsWith("vary a "), a3.fromCache], [true, false]);
  assert.ok(origin.count("/r/vary") >= 3);
});

test("no-cache entries are revalidated by ETag and a 304 serves the stored body", async (t) => {
  const { origin, tab } = await fresh(t);
  assert.equal((await tab.get("/r/nocache")).body, "nocache 1");
  await eventually("the entry stored", () => tab.call("cached", "/r/nocache"));
  const again = await tab.get("/r/nocache");
  assert.deepEqual([again.status, again.body, again.fromCache], [200, "nocache 1", true]);
  assert.equal(origin.conditional.get("/r/nocache"), 1);
});

test("with the origin unreachable, cached responses are still served", async (t) => {
  const { origin, tab } = await fresh(t);
  await tab.get("/r/plain");
  await tab.get("/r/nocache");
  await eventually("both stored", async () => (await tab.call("cached", "/r/plain")) && (await tab.call("cached", "/r/nocache")));
  origin.down = true;
  const plain = await tab.get("/r/plain");
  const nocache = await tab.get("/r/nocache"); // revalidation fails: the stored copy answers
  const missing = await tab.get("/r/vary");
  assert.deepEqual([plain.body, plain.fromCache], ["plain 1", true]);
  assert.deepEqual([nocache.body, nocache.fromCache], ["nocache 1", true]);
  assert.equal(missing.status, 0, "an uncached resource cannot be served offline");
});
