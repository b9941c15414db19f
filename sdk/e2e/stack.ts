// The real server side of the browser tests: an embedded Kafka broker
// (`cachet dev`), a real `cachet push` built from this repository, a
// producer writing record.Transition records (`cachet produce`), and a TCP
// proxy in front of push so a test can cut the browser off and heal it.
// Scope purges and advice records are written by `cachet produce --topic
// cachet.purges` and `--topic cachet.advice`, as the relay and analytics
// would publish them.
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHmac } from "node:crypto";
import { createServer as createTCPServer, connect as tcpConnect, type Server as TCPServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";

const BIN = process.env.CACHET_BIN ?? "../.bin/cachet";
// CACHET_PUSH_BIN runs another build of the push server (same flags).
export const PUSH_BIN = process.env.CACHET_PUSH_BIN ?? BIN;

export const SECRET = "sdk-browser-tests-secret-0123456789";
export const AUDIENCE = "cachet-push";

/** A child process whose output lines can be awaited. */
class Proc {
  readonly lines: string[] = [];
  private waiters: (() => void)[] = [];
  readonly exited: Promise<number | null>;
  constructor(
    readonly name: string,
    readonly child: ChildProcessWithoutNullStreams,
  ) {
    for (const s of [child.stdout, child.stderr]) {
      createInterface({ input: s }).on("line", (l) => {
        this.lines.push(l);
        if (process.env.CACHET_E2E_VERBOSE) console.error(`[${name}] ${l}`);
        for (const w of this.waiters.splice(0)) w();
      });
    }
    this.exited = new Promise((r) => child.on("exit", (code) => r(code)));
  }

  /** waitFor resolves with the first output line matching re. */
  async waitFor(re: RegExp, timeoutMs = 60_000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (let seen = 0; ; ) {
      for (; seen < this.lines.length; seen++) {
        const m = re.exec(this.lines[seen]!);
        if (m) return m;
      }
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited (${this.child.exitCode}):\n${this.lines.slice(-20).join("\n")}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no line matching ${re} in ${timeoutMs} ms:\n${this.lines.slice(-20).join("\n")}`);
      await new Promise<void>((r) => {
        this.waiters.push(r);
        setTimeout(r, 500);
      });
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.kill("SIGTERM");
    const t = setTimeout(() => this.child.kill("SIGKILL"), 10_000);
    await this.exited;
    clearTimeout(t);
  }
}

function run(name: string, args: string[], env: Record<string, string> = {}, bin = BIN): Proc {
  return new Proc(name, spawn(bin, args, { env: { ...process.env, ...env }, stdio: "pipe" }));
}

/** cachet runs a cachet command to completion and returns its output; it throws on a non-zero exit. */
export function cachet(...args: string[]): string {
  const r = spawnSync(BIN, args, { encoding: "utf8" });
  if (r.status !== 0) throw new Error(`cachet ${args.join(" ")}: exit ${r.status}\n${r.stdout}${r.stderr}`);
  return r.stdout;
}

/** flags lists the flags a cachet subcommand accepts (from its -h). */
export function flags(cmd: string, bin = BIN): Set<string> {
  const r = spawnSync(bin, [cmd, "-h"], { encoding: "utf8" });
  // "  -x, --name type   usage" (cobra), or "  -name type" (an older build's Go flag package).
  return new Set([...`${r.stdout}${r.stderr}`.matchAll(/^\s+(?:-[a-z], )?--?([a-z][a-z0-9-]*)/gm)].map((m) => m[1]!));
}

/**
 * devOnly are the flags that leave every in-process daemon of `cachet dev`
 * off, a bare broker: each `--*-listen` empty, each switch on by default
 * (a boolean flag whose help says "(default true)") false.
 */
export function devOnly(): string[] {
  const r = spawnSync(BIN, ["dev", "-h"], { encoding: "utf8" });
  const help = `${r.stdout}${r.stderr}`;
  const off = [...flags("dev")].filter((f) => f.endsWith("-listen")).map((f) => `--${f}=`);
  // A boolean flag has no type word after its name: "  --name   usage (default true)".
  for (const m of help.matchAll(/^\s+--([a-z][a-z0-9-]*) {2,}[^\n]*\(default true\)$/gm)) off.push(`--${m[1]}=false`);
  return off;
}

/**
 * Proxy forwards TCP to push; partition() cuts every connection until
 * heal(); with refuseUpgrades set it closes every connection whose first
 * request asks for a WebSocket upgrade, as some corporate proxies do.
 */
export class Proxy {
  private cut = false;
  /** While true, connections that open with a WebSocket upgrade request are closed unanswered. */
  refuseUpgrades = false;
  /** The request line each connection opened with, and whether it was refused. */
  readonly requests: { line: string; refused: boolean }[] = [];
  private readonly socks = new Set<Socket>();
  private constructor(
    private readonly server: TCPServer,
    readonly port: number,
  ) {}

  static async start(target: number): Promise<Proxy> {
    let proxy: Proxy | undefined;
    const server = createTCPServer((client) => {
      const p = proxy!;
      if (p.cut) return void client.destroy();
      client.on("error", () => client.destroy());
      client.once("data", (first: Buffer) => {
        const head = first.toString("latin1");
        const refused = p.refuseUpgrades && /^upgrade:\s*websocket/im.test(head);
        p.requests.push({ line: head.split("\r\n", 1)[0]!, refused });
        if (refused || p.cut) return void client.destroy();
        const up = tcpConnect(target, "127.0.0.1");
        for (const s of [client, up]) {
          p.socks.add(s);
          s.on("close", () => p.socks.delete(s));
          s.on("error", () => (client.destroy(), up.destroy()));
        }
        up.write(first);
        client.pipe(up).pipe(client);
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    proxy = new Proxy(server, (server.address() as AddressInfo).port);
    return proxy;
  }

  partition(): void {
    this.cut = true;
    for (const s of this.socks) s.destroy();
  }

  heal(): void {
    this.cut = false;
  }

  close(): Promise<void> {
    this.partition();
    return new Promise((r) => this.server.close(() => r()));
  }
}

/** A transition to produce; the producer fills in the rest. */
export interface Change {
  key: string;
  version: number;
  state?: "VALID" | "INVALIDATED" | "PURGED" | "STALE";
  tags?: string[];
  etag?: string;
  traceparent?: string;
  /** Ledger time; default now. */
  ts?: string;
  /** Ledger transaction ID; default sdk-e2e-N. */
  txId?: string;
}

/** Advice to produce; the helper fills in the rest. */
export interface AdviceIn {
  key: string;
  recommendedMaxAge: number;
  action: "none" | "invalidate-early" | "pin" | "batch";
}

/** A scope purge to produce (record.Generation); the helper fills in the rest. */
export interface PurgeIn {
  scope: "tag" | "prefix" | "host" | "origin";
  value: string;
  generation: number;
  soft?: boolean;
  /** Default Org1MSP. */
  owner?: string;
  traceparent?: string;
}

/** Stack is a running broker, push server and producer. */
export class Stack {
  private tx = 0;
  private pending: ((line: string) => void)[] = [];
  private advisor: Proc | null = null;
  private purger: Proc | null = null;
  /** The demo origin of `cachet dev`, when started with demo(). */
  origin = "";
  private constructor(
    private readonly dev: Proc,
    private readonly push: Proc | null,
    private readonly producer: Proc,
    readonly proxy: Proxy,
    readonly brokers: string,
    /** host:port of push itself (not through the proxy). */
    readonly pushAddr: string,
  ) {
    createInterface({ input: producer.child.stdout }).on("line", (l) => this.pending.shift()?.(l));
  }

  /** start runs the stack; otlp, when given, is where push exports spans (if this build can). */
  static async start(o: { otlp?: string } = {}): Promise<Stack> {
    const dev = run("cachet dev", ["dev", "--port", "0", ...devOnly()]);
    const brokers = (await dev.waitFor(/embedded broker on (\S+)/))[1]!;
    const extra = o.otlp && flags("push", PUSH_BIN).has("otlp-endpoint") ? ["--otlp-endpoint", o.otlp] : [];
    const push = run("cachet push", ["push", "--brokers", brokers, "--listen", "127.0.0.1:0", "--audience", AUDIENCE, ...extra], {
      CACHET_PUSH_SECRET: SECRET,
    }, PUSH_BIN);
    const pushAddr = (await push.waitFor(/listening on http:\/\/(\S+)/))[1]!;
    await waitHTTP(`http://${pushAddr}/healthz`, push);
    const producer = run("cachet produce", ["produce", "--brokers", brokers]);
    const proxy = await Proxy.start(Number(pushAddr.split(":").pop()));
    return new Stack(dev, push, producer, proxy, brokers, pushAddr);
  }

  /**
   * demo runs `cachet dev` with its push server and demo origin on free
   * ports, or the given ones (a build without the in-process push server gets a separate
   * `cachet push` with the development secret).
   */
  static async demo(sdkDist: string, ports?: { push: number; origin: number }, devArgs: string[] = []): Promise<Stack> {
    const [pushPort, originPort] = ports ? [ports.push, ports.origin] : ((await freePorts(2)) as [number, number]);
    const pushAddr = `127.0.0.1:${pushPort}`;
    const ownPush = flags("dev").has("push-listen");
    const dev = run("cachet dev", [
      "dev", "--port", "0", ...devOnly(), "--origin-listen", `127.0.0.1:${originPort}`, "--origin-sdk-dir", sdkDist,
      "--origin-push-url", `ws://${pushAddr}/ws`, ...(ownPush ? ["--push-listen", pushAddr] : []), ...devArgs,
    ]);
    const brokers = (await dev.waitFor(/embedded broker on (\S+)/))[1]!;
    const push = ownPush ? null : run("cachet push", ["push", "--brokers", brokers, "--listen", pushAddr], { CACHET_PUSH_SECRET: "cachet-dev-secret" }, PUSH_BIN);
    const origin = (await dev.waitFor(/origin: demo on (\S+)/))[1]!;
    await waitHTTP(`http://${pushAddr}/healthz`, push ?? dev);
    const producer = run("cachet produce", ["produce", "--brokers", brokers]);
    const st = new Stack(dev, push, producer, await Proxy.start(pushPort), brokers, pushAddr);
    st.origin = origin;
    return st;
  }

  /** metric sums push's Prometheus samples of name whose labels contain labels. */
  async metric(name: string, labels = ""): Promise<number> {
    const text = await (await fetch(`http://${this.pushAddr}/metrics`)).text();
    let sum = 0;
    for (const line of text.split("\n")) {
      const m = /^([a-z_]+)(\{[^}]*\})? (\S+)$/.exec(line);
      if (m && m[1] === name && (m[2] ?? "").includes(labels)) sum += Number(m[3]);
    }
    return sum;
  }

  /** advise writes advice records to cachet.advice and resolves once the broker has them. */
  async advise(...advice: AdviceIn[]): Promise<void> {
    const a = (this.advisor ??= run("advice", ["produce", "--topic", "cachet.advice", "--brokers", this.brokers]));
    for (const x of advice) {
      const line = { writeRate: 0.5, readRate: 2, pStale: 0.4, expectedStaleReads: 0.8, conflictRisk: 0, engine: "cpu", at: new Date().toISOString(), ...x };
      await acknowledged(a, line, `advice for ${x.key}`);
    }
  }

  /** purge writes scope purges to cachet.purges, in order, and resolves once the broker has them. */
  async purge(...purges: PurgeIn[]): Promise<void> {
    const p = (this.purger ??= run("purges", ["produce", "--topic", "cachet.purges", "--brokers", this.brokers]));
    for (const x of purges) {
      this.tx++;
      const line = {
        channel: "cachet", block: 100 + this.tx, txIndex: 0, txId: `sdk-e2e-${this.tx}`, ts: new Date().toISOString(),
        owner: "Org1MSP", actor: "Org1MSP", reason: "browser test", ...x,
      };
      await acknowledged(p, line, `purge ${x.scope} ${x.value} ${x.generation}`);
    }
  }

  /** url is where browsers reach push (through the proxy). */
  get url(): string {
    return `http://127.0.0.1:${this.proxy.port}`;
  }

  /** produce writes transitions in order and resolves once the broker has them. */
  async produce(...changes: Change[]): Promise<void> {
    for (const c of changes) {
      this.tx++;
      const line = JSON.stringify({
        channel: "cachet", block: 100 + this.tx, txIndex: 0, txId: c.txId ?? `sdk-e2e-${this.tx}`, ts: c.ts ?? new Date().toISOString(),
        key: c.key, version: c.version, state: c.state ?? "INVALIDATED", etag: c.etag, tags: c.tags,
        owner: "Org1MSP", actor: "Org1MSP", reason: "browser test", traceparent: c.traceparent,
      });
      const ack = new Promise<string>((r) => this.pending.push(r));
      this.producer.child.stdin.write(line + "\n");
      const got = await Promise.race([ack, this.producer.exited.then((c) => `exit ${c}`)]);
      if (!got.startsWith("ok ")) throw new Error(`cachet produce: ${got}\n${this.producer.lines.slice(-10).join("\n")}`);
    }
  }

  async close(): Promise<void> {
    await this.proxy.close();
    this.producer.child.stdin.end();
    this.advisor?.child.stdin.end();
    this.purger?.child.stdin.end();
    await Promise.all([this.producer.stop(), this.push?.stop(), this.advisor?.stop(), this.purger?.stop()]);
    await this.dev.stop();
  }
}

async function freePorts(n: number): Promise<number[]> {
  const servers = await Promise.all(Array.from({ length: n }, () => new Promise<TCPServer>((r) => {
    const sv = createTCPServer();
    sv.listen(0, "127.0.0.1", () => r(sv));
  })));
  const ports = servers.map((sv) => (sv.address() as AddressInfo).port);
  await Promise.all(servers.map((sv) => new Promise((r) => sv.close(r))));
  return ports;
}

// acknowledged writes one JSON line to a running `cachet produce` and waits for its "ok" line.
async function acknowledged(p: Proc, line: unknown, what: string): Promise<void> {
  const before = p.lines.filter((l) => l.startsWith("ok ")).length;
  p.child.stdin.write(JSON.stringify(line) + "\n");
  await waitUntil(`${what} acknowledged`, () => p.lines.filter((l) => l.startsWith("ok ")).length > before, p);
}

async function waitUntil(what: string, ok: () => boolean, p: Proc): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!ok()) {
    if (p.child.exitCode !== null || Date.now() > deadline) throw new Error(`${what}: ${p.name} ${p.child.exitCode ?? "silent"}:\n${p.lines.slice(-10).join("\n")}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function waitHTTP(url: string, p: Proc): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await fetch(url)).ok) return;
    } catch {
      // not up yet
    }
    if (p.child.exitCode !== null || Date.now() > deadline) {
      throw new Error(`cachet push did not come up at ${url}:\n${p.lines.slice(-20).join("\n")}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

const b64url = (s: string | Buffer): string => Buffer.from(s).toString("base64url");

/** token signs an HS256 subscriber token for channels, valid for ttl seconds (negative: expired). */
export function token(channels: string[], ttl = 3600, secret = SECRET): string {
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + ttl, aud: AUDIENCE, sub: "sdk-e2e", channels }));
  const sig = createHmac("sha256", secret).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}
