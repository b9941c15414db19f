// The web-platform-tests URL vectors through canonical(): the same buckets
// and rules as Go's cachekey/wpt_test.go, with the one table of differences
// in docs/cache-keys.md.
import assert from "node:assert/strict";
import { test } from "node:test";
import { CacheKeyError, canonical } from "../../src/cachekey";
import { readRepoFile, readTestdata } from "./testdata";

interface WptCase {
  input: string;
  base: string | null;
  href?: string;
  failure?: boolean;
}

const entries = JSON.parse(readTestdata("url", "urltestdata.json")) as (string | WptCase)[];

/** The codes of the "refused" rows of the table in docs/cache-keys.md. */
function refusedOnPurpose(): Set<string> {
  const codes = new Set<string>();
  for (const line of readRepoFile("docs", "cache-keys.md").split("\n")) {
    if (!line.startsWith("| `")) continue;
    const cols = line.replace(/^[| ]+|[| ]+$/g, "").split("|");
    if (cols[cols.length - 1]?.trim() === "refused") codes.add((cols[0] ?? "").trim().replace(/`/g, ""));
  }
  return codes;
}

const SCHEME = /^[A-Za-z][A-Za-z0-9+.-]*:/;
const isHTTP = (s: string): boolean => /^https?:/i.test(s);

/** As the URL Standard: strip leading/trailing C0 and space, drop tab and newlines. */
function trimURLInput(s: string): string {
  return s.replace(/^[\x00-\x20]+|[\x00-\x20]+$/g, "").replace(/[\t\n\r]/g, "");
}

function httpCase(c: WptCase): boolean {
  if (!c.failure) return isHTTP(c.href ?? "");
  const m = SCHEME.exec(trimURLInput(c.input));
  if (m) return isHTTP(m[0]);
  return c.base !== null && isHTTP(c.base);
}

/** A relative reference: no scheme, or the base's http(s) scheme without two slashes. */
function needsBase(c: WptCase): boolean {
  if (c.base === null) return false;
  const input = trimURLInput(c.input);
  const m = SCHEME.exec(input);
  if (!m) return true;
  const scheme = m[0].toLowerCase();
  if (!isHTTP(scheme) || !c.base.toLowerCase().startsWith(scheme)) return false;
  return !/^[/\\]{2}/.test(input.slice(scheme.length));
}

/** The "rewritten" rows: no fragment, escapes normalized, query pairs sorted. */
function expectedKey(href: string): string {
  const noFragment = href.split("#")[0] ?? "";
  const q = noFragment.indexOf("?");
  let out = normEscapes(q < 0 ? noFragment : noFragment.slice(0, q));
  if (q >= 0) {
    const name = (p: string): string => p.split("=")[0] ?? "";
    const pairs = noFragment
      .slice(q + 1)
      .split("&")
      .filter((p) => p !== "")
      .map(normEscapes)
      .sort((a, b) => (name(a) !== name(b) ? (name(a) < name(b) ? -1 : 1) : a < b ? -1 : a > b ? 1 : 0));
    if (pairs.length > 0) out += "?" + pairs.join("&");
  }
  return out;
}

function normEscapes(s: string): string {
  return s.replace(/%[0-9A-Fa-f]{2}/g, (e) => {
    const c = String.fromCharCode(parseInt(e.slice(1), 16));
    return /[A-Za-z0-9\-._~]/.test(c) ? c : e.toUpperCase();
  });
}

test("web-platform-tests URL vectors: passed, documented difference or refused", () => {
  const documented = refusedOnPurpose();
  assert.ok(documented.has("relative"), "docs/cache-keys.md needs a refused row for relative references");
  let total = 0;
  let passed = 0;
  let refused = 0;
  const differences = new Map<string, number>();
  const problems: string[] = [];
  const note = (code: string): void => {
    differences.set(code, (differences.get(code) ?? 0) + 1);
  };
  for (const c of entries) {
    if (typeof c === "string") continue; // a comment line, not a vector
    if (!httpCase(c)) continue;
    total++;
    if (!c.failure && needsBase(c)) {
      note("relative");
      continue;
    }
    let key = "";
    let reason = "";
    try {
      key = canonical(c.input);
    } catch (e) {
      if (!(e instanceof CacheKeyError)) throw e;
      reason = e.reason;
    }
    const name = JSON.stringify(c.input);
    if (c.failure) {
      if (reason) refused++;
      else problems.push(`${name} -> ${key}; the URL Standard fails it`);
    } else if (reason) {
      if (documented.has(reason)) note(reason);
      else problems.push(`${name}: ${reason}; the URL Standard gives ${c.href}`);
    } else if (key !== expectedKey(c.href ?? "")) {
      problems.push(`${name} -> ${key}, want ${expectedKey(c.href ?? "")}`);
    } else {
      passed++;
    }
  }
  const ndiff = [...differences.values()].reduce((a, b) => a + b, 0);
  console.log(
    `WPT http(s) vectors: ${total} = ${passed} passed + ${ndiff} documented differences ${JSON.stringify(Object.fromEntries(differences))} + ${refused} refused`,
  );
  assert.deepEqual(problems, []);
  assert.ok(total >= 400, `only ${total} http(s) vectors: urltestdata.json looks truncated`);
  assert.equal(passed + ndiff + refused, total);
});
