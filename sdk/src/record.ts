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
// A field's rule beyond its JSON type, checked once the schema version is
// known: "+" not empty (a string) or not 0 (a number), "%" within [0,1],
// ">" not negative, a list: one of its values. The reasons are Go's; the
// label, when given, names the field in the reason.
type Rule = "+" | "%" | ">" | readonly string[];
type Shape = Record<string, Kind | [Kind, Rule, string?]>;

const RFC3339 = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?(Z|[+-]\d\d:\d\d)$/;
const ZERO_TIME = "0001-01-01T00:00:00Z";
// What Go leaves zero in a ledger record that does not say.
const ZERO = { channel: "", block: 0, txIndex: 0, ts: ZERO_TIME, owner: "", actor: "" };

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

// check checks rec against shape: each known field's JSON type (null
// counts as absent, as in Go), the schema version, then the rules.
function check(type: string, rec: Record<string, unknown>, shape: Shape): Record<string, unknown> {
  const fields = Object.entries({ v: "u", ...shape } as Shape);
  const bad = (reason: string): never => {
    throw new InvalidRecordError(type, reason);
  };
  for (const [name, f] of fields) {
    const x = rec[name];
    if (x === undefined || x === null) delete rec[name];
    else if (!fits(x, typeof f === "string" ? f : f[0])) bad(`malformed JSON: field ${name}`);
  }
  if (rec.v !== RECORD_VERSION) throw new UnsupportedVersionError(rec.v ?? 0);
  for (const [name, f] of fields) {
    if (typeof f === "string") continue;
    const [kind, rule, label = name] = f;
    const x = rec[name];
    const n = (x ?? 0) as number;
    if (rule === "+") {
      if (!x) bad(kind === "s" ? `empty ${label}` : `${name} 0 (${name}s start at 1)`);
    } else if (rule === "%") {
      if (!(n >= 0 && n <= 1)) bad(`${name} outside [0,1]`);
    } else if (rule === ">") {
      if (!(n >= 0)) bad(`${name} not a finite non-negative number`);
    } else if (!rule.includes(x as string)) {
      bad(`unknown ${name} ${String(x ?? "")}`);
    }
  }
  return rec;
}

const TRANSITION: Shape = {
  key: ["s", "+"], version: ["u", "+"], state: ["s", STATES], txId: ["s", "+"],
  channel: "s", block: "u", txIndex: "u32", ts: "t", etag: "s", maxAge: "u32", tags: "ss", owner: "s", actor: "s", reason: "s", traceparent: "s",
};

/** decodeTransition parses and validates a transition record. */
export function decodeTransition(input: string | Uint8Array): Transition {
  return { ...ZERO, ...decode("transition", input, TRANSITION) } as Transition;
}

/**
 * transitionOf checks an already parsed object (a push frame carries the
 * record's fields inline, without "v") against the transition rules.
 */
export function transitionOf(o: Record<string, unknown>): Transition {
  return { ...ZERO, ...check("transition", { ...o, v: RECORD_VERSION }, TRANSITION) } as Transition;
}

const GENERATION: Shape = {
  scope: ["s", ["tag", "prefix", "host", "origin"]], value: ["s", "+", "scope value"], owner: ["s", "+"], generation: ["u", "+"], txId: ["s", "+"],
  channel: "s", block: "u", txIndex: "u32", ts: "t", soft: "b", reason: "s", actor: "s", traceparent: "s",
};

/** decodeGeneration parses and validates a generation (scope purge) record. */
export function decodeGeneration(input: string | Uint8Array): Generation {
  return { ...ZERO, ...decode("generation", input, GENERATION) } as Generation;
}

/**
 * generationOf checks an already parsed object (a purge frame carries the
 * record's fields inline, without "v") against the generation rules.
 */
export function generationOf(o: Record<string, unknown>): Generation {
  return { ...ZERO, ...check("generation", { ...o, v: RECORD_VERSION }, GENERATION) } as Generation;
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
  if (!r.at || (r.at as string).startsWith(ZERO_TIME.slice(0, 19))) throw new InvalidRecordError("read", "missing time");
  return { origin: "", client: "", ...r } as Read;
}

const ADVICE: Shape = {
  key: ["s", "+"], pStale: ["f", "%"], conflictRisk: ["f", "%"], writeRate: ["f", ">"], readRate: ["f", ">"], expectedStaleReads: ["f", ">"],
  action: ["s", ["none", "invalidate-early", "pin", "batch"]], at: "t", recommendedMaxAge: "u32", engine: "s",
};
const ADVICE_ZERO = { at: ZERO_TIME, writeRate: 0, readRate: 0, pStale: 0, expectedStaleReads: 0, conflictRisk: 0, recommendedMaxAge: 0, engine: "" };

/** decodeAdvice parses and validates an advice record. */
export function decodeAdvice(input: string | Uint8Array): Advice {
  return { ...ADVICE_ZERO, ...decode("advice", input, ADVICE) } as Advice;
}

/** adviceOf checks an already parsed object (an advice frame's fields, "v" optional) against the advice rules. */
export function adviceOf(o: Record<string, unknown>): Advice {
  return { ...ADVICE_ZERO, ...check("advice", { v: RECORD_VERSION, ...o }, ADVICE) } as Advice;
}
