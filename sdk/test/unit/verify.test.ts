import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { test } from "node:test";
import { decode } from "../../src/verify/pb";
import { rawSignature } from "../../src/verify/der";
import { type Check, parseConfigBlock, type Receipt, ReceiptError, type Trust, verifyReceipt } from "../../src/verify/index";
import { readTestdata, readTestdataBytes } from "./testdata";

const configBlock = readTestdataBytes("receipt", "config.block");
const otherConfigBlock = readTestdataBytes("receipt", "other-network-config.block");
const trusted: Trust = { configBlock };
const receipt = (name: string): Receipt => JSON.parse(readTestdata("receipt", name)) as Receipt;

const fromB64 = (s: string): Uint8Array => Uint8Array.from(Buffer.from(s, "base64"));
const toB64 = (b: Uint8Array): string => Buffer.from(b).toString("base64");

async function refusedAt(r: Receipt | string, trust: Trust): Promise<Check> {
  try {
    await verifyReceipt(r, trust);
  } catch (e) {
    assert.ok(e instanceof ReceiptError, `not a ReceiptError: ${String(e)}`);
    return e.check;
  }
  return assert.fail("receipt verified");
}

/** rootsPEM returns every MSP's root CAs in a configuration block, as PEM per MSP ID. */
async function rootsPEM(block: Uint8Array): Promise<Record<string, string[]>> {
  const cfg = await parseConfigBlock(block);
  const out: Record<string, string[]> = {};
  for (const m of cfg.msps.values()) {
    out[m.id] = m.roots.map((c) => `-----BEGIN CERTIFICATE-----\n${toB64(c)}\n-----END CERTIFICATE-----\n`);
  }
  return out;
}

// What `cachet verify --trust testdata/receipt/config.block` proves of the same files.
test("verifyReceipt: the recorded publish and invalidate receipts verify as the Go verifier proves them", async () => {
  const pub = await verifyReceipt(readTestdata("receipt", "publish.json"), trusted);
  assert.equal(pub.txId, "884a6396ab110474b48871c308a280eb1473b095dcc84f6d55e08c64d0dd37d2");
  assert.deepEqual([pub.channel, pub.block, pub.txIndex, pub.chaincode, pub.timestamp], ["cachet", 4, 0, "cachet", "2026-12-02T17:15:29.574Z"]);
  assert.deepEqual(pub.creator, { mspId: "Org1MSP", subject: "CN=publisher@org1.example.com,OU=client,L=San Francisco,ST=California,C=US", nodeRole: "client", role: "publisher" });
  assert.deepEqual(pub.endorsers, [{ mspId: "Org1MSP", subject: "CN=peer0.org1.example.com,OU=peer,L=San Francisco,ST=California,C=US", nodeRole: "peer" }]);
  assert.deepEqual(pub.orderers, [{ mspId: "OrdererMSP", subject: "CN=orderer1.example.com,OU=orderer,L=San Francisco,ST=California,C=US", nodeRole: "orderer" }]);
  assert.match(JSON.stringify(pub.event), /https:\/\/shop\.example\/receipt\/item\?id=7/);
  assert.equal(pub.policies.length, 3);
  assert.ok(pub.policies.every((p) => p.policy === "'Org1MSP.peer'" && p.source === "this transaction"), JSON.stringify(pub.policies));
  assert.ok(pub.policies.some((p) => p.key === "https://shop.example/receipt/item?id=7"));

  const inv = await verifyReceipt(receipt("invalidate.json"), trusted);
  assert.equal(inv.txId, "6c111e5d04f1a4604e621c2933f8a86f7bfaa11a2b8cac6fd9ceebabc6c15b21");
  assert.deepEqual([inv.block, inv.timestamp], [6, "2026-12-02T17:15:33.000Z"]);
  assert.deepEqual(inv.creator, { mspId: "Org2MSP", subject: "CN=invalidator@org2.example.com,OU=client,L=San Francisco,ST=California,C=US", nodeRole: "client", role: "invalidator" });
  assert.match(JSON.stringify(inv.event), /partner correction/);
  assert.deepEqual(inv.policies, [{ key: "https://shop.example/receipt/item?id=7", policy: "'Org1MSP.peer'", source: `transaction ${pub.txId} (block 4)` }]);
});

// anyPeerOf encodes the SignaturePolicyEnvelope OR('<msp>.peer', ...).
function anyPeerOf(...msps: string[]): Uint8Array {
  const varint = (v: number): number[] => (v < 0x80 ? [v] : [(v & 0x7f) | 0x80, ...varint(v >> 7)]);
  const field = (n: number, b: number[]): number[] => [...varint((n << 3) | 2), ...varint(b.length), ...b];
  const signedBy = (i: number): number[] => [0x08, ...varint(i)];
  const role = (msp: string): number[] => field(2, [...field(1, [...Buffer.from(msp)]), 0x10, 3]); // MSPPrincipal{principal: MSPRole{msp, PEER}}
  const nOutOf = [0x08, 1, ...msps.flatMap((_, i) => field(2, signedBy(i)))];
  return new Uint8Array([...field(2, field(2, nOutOf)), ...msps.flatMap((m) => field(3, role(m)))]);
}

test("verifyReceipt: a transaction the peer flagged invalid fails the validation-flag check, and its policy when flagged VALID", async () => {
  assert.equal(await refusedAt(receipt("refused.json"), trusted), "validation-flag");
  const r = receipt("refused.json");
  const filter = fromB64(r.block.metadata[2] as string);
  filter[r.txIndex] = 0;
  r.block.metadata[2] = toB64(filter);
  assert.equal(await refusedAt(r, trusted), "endorsement-policy");
  // Without the receipt of the transaction that set Org1's policy, the
  // chaincode policy (either org's peer) is all a verifier can apply, and
  // the Org2 peer satisfies it.
  delete r.keyPolicies;
  const p = await verifyReceipt(r, { configBlock, chaincodePolicy: anyPeerOf("Org1MSP", "Org2MSP") });
  assert.deepEqual(p.policies.map((k) => [k.policy, k.source]), [["OR('Org1MSP.peer','Org2MSP.peer')", "chaincode definition"]]);
});

test("verifyReceipt: a written key needs a known policy its endorsers satisfy", async () => {
  const r = receipt("invalidate.json");
  delete r.keyPolicies;
  assert.equal(await refusedAt(r, trusted), "endorsement-policy");
  assert.equal(await refusedAt(r, { configBlock, chaincodePolicy: anyPeerOf("Org3MSP") }), "endorsement-policy");
  const s = receipt("invalidate.json");
  (s.keyPolicies?.[0] as { key: string }).key = "img:other";
  assert.equal(await refusedAt(s, trusted), "endorsement-policy");
  const t = receipt("invalidate.json");
  const src = t.keyPolicies?.[0]?.receipt as Receipt;
  const e = fromB64(src.envelope);
  flip(e, 50);
  src.envelope = toB64(e);
  assert.equal(await refusedAt(t, trusted), "block-data");
  const u = receipt("invalidate.json");
  (u.keyPolicies?.[0]?.receipt as Receipt).block.number = u.block.number + 1;
  assert.equal(await refusedAt(u, trusted), "endorsement-policy");
});

test("verifyReceipt: another network's trust refuses", async () => {
  // Its configuration block is not the one the receipt names.
  assert.equal(await refusedAt(receipt("invalidate.json"), { configBlock: otherConfigBlock }), "channel-config");
  // Its CAs, under this network's configuration, do not vouch for this network's members.
  assert.equal(await refusedAt(receipt("invalidate.json"), { configBlock, roots: await rootsPEM(otherConfigBlock) }), "certificate");
  // This network's own CAs do.
  const p = await verifyReceipt(receipt("invalidate.json"), { configBlock, roots: await rootsPEM(configBlock) });
  assert.equal(p.creator.mspId, "Org2MSP");
  // Without the orderers' CAs, no block signature counts.
  const roots = await rootsPEM(configBlock);
  delete roots["OrdererMSP"];
  assert.equal(await refusedAt(receipt("invalidate.json"), { configBlock, roots }), "orderer-signature");
  // CAs alone need the receipt to carry its configuration block.
  assert.equal(await refusedAt(receipt("invalidate.json"), { roots }), "channel-config");
  assert.equal(await refusedAt(receipt("invalidate.json"), {}), "channel-config");
});

/** flip changes one bit of b[i]. */
const flip = (b: Uint8Array, i: number): void => {
  b[i] = (b[i] as number) ^ 1;
};

/** offsetOf returns where part (a view into whole's buffer) starts in whole. */
const offsetOf = (whole: Uint8Array, part: Uint8Array): number => part.byteOffset - whole.byteOffset;

/** field follows a path of length-delimited field numbers down from b, returning a view into it. */
function field(b: Uint8Array<ArrayBuffer>, ...path: number[]): Uint8Array<ArrayBuffer> {
  let cur = b;
  for (const n of path) cur = decode(cur).bytes(n);
  return cur;
}

/** reseal puts an edited envelope into the block and recomputes the header's data hash. */
function reseal(r: Receipt, env: Uint8Array): void {
  r.envelope = toB64(env);
  r.block.data[r.txIndex] = r.envelope;
  r.block.dataHash = toB64(createHash("sha256").update(Buffer.concat(r.block.data.map((d) => fromB64(d)))).digest());
}

test("verifyReceipt: one flipped byte is refused by the check it breaks", async () => {
  const cases: [string, (r: Receipt) => void, Check][] = [
    ["envelope byte", (r) => {
      const e = fromB64(r.envelope);
      flip(e, e.length >> 1);
      r.envelope = toB64(e);
    }, "block-data"],
    ["envelope and block data byte", (r) => {
      const e = fromB64(r.envelope);
      flip(e, e.length >> 1);
      r.envelope = toB64(e);
      r.block.data[r.txIndex] = r.envelope;
    }, "block-data"],
    ["data hash byte", (r) => {
      const h = fromB64(r.block.dataHash);
      flip(h, 0);
      r.block.dataHash = toB64(h);
    }, "block-data"],
    ["endorsement signature byte", (r) => {
      const e = new Uint8Array(fromB64(r.envelope));
      // Envelope.payload → Payload.data → Transaction.actions[0] → .payload → ChaincodeActionPayload.action → endorsements[0] → .signature
      const sig = field(e, 1, 2, 1, 2, 2, 2, 2);
      flip(e, offsetOf(e, sig) + 30);
      reseal(r, e);
    }, "endorsement-signature"],
    ["creator signature byte", (r) => {
      const e = new Uint8Array(fromB64(r.envelope));
      const sig = field(e, 2);
      flip(e, offsetOf(e, sig) + sig.length - 1);
      reseal(r, e);
    }, "creator-signature"],
    ["validation flag", (r) => {
      const f = fromB64(r.block.metadata[2] as string);
      f[r.txIndex] = 11; // MVCC_READ_CONFLICT
      r.block.metadata[2] = toB64(f);
    }, "validation-flag"],
    ["orderer signature byte", (r) => {
      const md = new Uint8Array(fromB64(r.block.metadata[0] as string));
      const sig = field(md, 2, 2); // Metadata.signatures[0] → MetadataSignature.signature
      flip(md, offsetOf(md, sig) + 20);
      r.block.metadata[0] = toB64(md);
    }, "orderer-signature"],
    ["block number", (r) => { r.block.number++; }, "orderer-signature"],
    ["previous hash byte", (r) => {
      const h = fromB64(r.block.previousHash);
      flip(h, 0);
      r.block.previousHash = toB64(h);
    }, "orderer-signature"],
    ["config header hash byte", (r) => {
      const h = fromB64(r.config.headerHash);
      flip(h, 0);
      r.config.headerHash = toB64(h);
    }, "channel-config"],
    ["transaction index", (r) => { r.txIndex = 1; }, "decode"],
    ["unknown field", (r) => { (r as unknown as Record<string, unknown>)["extra"] = 1; }, "decode"],
  ];
  for (const name of ["publish.json", "invalidate.json"]) {
    await verifyReceipt(receipt(name), trusted); // untouched
    for (const [what, change, want] of cases) {
      const r = receipt(name);
      change(r);
      assert.equal(await refusedAt(r, trusted), want, `${name}: ${what}`);
    }
  }
});

test("rawSignature: DER to r||s, refusing high S as Fabric does", () => {
  const n = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n;
  const int = (v: bigint): number[] => {
    const b: number[] = [];
    for (; v > 0n; v >>= 8n) b.unshift(Number(v & 0xffn));
    if ((b[0] as number) & 0x80) b.unshift(0);
    return [0x02, b.length, ...b];
  };
  const sig = (r: bigint, s: bigint): Uint8Array<ArrayBuffer> => {
    const body = [...int(r), ...int(s)];
    return new Uint8Array([0x30, body.length, ...body]);
  };
  const raw = rawSignature(sig(0x1234n, n / 2n));
  assert.equal(raw.length, 64);
  assert.deepEqual([raw[30], raw[31]], [0x12, 0x34]);
  assert.throws(() => rawSignature(sig(0x1234n, n / 2n + 1n)), /high S/);
  assert.throws(() => rawSignature(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01])), /integer/);
});

test("verifyReceipt: any flipped byte of the envelope, the signatures or the filter is refused with a ReceiptError", async () => {
  const base = receipt("publish.json");
  const env = fromB64(base.envelope);
  const md = base.block.metadata.map((m) => fromB64(m));
  let n = 0;
  for (let i = 0; i < env.length; i += 53, n++) {
    const r = receipt("publish.json");
    const e = new Uint8Array(env);
    flip(e, i);
    reseal(r, e);
    assert.ok(await refusedAt(r, trusted), `envelope byte ${i}`);
  }
  // Metadata 0 holds the orderers' signatures, 2 the validation flags; the
  // others (deprecated, or the peer's commit hash) are signed by no one.
  for (const [k, m] of md.entries()) {
    if (k !== 0 && k !== 2) continue;
    for (let i = 0; i < m.length; i += 7, n++) {
      const r = receipt("publish.json");
      const b = new Uint8Array(m);
      flip(b, i);
      r.block.metadata[k] = toB64(b);
      assert.ok(await refusedAt(r, trusted), `metadata ${k} byte ${i}`);
    }
  }
  assert.ok(n > 100);
  for (const bad of ["", "{", "[]", "null", '{"version":1}', JSON.stringify({ ...base, block: { ...base.block, number: 1.5 } }), JSON.stringify({ ...base, envelope: "%%" })]) {
    assert.equal(await refusedAt(bad, trusted), "decode", bad.slice(0, 40));
  }
});
