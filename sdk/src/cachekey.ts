// Canonical cache keys, byte for byte the algorithm of the Go package
// cachekey (cachekey/cachekey.go, host.go, tag.go). Both pass the golden
// vectors in testdata/cachekey/ and the web-platform-tests URL vectors in
// testdata/url/ with the differences in docs/cache-keys.md. URL keys are
// parsed by the platform's WHATWG `URL` class; this file adds only Cachet's
// differences. Go works on UTF-8 bytes, so this file does too: the input is
// turned into a "byte string" (one UTF-16 unit per byte, 0–255) and every
// length, index and comparison below is in bytes.

/** Limits on keys, in bytes, as in Go. */
export const MAX_INPUT_BYTES = 2048;
export const MAX_KEY_BYTES = 1024;
export const MAX_NAMESPACE_BYTES = 32;
export const MAX_TAG_BYTES = 64;

/** Why a key or tag was refused; the same strings as Go's cachekey.Reason. */
export type Reason =
  | "empty"
  | "too-long"
  | "invalid-utf8"
  | "leading-nul"
  | "control-or-space"
  | "unsupported-scheme"
  | "bad-namespace"
  | "empty-name"
  | "userinfo"
  | "bad-host"
  | "bad-port"
  | "bad-percent-escape"
  | "no-namespace"
  | "bad-tag";

/** A key or tag that cannot be canonicalized. */
export class CacheKeyError extends Error {
  constructor(
    /** The offending input, truncated to 64 bytes. */
    readonly input: string,
    readonly reason: Reason,
    readonly detail = "",
  ) {
    super(`invalid cache key ${JSON.stringify(input)}: ${reason}${detail ? ` (${detail})` : ""}`);
    this.name = "CacheKeyError";
  }
}

const enc = /* @__PURE__ */ new TextEncoder();

// toBytes returns the UTF-8 bytes of input as a byte string, or null when
// input is not valid UTF-8 (lone surrogates, or bytes that do not decode).
function toBytes(input: string | Uint8Array): string | null {
  let u8: Uint8Array;
  if (typeof input === "string") {
    if (/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?:^|[^\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(input)) return null;
    u8 = enc.encode(input);
  } else {
    try {
      new TextDecoder("utf-8", { fatal: true }).decode(input);
    } catch {
      return null;
    }
    u8 = input;
  }
  let s = "";
  for (let i = 0; i < u8.length; i += 4096) s += String.fromCharCode(...u8.subarray(i, i + 4096));
  return s;
}

function fromBytes(b: string): string {
  const u8 = new Uint8Array(b.length);
  for (let i = 0; i < b.length; i++) u8[i] = b.charCodeAt(i);
  return new TextDecoder().decode(u8);
}

function fail(b: string, reason: Reason, detail = ""): CacheKeyError {
  let shown = b;
  if (b.length > 64) {
    // Like Go's strings.ToValidUTF8(input[:64], ""): drop a cut character.
    let end = 64;
    while (end > 0 && (b.charCodeAt(end) & 0xc0) === 0x80) end--;
    shown = fromBytes(b.slice(0, end)) + "…";
  } else {
    shown = fromBytes(b);
  }
  return new CacheKeyError(shown, reason, detail);
}

/**
 * canonical returns the canonical form of a cache key (an http(s) URL or
 * "namespace:name"), or throws a CacheKeyError with the same reason as Go.
 */
export function canonical(input: string | Uint8Array): string {
  const raw = toBytes(input);
  if (raw === null) throw new CacheKeyError(typeof input === "string" ? input.slice(0, 64) : "", "invalid-utf8");
  if (raw === "") throw fail(raw, "empty");
  if (raw.length > MAX_INPUT_BYTES) throw fail(raw, "too-long", `${raw.length} bytes, limit ${MAX_INPUT_BYTES}`);
  if (raw.charCodeAt(0) === 0) throw fail(raw, "leading-nul", "reserved for composite keys");
  for (let i = 0; i < raw.length; i++) {
    const c = raw.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) throw fail(raw, "control-or-space", `byte 0x${c.toString(16).padStart(2, "0")} at ${i}`);
  }
  const sch = splitScheme(raw);
  const key = sch ? canonicalURL(raw, sch[0], sch[1]) : canonicalOpaque(raw);
  if (key.length > MAX_KEY_BYTES) throw fail(raw, "too-long", `canonical form is ${key.length} bytes, limit ${MAX_KEY_BYTES}`);
  return fromBytes(key);
}

/** isURL reports whether a canonical key is a URL key. */
export function isURL(key: string): boolean {
  return key.startsWith("http://") || key.startsWith("https://");
}

/** origin returns scheme://host[:port] of a canonical URL key, "" for opaque keys. */
export function origin(key: string): string {
  if (!isURL(key)) return "";
  const start = key.indexOf("://") + 3;
  const i = key.indexOf("/", start);
  return i < 0 ? key : key.slice(0, i);
}

/**
 * tag validates a tag: 1–64 bytes of [a-z0-9._:/-], starting with a letter or
 * digit. Tags are never rewritten; a bad one throws CacheKeyError "bad-tag".
 */
export function tag(t: string): void {
  const b = toBytes(t) ?? "\xff";
  if (b === "" || b.length > MAX_TAG_BYTES) throw fail(b, "bad-tag", `1-${MAX_TAG_BYTES} bytes`);
  for (let i = 0; i < b.length; i++) {
    const c = b.charCodeAt(i);
    const ok = isLower(c) || isDigit(c) || (i > 0 && ".:_/-".includes(b[i]!));
    if (!ok) throw fail(b, "bad-tag", `byte ${JSON.stringify(b[i])} at ${i}; allowed: [a-z0-9] then [a-z0-9._:/-]`);
  }
}

// splitScheme recognizes a URL key: an http or https scheme (any case)
// followed by ':', or any RFC 3986 scheme followed by "://".
function splitScheme(raw: string): [string, string] | null {
  const i = raw.indexOf(":");
  if (i <= 0) return null;
  for (let j = 0; j < i; j++) {
    const c = raw.charCodeAt(j);
    const alpha = isLower(c | 0x20);
    if (!(alpha || (j > 0 && (isDigit(c) || c === 0x2b || c === 0x2d || c === 0x2e)))) return null;
  }
  const scheme = asciiLower(raw.slice(0, i));
  if (scheme !== "http" && scheme !== "https" && !raw.startsWith("://", i)) return null;
  return [scheme, raw.slice(i + 1)];
}

const NS_RULE = "1-32 of [a-z0-9-], starting with a letter";

function canonicalOpaque(raw: string): string {
  const i = raw.indexOf(":");
  if (i < 0) throw fail(raw, "no-namespace", 'want "namespace:name" or an http(s) URL');
  const ns = raw.slice(0, i);
  if (ns === "" || ns.length > MAX_NAMESPACE_BYTES || !isLower(ns.charCodeAt(0))) throw fail(raw, "bad-namespace", NS_RULE);
  for (let j = 1; j < ns.length; j++) {
    const c = ns.charCodeAt(j);
    if (!(isLower(c) || isDigit(c) || c === 0x2d)) throw fail(raw, "bad-namespace", NS_RULE);
  }
  if (i === raw.length - 1) throw fail(raw, "empty-name");
  return raw;
}

function canonicalURL(raw: string, scheme: string, rest: string): string {
  const defaultPort = scheme === "http" ? "80" : scheme === "https" ? "443" : "";
  if (!defaultPort) throw fail(raw, "unsupported-scheme", "only http and https");
  // Special schemes ignore any run of '/' and '\' before the authority.
  rest = rest.replace(/^[/\\]+/, "");
  let end = rest.search(/[/\\?#]/);
  if (end < 0) end = rest.length;
  const authority = rest.slice(0, end);
  if (authority.includes("@")) throw fail(raw, "userinfo", "credentials do not belong in a cache key");
  checkHostPort(raw, authority);
  let url: URL;
  try {
    url = new URL(fromBytes(raw));
  } catch {
    throw fail(raw, "bad-host", "the URL Standard refuses the URL");
  }
  const path = normalizeEscapes(raw, url.pathname);
  const query = url.search === "" ? "" : sortQuery(raw, url.search.slice(1));
  return `${scheme}://${url.host}${path}${query ? "?" + query : ""}`;
}

// checkHostPort refuses what the URL Standard's host parser refuses (the
// platform's URL class parses the host alone) and ports outside 1–65535, in
// Go's order: the host first.
function checkHostPort(raw: string, authority: string): void {
  let host = authority;
  let port = "";
  let inBrackets = false;
  for (let i = 0; i < authority.length; i++) {
    const c = authority[i];
    if (c === "[") inBrackets = true;
    else if (c === "]") inBrackets = false;
    else if (c === ":" && !inBrackets) {
      host = authority.slice(0, i);
      port = authority.slice(i + 1);
      break;
    }
  }
  try {
    new URL(`http://${fromBytes(host)}/`);
  } catch {
    throw fail(raw, "bad-host", hostRule(host));
  }
  if (port === "") return;
  for (let j = 0; j < port.length; j++) if (!isDigit(port.charCodeAt(j))) throw fail(raw, "bad-port", "digits only");
  const digits = port.replace(/^0+/, "");
  if (digits === "" || digits.length > 5 || Number(digits) > 65535) throw fail(raw, "bad-port", "1-65535");
}

// hostRule names, as Go's HostRule does, the rule a refused host broke.
function hostRule(host: string): string {
  if (host === "") return "empty-host";
  if (host.startsWith("[")) return "ipv6";
  if (/[\x00-\x20#%/:<>?@[\\\]^|\x7f]/.test(host.replace(/%[0-9A-Fa-f]{2}/g, ""))) return "forbidden-code-point";
  const labels = host.replace(/\.$/, "").split(".");
  if (/^(?:\d+|0[xX][0-9A-Fa-f]*)$/.test(labels[labels.length - 1] ?? "")) return "ipv4";
  return "idna";
}

const HEX = "0123456789ABCDEF";
const pct = (c: number): string => "%" + HEX[c >> 4] + HEX[c & 15];

// normalizeEscapes upper-cases percent escapes and decodes escaped
// unreserved characters in what the URL class serialized (it already escaped
// the standard's percent-encode sets). A '%' that does not start an escape is
// refused.
function normalizeEscapes(raw: string, s: string): string {
  return s.replace(/%(?:[0-9A-Fa-f]{2})?/g, (e, offset: number) => {
    if (e.length < 3) throw fail(raw, "bad-percent-escape", `at byte ${offset}`);
    const v = parseInt(e.slice(1), 16);
    return isUnreserved(v) ? String.fromCharCode(v) : pct(v);
  });
}

function sortQuery(raw: string, query: string): string {
  const kept = query
    .split("&")
    .filter((p) => p !== "")
    .map((p) => normalizeEscapes(raw, p));
  const name = (p: string): string => {
    const i = p.indexOf("=");
    return i >= 0 ? p.slice(0, i) : p;
  };
  // Array.prototype.sort is stable; byte strings compare byte-wise like Go.
  kept.sort((a, b) => {
    const na = name(a);
    const nb = name(b);
    if (na !== nb) return na < nb ? -1 : 1;
    return a < b ? -1 : a > b ? 1 : 0;
  });
  return kept.join("&");
}

function asciiLower(s: string): string {
  return s.replace(/[A-Z]+/g, (m) => m.toLowerCase());
}
function isLower(c: number): boolean {
  return c >= 0x61 && c <= 0x7a;
}
function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
function isUnreserved(c: number): boolean {
  return isLower(c) || (c >= 0x41 && c <= 0x5a) || isDigit(c) || c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
}
