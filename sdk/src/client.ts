// The page client: one leader tab per origin (Web Locks) holds the push
// connection, applies transitions and scope purges to Cache Storage and
// tells the other tabs and the Service Worker over a BroadcastChannel. When
// the leader goes, the lock passes to another tab, which resumes from the
// positions the old leader persisted after each applied frame: nothing is
// lost, and a replay is harmless because versions and generations only move
// forward.
//
// The leader also reports back: eviction receipts and the Service Worker's
// read telemetry go through an IndexedDB outbox to push ("receipts" frames,
// forgotten only once acknowledged), each eviction becomes a span of the
// ledger transaction's trace, and analytics' advice is stored where the
// Service Worker honours it.

import { backoffDelay, type BackoffOptions } from "./backoff";
import { origin } from "./cachekey";
import { Emitter } from "./emitter";
import { applyPurge, applyTransition, flush, type Outcome } from "./evict";
import type { Advice, Generation, Read, ReadKind, SwRead, Transition } from "./record";
import { enqueue, forget, getMeta, openStore, peek, setHint, setMeta, SYNCED, type Store } from "./store";
import { batch, connect, now, refreshDelay, type After, type Frame, type Session } from "./transport";
/** Options of Cachet.start. */
export interface Options {
  /** Base URL of `cachet push` (http(s):// or ws(s)://); /ws and /sse are appended. */
  pushUrl: string;
  /**
   * Signed subscriber token, or a function that fetches a fresh one: then it
   * is renewed before it expires ("refresh") and fetched anew after a 41xx close.
   */
  token: string | (() => string | Promise<string>);
  /** Channels to follow: "origin:https://shop.example", "tag:catalog". */
  channels: string[];
  /** Cache Storage (and IndexedDB) name shared with the Service Worker. Default "cachet". */
  cacheName?: string;
  /** URL of the Service Worker script to register, if the page should. */
  serviceWorker?: string;
  /** "auto" (default: WebSocket, SSE after three failed attempts), "websocket" or "sse". */
  transport?: "auto" | "websocket" | "sse";
  /** Reconnect backoff (exponential with full jitter); default 0.5 s doubling to 30 s. */
  backoff?: BackoffOptions;
}

/** Connection state, as every tab sees it. */
export type ConnState = "connecting" | "live" | "offline" | "stopped";

/** What applying a transition or a purge did, with when the leader finished (Unix epoch milliseconds). */
interface Applied {
  /** "evicted" when applied (whatever it covered here), "duplicate" (already applied) or "stale" (older than what was applied). */
  outcome: Outcome;
  /** Stored entries evicted (or, for a STALE transition or a soft purge, marked stale). */
  evicted: number;
  at: number;
}

/** An applied (or skipped) transition: the record and what applying it did. */
export interface EvictEvent extends Transition, Applied {}

/** An applied (or skipped) scope purge: the record and what applying it did. */
export interface PurgeEvent extends Generation, Applied {}

/** Events a Client emits. */
export interface Events {
  /** A transition reached this origin: evicted (a STALE one: marked stale), a duplicate, or older than what was applied. */
  evict: EvictEvent;
  /** A scope purge reached this origin. */
  purge: PurgeEvent;
  /** The connection state changed (leader is whether this tab holds the connection). */
  state: { state: ConnState; leader: boolean };
  /** Entries that could not be proven fresh were flushed. */
  reset: { reason: string; flushed: number };
  /** Analytics' advice for a key reached this tab's connection (leader only) and was stored. */
  advice: Advice;
  /**
   * The Service Worker served key from cache without confirming it: no tab
   * was in sync with push within its bound and the origin was unreachable
   * (only with offline=stale; syncedAt: the last sync, epoch ms).
   */
  stale: { key: string; syncedAt: number };
  /** A revalidation brought a changed response for key, which the worker stored (broadcast update). */
  update: { key: string };
  /** Something went wrong; the client recovers unless the state is "stopped". */
  error: Error;
}

/** Counters and the stored position; sw holds the Service Worker's own counters. */
export interface Stats {
  state: ConnState;
  leader: boolean;
  received: number;
  /** Purge frames received. */
  purges: number;
  evicted: number;
  duplicates: number;
  stale: number;
  resets: number;
  reconnects: number;
  /** Token renewals accepted by push on a live connection. */
  refreshes: number;
  /** Receipts and reads acknowledged by push ("receipted"). */
  receipted: number;
  /** Reads dropped because the outbox was full. */
  dropped: number;
  /** Eviction spans sent. */
  spans: number;
  /** Advice frames stored. */
  advice: number;
  position: string | null;
  sw: Record<string, unknown> | null;
}

type Wire =
  | { t: "evict"; e: EvictEvent }
  | { t: "purge"; e: PurgeEvent }
  | { t: "state"; s: ConnState }
  | { t: "reset"; r: Events["reset"] }
  | { t: "reads"; r: SwRead[] }
  | ({ t: "stale" } & Events["stale"])
  | ({ t: "update" } & Events["update"]);

const POS = "pos";
// While live, the leader records that it is in sync this often.
const BEAT_MS = 1000;
const SLOW_MS = 30_000;
// Receipts frames go at most this often (push allows 20 client frames a second).
const RECEIPTS_GAP_MS = 300;
const RECEIPTS_RETRY_MS = 5000;
// Eviction spans: a burst of 10, then 5 a second; beyond that they are not reported.
const SPAN_BURST = 10;
const SPAN_RATE = 5 / 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Client is a running SDK instance in one tab. */
export class Client extends Emitter<Events> {
  #state: ConnState = "connecting";
  #leader = false;
  #stopped = false;
  #session: Session | null = null;
  #wake: (() => void) | null = null;
  #pos: string | null = null;
  #refreshTimer: ReturnType<typeof setTimeout> | undefined;
  #flushTimer: ReturnType<typeof setTimeout> | undefined;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #flushing = false;
  #dirty = false;
  #id = "";
  #spanTokens = SPAN_BURST;
  #spanAt = 0;
  readonly #bc: BroadcastChannel;
  readonly #cacheName: string;
  readonly #counts = {
    received: 0, purges: 0, evicted: 0, duplicates: 0, stale: 0, resets: 0, reconnects: 0,
    refreshes: 0, receipted: 0, dropped: 0, spans: 0, advice: 0,
  };

  readonly #o: Options;
  readonly #db: Store;

  /** Use Cachet.start. */
  constructor(o: Options, db: Store) {
    super();
    this.#o = o;
    this.#db = db;
    this.#cacheName = o.cacheName ?? "cachet";
    this.#bc = new BroadcastChannel("cachet:" + this.#cacheName);
    this.#bc.onmessage = (m: MessageEvent<Wire>) => this.#heard(m.data);
    addEventListener("online", this.#nudge);
    const locks = (navigator as Navigator & { locks?: LockManager }).locks;
    if (locks) {
      void locks.request("cachet:" + this.#cacheName, () => (this.#stopped ? undefined : this.#lead()));
    } else {
      void this.#lead();
    }
  }

  /** stats reports this tab's counters and, if one controls the page, the Service Worker's. */
  async stats(): Promise<Stats> {
    const sw = await swStats();
    return { state: this.#state, leader: this.#leader, ...this.#counts, position: this.#pos, sw };
  }

  /** stop closes the connection (if this tab leads) and hands leadership on. */
  stop(): void {
    this.#stopped = true;
    removeEventListener("online", this.#nudge);
    clearTimeout(this.#refreshTimer);
    clearTimeout(this.#flushTimer);
    clearTimeout(this.#retryTimer);
    this.#session?.close();
    this.#nudge();
    this.#setState("stopped", false);
    this.#bc.close();
  }

  readonly #nudge = (): void => {
    this.#wake?.();
  };

  #count(t: "evict" | "purge", outcome: Outcome): void {
    this.#counts[t === "purge" ? "purges" : outcome === "evicted" ? "evicted" : outcome === "duplicate" ? "duplicates" : "stale"]++;
  }

  #heard(w: Wire): void {
    if (w.t === "reads") {
      // Only the leader sends; reads of keys outside the subscribed origins
      // would be refused by push.
      const mine = w.r.filter((r) => this.#o.channels.includes("origin:" + origin(r.key)));
      if (this.#leader && this.#id) this.#queue(mine.map((r) => this.#read(r.kind, r.key, r.version, r.at))).catch((e: unknown) => this.emit("error", e as Error));
    } else if (w.t === "evict" || w.t === "purge") {
      this.#count(w.t, w.e.outcome);
      this.emit(w.t, w.e as never);
    } else if (w.t === "state") {
      if (!this.#leader) this.#setState(w.s, false);
    } else if (w.t === "reset") {
      this.#counts.resets++;
      this.emit("reset", w.r);
    } else if (w.t === "stale") {
      this.emit("stale", { key: w.key, syncedAt: w.syncedAt });
    } else if (w.t === "update") {
      this.emit("update", { key: w.key });
    }
  }

  #setState(s: ConnState, tell: boolean): void {
    if (tell && !this.#stopped) this.#bc.postMessage({ t: "state", s } satisfies Wire);
    if (s === this.#state) return;
    this.#state = s;
    this.emit("state", { state: s, leader: this.#leader });
  }

  // lead runs while this tab holds the lock: connect, apply, reconnect. The
  // lock is released when it returns (or when the tab goes away).
  async #lead(): Promise<void> {
    this.#leader = true;
    this.#pos = (await getMeta<string>(this.#db, POS)) ?? null;
    this.#id = (await getMeta<string>(this.#db, "client")) ?? "";
    if (!this.#id) {
      this.#id = crypto.randomUUID();
      await setMeta(this.#db, "client", this.#id);
    }
    let attempt = 0;
    let failures = 0;
    while (!this.#stopped) {
      this.#setState(attempt ? "offline" : "connecting", true);
      const [live, after] = await this.#connectOnce(failures);
      if (this.#stopped) break;
      if (after === "stop") {
        this.#setState("stopped", true);
        break;
      }
      if (live) attempt = failures = 0;
      else failures++;
      this.#counts.reconnects++;
      this.#setState("offline", true);
      const delay = Math.max(after === "slow" ? SLOW_MS : 0, backoffDelay(attempt++, { baseMs: 500, ...this.#o.backoff }));
      await new Promise<void>((r) => {
        const t = setTimeout(r, delay);
        this.#wake = () => {
          clearTimeout(t);
          r();
        };
      });
      this.#wake = null;
    }
    this.#leader = false;
  }

  async #token(): Promise<string> {
    return typeof this.#o.token === "function" ? this.#o.token() : this.#o.token;
  }

  // connectOnce runs one connection until it closes: whether it went live,
  // and what to do next.
  async #connectOnce(failures: number): Promise<[boolean, After]> {
    let live = false;
    let queue = Promise.resolve();
    let beat: ReturnType<typeof setInterval> | undefined;
    let token: string;
    try {
      token = await this.#token();
    } catch (e) {
      this.emit("error", e as Error);
      return [false, "retry"];
    }
    const t = this.#o.transport ?? "auto";
    const kind = t === "sse" || (t === "auto" && failures >= 3) ? "sse" : "ws";
    const sentPos = this.#pos ?? undefined;
    const after = await new Promise<After>((closed) => {
      this.#session = connect(kind, this.#o.pushUrl, token, this.#o.channels, sentPos, {
        frame: (f: Frame) => {
          if (f.t === "welcome") {
            live = true;
            this.#setState("live", true);
            this.#scheduleRefresh(f.exp);
            this.#kick();
            // In sync: recorded behind the frames received so far.
            beat = setInterval(() => (queue = queue.then(() => setMeta(this.#db, SYNCED, Date.now())).catch(() => undefined)), BEAT_MS);
          } else if (f.t === "refreshed") {
            this.#counts.refreshes++;
            this.#scheduleRefresh(f.exp);
            return;
          } else if (f.t === "advice") {
            // A hint outside the ordered stream: stored at once.
            this.#advise(f.advice).catch((e: unknown) => this.emit("error", e as Error));
            return;
          }
          // Frames are applied strictly in order: a position is stored only
          // after everything before it is in Cache Storage.
          queue = queue.then(() => this.#apply(f, sentPos)).catch((e: unknown) => {
            this.emit("error", e as Error);
            this.#session?.close();
          });
        },
        close: (a, why) => {
          clearInterval(beat);
          if (a !== "retry" || live) this.emit("error", new Error("push connection: " + why));
          void queue.then(() => closed(a === "token" && typeof this.#o.token === "string" ? "stop" : a));
        },
      });
    });
    clearTimeout(this.#refreshTimer);
    this.#session = null;
    return [live, after];
  }

  // scheduleRefresh renews the token before exp: a minute before, or a
  // quarter of its remaining life before when that is shorter (WebSocket
  // only; an SSE stream ends at expiry and reconnects with a fresh token).
  #scheduleRefresh(exp: number): void {
    clearTimeout(this.#refreshTimer);
    if (typeof this.#o.token !== "function" || !exp) return;
    this.#refreshTimer = setTimeout(() => {
      this.#token().then((t) => this.#session?.refresh(t), (e: unknown) => this.emit("error", e as Error));
    }, refreshDelay(exp, Date.now()));
  }

  // read builds a read record of this browser.
  #read(kind: ReadKind, key: string, version?: number, at = new Date().toISOString(), traceparent?: string): Read {
    return { v: 1, kind, key, version, origin: location.origin, client: this.#id, at, traceparent };
  }

  // queue puts reads in the outbox; they are sent once connected.
  async #queue(reads: Read[]): Promise<void> {
    if (!reads.length) return;
    this.#counts.dropped += await enqueue(this.#db, reads);
    this.#kick();
  }

  // kick schedules a flush of the outbox shortly (batching what arrives meanwhile).
  #kick(): void {
    this.#dirty = true;
    clearTimeout(this.#retryTimer);
    this.#flushTimer ??= setTimeout(() => {
      this.#flushTimer = undefined;
      void this.#flush().catch((e: unknown) => this.emit("error", e as Error));
    }, 200);
  }

  // flush sends the outbox in order, one batch at a time, and forgets a
  // batch only after push acknowledged it; a batch not acknowledged stays
  // for the next connection.
  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    try {
      while (this.#dirty) {
        this.#dirty = false;
        for (;;) {
          const s = this.#session;
          if (!s || this.#state !== "live") return;
          const { items, keys } = await peek<Read>(this.#db, 100);
          if (!items.length) break;
          const b = batch(items, s.maxFrameBytes);
          if (!(await s.receipts(b))) {
            // Not acknowledged (push could not store them, or the
            // connection went): kept, and tried again a little later.
            this.#retryTimer = setTimeout(() => this.#kick(), RECEIPTS_RETRY_MS);
            return;
          }
          await forget(this.#db, keys[b.length - 1]!);
          this.#counts.receipted += b.length;
          await sleep(RECEIPTS_GAP_MS);
        }
      }
    } finally {
      this.#flushing = false;
    }
  }

  // span reports the eviction of one transition or purge (what) as a child of its trace.
  #span(f: Extract<Frame, { at: number }>, what: string, evicted: number, attributes: Record<string, string>): void {
    const end = now();
    this.#spanTokens = Math.min(SPAN_BURST, this.#spanTokens + (end - this.#spanAt) * SPAN_RATE);
    this.#spanAt = end;
    const traceparent = f.record.traceparent;
    if (!traceparent || !this.#session || this.#spanTokens < 1) return;
    this.#spanTokens--;
    this.#counts.spans++;
    this.#session.span({ traceparent, name: "cachet.sdk." + what, startMs: f.at, endMs: end, attributes: { ...attributes, "cache.evicted": String(evicted) } });
  }

  async #advise(a: Advice): Promise<void> {
    await setHint(this.#db, a.key, { maxAge: a.recommendedMaxAge, early: a.action === "invalidate-early" });
    this.#counts.advice++;
    this.emit("advice", a);
  }

  async #apply(f: Frame, sentPos: string | undefined): Promise<void> {
    if (f.t === "transition" || f.t === "purge") {
      const t = f.t === "purge" ? "purge" : "evict";
      if (t === "evict") this.#counts.received++;
      const r = f.record as Transition & Generation;
      const [outcome, evicted] = await (t === "purge" ? applyPurge : applyTransition)(this.#db, this.#cacheName, r);
      this.#count(t, outcome);
      if (outcome === "evicted") {
        const what: Record<string, string> = t === "purge"
          ? { "cache.scope": `${r.scope}:${r.value}`.slice(0, 256), "cache.generation": String(r.generation) }
          : { "cache.key": r.key.slice(0, 256), "cache.version": String(r.version) };
        this.#span(f, t, evicted, what);
        // No receipt for a purge: receipts name a key's version.
        if (t === "evict") await this.#queue([this.#read("evict", r.key, r.version, undefined, r.traceparent)]);
      }
      // Tell before storing the position: if this tab dies in between, the
      // next leader replays the frame and the other tabs hear it again
      // (at least once) rather than never.
      const e = { ...r, outcome, evicted, at: Date.now() };
      this.#bc.postMessage({ t, e } satisfies Wire);
      this.emit(t, e);
      await this.#advance(f.pos);
    } else if (f.t === "reset" || (f.t === "welcome" && !f.resumed && !sentPos)) {
      // A gap the server cannot fill, or a first connection with entries
      // stored before it: nothing on these channels can be proven fresh.
      await this.#reset(f.t === "reset" ? f.reason : "first-connection");
      await this.#advance(f.pos);
    } else if ("pos" in f) {
      await this.#advance(f.pos);
    }
  }

  async #reset(reason: string): Promise<void> {
    const origins = this.#o.channels.map((c) => (c.startsWith("origin:") ? c.slice(7) : null));
    // A tag channel's entries may be on any origin: its reset flushes everything.
    const match = origins.includes(null) ? undefined : (url: string) => origins.includes(origin(url));
    const flushed = await flush(this.#cacheName, match);
    if (reason === "first-connection" && !flushed) return;
    this.#counts.resets++;
    const r = { reason, flushed };
    this.#bc.postMessage({ t: "reset", r } satisfies Wire);
    this.emit("reset", r);
  }

  async #advance(pos: string): Promise<void> {
    if (!pos || pos === this.#pos) return;
    this.#pos = pos;
    await setMeta(this.#db, POS, pos);
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
  if (o.serviceWorker) await navigator.serviceWorker.register(o.serviceWorker);
  return new Client(o, await openStore(o.cacheName ?? "cachet"));
}
