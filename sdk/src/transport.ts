// Draft transport; follows push/PROTOCOL.md once it exists.
import { decodeTransition, type Transition } from "./record";

export interface Position {
  epoch: string;
  offset: number;
}
export type Frame =
  | { type: "transition"; channel: string; position: Position; record: Transition }
  | { type: "reset"; channel: string; position: Position };
export interface Session {
  close(): void;
}
export interface Handlers {
  frame(f: Frame): void;
  open(): void;
  close(err?: Error): void;
}

export function connect(
  _kind: "websocket" | "sse", url: string, token: string, channels: string[], positions: Record<string, Position>, h: Handlers,
): Session {
  const ws = new WebSocket(url);
  ws.onopen = () => {
    ws.send(JSON.stringify({ type: "subscribe", token, channels: channels.map((c) => ({ channel: c, ...positions[c] })) }));
    h.open();
  };
  ws.onmessage = (m) => {
    const f = JSON.parse(String(m.data)) as { type: string; channel: string; epoch: string; offset: number; record?: unknown };
    const position = { epoch: f.epoch, offset: f.offset };
    if (f.type === "reset") h.frame({ type: "reset", channel: f.channel, position });
    else h.frame({ type: "transition", channel: f.channel, position, record: decodeTransition(JSON.stringify(f.record)) });
  };
  ws.onclose = () => h.close();
  return { close: () => ws.close() };
}
