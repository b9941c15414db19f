// The page client: one leader tab per origin (Web Locks) holds the push
// connection, applies transitions to Cache Storage and tells the other
// tabs and the Service Worker over a BroadcastChannel. When the leader goes,
// the lock passes to another tab, which resumes from the positions the old
// leader persisted after each applied transition: nothing is lost, and a
// replay is harmless because versions only move forward.

import { backoffDelay, type BackoffOptions } from "./backoff";
import { Emitter } from "./emitter";
import { applyTransition, flush, type Outcome } from "./evict";
import { connect, type Position, type Session, type Frame } from "./transport";
import { getMeta, openStore, setMeta, type Store } from "./store";

/** Options of Cachet.start. */
export interface Options {
  /** ws(s):// URL of `cachet push` (http(s):// works too). */
  pushUrl: string;
  /** Signed subscriber token, or a function that fetches a fresh one. */
  token: string | (() => string | Promise<string>);
  /** Channels to follow, e.g. "origin:https://shop.example", "tag:catalog". */
  channels: string[];
  /** Cache Storage (and IndexedDB) name shared with the Service Worker. */
  cacheName?: string;
  /** URL of the Service Worker script to register, if the page should. */
  serviceWorker?: string;
  /** "websocket" (default "auto": WebSocket, then SSE after failures) or "sse". */
  transport?: "auto" | "websocket" | "sse";
  /** Reconnect backoff (exponential with full jitter). */
  backoff?: BackoffOptions;
}

/** Connection state, as every tab sees it. */
export type ConnState = "connecting" | "live" | "offline" | "stopped";

/** An applied (or skipped) transition. */
export interface EvictEvent {
  key: string;
  version: number;
  channel: string;
  outcome: Outcome;
}

/** Events a Client emits. */
export interface Events {
  evict: EvictEvent;
  state: { state: ConnState; leader: boolean };
  reset: { channel: string; flushed: number };
  error: Error;
}

/** Counters and positions; sw holds the Service Worker's own counters. */
export interface Stats {
  state: ConnState;
  leader: boolean;
  received: number;
  evicted: number;
  duplicates: number;
  stale: number;
  resets: number;
  reconnects: number;
  positions: Record<string, Position>;
  sw: Record<string, unknown> | null;
}

type Wire = { t: "evict"; e: EvictEvent } | { t: "state"; s: ConnState } | { t: "reset"; r: Events["reset"] };

const posKey = (channel: string): string => "pos:" + channel;

/** Client is a running SDK instance in one tab. */
export class Client extends Emitter<Events> {
  private state: ConnState = "connecting";
  private leader = false;
  private stopped = false;
  private session: Session | null = null;
  private wake: (() => void) | null = null;
  private release: (() => void) | null = null;
  private readonly bc: BroadcastChannel;
  private readonly cacheName: string;
  private readonly positions: Record<string, Position> = {};
  private readonly counts = { received: 0, evicted: 0, duplicates: 0, stale: 0, resets: 0, reconnects: 0 };

  /** Use Cachet.start. */
  constructor(
    private readonly o: Options,
    private readonly db: Store,
  ) {
    super();
    this.cacheName = o.cacheName ?? "cachet";
    this.bc = new BroadcastChannel("cachet:" + this.cacheName);
    this.bc.onmessage = (m: MessageEvent<Wire>) => this.heard(m.data);
    addEventListener("online", this.nudge);
    const locks = (navigator as Navigator & { locks?: LockManager }).locks;
    if (locks) {
      void locks.request("cachet:" + this.cacheName, () => (this.stopped ? undefined : this.lead()));
    } else {
      void this.lead();
    }
  }

  /** stats reports this tab's counters and, if one controls the page, the Service Worker's. */
  async stats(): Promise<Stats> {
    const sw = await swStats();
    return { state: this.state, leader: this.leader, ...this.counts, positions: { ...this.positions }, sw };
  }

  /** stop closes the connection (if this tab leads) and hands leadership on. */
  stop(): void {
    this.stopped = true;
    removeEventListener("online", this.nudge);
    this.session?.close();
    this.nudge();
    this.release?.();
    this.setState("stopped", false);
    this.bc.close();
  }

  private readonly nudge = (): void => {
    this.wake?.();
  };

  private heard(w: Wire): void {
    if (w.t === "evict") {
      if (w.e.outcome !== "stale") this.counts[w.e.outcome === "evicted" ? "evicted" : "duplicates"]++;
      this.emit("evict", w.e);
    } else if (w.t === "state") {
      if (!this.leader) this.setState(w.s, false);
    } else {
      this.counts.resets++;
      this.emit("reset", w.r);
    }
  }

  private setState(s: ConnState, tell: boolean): void {
    if (tell) this.bc.postMessage({ t: "state", s } satisfies Wire);
    if (s === this.state) return;
    this.state = s;
    this.emit("state", { state: s, leader: this.leader });
  }

  // lead runs while this tab holds the lock: connect, apply, reconnect.
  private async lead(): Promise<void> {
    this.leader = true;
    const held = new Promise<void>((r) => (this.release = r));
    for (const ch of this.o.channels) {
      const p = await getMeta<Position>(this.db, posKey(ch));
      if (p) this.positions[ch] = p;
    }
    let attempt = 0;
    let failures = 0;
    while (!this.stopped) {
      this.setState(attempt ? "offline" : "connecting", true);
      const live = await this.connectOnce(failures);
      if (this.stopped) break;
      if (live) {
        attempt = 0;
        failures = 0;
      } else {
        failures++;
      }
      this.counts.reconnects++;
      const delay = backoffDelay(attempt++, this.o.backoff);
      this.setState("offline", true);
      await new Promise<void>((r) => {
        const t = setTimeout(r, delay);
        this.wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.wake = null;
    }
    this.leader = false;
    await held;
  }

  // connectOnce runs one connection until it closes; true if it went live.
  private async connectOnce(failures: number): Promise<boolean> {
    let live = false;
    let queue = Promise.resolve();
    let token: string;
    try {
      token = typeof this.o.token === "function" ? await this.o.token() : this.o.token;
    } catch (e) {
      this.emit("error", e as Error);
      return false;
    }
    const kind = this.o.transport === "sse" || (this.o.transport !== "websocket" && failures >= 3) ? "sse" : "websocket";
    await new Promise<void>((closed) => {
      this.session = connect(kind, this.o.pushUrl, token, this.o.channels, { ...this.positions }, {
        frame: (f: Frame) => {
          // Frames are applied strictly in order: a position is stored only
          // after everything before it is in Cache Storage.
          queue = queue.then(() => this.apply(f)).catch((e: unknown) => {
            this.emit("error", e as Error);
            this.session?.close();
          });
        },
        open: () => {
          live = true;
          this.setState("live", true);
        },
        close: (err) => {
          if (err) this.emit("error", err);
          void queue.then(closed);
        },
      });
    });
    this.session = null;
    return live;
  }

  private async apply(f: Frame): Promise<void> {
    if (f.type === "transition") {
      this.counts.received++;
      const outcome = await applyTransition(this.db, this.cacheName, f.record);
      this.counts[outcome === "evicted" ? "evicted" : outcome === "duplicate" ? "duplicates" : "stale"]++;
      await this.advance(f.channel, f.position);
      const e: EvictEvent = { key: f.record.key, version: f.record.version, channel: f.channel, outcome };
      this.bc.postMessage({ t: "evict", e } satisfies Wire);
      this.emit("evict", e);
    } else {
      // A gap the server cannot fill: nothing stored can be proven fresh.
      this.counts.resets++;
      const flushed = await flush(this.cacheName);
      await this.advance(f.channel, f.position);
      const r = { channel: f.channel, flushed };
      this.bc.postMessage({ t: "reset", r } satisfies Wire);
      this.emit("reset", r);
    }
  }

  private async advance(channel: string, p: Position): Promise<void> {
    this.positions[channel] = p;
    await setMeta(this.db, posKey(channel), p);
  }
}

async function swStats(): Promise<Record<string, unknown> | null> {
  const sw = navigator.serviceWorker?.controller;
  if (!sw) return null;
  const ch = new MessageChannel();
  const answer = new Promise<Record<string, unknown> | null>((resolve) => {
    ch.port1.onmessage = (m) => resolve(m.data as Record<string, unknown>);
    setTimeout(() => resolve(null), 1000);
  });
  sw.postMessage({ t: "stats" }, [ch.port2]);
  return answer;
}

/** start opens the SDK's database, registers the Service Worker if asked, and joins the leader election. */
export async function start(o: Options): Promise<Client> {
  if (!o.pushUrl || !o.channels.length) throw new TypeError("Cachet.start needs pushUrl and at least one channel");
  if (o.serviceWorker) {
    await navigator.serviceWorker.register(o.serviceWorker);
  }
  return new Client(o, await openStore(o.cacheName ?? "cachet"));
}
