// The few Fabric messages a receipt holds, read by field number (field
// numbers from fabric-protos), and the channel configuration a verifier
// takes from a configuration block.
import { type Bytes, decode, type Message } from "./pb";
import { pemCertificates } from "./der";

/** HeaderType.ENDORSER_TRANSACTION and HeaderType.CONFIG. */
export const ENDORSER_TRANSACTION = 3n;
export const CONFIG = 1n;

/** Envelope is an endorser transaction taken apart as far as the verifier needs. */
export interface Envelope {
  /** payload is the signed Payload's bytes. */
  payload: Bytes;
  signature: Bytes;
  type: bigint;
  channel: string;
  txId: string;
  /** timestamp in milliseconds since the epoch, as the creator signed it. */
  timestamp: number;
  creator: Bytes;
  nonce: Bytes;
  /** actions is the number of the transaction's actions (Fabric commits exactly one). */
  actions: number;
  proposalResponsePayload: Bytes;
  endorsements: { endorser: Bytes; signature: Bytes }[];
  chaincode: string;
  /** events is the chaincode action's serialized ChaincodeEvent, empty if none. */
  events: Bytes;
  /** writes holds each namespace's write set, in read-write set order. */
  writes: Map<string, WriteSet>;
}

/** WriteSet is what a namespace's KVRWSet writes: keys in order, and policies set by key. */
export interface WriteSet {
  keys: string[];
  /** policies holds the VALIDATION_PARAMETER (a SignaturePolicyEnvelope) a metadata write sets, by key. */
  policies: Map<string, Bytes>;
}

function writeSet(kv: Message): WriteSet {
  const ws: WriteSet = { keys: [], policies: new Map() };
  const add = (k: string): void => {
    if (!ws.keys.includes(k)) ws.keys.push(k);
  };
  for (const w of kv.all(3)) add(decode(w).str(1)); // KVRWSet.writes 3 → KVWrite: key 1
  for (const mw of kv.all(4)) { // KVRWSet.metadata_writes 4 → KVMetadataWrite: key 1, entries 2
    const m = decode(mw);
    add(m.str(1));
    for (const e of m.all(2)) {
      const entry = decode(e); // KVMetadataEntry: name 1, value 2
      if (entry.str(1) === "VALIDATION_PARAMETER") ws.policies.set(m.str(1), entry.bytes(2));
    }
  }
  return ws;
}

/** parseEnvelope reads a common.Envelope down to its endorsed action; it throws on malformed input. */
export function parseEnvelope(b: Bytes): Envelope {
  const env = decode(b); // common.Envelope: payload 1, signature 2
  const payload = env.bytes(1);
  const p = decode(payload); // common.Payload: header 1, data 2
  const hdr = p.msg(1); // common.Header: channel_header 1, signature_header 2
  const ch = hdr.msg(1); // ChannelHeader: type 1, timestamp 3, channel_id 4, tx_id 5
  const sh = hdr.msg(2); // SignatureHeader: creator 1, nonce 2
  const ts = ch.msg(3); // google.protobuf.Timestamp: seconds 1, nanos 2
  const out: Envelope = {
    payload, signature: env.bytes(2), type: ch.int(1), channel: ch.str(4), txId: ch.str(5),
    timestamp: Number(BigInt.asIntN(64, ts.int(1))) * 1000 + Math.floor(Number(ts.int(2)) / 1e6),
    creator: sh.bytes(1), nonce: sh.bytes(2), actions: 0, proposalResponsePayload: new Uint8Array(0), endorsements: [], chaincode: "", events: new Uint8Array(0),
    writes: new Map(),
  };
  if (out.type !== ENDORSER_TRANSACTION) return out;
  const actions = decode(p.bytes(2)).all(1); // peer.Transaction: actions 1
  out.actions = actions.length;
  if (actions.length !== 1) return out;
  const cap = decode(actions[0] as Bytes).msg(2); // TransactionAction: payload 2 → ChaincodeActionPayload
  const cea = cap.msg(2); // ChaincodeActionPayload: action 2 → ChaincodeEndorsedAction
  out.proposalResponsePayload = cea.bytes(1);
  out.endorsements = cea.all(2).map((e) => {
    const m = decode(e); // Endorsement: endorser 1, signature 2
    return { endorser: m.bytes(1), signature: m.bytes(2) };
  });
  const cca = decode(out.proposalResponsePayload).msg(2); // ProposalResponsePayload: extension 2 → ChaincodeAction
  out.chaincode = cca.msg(4).str(2); // ChaincodeAction: chaincode_id 4 → ChaincodeID: name 2
  out.events = cca.bytes(2);
  for (const ns of decode(cca.bytes(1)).all(2)) { // ChaincodeAction.results 1 → TxReadWriteSet: ns_rwset 2
    const m = decode(ns); // NsReadWriteSet: namespace 1, rwset 2
    if (out.writes.has(m.str(1))) throw new Error(`namespace ${m.str(1)} appears twice`);
    out.writes.set(m.str(1), writeSet(m.msg(2)));
  }
  return out;
}

/** parseIdentity reads a msp.SerializedIdentity: its MSP ID and certificate (DER). */
export function parseIdentity(b: Bytes): { mspId: string; cert: Bytes } {
  const m = decode(b);
  const [cert] = pemCertificates(new TextDecoder().decode(m.bytes(2)));
  if (!cert) throw new Error(`identity of ${m.str(1)} holds no PEM certificate`);
  return { mspId: m.str(1), cert };
}

/** MSP is one organization's membership definition from the channel configuration. */
export interface MSP {
  id: string;
  roots: Bytes[];
  intermediates: Bytes[];
  admins: Bytes[];
  /** nodeOUs is absent when the MSP does not enable node OUs. */
  nodeOUs?: { client: string; peer: string; admin: string; orderer: string };
}

/** Policy is a signature policy or an implicit-meta policy over organizations' policies. */
export type Policy =
  | { kind: "signature"; rule: Message; identities: Bytes[] }
  | { kind: "implicit-meta"; rule: bigint; subPolicy: string; subs: Policy[] };

/** ChannelConfig is what a verifier takes from a configuration block. */
export interface ChannelConfig {
  channel: string;
  number: bigint;
  /** headerHash is the SHA-256 of the configuration block's header. */
  headerHash: Bytes;
  msps: Map<string, MSP>;
  /** blockValidation is /Channel/Orderer/BlockValidation. */
  blockValidation: Policy;
  /** consenters maps a BFT consenter's ID to its serialized identity. */
  consenters: Map<number, Bytes>;
}

/** BlockHeader is common.BlockHeader. */
export interface BlockHeader {
  number: bigint;
  previousHash: Bytes;
  dataHash: Bytes;
}

/** parseBlock reads a common.Block. */
export function parseBlock(b: Bytes): { header: BlockHeader; data: Bytes[]; metadata: Bytes[] } {
  const m = decode(b); // Block: header 1, data 2, metadata 3
  const h = m.msg(1); // BlockHeader: number 1, previous_hash 2, data_hash 3
  return { header: { number: h.int(1), previousHash: h.bytes(2), dataHash: h.bytes(3) }, data: m.msg(2).all(1), metadata: m.msg(3).all(1) };
}

function serializedIdentity(mspId: string, idBytes: Bytes): Bytes {
  const enc = new TextEncoder();
  const id = enc.encode(mspId);
  return concat(lenField(1, id), lenField(2, idBytes));
}

function varint(v: number): number[] {
  const out: number[] = [];
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
  return out;
}

function lenField(n: number, b: Uint8Array): Bytes {
  if (b.length === 0) return new Uint8Array(0);
  return concat(new Uint8Array([...varint(n << 3 | 2), ...varint(b.length)]), b);
}

/** concat joins byte strings. */
export function concat(...parts: Uint8Array[]): Bytes {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let i = 0;
  for (const p of parts) {
    out.set(p, i);
    i += p.length;
  }
  return out;
}

/** parseConfig reads a configuration block's ConfigEnvelope; the header hash is the caller's to fill. */
export function parseConfig(block: { header: BlockHeader; data: Bytes[] }): Omit<ChannelConfig, "headerHash"> {
  if (block.data.length !== 1) throw new Error(`a config block holds one envelope, block ${block.header.number} holds ${block.data.length}`);
  const p = decode(decode(block.data[0] as Bytes).bytes(1)); // Envelope.payload → Payload
  const ch = p.msg(1).msg(1);
  if (ch.int(1) !== CONFIG) throw new Error(`block ${block.header.number} is not a config block`);
  const root = p.msg(2).msg(1).msg(2); // ConfigEnvelope.config 1 → Config.channel_group 2
  const groups = root.map(2); // ConfigGroup: groups 2, values 3, policies 4
  const msps = new Map<string, MSP>();
  for (const section of ["Orderer", "Application"]) {
    const g = groups.get(section);
    if (!g) continue;
    for (const [name, org] of [...decode(g).map(2)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      const m = parseMSP(decode(org));
      if (!m) throw new Error(`${section} org ${name} has no X.509 MSP with a root CA`);
      msps.set(m.id, m);
    }
  }
  const consenters = new Map<number, Bytes>();
  const orderers = root.map(3).get("Orderers");
  if (orderers) {
    for (const c of decode(decode(orderers).bytes(2)).all(1)) {
      const m = decode(c); // Consenter: id 1, msp_id 4, identity 5
      consenters.set(Number(m.int(1)), serializedIdentity(m.str(4), m.bytes(5)));
    }
  }
  const og = groups.get("Orderer");
  if (!og) throw new Error("configuration has no Orderer group");
  return { channel: ch.str(4), number: block.header.number, msps, blockValidation: groupPolicy(decode(og), "BlockValidation", 0), consenters };
}

function parseMSP(org: Message): MSP | undefined {
  const v = org.map(3).get("MSP");
  if (!v) return undefined;
  const mc = decode(decode(v).bytes(2)); // ConfigValue.value 2 → MSPConfig: type 1, config 2
  if (mc.int(1) !== 0n) return undefined;
  const fc = mc.msg(2); // FabricMSPConfig: name 1, root_certs 2, intermediate_certs 3, admins 4, fabric_node_ous 11
  const pems = (n: number): Bytes[] => fc.all(n).flatMap((b) => pemCertificates(new TextDecoder().decode(b)));
  const m: MSP = { id: fc.str(1), roots: pems(2), intermediates: pems(3), admins: pems(4) };
  if (m.roots.length === 0) return undefined;
  const ous = fc.msg(11);
  if (ous.int(1) !== 0n) {
    const ou = (n: number): string => ous.msg(n).str(2); // FabricOUIdentifier: organizational_unit_identifier 2
    m.nodeOUs = { client: ou(2), peer: ou(3), admin: ou(4), orderer: ou(5) };
  }
  return m;
}

function groupPolicy(g: Message, name: string, depth: number): Policy {
  const cp = g.map(4).get(name);
  if (!cp || depth > 8) throw new Error(`no policy ${name}`);
  const pol = decode(cp).msg(2); // ConfigPolicy.policy 2 → Policy: type 1, value 2
  switch (pol.int(1)) {
    case 1n: // SIGNATURE
      return signaturePolicy(pol.bytes(2));
    case 3n: { // IMPLICIT_META
      const im = decode(pol.bytes(2)); // ImplicitMetaPolicy: sub_policy 1, rule 2
      const orgs = [...g.map(2)].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return { kind: "implicit-meta", rule: im.int(2), subPolicy: im.str(1), subs: orgs.map(([, o]) => groupPolicy(decode(o), im.str(1), depth + 1)) };
    }
  }
  throw new Error(`policy ${name} has type ${pol.int(1)}, which receipts do not evaluate`);
}

/** signaturePolicy reads a SignaturePolicyEnvelope: rule 2, identities 3. */
export function signaturePolicy(b: Bytes): Policy {
  const env = decode(b);
  if (!env.has(2)) throw new Error("signature policy has no rule");
  return { kind: "signature", rule: env.msg(2), identities: env.all(3) };
}
