// Proof of propagation end to end: a Chromium page evicts its copy, its
// eviction receipt goes through push to cachet.reads, `cachet analytics
// run` counts it, and `cachet coverage TXID` reports the page's client.
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { createInterface } from "node:readline";
import { after, before, test } from "node:test";
import { eventually, launch, type Browser } from "./browser";
import { Tab } from "./helpers";
import { Origin } from "./origin";
import { Stack, token } from "./stack";

const BIN = process.env.CACHET_BIN ?? "../.bin/cachet";

let browser: Browser;
let stack: Stack;
let analytics: ReturnType<typeof spawn>;
let base = "";
before(async () => {
  [browser, stack] = await Promise.all([launch(), Stack.start()]);
  analytics = spawn(BIN, ["analytics", "run", "--brokers", stack.brokers, "--engine", "cpu", "--listen", "127.0.0.1:0"], { stdio: "pipe" });
  base = await new Promise<string>((resolve, reject) => {
    const lines: string[] = [];
    const t = setTimeout(() => reject(new Error(`cachet analytics run printed no coverage address:\n${lines.join("\n")}`)), 60_000);
    analytics.on("exit", (code) => (clearTimeout(t), reject(new Error(`cachet analytics run exited ${code}:\n${lines.join("\n")}`))));
    for (const s of [analytics.stdout!, analytics.stderr!]) {
      createInterface({ input: s }).on("line", (l) => {
        lines.push(l);
        const m = /coverage on (http:\/\/\S+)\/v1\/coverage\//.exec(l);
        if (m) (clearTimeout(t), resolve(m[1]!));
      });
    }
  });
  await eventually("analytics consuming", async () => (await fetch(`${base}/healthz`).catch(() => null))?.ok === true);
});
after(async () => {
  analytics?.kill("SIGTERM");
  await browser?.close();
  await stack?.close();
});

test("cachet coverage reports the Chromium page's eviction of a transaction", async (t) => {
  const origin = await Origin.start();
  t.after(() => origin.close());
  const channels = [`origin:${origin.url}`];
  origin.tokens.channels = channels;
  const tab = await Tab.open(browser, origin);
  t.after(() => tab.close().catch(() => undefined));
  await tab.call("start", { pushUrl: stack.url, token: token(channels), channels, backoff: { baseMs: 200, maxMs: 1000 } });
  await eventually("live", async () => (await tab.call("stats")).state === "live");
  await tab.get("/r/plain");
  await eventually("stored", () => tab.call("cached", "/r/plain"));

  const txId = randomBytes(32).toString("hex");
  await stack.produce({ key: origin.url + "/r/plain", version: 3, txId });
  await eventually("evicted", async () => (await tab.call("events")).some((e: Record<string, unknown>) => e.type === "evict"));

  let out = "";
  await eventually("coverage counts the page", async () => {
    const r = spawnSync(BIN, ["coverage", txId, "--analytics", base], { encoding: "utf8" });
    out = `${r.stdout}${r.stderr}`;
    return r.status === 0 && /clients [1-9]\d* \(skewed \d+\)/.test(r.stdout);
  });
  assert.match(out, new RegExp(`^${origin.url.replace(/[.]/g, "\\.")}/r/plain@3 committed \\S+  clients 1 \\(skewed [01]\\)  lag p50 \\S+ p99 \\S+ max \\S+$`, "m"));
});
