// The Service Worker's cache is shared by every user of the browser profile:
// in a real Chromium, two identities (alice, bob) take turns and bob must
// never be served alice's personal response, whether she was identified by a
// bearer token or by a cookie (HttpOnly, or with a narrow Path); responses
// that opt into sharing are shared. The origin names the caller in each body.
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

async function fresh(t: TestContext, swQuery = ""): Promise<{ origin: Origin; tab: Tab }> {
  await browser.context.clearCookies();
  const origin = await Origin.start();
  t.after(() => origin.close());
  const tab = await Tab.open(browser, origin, swQuery);
  t.after(() => tab.close());
  return { origin, tab };
}

// Personal: never shared. Shared: opt in (public, s-maxage, must-revalidate,
// Cachet-Cache: shared), so bob gets alice's copy from cache.
const bearerPersonal = ["/r/me", "/r/varyauth"];
const bearerShared = ["/r/mepublic", "/r/mesmaxage", "/r/memustrevalidate"];
const cookiePersonal = ["/r/me", "/r/varycookie", "/r/mesmaxage", "/r/memustrevalidate"];
const cookieShared = ["/r/mepublic", "/r/meshared"];

// turns has alice then bob read every path (their credentials from login;
// cookies are sent unless credentials is "omit") and checks who saw whose body.
async function turns(
  tab: Tab, personal: string[], shared: string[], login: (who: string) => Promise<Record<string, string>>, credentials: RequestCredentials = "same-origin",
): Promise<void> {
  const alice = await login("alice");
  for (const p of [...personal, ...shared]) assert.match((await tab.get(p, alice, "GET", credentials)).body, / alice 1$/, p);
  // Once the shared ones are stored, a personal one wrongly stored would be too.
  for (const p of shared) await eventually(`${p} stored`, () => tab.call("cached", p));
  for (const p of personal) assert.equal(await tab.call("cached", p), false, `${p} is in Cache Storage`);
  const bob = await login("bob");
  for (const p of personal) {
    const got = await tab.get(p, bob, "GET", credentials);
    assert.deepEqual([got.body, got.fromCache], [`${p.slice(3)} bob 2`, false], `bob's ${p}`);
  }
  for (const p of shared) {
    const got = await tab.get(p, bob, "GET", credentials);
    assert.deepEqual([got.body, got.fromCache], [`${p.slice(3)} alice 1`, true], `bob's ${p} (shared by opting in)`);
  }
}

test("bearer tokens: bob never sees alice's personal response; public, s-maxage and must-revalidate ones are shared", async (t) => {
  const { tab } = await fresh(t);
  // No cookies (credentials: "omit"): the bearer token is the only identity.
  await turns(tab, bearerPersonal, bearerShared, async (who) => ({ authorization: `Bearer ${who}` }), "omit");
});

for (const [name, cookie] of [
  ["an HttpOnly session cookie", { path: "/", httpOnly: true }],
  ["a session cookie with Path=/r", { path: "/r", httpOnly: false }],
] as const) {
  test(`cookies (${name}): bob never sees alice's personal response; public and Cachet-Cache: shared ones are shared`, async (t) => {
    const { origin, tab } = await fresh(t);
    await turns(tab, cookiePersonal, cookieShared, async (who) => {
      await browser.context.clearCookies();
      await browser.context.addCookies([{ name: "sid", value: who, domain: "127.0.0.1", ...cookie }]);
      return {};
    });
    assert.equal(origin.count("/r/me"), 2);
  });
}

test("cookies=visible: with no cookie a response is shared; a cookie the Cookie Store API sees keeps it personal", async (t) => {
  const { tab } = await fresh(t, "&cookies=visible");
  // No cookie at all: an anonymous answer may be shared.
  assert.equal((await tab.get("/r/me?anon=1")).body, "me anonymous 1");
  await eventually("the anonymous answer stored", () => tab.call("cached", "/r/me?anon=1"));
  assert.deepEqual(await tab.get("/r/me?anon=1").then((g) => [g.body, g.fromCache]), ["me anonymous 1", true]);
  await turns(tab, ["/r/me", "/r/varycookie"], cookieShared, async (who) => {
    await browser.context.clearCookies();
    await browser.context.addCookies([{ name: "sid", value: who, domain: "127.0.0.1", path: "/" }]);
    return {};
  });
});

test("a copy with no entity tag is revalidated with its Last-Modified, and a 304 serves it", async (t) => {
  const { origin, tab } = await fresh(t);
  assert.equal((await tab.get("/r/lastmod")).body, "lastmod 1");
  await eventually("the entry stored", () => tab.call("cached", "/r/lastmod"));
  const revalidated = await tab.get("/r/lastmod"); // no-cache: revalidated
  assert.deepEqual([revalidated.status, revalidated.body], [200, "lastmod 1"]);
  assert.deepEqual([origin.count("/r/lastmod"), origin.conditional.get("/r/lastmod")], [2, 1]);
});

for (const directive of ["no-store", "private"]) {
  test(`a 304 that says ${directive} deletes the stored copy instead of storing it again`, async (t) => {
    const { origin, tab } = await fresh(t);
    assert.equal((await tab.get("/r/flip")).body, "flip 1");
    await eventually("the entry stored", () => tab.call("cached", "/r/flip"));
    origin.notModified = { etag: '"f"', "cache-control": directive };
    const revalidated = await tab.get("/r/flip"); // no-cache: revalidated, 304
    assert.deepEqual([revalidated.status, revalidated.body], [200, "flip 1"]);
    assert.equal(origin.conditional.get("/r/flip"), 1);
    await eventually("the copy deleted", async () => !(await tab.call("cached", "/r/flip")));
    // The next read goes to the origin (the browser's own HTTP cache may
    // revalidate its private copy there: the body may still be flip 1).
    const next = await tab.get("/r/flip");
    assert.equal(next.fromCache, false);
    assert.equal(origin.count("/r/flip"), 3);
  });
}
