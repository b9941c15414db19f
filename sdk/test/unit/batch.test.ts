import assert from "node:assert/strict";
import { test } from "node:test";
import { connect, type After, type Frame } from "../../src/transport";

// FakeSocket stands in for the browser's WebSocket: it records what the
// client sends and lets the test deliver server messages.
class FakeSocket {
  static readonly OPEN = 1;
  static last: FakeSocket | undefined;
  readyState = FakeSocket.OPEN;
  sent: string[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  constructor(readonly url: string) {
    FakeSocket.last = this;
  }
  send(s: string): void {
    this.sent.push(s);
  }
  close(): void {
    this.readyState = 3;
  }
}

// open connects over the fake socket and returns it with what the handlers saw.
function open(): { sock: FakeSocket; frames: Frame[]; closes: [After, string][]; close: () => void } {
  (globalThis as Record<string, unknown>).WebSocket = FakeSocket;
  const frames: Frame[] = [];
  const closes: [After, string][] = [];
  const s = connect("ws", "http://push.example", "tok", ["origin:https://shop.example"], "p0", {
    frame: (f) => frames.push(f),
    close: (after, why) => closes.push([after, why]),
  });
  const sock = FakeSocket.last!;
  sock.onopen!();
  return { sock, frames, closes, close: () => s.close() };
}

const transition = (pos: string, key: string): string =>
  JSON.stringify({ t: "transition", pos, key, version: 7, state: "INVALIDATED", txId: "x", ts: "2026-11-25T06:41:00.123Z" });

test("hello asks for batched frames", () => {
  const c = open();
  const hello = JSON.parse(c.sock.sent[0]!) as Record<string, unknown>;
  assert.deepEqual(hello, { t: "hello", v: 1, token: "tok", channels: ["origin:https://shop.example"], pos: "p0", batch: true });
  c.close();
});

test("a merged message is handled line by line, in order; a single frame as before", () => {
  const c = open();
  const welcome = '{"t":"welcome","v":1,"pos":"p1","resumed":true,"exp":5,"limits":{"maxFrameBytes":4096}}';
  c.sock.onmessage!({ data: [welcome, transition("p2", "https://shop.example/a"), '{"t":"ping","pos":"p3"}', transition("p4", "https://shop.example/b")].join("\n") });
  c.sock.onmessage!({ data: transition("p5", "https://shop.example/c") });
  assert.deepEqual(
    c.frames.map((f) => [f.t, "pos" in f ? f.pos : ""]),
    [["welcome", "p1"], ["transition", "p2"], ["ping", "p3"], ["transition", "p4"], ["transition", "p5"]],
  );
  assert.deepEqual(
    c.frames.flatMap((f) => (f.t === "transition" ? [f.record.key] : [])),
    ["https://shop.example/a", "https://shop.example/b", "https://shop.example/c"],
  );
  assert.deepEqual(c.closes, []);
  c.close();
});

test("an error line ends the connection: the lines after it are not applied", () => {
  const c = open();
  c.sock.onmessage!({ data: [transition("p1", "https://shop.example/a"), '{"t":"error","code":4100,"message":"token expired"}', transition("p2", "https://shop.example/b")].join("\n") });
  assert.deepEqual(c.frames.map((f) => f.t), ["transition"]);
  assert.deepEqual(c.closes, [["token", "4100 token expired"]]);
});

test("an unreadable line drops the connection to resume from the last applied position", () => {
  const c = open();
  c.sock.onmessage!({ data: [transition("p1", "https://shop.example/a"), "{not json", transition("p2", "https://shop.example/b")].join("\n") });
  assert.deepEqual(c.frames.map((f) => f.t), ["transition"]);
  assert.equal(c.closes.length, 1);
  assert.equal(c.closes[0]![0], "retry");
});
