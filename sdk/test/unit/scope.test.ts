import assert from "node:assert/strict";
import { test } from "node:test";
import type { ScopeKind } from "../../src/record";
import { covers, tagsOf } from "../../src/scope";

test("covers: which stored copies a scope purge reaches", () => {
  // name, scope, value, canonical key, the copy's tags, want
  const cases: [string, ScopeKind, string, string, string[], boolean][] = [
    ["tag carried", "tag", "catalog", "https://shop.example/p/1", ["eu", "catalog"], true],
    ["tag not carried", "tag", "catalog", "https://shop.example/p/1", ["eu"], false],
    ["tag is exact, not a prefix", "tag", "cat", "https://shop.example/p/1", ["catalog"], false],
    ["untagged copy", "tag", "catalog", "https://shop.example/p/1", [], false],
    ["tag on an opaque key", "tag", "catalog", "k:inventory/7", ["catalog"], true],
    ["tag on any origin", "tag", "catalog", "http://cdn.example:8080/x", ["catalog"], true],
    ["prefix: under it", "prefix", "https://shop.example/p/", "https://shop.example/p/1?a=1", [], true],
    ["prefix: itself", "prefix", "https://shop.example/p/", "https://shop.example/p/", [], true],
    ["prefix: deeper", "prefix", "https://shop.example/p/", "https://shop.example/p/q/r", [], true],
    ["prefix: a sibling", "prefix", "https://shop.example/p/", "https://shop.example/pq/1", [], false],
    ["prefix: the parent without its slash", "prefix", "https://shop.example/p/", "https://shop.example/p", [], false],
    ["prefix: another origin", "prefix", "https://shop.example/p/", "http://shop.example/p/1", [], false],
    ["prefix: another port", "prefix", "https://shop.example/p/", "https://shop.example:8443/p/1", [], false],
    ["prefix: tags do not count", "prefix", "https://shop.example/p/", "https://shop.example/q", ["https://shop.example/p/"], false],
    ["host: https", "host", "shop.example", "https://shop.example/a", [], true],
    ["host: http with a port", "host", "shop.example", "http://shop.example:8080/a", [], true],
    ["host: a subdomain", "host", "shop.example", "https://www.shop.example/a", [], false],
    ["host: a longer name", "host", "shop.example", "https://shop.example.org/a", [], false],
    ["host: IPv4 with a port", "host", "127.0.0.1", "http://127.0.0.1:4173/r/plain", [], true],
    ["host: IPv6", "host", "[::1]", "http://[::1]:8080/a", [], true],
    ["host: IPv6 without a port", "host", "[::1]", "http://[::1]/a", [], true],
    ["host: opaque key", "host", "shop.example", "k:shop.example", [], false],
    ["origin: same", "origin", "https://shop.example", "https://shop.example/a?b=c", [], true],
    ["origin: another scheme", "origin", "https://shop.example", "http://shop.example/a", [], false],
    ["origin: another port", "origin", "http://127.0.0.1:4173", "http://127.0.0.1:4174/a", [], false],
    ["origin: with its port", "origin", "http://127.0.0.1:4173", "http://127.0.0.1:4173/a", [], true],
    ["origin: opaque key", "origin", "https://shop.example", "k:https://shop.example", [], false],
  ];
  for (const [name, scope, value, key, tags, want] of cases) assert.equal(covers({ scope, value }, key, tags), want, name);
});

test("tagsOf: Cache-Tag is comma-separated, Surrogate-Key space-separated", () => {
  const cases: [string, Record<string, string>, string[]][] = [
    ["none", {}, []],
    ["cache-tag", { "cache-tag": "catalog, eu,price" }, ["catalog", "eu", "price"]],
    ["surrogate-key", { "surrogate-key": "catalog  eu\tprice" }, ["catalog", "eu", "price"]],
    ["both, duplicates once", { "cache-tag": "catalog,eu", "surrogate-key": "eu price" }, ["catalog", "eu", "price"]],
    ["lower-cased, as ledger tags are", { "cache-tag": "Catalog" }, ["catalog"]],
    ["empty items dropped", { "cache-tag": ", ,catalog,", "surrogate-key": " " }, ["catalog"]],
  ];
  for (const [name, h, want] of cases) assert.deepEqual(tagsOf(new Headers(h)), want, name);
});
