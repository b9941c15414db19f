import assert from "node:assert/strict";
import { test } from "node:test";
import { maxAge, needsRevalidation, refusal, type Refusal } from "../../src/sw/policy";

const res = (headers: Record<string, string>, status = 200): Response => new Response(status === 304 ? null : "body", { status, headers });

test("refusal: what a shared cache must never hold", () => {
  const get = new Request("https://shop.example/a");
  const cases: [string, Request, Response, Refusal | null][] = [
    ["plain", get, res({ "cache-control": "max-age=60" }), null],
    ["no headers", get, res({}), null],
    ["no-store", get, res({ "cache-control": "max-age=60, no-store" }), "no-store"],
    ["NO-STORE upper case", get, res({ "cache-control": "NO-STORE" }), "no-store"],
    ["private", get, res({ "cache-control": "private, max-age=60" }), "private"],
    ["private with field names", get, res({ "cache-control": 'private="set-cookie"' }), "private"],
    ["set-cookie visible", get, res({ "set-cookie": "a=1" }), "set-cookie"],
    ["vary star", get, res({ vary: "accept, *" }), "vary-star"],
    ["vary header names", get, res({ vary: "accept-encoding" }), null],
    ["not 200", get, res({}, 404), "status"],
    ["POST", new Request("https://shop.example/a", { method: "POST" }), res({}), "method"],
    ["request no-store", new Request("https://shop.example/a", { headers: { "cache-control": "no-store" } }), res({}), "no-store"],
  ];
  for (const [name, req, r, want] of cases) assert.equal(refusal(req, r), want, name);
});

test("maxAge and needsRevalidation", () => {
  assert.equal(maxAge(res({ "cache-control": "public, max-age=300" })), 300);
  assert.equal(maxAge(res({ "cache-control": "s-maxage=10" })), null);
  assert.equal(maxAge(res({})), null);
  const stored = 1_000_000;
  assert.equal(needsRevalidation(res({ "cache-control": "max-age=60" }), stored, stored + 59_999), false);
  assert.equal(needsRevalidation(res({ "cache-control": "max-age=60" }), stored, stored + 60_000), true);
  assert.equal(needsRevalidation(res({ "cache-control": "no-cache" }), stored, stored), true);
  assert.equal(needsRevalidation(res({}), stored, stored + 1e12), false, "no max-age: fresh until Cachet evicts it");
});
