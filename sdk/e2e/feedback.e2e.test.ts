// What the browser reports back and what it is told besides transitions,
// through a real `cachet push`: eviction receipts and read telemetry
// (receipts frames, acknowledged before they are forgotten, queued while
// offline), eviction spans in the ledger transaction's trace, analytics'
// advice honoured by the Service Worker, and short-lived tokens renewed on
// a live connection or after a 41xx close.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test, type TestContext } from "node:test";
import { gunzipSync } from "node:zlib";
import { eventually, launch, type Browser } from "./browser";
import { Tab } from "./helpers";
import { Origin } from "./origin";
import { flags, PUSH_BIN, Stack, token } from "./stack";

/** OTLP/HTTP receiver: keeps the (protobuf) bodies posted to /v1/traces. */
class Collector {
  readonly bodies: Buffer[] = [];
  private constructor(private readonly server: Server) {}
  static async start(): Promise<Collector> {
    let c: Collector | undefined;
    const server = createServer((req, res) => {
      const parts: Buffer[] = [];
      req.on("data", (d: Buffer) => parts.push(d));
      req.on("end", () => {
        const body = Buffer.concat(parts);
        c!.bodies.push(req.headers["content-encoding"] === "gzip" ? gunzipSync(body) : body);
        res.writeHead(200, { "content-type": req.headers["content-type"] ?? "application/x-protobuf" }).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    c = new Collector(server);
    return c;
  }
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  /** has reports whether one posted body contains every needle (protobuf keeps strings and IDs as raw bytes). */
  has(...needles: Buffer[]): boolean {
    return this.bodies.some((b) => needles.every((n) => b.includes(n)));
  }
  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

let browser: Browser;
let stack: Stack;
let otlp: Collector;
before(async () => {
  otlp = await Collector.start();
  [browser, stack] = await Promise.all([launch(), Stack.start({ otlp: otlp.url })]);
});
after(async () => {
  await browser?.close();
  await stack?.close();
  await otlp?.close();
});

interface Site {
  origin: Origin;
  key: (path: string) => string;
  channels: string[];
}

async function site(t: TestContext): Promise<Site> {
  const origin = await Origin.start();
  t.after(() => origin.close());
  const channels = [`origin:${origin.url}`];
  origin.tokens.channels = channels;
  return { origin, key: (p) => origin.url + p, channels };
}

async function tab(t: TestContext, s: Site, opts: Record<string, unknown> = {}): Promise<Tab> {
  const tb = await Tab.open(browser, s.origin);
  t.after(() => tb.close().catch(() => undefined));
  await tb.call("start", {
    pushUrl: stack.url, token: token(s.channels), channels: s.channels, backoff: { baseMs: 200, maxMs: 1000 }, ...opts,
  });
  return tb;
}

type Stats = Record<string, number | string | boolean | null>;
const stats = (tb: Tab): Promise<Stats> => tb.call("stats") as Promise<Stats>;
const live = async (tb: Tab): Promise<boolean> => (await stats(tb)).state === "live";
const events = async (tb: Tab, type: string): Promise<Record<string, unknown>[]> => (await tb.call("events")).filter((e) => e.type === type);

async function cache(tb: Tab, path: string): Promise<void> {
  await tb.get(path);
  await eventually(`${path} stored`, () => tb.call("cached", path));
}

const accepted = (): Promise<number> => stack.metric("cachet_push_reads_accepted_total");
const dropped = (): Promise<number> => stack.metric("cachet_push_reads_dropped_total");

test("eviction receipts and read telemetry reach push and are forgotten once acknowledged", async (t) => {
  const s = await site(t);
  const a = await tab(t, s);
  await eventually("live", () => live(a));
  const [acc0, drop0] = [await accepted(), await dropped()];

  await cache(a, "/r/plain"); // a miss
  assert.equal((await a.get("/r/plain")).fromCache, true); // a hit
  await stack.produce({ key: s.key("/r/plain"), version: 3 });
  await eventually("evicted", async () => (await events(a, "evict")).length === 1);

  // miss + hit + the eviction receipt, all acknowledged and gone from the outbox.
  await eventually("three acknowledged", async () => (await stats(a)).receipted === 3 && (await a.call("outbox")) === 0);
  assert.equal((await accepted()) - acc0, 3, "push produced every report to cachet.reads");
  assert.equal((await dropped()) - drop0, 0, "push dropped a report");
});

test("offline, reports wait in IndexedDB and are sent after reconnecting", async (t) => {
  const s = await site(t);
  const a = await tab(t, s);
  await eventually("live", () => live(a));
  await cache(a, "/r/plain?k=1");
  await eventually("the miss acknowledged", async () => (await stats(a)).receipted === 1);

  stack.proxy.partition();
  t.after(() => stack.proxy.heal());
  await eventually("offline", async () => (await stats(a)).state === "offline");
  const acc0 = await accepted();
  assert.equal(await a.call("getMany", "/r/plain?k=1", 5), 5);
  await eventually("five hits queued", async () => (await a.call("outbox")) === 5);
  assert.equal((await stats(a)).receipted, 1, "nothing acknowledged while offline");

  stack.proxy.heal();
  await eventually("sent after reconnecting", async () => (await a.call("outbox")) === 0 && (await stats(a)).receipted === 6);
  assert.equal((await accepted()) - acc0, 5);
});

const unsampled = (): Promise<number> => stack.metric("cachet_push_spans_dropped_total", 'reason="unsampled"');
// Spans push accepted: exported, or valid but not sampled (a push without a tracer provider).
const spansTaken = async (): Promise<number> => (await stack.metric("cachet_push_spans_exported_total")) + (await unsampled());
// Spans push refused for breaking a rule.
const spansRefused = async (): Promise<number> => (await stack.metric("cachet_push_spans_dropped_total")) - (await unsampled());

test("reports and spans go by POST /receipts and /spans over Server-Sent Events", async (t) => {
  const s = await site(t);
  s.origin.push = stack.url; // push on the page's own origin, as EventSource needs
  const a = await tab(t, s, { transport: "sse", pushUrl: s.origin.url + "/push" });
  await eventually("live", () => live(a));
  const [acc0, spans0, refused0] = [await accepted(), await spansTaken(), await spansRefused()];
  await cache(a, "/r/plain");
  const traceparent = `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`;
  await stack.produce({ key: s.key("/r/plain"), version: 1, traceparent });
  await eventually("miss and receipt acknowledged", async () => (await stats(a)).receipted === 2 && (await a.call("outbox")) === 0);
  assert.equal((await accepted()) - acc0, 2);
  await eventually("push took the span", async () => (await spansTaken()) - spans0 === 1);
  assert.equal((await spansRefused()) - refused0, 0, "push refused the span");
});

test("each eviction is a span in the transaction's trace, exported by push", async (t) => {
  const s = await site(t);
  const a = await tab(t, s);
  await eventually("live", () => live(a));
  await cache(a, "/r/plain");
  const trace = randomBytes(16).toString("hex");
  const parent = randomBytes(8).toString("hex");
  const [exp0, taken0, refused0] = [await stack.metric("cachet_push_spans_exported_total"), await spansTaken(), await spansRefused()];
  await stack.produce({ key: s.key("/r/plain"), version: 1, traceparent: `00-${trace}-${parent}-01` });
  await eventually("evicted", async () => (await events(a, "evict")).length === 1);
  const ev = (await events(a, "evict"))[0]!;
  // The frame's traceparent is push's fan-out span (or the ledger's own, from a push without one), in the same trace.
  assert.match(String(ev.traceparent), new RegExp(`^00-${trace}-[0-9a-f]{16}-01$`));
  await eventually("one span sent", async () => (await stats(a)).spans === 1);
  await eventually("push took the span", async () => (await spansTaken()) - taken0 === 1);
  assert.equal((await spansRefused()) - refused0, 0, "push refused the span");
  // A push that exports spans (--otlp-endpoint) sent it to the collector.
  if (flags("push", PUSH_BIN).has("otlp-endpoint")) {
    assert.equal((await stack.metric("cachet_push_spans_exported_total")) - exp0, 1);
    const spanParent = Buffer.from(String(ev.traceparent).split("-")[2]!, "hex");
    await eventually("the span at the collector", async () =>
      otlp.has(Buffer.from(trace, "hex"), spanParent, Buffer.from("cachet.sdk.evict"), Buffer.from("cachet.reported_by"), Buffer.from(s.key("/r/plain"))));
  }
});

test("advice: a recommended max-age caps serving without revalidation, also after the worker restarts", async (t) => {
  const s = await site(t);
  const a = await tab(t, s);
  await eventually("live", () => live(a));
  await cache(a, "/r/plain");
  assert.equal((await a.get("/r/plain")).fromCache, true);
  assert.equal(s.origin.count("/r/plain"), 1);

  // max-age=3600 from the origin, 0 from analytics: every read goes to the origin.
  await stack.advise({ key: s.key("/r/plain"), recommendedMaxAge: 0, action: "none" });
  await eventually("advice stored", async () => (await stats(a)).advice === 1);
  const adv = (await events(a, "advice"))[0]!;
  assert.deepEqual([adv.key, adv.recommendedMaxAge], [s.key("/r/plain"), 0]);
  assert.equal((await a.get("/r/plain")).body, "plain 2");
  assert.equal((await a.get("/r/plain")).body, "plain 3");

  await a.stopWorkers();
  assert.equal((await a.get("/r/plain")).body, "plain 4", "a restarted worker forgot the advice");
  assert.equal(s.origin.count("/r/plain"), 4);
});

test("advice: invalidate-early makes the next read revalidate by ETag, once", async (t) => {
  const s = await site(t);
  const a = await tab(t, s);
  await eventually("live", () => live(a));
  await cache(a, "/r/etag");
  assert.equal((await a.get("/r/etag")).fromCache, true);

  await stack.advise({ key: s.key("/r/etag"), recommendedMaxAge: 3600, action: "invalidate-early" });
  await eventually("advice stored", async () => (await stats(a)).advice === 1);
  const next = await a.get("/r/etag");
  assert.deepEqual([next.body, next.fromCache], ["etag 1", true], "a 304 serves the stored body");
  assert.equal(s.origin.conditional.get("/r/etag"), 1, "the next read asked the origin with If-None-Match");
  assert.equal((await a.get("/r/etag")).fromCache, true);
  assert.equal(s.origin.conditional.get("/r/etag"), 1, "the early revalidation is one-shot");
  assert.equal(s.origin.count("/r/etag"), 2);
});

test("short-lived tokens are renewed on the live connection", async (t) => {
  const s = await site(t);
  s.origin.tokens.ttls = [3];
  const a = await tab(t, s, { token: undefined, tokenUrl: "/token" });
  await eventually("live", () => live(a));
  await eventually("two renewals", async () => ((await stats(a)).refreshes as number) >= 2, 30_000);
  // Past the first token's expiry, on the same connection.
  await cache(a, "/r/plain");
  await stack.produce({ key: s.key("/r/plain"), version: 1 });
  await eventually("evicted", async () => !(await a.call("cached", "/r/plain")));
  const st = await stats(a);
  assert.deepEqual([st.state, st.reconnects, st.resets], ["live", 0, 0]);
});

test("after a 41xx close the client gets a new token and resumes", async (t) => {
  const s = await site(t);
  // The renewal hands push an expired token: it closes with 4100.
  s.origin.tokens.ttls = [3, -120, 3600];
  const a = await tab(t, s, { token: undefined, tokenUrl: "/token" });
  await eventually("live", () => live(a));
  await cache(a, "/r/plain");
  await eventually("closed with 4100", async () => (await events(a, "error")).some((e) => /4100/.test(String(e.message))), 30_000);
  await stack.produce({ key: s.key("/r/plain"), version: 1 });
  await eventually("back live and evicted", async () => (await live(a)) && !(await a.call("cached", "/r/plain")));
  const st = await stats(a);
  assert.equal(st.resets, 0, "resumed, no reset");
  assert.ok((st.reconnects as number) >= 1);
  assert.equal(s.origin.tokensIssued, 3);
});

test("over Server-Sent Events an expired stream reconnects with a new token", async (t) => {
  const s = await site(t);
  s.origin.push = stack.url;
  s.origin.tokens.ttls = [3, 3600];
  const a = await tab(t, s, { token: undefined, tokenUrl: "/token", transport: "sse", pushUrl: s.origin.url + "/push" });
  await eventually("live", () => live(a));
  await cache(a, "/r/plain");
  await eventually("a second token", async () => s.origin.tokensIssued === 2 && (await live(a)), 30_000);
  await stack.produce({ key: s.key("/r/plain"), version: 1 });
  await eventually("evicted", async () => !(await a.call("cached", "/r/plain")));
  assert.equal((await stats(a)).resets, 0);
});
