// The push protocol, version 1 (push/PROTOCOL.md), over WebSocket (/ws) or
// Server-Sent Events (/sse). One connection follows every channel of the
// client; its position is one opaque string the server hands out and takes
// back on resume. This file only speaks the protocol: what a frame means for
// the caches is decided in client.ts.

import { adviceOf, generationOf, transitionOf, type Advice, type Generation, type Read, type Transition } from "./record";

/** What the client must do after a connection closes. */
export type After = "retry" | "slow" | "token" | "stop";

/** A frame from the server, reduced to what the client acts on. */
export type Frame =
  | { t: "welcome"; pos: string; resumed: boolean; exp: number; limit?: number }
  | { t: "transition"; pos: string; record: Transition; at: number }
  | { t: "purge"; pos: string; record: Generation; at: number }
  | { t: "reset"; pos: string; reason: string }
  | { t: "ping"; pos: string }
  | { t: "refreshed"; exp: number }
  | { t: "advice"; advice: Advice };

/** The browser's eviction span (frame "span"), times in Unix epoch milliseconds. */
export interface Span {
  traceparent: string;
  name: string;
  startMs: number;
  endMs: number;
  attributes: Record<string, string>;
}

/** Handlers of one connection; close is called exactly once. */
export interface Handlers {
  frame(f: Frame): void;
  close(after: After, why: string): void;
}

/** Session is an open connection. */
export interface Session {
  /** refresh sends a new token (WebSocket only; SSE reconnects instead). */
  refresh(token: string): void;
  /**
   * receipts sends one batch of reads (a "receipts" frame, or POST /receipts
   * over SSE) and resolves true once push acknowledged it, false if it was
   * not (connection lost, no answer): the batch must then be sent again.
   */
  receipts(reads: Read[]): Promise<boolean>;
  /** span reports one span (a "span" frame, or POST /spans over SSE); nothing answers. */
  span(s: Span): void;
  /** Largest client frame the server accepts, in bytes (welcome's limits.maxFrameBytes). */
  maxFrameBytes: number;
  close(): void;
}

/** closeAction maps a WebSocket close code to what the client does next. */
export function closeAction(code: number): After {
  if (code === 4029) return "slow";
  if (code >= 4100 && code <= 4199) return "token";
  if (code === 1008 || code === 1009 || (code >= 4400 && code <= 4499)) return "stop";
  return "retry";
}

// A connection that hears nothing (not even the 25 s ping) for this long is
// presumed dead, as a half-open TCP connection would otherwise be.
const SILENCE_MS = 60_000;

// How long a receipts batch waits for its "receipted" before it counts as not sent.
const ACK_MS = 10_000;

/** now is the time in Unix epoch milliseconds, fractional, on the monotonic clock. */
export const now = (): number => performance.timeOrigin + performance.now();

export type Parsed = Frame | { t: "error"; code: number; message: string } | { t: "receipted" } | null;

/** parseFrame reads one server frame: null for frames the client ignores; throws on a transition or purge it cannot read. */
export function parseFrame(data: string): Parsed {
  const o = JSON.parse(data) as Record<string, unknown>;
  switch (o.t) {
    case "welcome":
      return {
        t: "welcome", pos: String(o.pos ?? ""), resumed: o.resumed === true, exp: Number(o.exp ?? 0),
        limit: Number((o.limits as Record<string, unknown> | undefined)?.maxFrameBytes) || undefined,
      };
    case "transition": {
      const { t: _t, pos, ...rec } = o;
      return { t: "transition", pos: String(pos), record: transitionOf(rec), at: now() };
    }
    case "purge": {
      const { t: _t, pos, ...rec } = o;
      return { t: "purge", pos: String(pos), record: generationOf(rec), at: now() };
    }
    case "refreshed":
      return { t: "refreshed", exp: Number(o.exp ?? 0) };
    case "receipted":
      return { t: "receipted" };
    case "advice": {
      // A hint, not part of the stream: one that does not parse is ignored.
      const { t: _t, ...rec } = o;
      try {
        return { t: "advice", advice: adviceOf(rec) };
      } catch {
        return null;
      }
    }
    case "reset":
      return { t: "reset", pos: String(o.pos ?? ""), reason: String(o.reason ?? "") };
    case "ping":
      return { t: "ping", pos: String(o.pos ?? "") };
    case "error":
      return { t: "error", code: Number(o.code), message: String(o.message ?? "") };
    default:
      return null; // pong, and frames of later versions
  }
}

// Size of s in UTF-8 bytes.
const bytes = (s: string): number => new TextEncoder().encode(s).length;

/**
 * batch returns the longest prefix of reads (at most 100) whose receipts
 * frame fits in max bytes; at least one read, which always fits a
 * server's minimum frame size.
 */
export function batch(reads: Read[], max: number): Read[] {
  let size = bytes('{"t":"receipts","reads":[]}');
  let n = 0;
  for (const r of reads.slice(0, 100)) {
    size += bytes(JSON.stringify(r)) + (n ? 1 : 0);
    if (n && size > max) break;
    n++;
  }
  return reads.slice(0, n);
}

/**
 * refreshDelay is how long to wait before renewing a token that expires at
 * exp (Unix seconds): until a minute before, or a quarter of its remaining
 * life before when that is shorter; at least half a second.
 */
export function refreshDelay(exp: number, nowMs: number): number {
  const left = exp * 1000 - nowMs;
  return Math.max(500, left - Math.min(60_000, left / 4));
}

/** endpoint turns the configured push URL into the /ws, /sse, /receipts or /spans URL. */
export function endpoint(pushUrl: string, kind: "ws" | "sse" | "receipts" | "spans", base: string): URL {
  const u = new URL(pushUrl, base);
  const secure = u.protocol === "https:" || u.protocol === "wss:";
  u.protocol = kind === "ws" ? (secure ? "wss:" : "ws:") : secure ? "https:" : "http:";
  u.pathname = u.pathname.replace(/\/(ws|sse)?$/, "") + "/" + kind;
  return u;
}

/** connect opens one connection and feeds its frames to h. */
export function connect(kind: "ws" | "sse", pushUrl: string, token: string, channels: string[], pos: string | undefined, h: Handlers): Session {
  let ended = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let shut = (): void => undefined;
  // The receipts batch waiting for its "receipted" (one at a time).
  let ack: ((ok: boolean) => void) | null = null;
  const acked = (ok: boolean): void => {
    ack?.(ok);
    ack = null;
  };
  const end = (after: After, why: string): void => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    shut();
    acked(false);
    h.close(after, why);
  };
  const alive = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => end("retry", "silent connection"), SILENCE_MS);
  };
  const onData = (data: string): void => {
    alive();
    let f: Parsed;
    try {
      f = parseFrame(data);
    } catch (e) {
      // A frame this client cannot read would leave a gap: drop the
      // connection and resume from the last position instead.
      return end("retry", `unreadable frame: ${(e as Error).message}`);
    }
    if (f?.t === "error") return end(closeAction(f.code), `${f.code} ${f.message}`);
    if (f?.t === "receipted") return acked(true);
    if (f?.t === "welcome" && f.limit) session.maxFrameBytes = f.limit;
    if (f) h.frame(f);
  };
  alive();
  const base = typeof location === "undefined" ? "http://localhost/" : location.href;
  // post sends a body to one of push's HTTP endpoints with the token.
  const post = (path: "receipts" | "spans", body: unknown): Promise<Response> =>
    fetch(endpoint(pushUrl, path, base), {
      method: "POST", keepalive: true, body: JSON.stringify(body),
      headers: { authorization: "Bearer " + token, "content-type": "application/json" },
    });
  const session: Session = {
    maxFrameBytes: 16 << 10,
    refresh: () => undefined,
    receipts: (reads) => post("receipts", { t: "receipts", reads }).then((r) => r.ok, () => false),
    span: (s) => void post("spans", { t: "span", ...s }).catch(() => undefined),
    close: () => end("stop", "closed"),
  };
  if (kind === "sse") {
    const u = endpoint(pushUrl, "sse", base);
    u.searchParams.set("channels", channels.join(","));
    u.searchParams.set("token", token);
    if (pos) u.searchParams.set("pos", pos);
    const es = new EventSource(u);
    shut = () => es.close();
    for (const t of ["welcome", "transition", "purge", "reset", "ping", "advice"]) es.addEventListener(t, (m) => onData((m as MessageEvent<string>).data));
    // "error" is both the server's error frame (with data) and EventSource's
    // own connection failure (without); either way this connection is over.
    es.addEventListener("error", (m) => {
      const data = (m as MessageEvent<unknown>).data;
      if (typeof data === "string") onData(data);
      end("retry", "event stream failed");
    });
    return session;
  }
  const ws = new WebSocket(endpoint(pushUrl, "ws", base));
  const send = (f: unknown): boolean => ws.readyState === WebSocket.OPEN && (ws.send(JSON.stringify(f)), true);
  shut = () => ws.close(1000);
  // batch: the server may merge queued frames into one message, one per line.
  ws.onopen = () => send({ t: "hello", v: 1, token, channels, ...(pos ? { pos } : {}), batch: true });
  ws.onmessage = (m: MessageEvent<string>) => {
    for (const line of m.data.split("\n")) if (!ended) onData(line);
  };
  ws.onclose = (e) => end(closeAction(e.code), `closed ${e.code} ${e.reason}`);
  session.refresh = (t) => {
    token = t;
    send({ t: "refresh", token: t });
  };
  session.receipts = (reads) =>
    new Promise<boolean>((resolve) => {
      acked(false);
      if (!send({ t: "receipts", reads })) return resolve(false);
      const t = setTimeout(() => acked(false), ACK_MS);
      ack = (ok) => {
        clearTimeout(t);
        resolve(ok);
      };
    });
  session.span = (s) => void send({ t: "span", ...s });
  return session;
}
