// Which responses the Service Worker may store. A shared cache must never
// hold a personal or one-off response: no-store, private and responses that
// set cookies stay out, as do non-GET requests and Vary: *.

/** Why a request/response pair is not stored, or null when it may be. */
export type Refusal = "method" | "no-store" | "private" | "set-cookie" | "vary-star" | "status" | "opaque";

function directives(h: string | null): Set<string> {
  return new Set((h ?? "").toLowerCase().split(",").map((d) => d.trim().split("=")[0] ?? ""));
}

/** refusal returns why res (the answer to req) must not be cached, or null. */
export function refusal(req: Request, res: Response): Refusal | null {
  if (req.method !== "GET") return "method";
  if (directives(req.headers.get("cache-control")).has("no-store")) return "no-store";
  if (res.type === "opaque" || res.type === "opaqueredirect") return "opaque";
  if (res.status !== 200) return "status";
  const cc = directives(res.headers.get("cache-control"));
  if (cc.has("no-store")) return "no-store";
  if (cc.has("private")) return "private";
  // Fetch hides Set-Cookie from scripts; where a runtime shows it, honour it.
  // The Service Worker also compares the cookie jar around the fetch.
  if (res.headers.has("set-cookie")) return "set-cookie";
  if ((res.headers.get("vary") ?? "").split(",").some((v) => v.trim() === "*")) return "vary-star";
  return null;
}

/** maxAge returns the response's max-age in seconds, or null when absent. */
export function maxAge(res: Response): number | null {
  const m = /(?:^|,)\s*max-age\s*=\s*"?(\d+)/i.exec(res.headers.get("cache-control") ?? "");
  return m ? Number(m[1]) : null;
}

/**
 * needsRevalidation reports whether a stored response must be checked
 * first. cap is analytics' recommended max-age for the key, if any: the
 * copy is served without revalidation for min(its max-age, cap) seconds
 * (cap alone when the response names no max-age).
 */
export function needsRevalidation(res: Response, storedAt: number, now: number, cap?: number): boolean {
  if (directives(res.headers.get("cache-control")).has("no-cache")) return true;
  let age = maxAge(res);
  if (cap !== undefined) age = age === null ? cap : Math.min(age, cap);
  return age !== null && now - storedAt >= age * 1000;
}
