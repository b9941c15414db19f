import assert from "node:assert/strict";
import { test } from "node:test";
import {
  InvalidRecordError, UnsupportedVersionError, decodeAdvice, decodeGeneration, decodeRead, decodeTransition,
} from "../../src/record";
import { readTestdata } from "./testdata";

const golden = {
  transition: readTestdata("records", "transition.v1.json"),
  read: readTestdata("records", "read.v1.json"),
  advice: readTestdata("records", "advice.v1.json"),
  generation: readTestdata("records", "generation.v1.json"),
};
const decoders = { transition: decodeTransition, read: decodeRead, advice: decodeAdvice, generation: decodeGeneration };

test("golden records decode to every field they carry", () => {
  for (const [name, text] of Object.entries(golden)) {
    const decoded = decoders[name as keyof typeof decoders](text);
    assert.deepEqual({ ...decoded }, { ...decoded, ...JSON.parse(text) }, name);
  }
  const t = decodeTransition(golden.transition);
  assert.equal(t.key, "https://shop.example/cart");
  assert.equal(t.version, 7);
  assert.equal(t.state, "INVALIDATED");
  assert.deepEqual([t.block, t.txIndex], [42, 3]);
  assert.deepEqual(t.tags, ["catalog", "eu"]);
});

test("the golden generation names its scope, owner and generation", () => {
  const g = decodeGeneration(golden.generation);
  assert.deepEqual([g.scope, g.value, g.owner, g.generation, g.soft], ["tag", "catalog", "Org1MSP", 4, true]);
  assert.deepEqual([g.block, g.txIndex], [43, 0]);
});

test("generations that break a rule are refused with a reason", () => {
  const base = JSON.parse(golden.generation);
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["unknown scope", { scope: "path" }, /unknown scope path/],
    ["empty value", { value: "" }, /empty scope value/],
    ["empty owner", { owner: "" }, /empty owner/],
    ["generation 0", { generation: 0 }, /generation 0/],
    ["soft not a boolean", { soft: "yes" }, /field soft/],
    ["empty txId", { txId: "" }, /empty txId/],
  ];
  for (const [name, patch, want] of cases) {
    assert.throws(() => decodeGeneration(JSON.stringify({ ...base, ...patch })), (e) => e instanceof InvalidRecordError && want.test(e.message), name);
  }
});

test("a soft invalidation's STALE state decodes", () => {
  const t = decodeTransition(JSON.stringify({ ...JSON.parse(golden.transition), state: "STALE" }));
  assert.equal(t.state, "STALE");
});

test("golden records decode from bytes too", () => {
  const t = decodeTransition(new TextEncoder().encode(golden.transition));
  assert.equal(t.txId, JSON.parse(golden.transition).txId);
});

test("an unknown schema version is refused, never guessed", () => {
  for (const [name, text] of Object.entries(golden)) {
    const decode = decoders[name as keyof typeof decoders];
    for (const v of [0, 2, 99]) {
      const o = { ...JSON.parse(text), v };
      assert.throws(() => decode(JSON.stringify(o)), (e) => e instanceof UnsupportedVersionError && e.got === v, `${name} v=${v}`);
    }
    const { v: _, ...noVersion } = JSON.parse(text);
    assert.throws(() => decode(JSON.stringify(noVersion)), UnsupportedVersionError, `${name} without v`);
  }
});

test("transitions that break a rule are refused with a reason", () => {
  const base = JSON.parse(golden.transition);
  const cases: [string, Record<string, unknown>, RegExp][] = [
    ["empty key", { key: "" }, /empty key/],
    ["version 0", { version: 0 }, /version 0/],
    ["unknown state", { state: "GONE" }, /unknown state GONE/],
    ["empty txId", { txId: "" }, /empty txId/],
    ["string version", { version: "7" }, /field version/],
    ["negative block", { block: -1 }, /field block/],
    ["txIndex over uint32", { txIndex: 2 ** 32 }, /field txIndex/],
    ["bad timestamp", { ts: "yesterday" }, /field ts/],
    ["tags not strings", { tags: [1] }, /field tags/],
  ];
  for (const [name, patch, want] of cases) {
    assert.throws(() => decodeTransition(JSON.stringify({ ...base, ...patch })), (e) => e instanceof InvalidRecordError && want.test(e.message), name);
  }
});

test("malformed and oversized input is refused", () => {
  for (const bad of ["", "{", "[]", "null", "7", '"x"']) {
    assert.throws(() => decodeTransition(bad), InvalidRecordError, JSON.stringify(bad));
  }
  const huge = JSON.stringify({ ...JSON.parse(golden.transition), reason: "x".repeat(70_000) });
  assert.throws(() => decodeTransition(huge), /too large/);
});

test("reads and advice enforce their rules", () => {
  const read = JSON.parse(golden.read);
  assert.throws(() => decodeRead(JSON.stringify({ ...read, kind: "peek" })), /unknown kind peek/);
  assert.throws(() => decodeRead(JSON.stringify({ ...read, at: undefined })), /missing time/);
  const adv = JSON.parse(golden.advice);
  assert.throws(() => decodeAdvice(JSON.stringify({ ...adv, pStale: 1.5 })), /pStale outside/);
  assert.throws(() => decodeAdvice(JSON.stringify({ ...adv, readRate: -1 })), /readRate/);
  assert.throws(() => decodeAdvice(JSON.stringify({ ...adv, action: "panic" })), /unknown action/);
});

test("mutated transitions decode to a valid record or fail with a typed error", () => {
  // A seeded fuzz pass over the golden encoding: flip, drop and insert bytes.
  let seed = 7;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const src = golden.transition;
  const pool = '{}[]":,0123456789-.eE truefalsnul\\u';
  for (let i = 0; i < 5000; i++) {
    let s = src;
    for (let n = 1 + rnd(4); n > 0; n--) {
      const at = rnd(s.length);
      const op = rnd(3);
      const c = pool[rnd(pool.length)]!;
      s = op === 0 ? s.slice(0, at) + c + s.slice(at + 1) : op === 1 ? s.slice(0, at) + s.slice(at + 1) : s.slice(0, at) + c + s.slice(at);
    }
    try {
      const t = decodeTransition(s);
      assert.ok(t.key !== "" && t.version > 0 && t.txId !== "", s);
      assert.ok(["VALID", "INVALIDATED", "PURGED", "STALE"].includes(t.state), s);
      assert.ok(Number.isSafeInteger(t.block) && Number.isSafeInteger(t.txIndex), s);
    } catch (e) {
      assert.ok(e instanceof InvalidRecordError || e instanceof UnsupportedVersionError, `${s}: ${String(e)}`);
    }
  }
});
