// What a scope purge (record.Generation) covers in the browser: a stored
// copy is known by its canonical key and its tags, those the origin sent
// (Cache-Tag, Surrogate-Key) and those the ledger's transitions named.

import { origin } from "./cachekey";
import type { Generation } from "./record";

/**
 * covers reports whether the scope of g covers a copy stored under the
 * canonical key with tags: tag, the tags contain the value; prefix, the key
 * starts with it; origin, the key's scheme://host[:port] is it; host, the
 * key's host name (any scheme, any port) is it. Opaque keys are covered
 * only by tags. Owners are not compared: the browser does not know which
 * org owns a copy, so a purge covers every copy that matches.
 */
export function covers(g: Pick<Generation, "scope" | "value">, key: string, tags: readonly string[]): boolean {
  const o = origin(key);
  return g.scope === "tag"
    ? tags.includes(g.value)
    : g.scope === "prefix"
      ? key.startsWith(g.value)
      : // The port follows the last ':' unless that is inside an IPv6 address's brackets.
        (g.scope === "origin" ? o : o.slice(o.indexOf("//") + 2).replace(/:\d+$/, "")) === g.value && o !== "";
}

/**
 * tagsOf returns the tags a response carries: Cache-Tag (comma-separated)
 * and Surrogate-Key (space-separated), lower-cased (ledger tags are lower
 * case), without duplicates.
 */
export function tagsOf(h: Headers): string[] {
  const all = `${h.get("cache-tag") ?? ""},${(h.get("surrogate-key") ?? "").replace(/\s+/g, ",")}`.toLowerCase().split(",");
  return [...new Set(all.map((t) => t.trim()).filter(Boolean))];
}
