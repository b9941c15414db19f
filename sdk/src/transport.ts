// The push protocol, version 1 (push/PROTOCOL.md), over WebSocket (/ws) or
// Server-Sent Events (/sse). One connection follows every channel of the
// client; its position is one opaque string the server hands out and takes
// back on resume. This file only speaks the protocol: what a frame means for
// the caches is decided in client.ts.

import { transitionOf, type Transition } from "./record";

/** What the client must do after a connection closes. */
export type After = "retry" | "slow" | "token" | "stop";

/** A frame from the server, reduced to what the client acts on. */
export type Frame =
  | { t: "welcome"; pos: string; resumed: boolean; exp: number }
  | { t: "transition"; pos: string; record: Transition }
  | { t: "reset"; pos: string; reason: string }
  | { t: "ping"; pos: string };

/** Handlers of one connection; close is called exactly once. */
export interface Handlers {
  frame(f: Frame): void;
  close(after: After, why: string): void;
}

/** Session is an open connection. */
export interface Session {
  /** refresh sends a new token (WebSocket only; SSE reconnects instead). */
  refresh(token: string): void;
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

function parse(data: string): Frame | { t: "error"; code: number; message: string } | null {
  const o = JSON.parse(data) as Record<string, unknown>;
  switch (o.t) {
    case "welcome":
      return { t: "welcome", pos: String(o.pos ?? ""), resumed: o.resumed === true, exp: Number(o.exp ?? 0) };
    case "transition": {
      const { t: _t, pos, ...rec } = o;
      return { t: "transition", pos: String(pos), record: transitionOf(rec) };
    }
    case "reset":
      return { t: "reset", pos: String(o.pos ?? ""), reason: String(o.reason ?? "") };
    case "ping":
      return { t: "ping", pos: String(o.pos ?? "") };
    case "error":
      return { t: "error", code: Number(o.code), message: String(o.message ?? "") };
    default:
      return null; // pong, refreshed, and reserved frames (advice) need nothing yet
  }
}

/** endpoint turns the configured push URL into the /ws or /sse URL. */
export function endpoint(pushUrl: string, kind: "ws" | "sse", base: string): URL {
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
  const end = (after: After, why: string): void => {
    if (ended) return;
    ended = true;
    clearTimeout(timer);
    shut();
    h.close(after, why);
  };
  const alive = (): void => {
    clearTimeout(timer);
    timer = setTimeout(() => end("retry", "silent connection"), SILENCE_MS);
  };
  const onData = (data: string): void => {
    alive();
    let f: ReturnType<typeof parse>;
    try {
      f = parse(data);
    } catch (e) {
      // A frame this client cannot read would leave a gap: drop the
      // connection and resume from the last position instead.
      return end("retry", `unreadable frame: ${(e as Error).message}`);
    }
    if (f?.t === "error") return end(closeAction(f.code), `${f.code} ${f.message}`);
    if (f) h.frame(f);
  };
  alive();
  const base = typeof location === "undefined" ? "http://localhost/" : location.href;
  if (kind === "sse") {
    const u = endpoint(pushUrl, "sse", base);
    u.searchParams.set("channels", channels.join(","));
    u.searchParams.set("token", token);
    if (pos) u.searchParams.set("pos", pos);
    const es = new EventSource(u);
    shut = () => es.close();
    for (const t of ["welcome", "transition", "reset", "ping"]) es.addEventListener(t, (m) => onData((m as MessageEvent<string>).data));
    // "error" is both the server's error frame (with data) and EventSource's
    // own connection failure (without); either way this connection is over.
    es.addEventListener("error", (m) => {
      const data = (m as MessageEvent<unknown>).data;
      if (typeof data === "string") onData(data);
      end("retry", "event stream failed");
    });
    return { refresh: () => undefined, close: () => end("stop", "closed") };
  }
  const ws = new WebSocket(endpoint(pushUrl, "ws", base));
  shut = () => ws.close(1000);
  ws.onopen = () => ws.send(JSON.stringify({ t: "hello", v: 1, token, channels, ...(pos ? { pos } : {}) }));
  ws.onmessage = (m: MessageEvent<string>) => onData(m.data);
  ws.onclose = (e) => end(closeAction(e.code), `closed ${e.code} ${e.reason}`);
  return {
    refresh: (t) => ws.readyState === WebSocket.OPEN && ws.send(JSON.stringify({ t: "refresh", token: t })),
    close: () => end("stop", "closed"),
  };
}
