// Builds the SDK with esbuild: the page client (ES module), the Service
// Worker (classic script), the key canonicalizer on its own, the receipt
// verifier on its own (cachet-verify.js, never loaded by the page client), the origin
// middleware for node (node.js), the Workbox plugin (workbox.js, left
// readable: a site's bundler minifies it) and the unit tests for node, emits the type
// declarations (dist/types), and copies the demo page beside the bundles.
// `node build.mjs --size` also enforces the page budget.
import { execFileSync } from "node:child_process";
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { gzipSync } from "node:zlib";

const PAGE_BUDGET_GZ = 6.25 * 1024;

const browser = { bundle: true, minify: true, target: "es2022", platform: "browser", legalComments: "none", logLevel: "warning" };

await Promise.all([
  build({ ...browser, entryPoints: ["src/index.ts"], format: "esm", outfile: "dist/cachet.js" }),
  build({ ...browser, entryPoints: ["src/sw.ts"], format: "iife", outfile: "dist/cachet-sw.js" }),
  build({ ...browser, entryPoints: ["src/cachekey.ts"], format: "esm", outfile: "dist/cachekey.js" }),
  build({ ...browser, entryPoints: ["src/verify/index.ts"], format: "esm", outfile: "dist/cachet-verify.js" }),
  build({ bundle: true, platform: "node", format: "esm", target: "node20", logLevel: "warning", entryPoints: ["src/node/stamp.ts"], outfile: "dist/node.js" }),
  build({ ...browser, minify: false, entryPoints: ["src/workbox.ts"], format: "esm", outfile: "dist/workbox.js" }),
  build({
    bundle: true, platform: "node", format: "esm", target: "node20", logLevel: "warning", outdir: "dist/test", outExtension: { ".js": ".mjs" },
    entryPoints: readdirSync("test/unit").filter((f) => f.endsWith(".test.ts")).map((f) => `test/unit/${f}`),
  }),
]);

// Type declarations for the package's entry points (dist/types).
for (const p of ["tsconfig.types.json", "tsconfig.types-sw.json"]) execFileSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", p], { stdio: "inherit" });

// The demo page `cachet dev` serves (its origin service reads sdk/dist).
mkdirSync("dist", { recursive: true });
copyFileSync("demo/index.html", "dist/demo.html");

const sizes = {};
for (const f of ["cachet.js", "cachet-sw.js", "cachekey.js", "cachet-verify.js"]) {
  const raw = readFileSync(`dist/${f}`);
  sizes[f] = { bytes: raw.length, gzip: gzipSync(raw, { level: 9 }).length };
}
for (const [f, s] of Object.entries(sizes)) console.log(`${f.padEnd(14)} ${String(s.bytes).padStart(7)} B  ${String(s.gzip).padStart(6)} B gzip`);
if (process.argv.includes("--size") && sizes["cachet.js"].gzip > PAGE_BUDGET_GZ) {
  console.error(`page client is ${sizes["cachet.js"].gzip} B gzipped, over the ${PAGE_BUDGET_GZ} B budget`);
  process.exit(1);
}

if (process.argv.includes("--e2e")) {
  await build({
    bundle: true, platform: "node", format: "esm", target: "node20", logLevel: "warning", outdir: "dist/e2e", outExtension: { ".js": ".mjs" },
    external: ["playwright-core"],
    entryPoints: readdirSync("e2e").filter((f) => f.endsWith(".test.ts") || f.endsWith(".chain.ts")).map((f) => `e2e/${f}`),
  });
  // A Workbox worker with the Cachet plugin, as a site would bundle it.
  await build({
    ...browser, entryPoints: ["e2e/workbox/sw.ts"], format: "iife", outfile: "dist/e2e/workbox-sw.js",
    define: { "process.env.NODE_ENV": '"production"' },
  });
}
