// A static origin on 127.0.0.1: serves the SDK bundles, the test page and
// resources whose caching headers the tests choose, and counts what reaches
// it. Each test gets its own port, hence its own browser origin: its own
// Service Worker, Cache Storage, IndexedDB and leader lock.
import { readFileSync } from "node:fs";
import { createServer, request, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { stamp } from "../src/node/stamp";
import { token } from "./stack";

// Bundled into sdk/dist/e2e/; the SDK root is two up.
const sdk = join(dirname(fileURLToPath(import.meta.url)), "..", "..");

type Handler = (req: IncomingMessage, res: ServerResponse, n: number) => void;

// who names the identity a request carries: its bearer token, else its sid cookie.
const who = (q: IncomingMessage): string =>
  /^Bearer (\w+)$/.exec(q.headers.authorization ?? "")?.[1] ?? /(?:^|;\s*)sid=(\w+)/.exec(q.headers.cookie ?? "")?.[1] ?? "anonymous";

// Resources under /r/<name> (or /<dir>/r/<name>, the same resource under a
// path prefix): each answers with its own caching headers and a body that
// carries the request count, so a test can tell copies apart. Any origin may
// read them (CORS). The
// shared ones say public: the worker stores an answer to a request with
// cookies only when the response opts in. The personal ones (/r/me*, /r/vary*)
// also name who asked, so a copy served to the wrong user shows.
const LAST_MODIFIED = "Tue, 01 Dec 2026 08:00:00 GMT";
const resources: Record<string, Handler> = {
  plain: (_q, s, n) => s.writeHead(200, { "cache-control": "public, max-age=3600", etag: `"p${n}"` }).end(`plain ${n}`),
  nostore: (_q, s, n) => s.writeHead(200, { "cache-control": "no-store" }).end(`nostore ${n}`),
  private: (_q, s, n) => s.writeHead(200, { "cache-control": "private, max-age=3600" }).end(`private ${n}`),
  cookie: (_q, s, n) => s.writeHead(200, { "cache-control": "public, max-age=3600", "set-cookie": `visit=${n}; Path=/` }).end(`cookie ${n}`),
  vary: (q, s, n) => s.writeHead(200, { "cache-control": "public, max-age=3600", vary: "X-Variant" }).end(`vary ${String(q.headers["x-variant"])} ${n}`),
  varystar: (_q, s, n) => s.writeHead(200, { "cache-control": "public, max-age=3600", vary: "*" }).end(`varystar ${n}`),
  slow: (_q, s, n) => s.writeHead(200, { "cache-control": "public, max-age=3600" }).end(`slow ${n}`),
  // lastmod has a Last-Modified and no entity tag; it answers 304 to If-Modified-Since.
  lastmod: (q, s, n) =>
    q.headers["if-modified-since"] === LAST_MODIFIED
      ? void s.writeHead(304, { "last-modified": LAST_MODIFIED }).end()
      : void s.writeHead(200, { "cache-control": "public, no-cache", "last-modified": LAST_MODIFIED }).end(`lastmod ${n}`),
  // tagged carries the query's ct as Cache-Tag and sk as Surrogate-Key.
  tagged: (q, s, n) => {
    const u = new URL(q.url ?? "/", "http://origin");
    const tags = { "cache-tag": u.searchParams.get("ct"), "surrogate-key": u.searchParams.get("sk") };
    const h = Object.fromEntries(Object.entries(tags).filter(([, v]) => v !== null)) as Record<string, string>;
    s.writeHead(200, { "cache-control": "public, max-age=3600", etag: `"t${n}"`, ...h }).end(`tagged ${n}`);
  },
  etag: (q, s, n) => {
    if (q.headers["if-none-match"] === '"e1"') return void s.writeHead(304, { etag: '"e1"', "cache-control": "public, max-age=3600" }).end();
    s.writeHead(200, { "cache-control": "public, max-age=3600", etag: '"e1"' }).end(`etag ${n}`);
  },
  nocache: (q, s, n) => {
    if (q.headers["if-none-match"] === '"stable"') return void s.writeHead(304, { etag: '"stable"' }).end();
    s.writeHead(200, { "cache-control": "public, no-cache", etag: '"stable"' }).end(`nocache ${n}`);
  },
  me: (q, s, n) => s.writeHead(200, { "cache-control": "max-age=3600" }).end(`me ${who(q)} ${n}`),
  mepublic: (q, s, n) => s.writeHead(200, { "cache-control": "public, max-age=3600" }).end(`mepublic ${who(q)} ${n}`),
  meshared: (q, s, n) => s.writeHead(200, { "cache-control": "max-age=3600", "cachet-cache": "shared" }).end(`meshared ${who(q)} ${n}`),
  memustrevalidate: (q, s, n) => s.writeHead(200, { "cache-control": "max-age=3600, must-revalidate" }).end(`memustrevalidate ${who(q)} ${n}`),
  mesmaxage: (q, s, n) => s.writeHead(200, { "cache-control": "s-maxage=3600" }).end(`mesmaxage ${who(q)} ${n}`),
  varycookie: (q, s, n) => s.writeHead(200, { "cache-control": "public, max-age=3600", vary: "Cookie" }).end(`varycookie ${who(q)} ${n}`),
  varyauth: (q, s, n) => s.writeHead(200, { "cache-control": "public, max-age=3600", vary: "Authorization" }).end(`varyauth ${who(q)} ${n}`),
};

/** Origin is a running static server. */
export class Origin {
  /** Requests that reached the server, by path (with query). */
  readonly hits = new Map<string, number>();
  /** Conditional requests (If-None-Match or If-Modified-Since) by path. */
  readonly conditional = new Map<string, number>();
  /** Headers of /r/flip's 304 (it answers 304 to If-None-Match: "f"; else 200, public, no-cache). */
  notModified: Record<string, string> = { etag: '"f"' };
  /** While true, resource requests fail at the TCP level, as if the origin were unreachable. */
  down = false;
  /** While set, /r/slow answers only once this promise resolves. */
  gate: Promise<void> | null = null;
  /** When set, /push/* is proxied to this base URL (push served from the page's own origin). */
  push: string | null = null;
  /** GET /token signs a token for these channels; each request takes the next lifetime (seconds), the last one repeats. */
  tokens: { channels: string[]; ttls: number[] } = { channels: [], ttls: [3600] };
  /** Tokens handed out by GET /token. */
  tokensIssued = 0;
  /**
   * The ledger version of /r/versioned as this origin's upstream knows it
   * (it may lag the ledger); the SDK's node middleware stamps it on the
   * response as Cachet-Version. Undefined: no stamp.
   */
  upstreamVersion: number | undefined = undefined;
  private readonly stamp = stamp(() => this.upstreamVersion);
  /** What /site-sw.js (a site's own worker: this object, then importScripts of Cachet's) sets as self.cachet. */
  swConfig: Record<string, unknown> = {};
  private constructor(
    private readonly server: Server,
    readonly url: string,
  ) {}

  static async start(): Promise<Origin> {
    let origin: Origin | undefined;
    const server = createServer((req, res) => origin!.handle(req, res));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    origin = new Origin(server, `http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    return origin;
  }

  /** count returns how many requests for path (with query) reached the origin. */
  count(path: string): number {
    return this.hits.get(path) ?? 0;
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = req.url ?? "/";
    const pathname = path.split("?")[0] ?? "/";
    if (pathname === "/") return void res.writeHead(200, { "content-type": "text/html" }).end(readFileSync(join(sdk, "e2e", "page", "index.html")));
    if (pathname === "/cachet.js" || pathname === "/cachet-sw.js") {
      return void res.writeHead(200, { "content-type": "text/javascript", "cache-control": "no-store" }).end(readFileSync(join(sdk, "dist", pathname)));
    }
    if (pathname === "/site-sw.js") {
      const js = `self.cachet = ${JSON.stringify(this.swConfig)};\nimportScripts("/cachet-sw.js");\n`;
      return void res.writeHead(200, { "content-type": "text/javascript", "cache-control": "no-store" }).end(js);
    }
    if (pathname === "/workbox-sw.js") {
      return void res.writeHead(200, { "content-type": "text/javascript", "cache-control": "no-store" }).end(readFileSync(join(sdk, "dist", "e2e", "workbox-sw.js")));
    }
    if (pathname.startsWith("/push/") && this.push) return this.proxy(req, res, this.push + path.slice(5));
    if (pathname === "/token") {
      const ttl = this.tokens.ttls.length > 1 ? this.tokens.ttls.shift()! : this.tokens.ttls[0]!;
      this.tokensIssued++;
      return void res.writeHead(200, { "content-type": "text/plain", "cache-control": "no-store" }).end(token(this.tokens.channels, ttl));
    }
    const m = /^\/(?:[a-z]+\/)?r\/([a-z]+)$/.exec(pathname);
    const h = m?.[1] === "flip" ? this.flip : m?.[1] === "versioned" ? this.versioned : m ? resources[m[1]!] : undefined;
    if (!h) return void res.writeHead(404).end();
    if (this.down) return void req.socket.destroy();
    res.setHeader("access-control-allow-origin", "*");
    const n = (this.hits.get(path) ?? 0) + 1;
    this.hits.set(path, n);
    if (req.headers["if-none-match"] || req.headers["if-modified-since"]) this.conditional.set(path, (this.conditional.get(path) ?? 0) + 1);
    if (m![1] === "slow" && this.gate) {
      const gate = this.gate;
      return void gate.then(() => h(req, res, n));
    }
    h(req, res, n);
  }

  // versioned names the version its data comes from in the body too.
  private readonly versioned: Handler = (q, s, n) =>
    this.stamp(q, s, () => s.writeHead(200, { "cache-control": "public, max-age=3600" }).end(`versioned v${this.upstreamVersion} ${n}`));

  private readonly flip: Handler = (q, s, n) => {
    if (q.headers["if-none-match"] === '"f"') return void s.writeHead(304, this.notModified).end();
    s.writeHead(200, { "cache-control": "public, no-cache", etag: '"f"' }).end(`flip ${n}`);
  };

  // proxy forwards one request, streaming the answer (Server-Sent Events).
  private proxy(req: IncomingMessage, res: ServerResponse, target: string): void {
    const up = request(target, { method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    up.on("error", () => res.destroy());
    res.on("close", () => up.destroy());
    req.pipe(up);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((r) => this.server.close(() => r()));
  }
}
