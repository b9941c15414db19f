// Which responses the Service Worker may store. Its Cache Storage is a
// shared cache (RFC 9111): every page and every user of the browser profile
// reads it, so a personal or one-off response must stay out: no-store,
// private, responses that set cookies, non-GET requests and Vary: *; answers
// to requests with Authorization unless the response allows a shared cache
// to keep it (RFC 9111 §3.5); answers to requests that carried cookies unless
// the response opts in; and responses that vary on the credentials.

/** Why a request/response pair is not stored, or null when it may be. */
export type Refusal =
  | "method" // not a GET
  | "no-store" // the request or the response says no-store
  | "opaque" // a no-cors or redirect response the worker cannot inspect
  | "status" // anything but 200
  | "private" // Cache-Control: private
  | "set-cookie" // the response sets a cookie
  | "vary-star" // Vary: *
  | "vary-credentials" // Vary: Cookie or Vary: Authorization
  | "authorization" // request with Authorization, response without public, s-maxage or must-revalidate
  | "credentials"; // request with cookies, response without public or Cachet-Cache: shared

/** SHARED_HEADER is the response header with which an origin opts a response to a request with cookies into the shared cache. */
export const SHARED_HEADER = "cachet-cache";

/** directives returns a Cache-Control value's directive names, lower case. */
export function directives(h: string | null): Set<string> {
  return new Set((h ?? "").toLowerCase().split(",").map((d) => d.trim().split("=")[0]!.trim()));
}

const fields = (h: string | null): string[] => (h ?? "").toLowerCase().split(",").map((v) => v.trim());

/**
 * refusal returns why res (the answer to req) must not be stored, or null.
 * cookies tells whether req carried cookies (the worker cannot see a
 * request's Cookie header; see credentialed in sw.ts). For a 304, pass the
 * stored response with the 304's headers merged in (merge).
 */
export function refusal(req: Request, res: Response, cookies: boolean): Refusal | null {
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
  const vary = fields(res.headers.get("vary"));
  if (vary.includes("*")) return "vary-star";
  if (vary.includes("cookie") || vary.includes("authorization")) return "vary-credentials";
  if (req.headers.has("authorization") && !(cc.has("public") || cc.has("s-maxage") || cc.has("must-revalidate"))) return "authorization";
  if (cookies && !cc.has("public") && res.headers.get(SHARED_HEADER)?.trim().toLowerCase() !== "shared") return "credentials";
  return null;
}

/**
 * merge returns the stored response's headers updated with a 304's, as
 * RFC 9111 §4.3.4 freshens a stored response (Content-Length excepted).
 */
export function merge(stored: Headers, notModified: Headers): Headers {
  const h = new Headers(stored);
  notModified.forEach((v, k) => {
    if (k !== "content-length") h.set(k, v);
  });
  return h;
}

/**
 * maxAge returns how long the response is fresh in seconds, or null when it
 * does not say: s-maxage when present (it is meant for shared caches), else
 * max-age.
 */
export function maxAge(res: Response): number | null {
  const cc = res.headers.get("cache-control") ?? "";
  const m = /(?:^|,)\s*s-maxage\s*=\s*"?(\d+)/i.exec(cc) ?? /(?:^|,)\s*max-age\s*=\s*"?(\d+)/i.exec(cc);
  return m ? Number(m[1]) : null;
}

/**
 * mayServeStale reports whether a stored response that needs revalidation
 * may still be served when the origin cannot be reached: not when it says
 * must-revalidate, proxy-revalidate or s-maxage (RFC 9111 §5.2.2.2, 5.2.2.8, 5.2.2.10).
 */
export function mayServeStale(res: Response): boolean {
  const cc = directives(res.headers.get("cache-control"));
  return !(cc.has("must-revalidate") || cc.has("proxy-revalidate") || cc.has("s-maxage"));
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

/** STAMP_HEADER is the response header in which an origin names the ledger version the response was built from. */
export const STAMP_HEADER = "cachet-version";

/**
 * stampOf returns the ledger version an origin stamped res with
 * (Cachet-Version, a decimal integer), or null when it is absent or not one
 * that a number holds exactly (versions are compared as numbers).
 */
export function stampOf(res: Response): number | null {
  const v = res.headers.get(STAMP_HEADER)?.trim() ?? "";
  return /^\d+$/.test(v) && Number.isSafeInteger(Number(v)) ? Number(v) : null;
}

const COMPARED = ["content-length", "etag", "last-modified"];

/**
 * sameResponse tells whether a revalidation brought the response that was
 * stored, judged as Workbox's broadcast update does: by Content-Length,
 * ETag and Last-Modified; the same when neither says any of them.
 */
export function sameResponse(a: Response, b: Response): boolean {
  if (!COMPARED.some((h) => a.headers.has(h) || b.headers.has(h))) return true;
  return COMPARED.every((h) => a.headers.get(h) === b.headers.get(h));
}

/**
 * outdated tells why a response must not be (or stay) stored when the key's
 * newest applied version is now: "late" when the origin stamped it with an
 * older version, "raced" when, unstamped, the version moved from before
 * while it was in flight; null when it is current.
 */
export function outdated(stamped: number | null, before: number, now: number): "late" | "raced" | null {
  if (stamped !== null) return stamped < now ? "late" : null;
  return now !== before ? "raced" : null;
}
