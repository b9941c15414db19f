// The SDK against a scripted push server (Server-Sent Events and the POST
// endpoints, in node), where a test decides what push answers: the exact
// shape of what the browser sends, and what it does when push does not
// acknowledge its reports.
import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test, type TestContext } from "node:test";
import { eventually, launch, type Browser } from "./browser";
import { Tab } from "./helpers";
import { Origin } from "./origin";
import { token } from "./stack";

interface Posted {
  path: string;
  status: number;
  body: Record<string, unknown>;
}

/** ScriptedPush speaks push's SSE side and takes POST /receipts and /spans. */
class ScriptedPush {
  readonly posts: Posted[] = [];
  /** Status POST /receipts answers; 200 acknowledges with a receipted frame. */
  receiptStatus = 200;
  private streams = new Set<ServerResponse>();
  private constructor(private readonly server: Server) {}

  static async start(): Promise<ScriptedPush> {
    let p: ScriptedPush | undefined;
    const server = createServer((req, res) => p!.handle(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    p = new ScriptedPush(server);
    return p;
  }

  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  /** send writes one frame to every open stream. */
  send(f: Record<string, unknown>): void {
    for (const s of this.streams) s.write(`event: ${String(f.t)}\ndata: ${JSON.stringify(f)}\n\n`);
  }

  /** reads returns the reads push acknowledged, in order. */
  acknowledged(): Record<string, unknown>[] {
    return this.posts.filter((p) => p.path === "/receipts" && p.status === 200).flatMap((p) => p.body.reads as Record<string, unknown>[]);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? "").split("?")[0];
    if (req.method === "GET" && path === "/sse") {
      res.writeHead(200, { "content-type": "text/event-stream", "cache-control": "no-store" });
      this.streams.add(res);
      res.on("close", () => this.streams.delete(res));
      const exp = Math.floor(Date.now() / 1000) + 3600;
      const channels = new URL(req.url ?? "", this.url).searchParams.get("channels")?.split(",") ?? [];
      return void res.write(`event: welcome\ndata: ${JSON.stringify({ t: "welcome", v: 1, session: "s", channels, pos: "p0", resumed: false, exp, limits: { maxFrameBytes: 16384 } })}\n\n`);
    }
    const parts: Buffer[] = [];
    req.on("data", (d: Buffer) => parts.push(d));
    req.on("end", () => {
      const body = JSON.parse(Buffer.concat(parts).toString() || "{}") as Record<string, unknown>;
      const status = path === "/receipts" ? this.receiptStatus : 204;
      this.posts.push({ path: path ?? "", status, body });
      if (status !== 200) return void res.writeHead(status).end();
      const n = (body.reads as unknown[]).length;
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ t: "receipted", n, dropped: 0 }));
    });
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}

let browser: Browser;
before(async () => {
  browser = await launch();
});
after(async () => {
  await browser?.close();
});

async function setup(t: TestContext): Promise<{ push: ScriptedPush; origin: Origin; tab: Tab }> {
  const [push, origin] = await Promise.all([ScriptedPush.start(), Origin.start()]);
  t.after(() => Promise.all([push.close(), origin.close()]));
  origin.push = push.url;
  const tab = await Tab.open(browser, origin);
  t.after(() => tab.close().catch(() => undefined));
  const channels = [`origin:${origin.url}`];
  await tab.call("start", { pushUrl: origin.url + "/push", transport: "sse", token: token(channels), channels, backoff: { baseMs: 200, maxMs: 1000 } });
  await eventually("live", async () => (await tab.call("stats")).state === "live");
  return { push, origin, tab };
}

const RFC3339_MS = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/;

test("reports are forgotten only after push acknowledges them, sent in order in batches of at most 100", async (t) => {
  const { push, origin, tab } = await setup(t);
  push.receiptStatus = 503; // push could not store them
  await tab.get("/r/plain");
  await eventually("stored", () => tab.call("cached", "/r/plain"));
  assert.equal(await tab.call("getMany", "/r/plain", 150), 150);
  await eventually("151 reads queued", async () => (await tab.call("outbox")) === 151);
  await eventually("a refused attempt", async () => push.posts.some((p) => p.status === 503));
  assert.equal(await tab.call("outbox"), 151, "refused reports were forgotten");
  assert.equal((await tab.call("stats")).receipted, 0);

  push.receiptStatus = 200;
  await eventually("sent and forgotten", async () => (await tab.call("outbox")) === 0, 30_000);
  const reads = push.acknowledged();
  assert.equal(reads.length, 151, "each report acknowledged exactly once");
  assert.deepEqual(reads.map((r) => r.kind), ["miss", ...Array(150).fill("hit")]);
  for (const p of push.posts) assert.ok((p.body.reads as unknown[]).length <= 100, "a batch over 100");
  const clients = new Set(reads.map((r) => r.client));
  assert.equal(clients.size, 1);
  assert.match(String([...clients][0]), /^[0-9a-f-]{36}$/);
  for (const r of reads) {
    assert.deepEqual([r.v, r.key, r.origin], [1, origin.url + "/r/plain", origin.url]);
    assert.match(String(r.at), RFC3339_MS);
  }
  assert.equal((await tab.call("stats")).receipted, 151);
});

test("an applied transition sends its eviction span and receipt; a duplicate sends neither", async (t) => {
  const { push, origin, tab } = await setup(t);
  await tab.get("/r/plain");
  await eventually("stored", () => tab.call("cached", "/r/plain"));
  const tp = `00-${randomBytes(16).toString("hex")}-${randomBytes(8).toString("hex")}-01`;
  const key = origin.url + "/r/plain";
  const transition = { t: "transition", key, version: 4, state: "INVALIDATED", txId: "tx4", ts: new Date().toISOString(), traceparent: tp };
  const sentAt = Date.now();
  push.send({ ...transition, pos: "p1" });
  await eventually("the span", () => Promise.resolve(push.posts.find((p) => p.path === "/spans")));
  const span = push.posts.find((p) => p.path === "/spans")!.body;
  assert.deepEqual(
    [span.t, span.name, span.traceparent, span.attributes],
    ["span", "cachet.sdk.evict", tp, { "cache.key": key, "cache.version": "4", "cache.evicted": "1" }],
  );
  const [start, end] = [span.startMs as number, span.endMs as number];
  assert.ok(start <= end, `start ${start} after end ${end}`);
  assert.ok(Math.abs(start - sentAt) < 5_000, `start ${start} is not the frame's arrival (sent at ${sentAt})`);
  await eventually("the receipt", async () => push.acknowledged().some((r) => r.kind === "evict"));
  const receipt = push.acknowledged().find((r) => r.kind === "evict")!;
  assert.deepEqual([receipt.key, receipt.version, receipt.traceparent], [key, 4, tp]);

  push.send({ ...transition, pos: "p2" });
  await eventually("the duplicate heard", async () => (await tab.call("events")).filter((e) => e.type === "evict").length === 2);
  assert.equal((await tab.call("events")).filter((e) => e.type === "evict")[1]!.outcome, "duplicate");
  await eventually("outbox flushed", async () => (await tab.call("outbox")) === 0);
  assert.equal(push.posts.filter((p) => p.path === "/spans").length, 1, "a duplicate sent a span");
  assert.equal(push.acknowledged().filter((r) => r.kind === "evict").length, 1, "a duplicate sent a receipt");
});
