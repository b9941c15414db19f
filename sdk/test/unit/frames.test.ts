import assert from "node:assert/strict";
import { test } from "node:test";
import { InvalidRecordError, UnsupportedVersionError, adviceOf, type Read } from "../../src/record";
import { needsRevalidation } from "../../src/sw/policy";
import { batch, endpoint, parseFrame, refreshDelay } from "../../src/transport";

const read = (i: number, key = `https://shop.example/items/${i}`): Read => ({
  v: 1, kind: "evict", key, version: i + 1, origin: "https://shop.example", client: "0f8e2c1a-3b4d-4e5f-8a9b-0c1d2e3f4a5b",
  at: "2026-11-25T06:41:00.123Z", traceparent: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
});
const frameBytes = (reads: Read[]): number => Buffer.byteLength(JSON.stringify({ t: "receipts", reads }));

test("receipts batches: at most 100 reads, within the frame limit, oldest first", () => {
  const reads = Array.from({ length: 250 }, (_, i) => read(i));
  const cases: [string, number, number][] = [
    // [name, maxFrameBytes, expected batch length]
    ["roomy limit caps at 100", 1 << 20, 100],
    ["16 KiB default", 16 << 10, Math.floor(((16 << 10) - frameBytes([])) / (frameBytes([read(0)]) - frameBytes([]) + 1))],
    ["tiny limit still sends one", 10, 1],
  ];
  for (const [name, max, want] of cases) {
    const b = batch(reads, max);
    assert.ok(Math.abs(b.length - want) <= 1, `${name}: ${b.length} reads, want about ${want}`);
    assert.deepEqual(b, reads.slice(0, b.length), `${name}: a prefix`);
    if (b.length > 1) assert.ok(frameBytes(b) <= max, `${name}: ${frameBytes(b)} B over ${max}`);
    if (b.length < 100 && b.length > 1) assert.ok(frameBytes(reads.slice(0, b.length + 1)) > max, `${name}: one more would fit`);
  }
  // Multi-byte keys count in UTF-8 bytes, as the server counts them.
  const wide = Array.from({ length: 100 }, (_, i) => read(i, `https://shop.example/${"é".repeat(200)}/${i}`));
  const b = batch(wide, 16 << 10);
  assert.ok(frameBytes(b) <= 16 << 10 && frameBytes(wide.slice(0, b.length + 1)) > 16 << 10);
  assert.deepEqual(batch([], 100), []);
});

test("advice, refreshed and receipted frames parse; a bad advice is ignored, not fatal", () => {
  const advice = {
    t: "advice", key: "https://shop.example/a", at: "2026-11-25T06:41:00.123Z", writeRate: 0.01, readRate: 2.5, pStale: 0.12,
    expectedStaleReads: 0.3, conflictRisk: 0, recommendedMaxAge: 120, action: "invalidate-early", engine: "cpu",
  };
  const f = parseFrame(JSON.stringify(advice));
  assert.equal(f?.t, "advice");
  if (f?.t !== "advice") return;
  assert.equal(f.advice.recommendedMaxAge, 120);
  assert.equal(f.advice.action, "invalidate-early");
  for (const bad of [{ ...advice, action: "panic" }, { ...advice, pStale: 2 }, { ...advice, key: "" }, { ...advice, recommendedMaxAge: -1 }]) {
    assert.equal(parseFrame(JSON.stringify(bad)), null, JSON.stringify(bad));
  }
  assert.deepEqual(parseFrame('{"t":"refreshed","exp":1767225600}'), { t: "refreshed", exp: 1767225600 });
  assert.deepEqual(parseFrame('{"t":"receipted","n":3,"dropped":1}'), { t: "receipted" });
  const w = parseFrame('{"t":"welcome","v":1,"pos":"p","resumed":false,"exp":5,"limits":{"maxFrameBytes":4096}}');
  assert.deepEqual(w, { t: "welcome", pos: "p", resumed: false, exp: 5, limit: 4096 });
  const tr = parseFrame('{"t":"transition","pos":"p2","key":"https://shop.example/a","version":7,"state":"INVALIDATED","txId":"x","ts":"2026-11-25T06:41:00.123456789Z"}');
  assert.equal(tr?.t, "transition");
  if (tr?.t === "transition") assert.ok(tr.at > 1.7e12, "arrival time in epoch milliseconds");
});

test("purge frames carry the generation record; one that breaks a rule is unreadable", () => {
  const frame = { t: "purge", pos: "p3", scope: "prefix", value: "https://shop.example/p/", owner: "Org1MSP", generation: 2, soft: true, txId: "x", ts: "2026-11-25T06:41:00Z" };
  const f = parseFrame(JSON.stringify(frame));
  assert.equal(f?.t, "purge");
  if (f?.t !== "purge") return;
  assert.equal(f.pos, "p3");
  assert.deepEqual([f.record.scope, f.record.value, f.record.owner, f.record.generation, f.record.soft, f.record.block], ["prefix", "https://shop.example/p/", "Org1MSP", 2, true, 0]);
  assert.ok(f.at > 1.7e12, "arrival time in epoch milliseconds");
  for (const bad of [{ scope: "path" }, { value: "" }, { generation: 0 }, { soft: "yes" }]) {
    assert.throws(() => parseFrame(JSON.stringify({ ...frame, ...bad })), InvalidRecordError, JSON.stringify(bad));
  }
});

test("adviceOf: advice frame fields with or without v", () => {
  const a = adviceOf({ key: "k:x", recommendedMaxAge: 5, action: "none" });
  assert.deepEqual([a.key, a.recommendedMaxAge, a.action, a.pStale], ["k:x", 5, "none", 0]);
  assert.throws(() => adviceOf({ key: "k:x", action: "none", v: 2 }), UnsupportedVersionError);
});

test("advice caps how long a stored copy is served without revalidation", () => {
  const res = (cc?: string): Response => new Response("b", { headers: cc ? { "cache-control": cc } : {} });
  const at = 1_000_000;
  const cases: [string, Response, number, number | undefined, boolean][] = [
    ["under both", res("max-age=300"), 59_000, 60, false],
    ["cap shorter than max-age", res("max-age=300"), 60_000, 60, true],
    ["max-age shorter than cap", res("max-age=30"), 30_000, 600, true],
    ["no max-age: the cap alone", res(), 60_000, 60, true],
    ["no max-age, no advice: until evicted", res(), 1e12, undefined, false],
    ["cap 0: every read", res("max-age=300"), 0, 0, true],
    ["no-cache wins", res("no-cache, max-age=300"), 0, 600, true],
  ];
  for (const [name, r, age, cap, want] of cases) assert.equal(needsRevalidation(r, at, at + age, cap), want, name);
});

test("endpoint: the POST endpoints for SSE clients", () => {
  assert.equal(endpoint("wss://push.example/ws", "receipts", "https://shop.example/").href, "https://push.example/receipts");
  assert.equal(endpoint("/push", "spans", "http://127.0.0.1:8080/").href, "http://127.0.0.1:8080/push/spans");
});

test("token renewal: a minute before exp, or a quarter of a short token's life", () => {
  const now = 1_767_225_600_000;
  const cases: [string, number, number][] = [
    ["an hour", 3600, 3540_000],
    ["five minutes", 300, 240_000],
    ["four minutes: a minute is a quarter", 240, 180_000],
    ["a minute", 60, 45_000],
    ["four seconds", 4, 3_000],
    ["already expired", -10, 500],
    ["expiring now", 0, 500],
  ];
  for (const [name, left, want] of cases) assert.equal(refreshDelay(now / 1000 + left, now), want, name);
});
