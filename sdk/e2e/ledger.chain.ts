// The whole path from the ledger: `cachet publish` and `cachet invalidate`
// (and make demo's closing hint, run as scripts/demo.sh prints it) on a
// real Fabric network, the relay, push and the demo origin in
// `cachet dev`, and the demo page in Chromium evicting the item. It needs a
// running network, so it is not one of the *.test files `make test-sdk`
// runs: the e2e suite runs it on its own network (e2e/browser_test.go), and
// make sdk-ledger-check brings one up on CACHET_PORT_BASE, runs this and
// takes it down.
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { eventually, launch, type Browser } from "./browser";
import { cachet, Stack } from "./stack";

const dist = join(dirname(fileURLToPath(import.meta.url)), "..");
const root = join(dist, "..", "..");

// profile writes a connection profile of the running network for org's role.
function profile(dir: string, org: string, role: string): string {
  const r = spawnSync(join(root, "network", "network.sh"), ["profile", org, role], { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`network.sh profile ${org} ${role}: ${r.stderr}`);
  const path = join(dir, `${org}-${role}.json`);
  writeFileSync(path, r.stdout);
  return path;
}

let browser: Browser;
let stack: Stack;
let profiles: Record<string, string>;
let dir: string;
before(async () => {
  dir = mkdtempSync(join(tmpdir(), "cachet-ledger-"));
  const auditor = profile(dir, "org1", "auditor");
  profiles = {
    publisher: profile(dir, "org1", "publisher"),
    invalidator: profile(dir, "org2", "invalidator"),
    org1Invalidator: profile(dir, "org1", "invalidator"),
  };
  [browser, stack] = await Promise.all([launch(), Stack.demo(dist, undefined, ["--relay-profile", auditor])]);
});
after(async () => {
  await browser?.close();
  await stack?.close();
});

test("cachet invalidate on the ledger evicts the demo page's cached item", async () => {
  const page = await browser.context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(stack.origin + "/");
  await page.waitForFunction(() => (window as unknown as { demo?: { ready: boolean } }).demo?.ready === true);
  await eventually("live", async () => /live/.test((await page.textContent("#state")) ?? ""));
  const key = `${stack.origin}/items/1`;
  // Published on the ledger with the item's validators (version 1: the
  // page hears it too), then cached by the page.
  cachet("publish", "--config", profiles.publisher!, "--tag", "catalog", "--max-age", "300", "--etag", '"item-1-r0"', key);
  await page.waitForSelector(`#evictions tr[data-key="${key}"][data-version="1"]`, { timeout: 60_000 });
  await page.click('button[data-n="1"]');
  await page.waitForSelector(`#cached tr[data-key="${key}"]`);

  cachet("invalidate", "--config", profiles.invalidator!, "--reason", "price change", key);
  const row = await page.waitForSelector(`#evictions tr[data-key="${key}"][data-version="2"]`, { timeout: 60_000 });
  const latency = Number(await row.getAttribute("data-latency"));
  assert.ok(Number.isFinite(latency) && latency >= 0, `latency ${latency}`);
  await page.waitForSelector(`#cached tr[data-key="${key}"]`, { state: "detached" });
  assert.match((await row.textContent()) ?? "", /evicted/);
  console.log(`ledger commit → browser eviction: ${latency.toFixed(0)} ms`);
  if (process.env.CACHET_LEDGER_SCREENSHOT) await page.screenshot({ path: process.env.CACHET_LEDGER_SCREENSHOT, fullPage: true });
  await page.close();
});

test("a tag invalidation and a batch invalidation on the ledger evict every key they name", async () => {
  const page = await browser.context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(stack.origin + "/");
  await page.waitForFunction(() => (window as unknown as { demo?: { ready: boolean } }).demo?.ready === true);
  await eventually("live", async () => /live/.test((await page.textContent("#state")) ?? ""));
  const key = (n: number) => `${stack.origin}/items/${n}`;
  const tagged = [2, 3], batched = [4, 5, 6];
  // Publish (the page hears version 1 of each), then cache every item.
  for (const n of [...tagged, ...batched]) {
    const tag = tagged.includes(n) ? "ledger-tag" : "ledger-batch";
    cachet("publish", "--config", profiles.publisher!, "--tag", tag, "--max-age", "300", "--etag", `"item-${n}-r0"`, key(n));
  }
  for (const n of [...tagged, ...batched]) {
    await page.waitForSelector(`#evictions tr[data-key="${key(n)}"][data-version="1"]`, { timeout: 60_000 });
    await page.click(`button[data-n="${n}"]`);
    await page.waitForSelector(`#cached tr[data-key="${key(n)}"]`);
  }

  cachet("invalidate-tag", "--config", profiles.invalidator!, "--reason", "tag rebuild", "ledger-tag");
  for (const n of tagged) await page.waitForSelector(`#cached tr[data-key="${key(n)}"]`, { state: "detached", timeout: 60_000 });
  for (const n of batched) assert.ok(await page.$(`#cached tr[data-key="${key(n)}"]`), `item ${n} is not tagged and stays cached`);

  // Several keys in one command go to the ledger as one batch transaction.
  cachet("invalidate", "--config", profiles.invalidator!, "--reason", "batch", ...batched.map(key));
  for (const n of batched) await page.waitForSelector(`#cached tr[data-key="${key(n)}"]`, { state: "detached", timeout: 60_000 });
  await page.close();
});

// demoHint is the command line make demo's closing text tells the reader
// to run (scripts/demo.sh), as written there: `.bin/cachet …` with $run
// and $origin for the shell to expand.
function demoHint(): string {
  const script = readFileSync(join(root, "scripts", "demo.sh"), "utf8");
  const m = /^\s*(\.bin\/cachet invalidate .*)$/m.exec(script);
  assert.ok(m, "scripts/demo.sh's closing text has no `.bin/cachet invalidate …` line");
  return m[1]!;
}

test("the demo's closing hint, run as written, evicts item 3 from the page", async () => {
  const page = await browser.context.newPage();
  page.on("pageerror", (e) => console.error("page error:", e.message));
  await page.goto(stack.origin + "/");
  await page.waitForFunction(() => (window as unknown as { demo?: { ready: boolean } }).demo?.ready === true);
  await eventually("live", async () => /live/.test((await page.textContent("#state")) ?? ""));
  // As the demo session does: Org1's publisher publishes the six items
  // (HTTP://… is stored canonical), then purges the tag in one transaction.
  for (let n = 1; n <= 6; n++) {
    cachet("publish", "--config", profiles.publisher!, "--tag", "catalog", "--max-age", "300", "--etag", `"v${n}"`, `HTTP://${new URL(stack.origin).host}/items/${n}`);
  }
  const purged = /generation (\d+)/.exec(cachet("purge", "--config", profiles.publisher!, "--tag", "catalog", "--reason", "catalog rebuild"));
  assert.ok(purged, "cachet purge --tag catalog named no generation");
  const key = `${stack.origin}/items/3`;
  const got = cachet("get", "--config", profiles.publisher!, key);
  const tagged = /\sv(\d+)\s.*effective INVALIDATED by purge tag:catalog/.exec(got);
  assert.ok(tagged, `items/3 is not covered by the tag purge: ${got}`);
  // The page has heard the purge; now it fetches and caches item 3.
  await page.waitForSelector(`#evictions tr[data-key="tag:catalog"][data-version="generation ${purged[1]}"]`, { timeout: 60_000 });
  await page.click('button[data-n="3"]');
  await page.waitForSelector(`#cached tr[data-key="${key}"]`);

  // The hint, run by a shell in a folder whose .bin/cachet is the build
  // under test, with $run holding the demo's org1-invalidator.json.
  const work = mkdtempSync(join(tmpdir(), "cachet-hint-"));
  mkdirSync(join(work, ".bin"));
  symlinkSync(resolve(process.env.CACHET_BIN ?? "../.bin/cachet"), join(work, ".bin", "cachet"));
  const hint = demoHint();
  const r = spawnSync("bash", ["-c", hint], { cwd: work, encoding: "utf8", env: { ...process.env, run: dir, origin: stack.origin } });
  assert.equal(r.status, 0, `${hint}: exit ${r.status}\n${r.stdout}${r.stderr}`);
  const v = /\sv(\d+)\s+INVALIDATED\s/.exec(r.stdout);
  assert.ok(v && Number(v[1]) > Number(tagged[1]), `${hint} printed ${r.stdout}: want a version after ${tagged[1]}`);
  await page.waitForSelector(`#evictions tr[data-key="${key}"][data-version="${v[1]}"]`, { timeout: 60_000 });
  await page.waitForSelector(`#cached tr[data-key="${key}"]`, { state: "detached", timeout: 60_000 });
  await page.close();
});
