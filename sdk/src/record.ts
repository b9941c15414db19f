// Decoders for Cachet's records (the Go package record): JSON objects with a
// schema version "v". They accept what Go's decoders accept and refuse a
// version they do not know instead of guessing. Golden encodings live in
// testdata/records/.

/** The schema version this build reads. */
export const RECORD_VERSION = 1;
/** Upper bound on one encoded record, in bytes (Go: record.MaxRecordBytes). */
export const MAX_RECORD_BYTES = 64 << 10;

/** A record written with a schema version this build does not know. */
export class UnsupportedVersionError extends Error {
  constructor(readonly got: unknown) {
    super(`record schema version ${String(got)} not supported (this build reads ${RECORD_VERSION})`);
    this.name = "UnsupportedVersionError";
  }
}

/** A record that does not parse or breaks a rule. */
export class InvalidRecordError extends Error {
  constructor(
    readonly type: string,
    readonly reason: string,
  ) {
    super(`invalid ${type} record: ${reason}`);
    this.name = "InvalidRecordError";
  }
}

/** An entry's state; STALE is a soft invalidation or purge (serve once while revalidating). */
export type State = "VALID" | "INVALIDATED" | "PURGED" | "STALE";

const STATES: readonly string[] = ["VALID", "INVALIDATED", "PURGED", "STALE"];

/** One committed change of one cache entry (Go: record.Transition). */
export interface Transition {
  v: 1;
  channel: string;
  block: number;
  txIndex: number;
  txId: string;
  /** The transaction's timestamp, RFC 3339 with nanoseconds, kept as text. */
  ts: string;
  key: string;
  version: number;
  state: State;
  etag?: string;
  maxAge?: number;
  tags?: string[];
  owner: string;
  actor: string;
  reason?: string;
  traceparent?: string;
}

/** What a scope purge covers. */
export type ScopeKind = "tag" | "prefix" | "host" | "origin";

/**
 * One committed scope purge (Go: record.Generation): every copy of an entry
 * of owner that the scope covers and that was filled under an older
 * generation is invalid (stale when soft).
 */
export interface Generation {
  v: 1;
  channel: string;
  block: number;
  txIndex: number;
  txId: string;
  ts: string;
  scope: ScopeKind;
  value: string;
  owner: string;
  generation: number;
  soft?: boolean;
  reason?: string;
  actor: string;
  traceparent?: string;
}

export type ReadKind = "hit" | "miss" | "stale" | "evict";

/** Browser read telemetry or an eviction receipt (Go: record.Read). */
export interface Read {
  v: 1;
  kind: ReadKind;
  key: string;
  version?: number;
  origin: string;
  client: string;
  at: string;
  traceparent?: string;
}

/** A read the Service Worker saw, as it tells the pages (the leader completes it into a Read). */
export interface SwRead {
  kind: ReadKind;
  key: string;
  version?: number;
  at: string;
}

export type Action = "none" | "invalidate-early" | "pin" | "batch";

/** Analytics' recommendation for one key (Go: record.Advice). */
export interface Advice {
  v: 1;
  key: string;
  at: string;
  writeRate: number;
  readRate: number;
  pStale: number;
  expectedStaleReads: number;
  conflictRisk: number;
  recommendedMaxAge: number;
  action: Action;
  engine: string;
}

type Kind = "s" | "u" | "u32" | "f" | "t" | "ss" | "b";
type Shape = Record<string, Kind>;

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;

function fits(x: unknown, k: Kind): boolean {
  switch (k) {
    case "s":
      return typeof x === "string";
    case "t":
      return typeof x === "string" && RFC3339.test(x);
    case "u":
      return Number.isSafeInteger(x) && (x as number) >= 0;
    case "u32":
      return Number.isSafeInteger(x) && (x as number) >= 0 && (x as number) <= 0xffffffff;
    case "f":
      return typeof x === "number";
    case "ss":
      return Array.isArray(x) && x.every((e) => typeof e === "string");
    case "b":
      return typeof x === "boolean";
  }
}

// decode parses input (text or bytes) into an object whose known fields have
// the JSON types Go's decoder would accept; null counts as absent, as in Go.
function decode(type: string, input: string | Uint8Array, shape: Shape): Record<string, unknown> {
  const size = typeof input === "string" ? new TextEncoder().encode(input).length : input.length;
  if (size > MAX_RECORD_BYTES) throw new InvalidRecordError(type, `${size} bytes: record too large`);
  let o: unknown;
  try {
    o = JSON.parse(typeof input === "string" ? input : new TextDecoder().decode(input));
  } catch (e) {
    throw new InvalidRecordError(type, `malformed JSON: ${(e as Error).message}`);
  }
  if (typeof o !== "object" || o === null || Array.isArray(o)) throw new InvalidRecordError(type, "malformed JSON: not an object");
  return check(type, o as Record<string, unknown>, shape);
}

function check(type: string, rec: Record<string, unknown>, shape: Shape): Record<string, unknown> {
  for (const [name, kind] of Object.entries({ v: "u", ...shape } as Shape)) {
    const x = rec[name];
    if (x === undefined || x === null) {
      delete rec[name];
    } else if (!fits(x, kind)) {
      throw new InvalidRecordError(type, `malformed JSON: field ${name}`);
    }
  }
  if (rec.v !== RECORD_VERSION) throw new UnsupportedVersionError(rec.v ?? 0);
  return rec;
}

const TRANSITION: Shape = {
  channel: "s", block: "u", txIndex: "u32", txId: "s", ts: "t", key: "s", version: "u", state: "s",
  etag: "s", maxAge: "u32", tags: "ss", owner: "s", actor: "s", reason: "s", traceparent: "s",
};

/** decodeTransition parses and validates a transition record. */
export function decodeTransition(input: string | Uint8Array): Transition {
  return validTransition(decode("transition", input, TRANSITION));
}

/**
 * transitionOf checks an already parsed object (a push frame carries the
 * record's fields inline, without "v") against the transition rules.
 */
export function transitionOf(o: Record<string, unknown>): Transition {
  return validTransition(check("transition", { ...o, v: RECORD_VERSION }, TRANSITION));
}

function validTransition(t: Record<string, unknown>): Transition {
  const bad = (reason: string): never => {
    throw new InvalidRecordError("transition", reason);
  };
  if (!t.key) bad("empty key");
  if (!t.version) bad("version 0 (versions start at 1)");
  if (!STATES.includes(t.state as string)) bad(`unknown state ${String(t.state ?? "")}`);
  if (!t.txId) bad("empty txId");
  return { channel: "", block: 0, txIndex: 0, ts: "0001-01-01T00:00:00Z", owner: "", actor: "", ...t } as Transition;
}

const GENERATION: Shape = {
  channel: "s", block: "u", txIndex: "u32", txId: "s", ts: "t", scope: "s", value: "s", owner: "s",
  generation: "u", soft: "b", reason: "s", actor: "s", traceparent: "s",
};

/** decodeGeneration parses and validates a generation (scope purge) record. */
export function decodeGeneration(input: string | Uint8Array): Generation {
  const g = decode("generation", input, GENERATION);
  const bad = (reason: string): never => {
    throw new InvalidRecordError("generation", reason);
  };
  if (!["tag", "prefix", "host", "origin"].includes(g.scope as string)) bad(`unknown scope ${String(g.scope ?? "")}`);
  if (!g.value) bad("empty scope value");
  if (!g.owner) bad("empty owner");
  if (!g.generation) bad("generation 0 (generations start at 1)");
  if (!g.txId) bad("empty txId");
  return { channel: "", block: 0, txIndex: 0, ts: "0001-01-01T00:00:00Z", actor: "", ...g } as Generation;
}

/** decodeRead parses and validates a read record. */
export function decodeRead(input: string | Uint8Array): Read {
  const r = decode("read", input, {
    kind: "s", key: "s", version: "u", origin: "s", client: "s", at: "t", traceparent: "s",
  });
  if (!["hit", "miss", "stale", "evict"].includes(r.kind as string)) {
    throw new InvalidRecordError("read", `unknown kind ${String(r.kind ?? "")}`);
  }
  if (!r.key) throw new InvalidRecordError("read", "empty key");
  if (!r.at || (r.at as string).startsWith("0001-01-01T00:00:00")) throw new InvalidRecordError("read", "missing time");
  return { origin: "", client: "", ...r } as Read;
}

const ADVICE: Shape = {
  key: "s", at: "t", writeRate: "f", readRate: "f", pStale: "f", expectedStaleReads: "f",
  conflictRisk: "f", recommendedMaxAge: "u32", action: "s", engine: "s",
};

/** decodeAdvice parses and validates an advice record. */
export function decodeAdvice(input: string | Uint8Array): Advice {
  return validAdvice(decode("advice", input, ADVICE));
}

/** adviceOf checks an already parsed object (an advice frame's fields, "v" optional) against the advice rules. */
export function adviceOf(o: Record<string, unknown>): Advice {
  return validAdvice(check("advice", { v: RECORD_VERSION, ...o }, ADVICE));
}

function validAdvice(a: Record<string, unknown>): Advice {
  const num = (n: string): number => (a[n] as number | undefined) ?? 0;
  if (!a.key) throw new InvalidRecordError("advice", "empty key");
  for (const n of ["pStale", "conflictRisk"]) {
    if (!(num(n) >= 0 && num(n) <= 1)) throw new InvalidRecordError("advice", `${n} outside [0,1]`);
  }
  for (const n of ["writeRate", "readRate", "expectedStaleReads"]) {
    if (!(num(n) >= 0)) throw new InvalidRecordError("advice", `${n} not a finite non-negative number`);
  }
  if (!["none", "invalidate-early", "pin", "batch"].includes(a.action as string)) {
    throw new InvalidRecordError("advice", `unknown action ${String(a.action ?? "")}`);
  }
  const zero = { writeRate: 0, readRate: 0, pStale: 0, expectedStaleReads: 0, conflictRisk: 0, recommendedMaxAge: 0, engine: "" };
  return { at: "0001-01-01T00:00:00Z", ...zero, ...a } as Advice;
}
