// An origin middleware for node:http and Express-style servers: stamps each
// GET and HEAD response with the ledger version of its entry in the
// Cachet-Version header, so the Service Worker refuses a fill built from data
// older than an invalidation it already applied (a slow upstream, a lagging
// replica). The same contract as Go's github.com/cachetsync/cachet/stamp.
//
//   import { stamp } from "@cachet/sdk/node";
//   app.use(stamp((key) => ledger.version(key)));          // Express
//   const s = stamp(versions);                              // node:http
//   createServer((req, res) => s(req, res, () => handler(req, res)));

import type { IncomingMessage, ServerResponse } from "node:http";
import type { TLSSocket } from "node:tls";
import { canonical } from "../cachekey";

/** HEADER is the response header that carries the entry's ledger version. */
export const HEADER = "Cachet-Version";

/**
 * VersionSource returns the current ledger version of a canonical cache key,
 * or undefined when the key has none. It may be async.
 */
export type VersionSource = (key: string) => number | bigint | undefined | Promise<number | bigint | undefined>;

/** A middleware in the (req, res, next) shape of Express and Connect. */
export type Middleware = (req: IncomingMessage, res: ServerResponse, next: (err?: unknown) => void) => void;

/**
 * requestUrl returns the absolute URL a browser asked for with req: https
 * when it arrived over TLS, the Host header, and Express's originalUrl
 * (the URL before mounted routers rewrote it) or the request URL.
 */
export function requestUrl(req: IncomingMessage): string {
  const scheme = (req.socket as TLSSocket).encrypted ? "https" : "http";
  const path = (req as IncomingMessage & { originalUrl?: string }).originalUrl ?? req.url ?? "/";
  return `${scheme}://${req.headers.host ?? "localhost"}${path}`;
}

/**
 * stamp returns the middleware. The version is looked up before next runs,
 * so a stamp is never newer than the data behind the response. A URL that is
 * not a valid cache key, a key without a version and a lookup that fails
 * leave the response unstamped (the worker then relies on its in-flight check).
 */
export function stamp(versions: VersionSource): Middleware {
  return (req, res, next) => {
    if (req.method !== "GET" && req.method !== "HEAD") return next();
    let key: string;
    try {
      key = canonical(requestUrl(req));
    } catch {
      return next();
    }
    Promise.resolve()
      .then(() => versions(key))
      .then(
        (v) => {
          if (v !== undefined && !res.headersSent) res.setHeader(HEADER, String(v));
        },
        () => undefined,
      )
      .then(() => next());
  };
}
