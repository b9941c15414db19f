import assert from "node:assert/strict";
import { createServer, request, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import { HEADER, requestUrl, stamp, type VersionSource } from "../../src/node/stamp";

// A real node:http server behind the middleware; versions and asked are per test.
let versions: VersionSource = () => undefined;
const asked: string[] = [];
let server: Server;
let port = 0;
before(async () => {
  const mw = stamp((key) => (asked.push(key), versions(key)));
  server = createServer((req, res) => mw(req, res, () => res.writeHead(200, { "content-type": "text/plain" }).end(requestUrl(req))));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as AddressInfo).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

function get(path: string, method = "GET", host = "shop.example"): Promise<[string | undefined, string]> {
  return new Promise((resolve, reject) => {
    const req = request({ port, path, method, headers: { host } }, (res) => {
      let body = "";
      res.on("data", (c: Buffer) => (body += c.toString()));
      res.on("end", () => resolve([res.headers[HEADER.toLowerCase()] as string | undefined, body]));
    });
    req.on("error", reject);
    req.end();
  });
}

test("stamp: responses carry the version of their canonical key", async () => {
  const ledger = new Map<string, number | bigint>([
    ["http://shop.example/items/1", 7],
    ["http://shop.example/search?a=1&b=2", 3],
    ["http://shop.example:8080/x", 2n ** 60n],
  ]);
  // name, path, method, host, version source, want header, want key asked
  const cases: [string, string, string, string, VersionSource, string | undefined, string | undefined][] = [
    ["get", "/items/1", "GET", "shop.example", (k) => ledger.get(k), "7", "http://shop.example/items/1"],
    ["head", "/items/1", "HEAD", "shop.example", (k) => ledger.get(k), "7", "http://shop.example/items/1"],
    ["query sorted", "/search?b=2&a=1", "GET", "shop.example", (k) => ledger.get(k), "3", "http://shop.example/search?a=1&b=2"],
    ["bigint, port kept", "/x", "GET", "shop.example:8080", (k) => ledger.get(k), String(2n ** 60n), "http://shop.example:8080/x"],
    ["async source", "/items/1", "GET", "shop.example", async (k) => ledger.get(k), "7", "http://shop.example/items/1"],
    ["unknown key", "/items/2", "GET", "shop.example", (k) => ledger.get(k), undefined, "http://shop.example/items/2"],
    ["source throws", "/items/1", "GET", "shop.example", () => { throw new Error("ledger down"); }, undefined, "http://shop.example/items/1"],
    ["source rejects", "/items/1", "GET", "shop.example", () => Promise.reject(new Error("ledger down")), undefined, "http://shop.example/items/1"],
    ["post not stamped", "/items/1", "POST", "shop.example", (k) => ledger.get(k), undefined, undefined],
    ["not a key (port 0)", "/items/1", "GET", "shop.example:0", (k) => ledger.get(k), undefined, undefined],
  ];
  for (const [name, path, method, host, source, want, key] of cases) {
    versions = source;
    asked.length = 0;
    const [got, body] = await get(path, method, host);
    assert.equal(got, want, name);
    assert.deepEqual(asked, key ? [key] : [], name);
    if (method !== "HEAD") assert.equal(body, `http://${host}${path}`, `${name}: the handler ran`);
  }
});
