// Paths to the repository's shared golden files.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

// Bundled tests run from sdk/dist/test/; the repository root is three up.
const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");

/** readTestdata reads testdata/<parts...> from the repository root. */
export function readTestdata(...parts: string[]): string {
  return readFileSync(join(root, "testdata", ...parts), "utf8");
}

/** readRepoFile reads <parts...> from the repository root (docs, for one). */
export function readRepoFile(...parts: string[]): string {
  return readFileSync(join(root, ...parts), "utf8");
}

/** readTestdataBytes reads testdata/<parts...> as bytes. */
export function readTestdataBytes(...parts: string[]): Uint8Array<ArrayBuffer> {
  const b = readFileSync(join(root, "testdata", ...parts));
  return new Uint8Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.length) as ArrayBuffer);
}
