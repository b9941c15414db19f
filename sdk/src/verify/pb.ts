// A minimal reader of the protobuf wire format: enough to take Fabric's
// messages apart by field number, without generated code.

/** Bytes whose buffer WebCrypto accepts. */
export type Bytes = Uint8Array<ArrayBuffer>;

/** Field is one field of a message as it appears on the wire. */
export interface Field {
  n: number;
  /** The value of a varint field. */
  int?: bigint;
  /** The value of a length-delimited field (bytes, string, message, packed). */
  bytes?: Bytes;
}

/** Message is a decoded message: its fields in wire order. */
export class Message {
  constructor(readonly fields: Field[]) {}

  /** bytes returns the last occurrence of length-delimited field n, empty if absent. */
  bytes(n: number): Bytes {
    let out: Bytes | undefined;
    for (const f of this.fields) if (f.n === n && f.bytes) out = f.bytes;
    return out ?? new Uint8Array(0);
  }

  /** all returns every occurrence of length-delimited field n (a repeated field). */
  all(n: number): Bytes[] {
    return this.fields.filter((f) => f.n === n && f.bytes).map((f) => f.bytes as Bytes);
  }

  /** has reports whether field n appears. */
  has(n: number): boolean {
    return this.fields.some((f) => f.n === n);
  }

  /** msg decodes length-delimited field n as a message (empty if absent). */
  msg(n: number): Message {
    return decode(this.bytes(n));
  }

  /** int returns varint field n (0 if absent). */
  int(n: number): bigint {
    let out = 0n;
    for (const f of this.fields) if (f.n === n && f.int !== undefined) out = f.int;
    return out;
  }

  /** str decodes field n as UTF-8. */
  str(n: number): string {
    return utf8.decode(this.bytes(n));
  }

  /** map reads map field n (entries of key 1, value 2) with string keys. */
  map(n: number): Map<string, Bytes> {
    const out = new Map<string, Bytes>();
    for (const e of this.all(n)) {
      const m = decode(e);
      out.set(m.str(1), m.bytes(2));
    }
    return out;
  }
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

/** WireError is a malformed protobuf encoding. */
export class WireError extends Error {}

/** decode reads the fields of one message; it throws WireError on malformed input. */
export function decode(buf: Bytes): Message {
  const fields: Field[] = [];
  let i = 0;
  const varint = (): bigint => {
    let v = 0n;
    for (let shift = 0n; shift < 70n; shift += 7n) {
      if (i >= buf.length) throw new WireError("truncated varint");
      const b = buf[i++] as number;
      v |= BigInt(b & 0x7f) << shift;
      if (b < 0x80) return v & 0xffffffffffffffffn;
    }
    throw new WireError("varint too long");
  };
  const skip = (len: number): void => {
    if (i + len > buf.length) throw new WireError("truncated field");
    i += len;
  };
  while (i < buf.length) {
    const key = varint();
    const n = Number(key >> 3n);
    const wire = Number(key & 7n);
    if (n < 1 || n > 0x1fffffff) throw new WireError(`field number ${n}`);
    switch (wire) {
      case 0:
        fields.push({ n, int: varint() });
        break;
      case 1:
        skip(8);
        fields.push({ n });
        break;
      case 2: {
        const len = varint();
        if (len > BigInt(buf.length - i)) throw new WireError("truncated length-delimited field");
        const start = i;
        skip(Number(len));
        fields.push({ n, bytes: buf.subarray(start, i) });
        break;
      }
      case 5:
        skip(4);
        fields.push({ n });
        break;
      default:
        throw new WireError(`wire type ${wire} of field ${n}`);
    }
  }
  return new Message(fields);
}
