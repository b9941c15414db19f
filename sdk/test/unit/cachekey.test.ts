import assert from "node:assert/strict";
import { test } from "node:test";
import { CacheKeyError, canonical, isURL, origin, tag, type Reason } from "../../src/cachekey";
import { readTestdata } from "./testdata";

interface Vector {
  in?: string;
  inHex?: string;
  out?: string;
  error?: Reason;
}

const vectors = (JSON.parse(readTestdata("cachekey", "vectors.json")) as { vectors: Vector[] }).vectors;
const tags = JSON.parse(readTestdata("cachekey", "tags.json")) as { valid: string[]; invalid: string[] };

function input(v: Vector): string | Uint8Array {
  if (v.inHex === undefined) return v.in ?? "";
  return Uint8Array.from(v.inHex.match(/../g) ?? [], (h) => parseInt(h, 16));
}

function reasonOf(f: () => unknown): Reason | "" {
  try {
    f();
    return "";
  } catch (e) {
    assert.ok(e instanceof CacheKeyError, `want CacheKeyError, got ${String(e)}`);
    return e.reason;
  }
}

test("golden vectors: same canonical key or same reason as Go", () => {
  assert.ok(vectors.length > 50, "vectors.json looks truncated");
  for (const v of vectors) {
    const name = v.in ?? v.inHex ?? "";
    if (v.error !== undefined) {
      assert.equal(reasonOf(() => canonical(input(v))), v.error, name);
    } else {
      assert.equal(canonical(input(v)), v.out, name);
    }
  }
});

test("canonical is idempotent on every golden output", () => {
  for (const v of vectors) if (v.out !== undefined) assert.equal(canonical(v.out), v.out);
});

test("golden tags: valid accepted, invalid refused with bad-tag", () => {
  for (const t of tags.valid) assert.equal(reasonOf(() => tag(t)), "", t);
  for (const t of tags.invalid) assert.equal(reasonOf(() => tag(t)), "bad-tag", t);
});

test("strings that are not UTF-8 (lone surrogates) are refused", () => {
  assert.equal(reasonOf(() => canonical("ns:a\uD800")), "invalid-utf8");
  assert.equal(reasonOf(() => canonical("ns:\uDC00b")), "invalid-utf8");
  assert.equal(canonical("ns:\uD83D\uDE00"), "ns:\uD83D\uDE00");
});

test("error input is truncated to 64 bytes without cutting a character", () => {
  const long = "ftp://" + "é".repeat(40);
  try {
    canonical(long);
    assert.fail("accepted");
  } catch (e) {
    assert.ok(e instanceof CacheKeyError);
    assert.equal(e.reason, "unsupported-scheme");
    assert.ok(e.input.endsWith("…"));
    assert.ok(new TextEncoder().encode(e.input.slice(0, -1)).length <= 64);
    assert.ok(!e.input.includes("\uFFFD"));
  }
});

test("origin and isURL", () => {
  const cases: [string, string][] = [
    ["https://shop.example/cart?a=1", "https://shop.example"],
    ["http://[::1]:8080/x", "http://[::1]:8080"],
    ["https://shop.example", "https://shop.example"],
    ["img:logo", ""],
  ];
  for (const [key, want] of cases) {
    assert.equal(origin(key), want, key);
    assert.equal(isURL(key), want !== "", key);
  }
});

test("random inputs either canonicalize idempotently or fail with a reason", () => {
  // A small seeded fuzz pass: no exception other than CacheKeyError, and
  // canonical(canonical(x)) === canonical(x).
  let seed = 12345;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const alphabet = ["h", "t", "p", "s", ":", "/", "?", "&", "=", "%", "2", "f", "F", ".", "..", "[", "]", "@", "#", "é", "a", "Z", "\u0000", " ", "~", "80", "443"];
  for (let i = 0; i < 5000; i++) {
    let s = rnd(3) === 0 ? "" : rnd(2) ? "https://" : "ns:";
    for (let n = rnd(24); n > 0; n--) s += alphabet[rnd(alphabet.length)];
    let out: string;
    try {
      out = canonical(s);
    } catch (e) {
      assert.ok(e instanceof CacheKeyError, `${JSON.stringify(s)}: ${String(e)}`);
      continue;
    }
    assert.equal(canonical(out), out, JSON.stringify(s));
  }
});
