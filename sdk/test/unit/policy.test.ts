import assert from "node:assert/strict";
import { test } from "node:test";
import { mayServeStale, maxAge, merge, needsRevalidation, refusal, stampOf, type Refusal } from "../../src/sw/policy";

const res = (headers: Record<string, string>, status = 200): Response => new Response(status === 304 ? null : "body", { status, headers });
const get = (headers: Record<string, string> = {}): Request => new Request("https://shop.example/a", { headers });

test("refusal: what a shared cache must never hold", () => {
  const alice = get({ authorization: "Bearer alice" });
  // name, request, response, request carried cookies, want
  const cases: [string, Request, Response, boolean, Refusal | null][] = [
    ["plain", get(), res({ "cache-control": "max-age=60" }), false, null],
    ["no headers", get(), res({}), false, null],
    ["no-store", get(), res({ "cache-control": "max-age=60, no-store" }), false, "no-store"],
    ["NO-STORE upper case", get(), res({ "cache-control": "NO-STORE" }), false, "no-store"],
    ["no-store beats public", get(), res({ "cache-control": "public, no-store" }), true, "no-store"],
    ["private", get(), res({ "cache-control": "private, max-age=60" }), false, "private"],
    ["private with field names", get(), res({ "cache-control": 'private="set-cookie"' }), false, "private"],
    ["private beats public", alice, res({ "cache-control": "public, private" }), false, "private"],
    ["set-cookie visible", get(), res({ "set-cookie": "a=1" }), false, "set-cookie"],
    ["vary star", get(), res({ vary: "accept, *" }), false, "vary-star"],
    ["vary header names", get(), res({ vary: "accept-encoding" }), false, null],
    ["vary cookie", get(), res({ vary: "Accept, Cookie", "cache-control": "public" }), false, "vary-credentials"],
    ["vary authorization", alice, res({ vary: "authorization", "cache-control": "public" }), false, "vary-credentials"],
    ["not 200", get(), res({}, 404), false, "status"],
    ["POST", new Request("https://shop.example/a", { method: "POST" }), res({}), false, "method"],
    ["request no-store", get({ "cache-control": "no-store" }), res({}), false, "no-store"],
    // RFC 9111 §3.5: a response to a request with Authorization is shared only when it says so.
    ["authorization, max-age only", alice, res({ "cache-control": "max-age=60" }), false, "authorization"],
    ["authorization, no cache-control", alice, res({}), false, "authorization"],
    ["authorization, public", alice, res({ "cache-control": "public, max-age=60" }), false, null],
    ["authorization, s-maxage", alice, res({ "cache-control": "s-maxage=60" }), false, null],
    ["authorization, must-revalidate", alice, res({ "cache-control": "max-age=60, must-revalidate" }), false, null],
    ["authorization, Cachet-Cache: shared is not enough", alice, res({ "cachet-cache": "shared" }), false, "authorization"],
    // Cookies: shared only when the response opts in.
    ["cookies, max-age only", get(), res({ "cache-control": "max-age=60" }), true, "credentials"],
    ["cookies, s-maxage is not an opt-in", get(), res({ "cache-control": "s-maxage=60" }), true, "credentials"],
    ["cookies, public", get(), res({ "cache-control": "public, max-age=60" }), true, null],
    ["cookies, Cachet-Cache: shared", get(), res({ "cache-control": "max-age=60", "cachet-cache": "Shared" }), true, null],
    ["cookies, Cachet-Cache: other", get(), res({ "cachet-cache": "private" }), true, "credentials"],
    ["authorization and cookies, public", alice, res({ "cache-control": "public" }), true, null],
    ["authorization and cookies, must-revalidate", alice, res({ "cache-control": "must-revalidate" }), true, "credentials"],
  ];
  for (const [name, req, r, cookies, want] of cases) assert.equal(refusal(req, r, cookies), want, name);
});

test("merge: a 304's headers update the stored ones, Content-Length excepted", () => {
  const stored = new Headers({ "cache-control": "public, max-age=60", etag: '"1"', "content-length": "4", "x-app": "a" });
  const h = merge(stored, new Headers({ "cache-control": "no-store", "content-length": "0", date: "Wed, 02 Dec 2026 16:00:00 GMT" }));
  assert.deepEqual(
    [h.get("cache-control"), h.get("etag"), h.get("content-length"), h.get("x-app"), h.get("date")],
    ["no-store", '"1"', "4", "a", "Wed, 02 Dec 2026 16:00:00 GMT"],
  );
  assert.equal(stored.get("cache-control"), "public, max-age=60", "the stored headers are not changed");
  // The merged response goes through the same policy: a 304 saying private un-stores it.
  const merged = new Response("body", { headers: merge(stored, new Headers({ "cache-control": "private" })) });
  assert.equal(refusal(get(), merged, false), "private");
});

test("maxAge, mayServeStale and needsRevalidation", () => {
  assert.equal(maxAge(res({ "cache-control": "public, max-age=300" })), 300);
  assert.equal(maxAge(res({ "cache-control": "s-maxage=10" })), 10);
  assert.equal(maxAge(res({ "cache-control": "max-age=300, s-maxage=10" })), 10, "a shared cache uses s-maxage");
  assert.equal(maxAge(res({})), null);
  assert.equal(mayServeStale(res({ "cache-control": "max-age=60" })), true);
  assert.equal(mayServeStale(res({ "cache-control": "max-age=60, must-revalidate" })), false);
  assert.equal(mayServeStale(res({ "cache-control": "proxy-revalidate" })), false);
  assert.equal(mayServeStale(res({ "cache-control": "s-maxage=60" })), false);
  const stored = 1_000_000;
  assert.equal(needsRevalidation(res({ "cache-control": "max-age=60" }), stored, stored + 59_999), false);
  assert.equal(needsRevalidation(res({ "cache-control": "max-age=60" }), stored, stored + 60_000), true);
  assert.equal(needsRevalidation(res({ "cache-control": "no-cache" }), stored, stored), true);
  assert.equal(needsRevalidation(res({}), stored, stored + 1e12), false, "no max-age: fresh until Cachet evicts it");
});

test("stampOf: the origin's Cachet-Version, or null", () => {
  const cases: [string | undefined, number | null][] = [
    ["7", 7], [" 42 ", 42], ["0", 0], ["9007199254740991", 9007199254740991], ["9007199254740992", null], ["123456789012345", 123456789012345],
    [undefined, null], ["", null], ["-1", null], ["1.5", null], ["7, 8", null], ["v7", null], ["0x10", null],
  ];
  for (const [header, want] of cases) {
    assert.equal(stampOf(res(header === undefined ? {} : { "cachet-version": header })), want, String(header));
  }
});
