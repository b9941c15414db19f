// The demo origin of `cachet dev` in Chromium: the page starts the SDK,
// shows what is cached, and an invalidation produced to Kafka shows up as a
// live eviction with its latency from the ledger commit. The test saves a
// screenshot of the page (docs/demo.png when CACHET_DEMO_SCREENSHOT names it).
import assert from "node:assert/strict";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { eventually, launch, type Browser } from "./browser";
import { Stack } from "./stack";

// Bundled into sdk/dist/e2e/; the SDK's build folder is one up.
const dist = join(dirname(fileURLToPath(import.meta.url)), "..");

let browser: Browser;
let stack: Stack;
before(async () => {
  // The screenshot shows the documented addresses; a test run takes free ports.
  const ports = process.env.CACHET_DEMO_SCREENSHOT ? { push: 8090, origin: 8080 } : undefined;
  [browser, stack] = await Promise.all([launch(), Stack.demo(dist, ports)]);
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

test("the demo page shows a ledger invalidation evicting a cached item, with its latency", async () => {
  const page = await browser.context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.setViewportSize({ width: 1040, height: 760 });
  await page.goto(stack.origin + "/");
  await page.waitForFunction(() => (window as unknown as { demo?: { ready: boolean } }).demo?.ready === true);
  await eventually("live", async () => /live/.test((await page.textContent("#state")) ?? ""));

  // Fetch four items through the Service Worker; each lands in Cache Storage.
  for (const n of [1, 2, 3, 4]) await page.click(`button[data-n="${n}"]`);
  const key = (n: number): string => `${stack.origin}/items/${n}`;
  for (const n of [1, 2, 3, 4]) await page.waitForSelector(`#cached tr[data-key="${key(n)}"]`);
  await page.click(`button[data-n="2"]`);
  await eventually("item 2 served from cache", async () => (await page.textContent("#item-2")) ?.includes("from cache"));

  // The invalidations, as the relay would write them after the ledger committed.
  await stack.produce({ key: key(2), version: 1 }, { key: key(4), version: 1 });
  for (const n of [2, 4]) {
    const row = await page.waitForSelector(`#evictions tr[data-key="${key(n)}"]`);
    const latency = Number(await row.getAttribute("data-latency"));
    assert.ok(Number.isFinite(latency) && latency >= 0, `latency ${latency}`);
    assert.match((await row.textContent()) ?? "", /evicted.*\d+ ms/);
    await page.waitForSelector(`#cached tr[data-key="${key(n)}"]`, { state: "detached" });
  }
  for (const n of [1, 3]) assert.ok(await page.$(`#cached tr[data-key="${key(n)}"]`), `item ${n} was evicted too`);

  // Fetched again, item 2 comes from the origin and is cached anew.
  await page.click(`button[data-n="2"]`);
  await eventually("item 2 from the origin", async () => (await page.textContent("#item-2"))?.includes("from origin"));
  await page.waitForSelector(`#cached tr[data-key="${key(2)}"]`);
  await eventually("stats shown", async () => /evicted 2/.test((await page.textContent("#stats")) ?? ""));

  const out = process.env.CACHET_DEMO_SCREENSHOT ?? join(mkdtempSync(join(tmpdir(), "cachet-demo-")), "demo.png");
  await page.screenshot({ path: out, fullPage: true });
  await page.close();
});
