import assert from "node:assert/strict";
import { test } from "node:test";
import { backoffDelay } from "../../src/backoff";
import { closeAction, endpoint, type After } from "../../src/transport";

test("close codes map to the protocol's client actions", () => {
  const cases: [number, After][] = [
    [1000, "retry"], [1001, "retry"], [1006, "retry"], [4000, "retry"], [4001, "retry"], [4002, "retry"], [4003, "retry"],
    [4029, "slow"], [4100, "token"], [4101, "token"], [4199, "token"],
    [1008, "stop"], [1009, "stop"], [4400, "stop"], [4401, "stop"], [4404, "stop"], [4409, "stop"], [4499, "stop"],
  ];
  for (const [code, want] of cases) assert.equal(closeAction(code), want, String(code));
});

test("endpoint derives /ws and /sse from the push URL", () => {
  const base = "https://shop.example/page";
  const cases: [string, "ws" | "sse", string][] = [
    ["https://push.example", "ws", "wss://push.example/ws"],
    ["https://push.example/", "sse", "https://push.example/sse"],
    ["http://127.0.0.1:9000", "ws", "ws://127.0.0.1:9000/ws"],
    ["wss://push.example/ws", "sse", "https://push.example/sse"],
    ["ws://push.example/cachet", "ws", "ws://push.example/cachet/ws"],
    ["/push", "sse", "https://shop.example/push/sse"],
  ];
  for (const [url, kind, want] of cases) assert.equal(endpoint(url, kind, base).href, want, `${url} ${kind}`);
});

test("backoff: full jitter under an exponential ceiling capped at max", () => {
  const o = { baseMs: 500, maxMs: 30_000 };
  const ceilings = [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000];
  ceilings.forEach((c, n) => {
    assert.equal(backoffDelay(n, o, () => 0), 0, `attempt ${n} low end`);
    assert.equal(backoffDelay(n, o, () => 0.999999), Math.floor(0.999999 * c), `attempt ${n} high end`);
  });
  assert.equal(backoffDelay(1e6, o, () => 0.5), 15_000, "huge attempt counts stay capped");
  const seen = new Set(Array.from({ length: 200 }, () => backoffDelay(3, o)));
  assert.ok(seen.size > 50, "delays are spread, not in lock step");
  for (const d of seen) assert.ok(d >= 0 && d < 4000);
});
