// The published package: `npm pack --dry-run` on the built SDK must hold the
// bundles, their type declarations, README, LICENSE and package.json, and
// nothing else (no sources, tests, browser tests or source maps).
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

// Bundled into sdk/dist/test/; the SDK root is two up.
const sdk = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

interface Packed {
  name: string;
  version: string;
  files: { path: string }[];
}

const pkg = JSON.parse(readFileSync(join(sdk, "package.json"), "utf8")) as {
  private?: boolean; license?: string; version?: string; type?: string; exports: Record<string, string | Record<string, string>>;
};

test("npm pack: the tarball holds the bundles, types, README, LICENSE and nothing else", () => {
  const out = execFileSync("npm", ["pack", "--dry-run", "--json", "--ignore-scripts"], { cwd: sdk, encoding: "utf8" });
  const [packed] = JSON.parse(out) as Packed[];
  const files = new Set(packed!.files.map((f) => f.path));
  for (const want of [
    "package.json", "README.md", "LICENSE",
    "dist/cachet.js", "dist/cachet-sw.js", "dist/cachekey.js", "dist/cachet-verify.js", "dist/node.js", "dist/workbox.js",
    "dist/types/index.d.ts", "dist/types/client.d.ts", "dist/types/cachekey.d.ts", "dist/types/node/stamp.d.ts",
    "dist/types/workbox.d.ts", "dist/types/sw/config.d.ts", "dist/types/verify/index.d.ts",
  ]) assert.ok(files.has(want), `${want} is packed`);
  for (const f of files) {
    assert.ok(!/(^|\/)(e2e|test|src|demo|node_modules)\//.test(f), `${f}: no sources, tests or demo`);
    assert.ok(!f.endsWith(".map"), `${f}: no source maps`);
    assert.ok(!f.endsWith(".ts") || f.endsWith(".d.ts"), `${f}: TypeScript only as declarations`);
    assert.ok(!/\.(mjs|html)$/.test(f) && !f.startsWith("dist/e2e/"), `${f}: no test bundles or pages`);
  }
  // Every target of the exports map is in the tarball.
  for (const [entry, target] of Object.entries(pkg.exports)) {
    for (const path of typeof target === "string" ? [target] : Object.values(target)) {
      assert.ok(files.has(path.replace(/^\.\//, "")), `exports["${entry}"] → ${path} is packed`);
    }
  }
});

test("package.json: publishable ESM with a license", () => {
  assert.equal(pkg.private, undefined, "not private");
  assert.equal(pkg.type, "module");
  assert.equal(pkg.license, "Apache-2.0");
  assert.match(pkg.version ?? "", /^\d+\.\d+\.\d+$/);
  for (const entry of [".", "./sw", "./workbox", "./node", "./cachekey", "./verify"]) assert.ok(entry in pkg.exports, `exports has ${entry}`);
  const root = join(sdk, "..", "LICENSE");
  if (existsSync(root)) assert.equal(readFileSync(join(sdk, "LICENSE"), "utf8"), readFileSync(root, "utf8"), "LICENSE is the repository's");
});

test("the page client stays within 6.25 KB gzipped", () => {
  const gz = gzipSync(readFileSync(join(sdk, "dist", "cachet.js")), { level: 9 }).length;
  assert.ok(gz <= 6.25 * 1024, `cachet.js is ${gz} B gzipped`);
});

test("the node entry point loads under node and exports the middleware", async () => {
  const m = (await import(join(sdk, "dist", "node.js"))) as Record<string, unknown>;
  assert.equal(typeof m.stamp, "function");
  assert.equal(m.HEADER, "Cachet-Version");
});
