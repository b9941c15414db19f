// The real server side of the browser tests: an embedded Kafka broker
// (`cachet dev`), a real `cachet push` built from this repository, a
// producer writing record.Transition records (`cachet produce`), and a TCP
// proxy in front of push so a test can cut the browser off and heal it.
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { createHmac } from "node:crypto";
import { createServer as createTCPServer, connect as tcpConnect, type Server as TCPServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { createInterface } from "node:readline";

const BIN = process.env.CACHET_BIN ?? "../.bin/cachet";
// CACHET_PUSH_BIN runs another build of the push server (same flags).
const PUSH_BIN = process.env.CACHET_PUSH_BIN ?? BIN;

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

/** Proxy forwards TCP to push; partition() cuts every connection until heal(). */
export class Proxy {
  private cut = false;
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
      const up = tcpConnect(target, "127.0.0.1");
      for (const s of [client, up]) {
        p.socks.add(s);
        s.on("close", () => p.socks.delete(s));
        s.on("error", () => (client.destroy(), up.destroy()));
      }
      client.pipe(up).pipe(client);
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
  state?: "VALID" | "INVALIDATED" | "PURGED";
  tags?: string[];
  etag?: string;
}

/** Stack is a running broker, push server and producer. */
export class Stack {
  private tx = 0;
  private pending: ((line: string) => void)[] = [];
  private constructor(
    private readonly dev: Proc,
    private readonly push: Proc,
    private readonly producer: Proc,
    readonly proxy: Proxy,
  ) {
    createInterface({ input: producer.child.stdout }).on("line", (l) => this.pending.shift()?.(l));
  }

  static async start(): Promise<Stack> {
    const dev = run("cachet dev", ["dev", "--port", "0"]);
    const brokers = (await dev.waitFor(/embedded broker on (\S+)/))[1]!;
    const push = run("cachet push", ["push", "--brokers", brokers, "--listen", "127.0.0.1:0", "--audience", AUDIENCE], {
      CACHET_PUSH_SECRET: SECRET,
    }, PUSH_BIN);
    const pushAddr = (await push.waitFor(/listening on http:\/\/(\S+)/))[1]!;
    await waitHTTP(`http://${pushAddr}/healthz`, push);
    const producer = run("cachet produce", ["produce", "--brokers", brokers]);
    const proxy = await Proxy.start(Number(pushAddr.split(":").pop()));
    return new Stack(dev, push, producer, proxy);
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
        channel: "cachet", block: 100 + this.tx, txIndex: 0, txId: `sdk-e2e-${this.tx}`, ts: new Date().toISOString(),
        key: c.key, version: c.version, state: c.state ?? "INVALIDATED", etag: c.etag, tags: c.tags,
        owner: "Org1MSP", actor: "Org1MSP", reason: "browser test",
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
    await Promise.all([this.producer.stop(), this.push.stop()]);
    await this.dev.stop();
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

/** token signs an HS256 subscriber token for channels, valid for ttl seconds. */
export function token(channels: string[], ttl = 3600): string {
  const head = b64url(JSON.stringify({ alg: "HS256", typ: "JWT" }));
  const body = b64url(JSON.stringify({ exp: Math.floor(Date.now() / 1000) + ttl, aud: AUDIENCE, sub: "sdk-e2e", channels }));
  const sig = createHmac("sha256", SECRET).update(`${head}.${body}`).digest("base64url");
  return `${head}.${body}.${sig}`;
}
