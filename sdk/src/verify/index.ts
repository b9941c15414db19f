// Verifies Cachet receipts in a browser or node with WebCrypto alone: the
// same checks, under the same names, as the Go verifier (package receipt,
// `cachet verify`).
import { type Bytes, decode, type Message } from "./pb";
import { type Certificate, OID, parseCertificate, pemCertificates, rawSignature } from "./der";
import { type BlockHeader, type ChannelConfig, concat, type Envelope, ENDORSER_TRANSACTION, type MSP, parseBlock, parseConfig, parseEnvelope, parseIdentity, type Policy, signaturePolicy } from "./fabric";

export type { ChannelConfig, MSP, Policy } from "./fabric";

/** FORMAT_VERSION is the receipt format this verifier reads. */
export const FORMAT_VERSION = 1;

/** Check names one step of the verification, as the Go verifier names it. */
export type Check =
  | "decode" // the receipt's JSON or a protobuf inside it does not parse
  | "channel-config" // the receipt names a configuration the trust does not hold
  | "block-data" // the envelope is not at txIndex of the block, or the data hash differs
  | "validation-flag" // the block's filter does not mark the transaction VALID
  | "endorsement-signature" // an endorser did not sign the proposal response
  | "creator-signature" // the submitter did not sign the envelope (or its tx ID is not its own)
  | "certificate" // a signer's certificate does not chain to its MSP, or has no valid role
  | "endorsement-policy" // the endorsers do not satisfy a policy of a written key
  | "orderer-signature"; // the block's signatures do not satisfy the block validation policy

/** ReceiptError is a refused receipt: check names the step that refused it. */
export class ReceiptError extends Error {
  constructor(readonly check: Check, reason: string) {
    super(`receipt ${check} check: ${reason}`);
    this.name = "ReceiptError";
  }
}

/** Receipt is a receipt's JSON as the Go package writes it; byte fields are base64. */
export interface Receipt {
  version: number;
  channel: string;
  txId: string;
  envelope: string;
  txIndex: number;
  block: { number: number; previousHash: string; dataHash: string; data: string[]; metadata: string[] };
  config: { number: number; headerHash: string };
  configBlock?: string;
  keyPolicies?: { key: string; receipt: Receipt }[];
}

/**
 * Trust is what the verifier brings: the channel configuration block it
 * trusts (as `cachet verify --trust`), or root CAs per MSP ID (as
 * `--ca-dir`), or both. With roots alone the receipt must carry its
 * configuration block; with roots, each organization's root CAs are cut
 * down to the PEM certificates listed for its MSP ID.
 */
export interface Trust {
  configBlock?: Uint8Array;
  roots?: Record<string, string[]>;
  /**
   * chaincodePolicy, a serialized SignaturePolicyEnvelope, applies to
   * written keys whose key-level policy the receipt does not show (the
   * chaincode definition's policy lives in the ledger's state). Without it
   * such keys fail the endorsement-policy check.
   */
  chaincodePolicy?: Uint8Array;
}

/** KeyPolicy is an endorsement policy a written key's endorsers satisfied, and where it came from. */
export interface KeyPolicy {
  key: string;
  /** policy in Fabric's policy language, e.g. 'Org1MSP.peer' or OR('Org1MSP.peer','Org2MSP.peer'). */
  policy: string;
  /** source is "this transaction", "transaction <id> (block <n>)" or "chaincode definition". */
  source: string;
}

/** Identity is a signer the receipt proves. */
export interface Identity {
  mspId: string;
  subject: string;
  nodeRole?: string;
  /** role is the cachet.role attribute of the signer's certificate. */
  role?: string;
}

/** Proof is what a verified receipt proves. */
export interface Proof {
  channel: string;
  txId: string;
  block: number;
  txIndex: number;
  /** timestamp is the transaction's, as its creator signed it (ISO 8601). */
  timestamp: string;
  creator: Identity;
  endorsers: Identity[];
  orderers: Identity[];
  chaincode: string;
  /** event is the contract's cachet.transitions event payload (parsed JSON), absent if none. */
  event?: unknown;
  /** policies are the endorsement policies the endorsers satisfied, per written key. */
  policies: KeyPolicy[];
}

const MAX_SIZE = 16 << 20;
const EVENT_NAME = "cachet.transitions";
const SIGNATURES = 0; // BlockMetadataIndex
const TRANSACTIONS_FILTER = 2;

const validationCodes = ["VALID", "NIL_ENVELOPE", "BAD_PAYLOAD", "BAD_COMMON_HEADER", "BAD_CREATOR_SIGNATURE", "INVALID_ENDORSER_TRANSACTION",
  "INVALID_CONFIG_TRANSACTION", "UNSUPPORTED_TX_PAYLOAD", "BAD_PROPOSAL_TXID", "DUPLICATE_TXID", "ENDORSEMENT_POLICY_FAILURE", "MVCC_READ_CONFLICT",
  "PHANTOM_READ_CONFLICT", "UNKNOWN_TX_TYPE", "TARGET_CHAIN_NOT_FOUND", "MARSHAL_TX_ERROR", "NIL_TXACTION", "EXPIRED_CHAINCODE",
  "CHAINCODE_VERSION_CONFLICT", "BAD_HEADER_EXTENSION", "BAD_CHANNEL_HEADER", "BAD_RESPONSE_PAYLOAD", "BAD_RWSET", "ILLEGAL_WRITESET",
  "INVALID_WRITESET", "INVALID_CHAINCODE"];

function fail(check: Check, reason: string): never {
  throw new ReceiptError(check, reason);
}

/** guard runs f, turning any error but a ReceiptError into one for check. */
function guard<T>(check: Check, what: string, f: () => T): T {
  try {
    return f();
  } catch (e) {
    if (e instanceof ReceiptError) throw e;
    return fail(check, `${what}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function b64(s: unknown, what: string): Bytes {
  if (typeof s !== "string") fail("decode", `${what} is not base64 text`);
  const bin = guard("decode", what, () => atob(s));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function hex(b: Uint8Array): string {
  return Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
}

function equal(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}

async function sha256(b: Bytes): Promise<Bytes> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", b));
}

const receiptKeys = new Set(["version", "channel", "txId", "envelope", "txIndex", "block", "config", "configBlock", "keyPolicies"]);

/** Decoded is a receipt with its byte fields decoded. */
interface Decoded {
  channel: string;
  txId: string;
  envelope: Bytes;
  txIndex: number;
  block: { header: BlockHeader; data: Bytes[]; metadata: Bytes[] };
  config: { number: bigint; headerHash: Bytes };
  configBlock?: Bytes;
  keyPolicies: { key: string; receipt: Decoded }[];
}

/** decodeReceipt parses a receipt's JSON and checks its format, not its proof. */
function decodeReceipt(json: string | Receipt): Decoded {
  if (typeof json === "string" && json.length > MAX_SIZE) fail("decode", `${json.length} bytes, more than ${MAX_SIZE}`);
  const r = (typeof json === "string" ? guard("decode", "JSON", () => JSON.parse(json) as unknown) : json) as Receipt;
  return wellFormed(r, true);
}

function wellFormed(r: Receipt, sourcesAllowed: boolean): Decoded {
  return guard("decode", "receipt", () => wellFormedUnguarded(r, sourcesAllowed));
}

function wellFormedUnguarded(r: Receipt, sourcesAllowed: boolean): Decoded {
  if (typeof r !== "object" || r === null) fail("decode", "no receipt");
  for (const k of Object.keys(r)) if (!receiptKeys.has(k)) fail("decode", `unknown field "${k}"`);
  if (r.version !== FORMAT_VERSION) fail("decode", `format version ${r.version}, this verifier reads ${FORMAT_VERSION}`);
  const blk = r.block ?? fail("decode", "no block");
  if (!Array.isArray(blk.data) || !Array.isArray(blk.metadata)) fail("decode", "block without data or metadata");
  if (!Number.isInteger(r.txIndex) || r.txIndex < 0 || r.txIndex >= blk.data.length) {
    fail("decode", `transaction index ${r.txIndex} outside the block's ${blk.data.length} transactions`);
  }
  const headerHash = b64(r.config?.headerHash, "config header hash");
  if (headerHash.length !== 32) fail("decode", `config header hash of ${headerHash.length} bytes`);
  const sources = r.keyPolicies ?? [];
  if (!Array.isArray(sources)) fail("decode", "key policy sources are not a list");
  if (!sourcesAllowed && sources.length > 0) fail("decode", "a key policy source carries key policy sources of its own");
  const keyPolicies = sources.map((s) => ({ key: String(s.key), receipt: s.receipt ? wellFormed(s.receipt, false) : fail("decode", `key policy source of "${s.key}" has no receipt`) }));
  const d: Decoded = {
    channel: String(r.channel), txId: String(r.txId), envelope: b64(r.envelope, "envelope"), txIndex: r.txIndex,
    block: {
      header: { number: BigInt(blk.number), previousHash: b64(blk.previousHash ?? "", "previous hash"), dataHash: b64(blk.dataHash ?? "", "data hash") },
      data: blk.data.map((x, i) => b64(x, `block data ${i}`)), metadata: blk.metadata.map((x, i) => b64(x ?? "", `block metadata ${i}`)),
    },
    config: { number: BigInt(r.config.number), headerHash }, keyPolicies,
  };
  if (r.configBlock) d.configBlock = b64(r.configBlock, "config block");
  return d;
}

// DER: a length, and an element of tag with contents body.
function derLen(n: number): number[] {
  if (n < 0x80) return [n];
  const out: number[] = [];
  for (; n > 0; n = Math.floor(n / 256)) out.unshift(n & 0xff);
  return [0x80 | out.length, ...out];
}

function der(tag: number, body: Uint8Array): Bytes {
  return concat(new Uint8Array([tag, ...derLen(body.length)]), body);
}

/** headerBytes is the block header's ASN.1 encoding, which orderers sign and successors hash. */
export function headerBytes(h: BlockHeader): Bytes {
  const num: number[] = [];
  for (let v = h.number; v > 0n; v >>= 8n) num.unshift(Number(v & 0xffn));
  if (num.length === 0 || (num[0] as number) & 0x80) num.unshift(0);
  return der(0x30, concat(der(0x02, new Uint8Array(num)), der(0x04, h.previousHash), der(0x04, h.dataHash)));
}

/** parseConfigBlock reads a channel configuration block (protobuf) and checks its header commits to its data. */
export async function parseConfigBlock(b: Uint8Array): Promise<ChannelConfig> {
  const blk = parseBlock(new Uint8Array(b));
  if (!equal(await sha256(concat(...blk.data)), blk.header.dataHash)) throw new Error(`config block ${blk.header.number}'s data does not match its header`);
  return { ...parseConfig(blk), headerHash: await sha256(headerBytes(blk.header)) };
}

async function trustedConfig(r: Decoded, trust: Trust): Promise<ChannelConfig> {
  let cfg: ChannelConfig;
  if (trust.configBlock) {
    cfg = await parseConfigBlock(trust.configBlock).catch((e: unknown) => fail("channel-config", `trusted configuration block: ${message(e)}`));
  } else if (trust.roots) {
    if (!r.configBlock) fail("channel-config", "the receipt carries no channel configuration block");
    const carried = r.configBlock;
    cfg = await parseConfigBlock(carried).catch((e: unknown) => fail("channel-config", `carried configuration block: ${message(e)}`));
    if (!equal(cfg.headerHash, r.config.headerHash)) fail("channel-config", "the configuration block carried is not the one the receipt names");
  } else {
    return fail("channel-config", "no trusted channel configuration");
  }
  if (trust.roots) {
    const roots = trust.roots;
    for (const m of cfg.msps.values()) {
      const listed = (roots[m.id] ?? []).flatMap((p) => pemCertsOf(p));
      m.roots = m.roots.filter((c) => listed.some((t) => equal(t, c)));
    }
  }
  return cfg;
}

function pemCertsOf(pem: string): Bytes[] {
  return guard("channel-config", "trusted root CA", () => {
    const out = pemCertificates(pem);
    if (out.length === 0) throw new Error("no PEM certificate");
    return out;
  });
}

function lastConfigIndex(metadata: Bytes[]): bigint {
  const md = metadata[SIGNATURES];
  if (!md) throw new Error(`block metadata has ${metadata.length} entries, no signatures`);
  const obm = decode(decode(md).bytes(1)); // Metadata.value 1 → OrdererBlockMetadata: last_config 1
  if (!obm.has(1)) throw new Error("block metadata names no last config");
  return obm.msg(1).int(1); // LastConfig.index 1
}

/** Signer is a serialized identity resolved to a certificate of an MSP. */
interface Signer {
  serialized: Bytes;
  msp: MSP;
  cert: Certificate;
  nodeRole: string;
}

async function verifyWith(spki: Bytes, data: Bytes, derSig: Bytes, lowS = true): Promise<boolean> {
  const key = await crypto.subtle.importKey("spki", spki, { name: "ECDSA", namedCurve: "P-256" }, false, ["verify"]);
  return crypto.subtle.verify({ name: "ECDSA", hash: "SHA-256" }, key, rawSignature(derSig, lowS), data);
}

/** verifySignature checks a DER ECDSA P-256 signature over SHA-256(data) by cert's key. */
async function verifySignature(cert: Certificate, data: Bytes, sig: Bytes): Promise<void> {
  if (cert.keyCurve !== OID.p256) throw new Error(`${cert.subjectName}: key is not ECDSA P-256`);
  if (!(await verifyWith(cert.spki, data, sig))) throw new Error(`signature does not verify with the key of ${cert.subjectName}`);
}

function identityCert(serialized: Bytes): { mspId: string; cert: Certificate } {
  const { mspId, cert } = parseIdentity(serialized);
  return { mspId, cert: parseCertificate(cert) };
}

/** chains reports whether cert chains to one of roots through intermediates, each link signed ECDSA-SHA256. */
async function chains(cert: Certificate, roots: Certificate[], intermediates: Certificate[], depth: number): Promise<boolean> {
  if (depth > 8) return false;
  for (const issuer of [...roots, ...intermediates]) {
    if (!equal(issuer.subject, cert.issuer) || issuer.keyCurve !== OID.p256 || cert.sigAlg !== OID.ecdsaSHA256) continue;
    let ok = false;
    try {
      ok = await verifyWith(issuer.spki, cert.tbs, cert.signature, false);
    } catch {
      ok = false;
    }
    if (!ok) continue;
    if (roots.includes(issuer)) return true;
    if (issuer.isCA && (await chains(issuer, roots, intermediates.filter((c) => c !== issuer), depth + 1))) return true;
  }
  return false;
}

/** resolve validates a serialized identity against the channel's MSPs. */
async function resolve(serialized: Bytes, msps: Map<string, MSP>): Promise<Signer> {
  const { mspId, cert } = identityCert(serialized);
  const m = msps.get(mspId);
  if (!m) throw new Error(`MSP "${mspId}" is not a member of the channel`);
  if (cert.isCA) throw new Error(`${cert.subjectName}: a CA certificate cannot sign as a member`);
  const roots = m.roots.map(parseCertificate);
  const inter = m.intermediates.map(parseCertificate);
  if (!(await chains(cert, roots, inter, 0))) throw new Error(`${cert.subjectName} does not chain to ${mspId}'s CAs`);
  let nodeRole = "";
  if (m.nodeOUs) {
    const roles: [string, string][] = [["client", m.nodeOUs.client], ["peer", m.nodeOUs.peer], ["admin", m.nodeOUs.admin], ["orderer", m.nodeOUs.orderer]];
    for (const ou of cert.ous) {
      for (const [name, value] of roles) {
        if (value !== "" && ou === value) {
          if (nodeRole !== "") throw new Error(`${cert.subjectName} has two node roles, ${nodeRole} and ${name}`);
          nodeRole = name;
        }
      }
    }
    if (nodeRole === "") throw new Error(`${cert.subjectName} has no node role OU of ${mspId}`);
  }
  return { serialized, msp: m, cert, nodeRole };
}

function identityOf(s: Signer): Identity {
  const id: Identity = { mspId: s.msp.id, subject: s.cert.subjectName };
  if (s.nodeRole) id.nodeRole = s.nodeRole;
  if (s.cert.role) id.role = s.cert.role;
  return id;
}

// MSPRole.Role values.
const MEMBER = 0n, ADMIN = 1n, CLIENT = 2n, PEER = 3n, ORDERER = 4n;

/** satisfies reports whether s is the MSPPrincipal p names. */
function satisfies(s: Signer, p: Message): boolean {
  switch (p.int(1)) { // principal_classification 1, principal 2
    case 2n: // IDENTITY
      return equal(p.bytes(2), s.serialized);
    case 0n: { // ROLE
      const r = p.msg(2); // MSPRole: msp_identifier 1, role 2
      if (r.str(1) !== s.msp.id) return false;
      switch (r.int(2)) {
        case MEMBER: return true;
        case ADMIN: return s.msp.admins.some((a) => equal(a, s.cert.raw)) || s.nodeRole === "admin";
        case CLIENT: return s.nodeRole === "client";
        case PEER: return s.nodeRole === "peer";
        case ORDERER: return s.nodeRole === "orderer";
      }
    }
  }
  return false;
}

function evalRule(rule: Message, ids: Bytes[], signers: Signer[], used: boolean[], depth: number): boolean {
  if (depth > 32) return false;
  if (rule.has(1)) { // signed_by
    const id = ids[Number(rule.int(1))];
    if (!id) return false;
    const p = decode(id);
    const i = signers.findIndex((s, k) => !used[k] && satisfies(s, p));
    if (i < 0) return false;
    used[i] = true;
    return true;
  }
  if (rule.has(2)) { // n_out_of: n 1, rules 2
    const nOut = rule.msg(2);
    let n = 0;
    for (const sub of nOut.all(2)) {
      const attempt = [...used];
      if (evalRule(decode(sub), ids, signers, attempt, depth + 1)) {
        attempt.forEach((u, k) => (used[k] = u));
        n++;
      }
    }
    return n >= Number(BigInt.asIntN(32, nOut.int(1)));
  }
  return false;
}

/** evalPolicy evaluates a policy over verified signers, as Fabric does. */
function evalPolicy(p: Policy, signers: Signer[]): boolean {
  if (p.kind === "signature") return evalRule(p.rule, p.identities, signers, signers.map(() => false), 0);
  const n = p.subs.filter((s) => evalPolicy(s, signers)).length;
  switch (p.rule) {
    case 0n: return n >= 1; // ANY
    case 1n: return n === p.subs.length; // ALL
    case 2n: return n > Math.floor(p.subs.length / 2); // MAJORITY
  }
  return false;
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/**
 * verifyReceipt checks a receipt (its JSON, or the parsed object) against
 * trust without any network access and resolves to what it proves, or
 * rejects with a ReceiptError naming the first check that failed.
 */
export async function verifyReceipt(receipt: string | Receipt, trust: Trust): Promise<Proof> {
  const r = decodeReceipt(receipt);
  return verify(r, await trustedConfig(r, trust), trust, true);
}

async function verify(r: Decoded, cfg: ChannelConfig, trust: Trust, withSources: boolean): Promise<Proof> {
  // channel-config: the receipt names the trusted configuration, and the block was made under it.
  if (r.config.number !== cfg.number || !equal(r.config.headerHash, cfg.headerHash)) {
    fail("channel-config", `receipt names config block ${r.config.number} (${hex(r.config.headerHash)}), the trusted one is block ${cfg.number} (${hex(cfg.headerHash)})`);
  }
  if (r.channel !== cfg.channel) fail("channel-config", `receipt is of channel "${r.channel}", the trusted configuration of "${cfg.channel}"`);
  const last = guard("channel-config", "block metadata", () => lastConfigIndex(r.block.metadata));
  if (last !== cfg.number) fail("channel-config", `block ${r.block.header.number} was made under config block ${last}, the receipt names ${cfg.number}`);

  // block-data: the header commits to the data, which holds the envelope at txIndex.
  const dh = await sha256(concat(...r.block.data));
  if (!equal(dh, r.block.header.dataHash)) fail("block-data", `block ${r.block.header.number}'s data hashes to ${hex(dh)}, its header says ${hex(r.block.header.dataHash)}`);
  if (!equal(r.block.data[r.txIndex] as Bytes, r.envelope)) fail("block-data", `entry ${r.txIndex} of block ${r.block.header.number} is not the receipt's envelope`);

  // validation-flag: the committing peer marked the transaction VALID.
  const filter = r.block.metadata[TRANSACTIONS_FILTER];
  if (!filter || filter.length !== r.block.data.length) fail("validation-flag", `block ${r.block.header.number} has no validation flag for each of its ${r.block.data.length} transactions`);
  const code = filter[r.txIndex] as number;
  if (code !== 0) fail("validation-flag", `transaction ${r.txId} is ${validationCodes[code] ?? (code === 254 ? "NOT_VALIDATED" : code === 255 ? "INVALID_OTHER_REASON" : String(code))}`);

  const env = guard("decode", "envelope", () => parseEnvelope(r.envelope));
  if (env.type !== ENDORSER_TRANSACTION) fail("decode", `transaction ${env.txId} is of header type ${env.type}, not an endorser transaction`);
  if (env.actions !== 1) fail("decode", `transaction ${env.txId} has ${env.actions} actions, Fabric commits exactly one`);
  if (env.txId !== r.txId || env.channel !== r.channel) fail("decode", `receipt names ${r.txId} on ${r.channel}, its envelope holds ${env.txId} on ${env.channel}`);

  // endorsement-signature: each endorser signed the proposal response payload followed by its identity.
  if (env.endorsements.length === 0) fail("endorsement-signature", `transaction ${env.txId} has no endorsements`);
  for (const [i, e] of env.endorsements.entries()) {
    try {
      await verifySignature(identityCert(e.endorser).cert, concat(env.proposalResponsePayload, e.endorser), e.signature);
    } catch (err) {
      fail("endorsement-signature", `endorsement ${i}: ${message(err)}`);
    }
  }

  // creator-signature: the creator signed the payload, and the tx ID is SHA-256(nonce || creator).
  try {
    await verifySignature(identityCert(env.creator).cert, env.payload, env.signature);
  } catch (err) {
    fail("creator-signature", `creator: ${message(err)}`);
  }
  const id = hex(await sha256(concat(env.nonce, env.creator)));
  if (id !== env.txId) fail("creator-signature", `transaction ID ${env.txId} is not derived from its nonce and creator (${id})`);

  // certificate: every signer chains to its MSP's CAs and has one node role.
  const creator = await resolve(env.creator, cfg.msps).catch((e: unknown) => fail("certificate", `creator: ${message(e)}`));
  const endorsers: Signer[] = [];
  for (const [i, e] of env.endorsements.entries()) {
    endorsers.push(await resolve(e.endorser, cfg.msps).catch((err: unknown) => fail("certificate", `endorser ${i}: ${message(err)}`)));
  }

  // endorsement-policy: the endorsers satisfy each policy known to govern each written key.
  const policies = await checkEndorsementPolicy(r, env, endorsers, withSources ? r.keyPolicies : [], cfg, trust);

  // orderer-signature: the block's verified signatures satisfy the block validation policy.
  const orderers = await checkOrdererSignatures(r, cfg);

  const proof: Proof = {
    channel: r.channel, txId: r.txId, block: Number(r.block.header.number), txIndex: r.txIndex, timestamp: new Date(env.timestamp).toISOString(),
    creator: identityOf(creator), endorsers: endorsers.map(identityOf), orderers: orderers.map(identityOf), chaincode: env.chaincode, policies,
  };
  const event = guard("decode", "chaincode event", () => contractEvent(env.events, env.chaincode));
  if (event !== undefined) proof.event = event;
  return proof;
}

async function checkOrdererSignatures(r: Decoded, cfg: ChannelConfig): Promise<Signer[]> {
  const md = guard("orderer-signature", "signatures metadata", () => {
    const b = r.block.metadata[SIGNATURES];
    if (!b) throw new Error(`block metadata has ${r.block.metadata.length} entries, no signatures`);
    return decode(b);
  });
  const hdr = headerBytes(r.block.header);
  const sigs = md.all(2);
  const signers: Signer[] = [];
  const refused: string[] = [];
  for (const [i, b] of sigs.entries()) {
    try {
      const s = decode(b); // MetadataSignature: signature_header 1, signature 2, identifier_header 3
      let identity: Bytes;
      let signed: Bytes;
      if (s.bytes(1).length > 0) {
        identity = decode(s.bytes(1)).bytes(1);
        signed = concat(md.bytes(1), s.bytes(1), hdr);
      } else {
        // Under BFT a signature may name its orderer by consenter ID only.
        identity = cfg.consenters.get(Number(decode(s.bytes(3)).int(1))) ?? new Uint8Array(0);
        signed = concat(md.bytes(1), s.bytes(3), hdr);
      }
      const signer = await resolve(identity, cfg.msps);
      await verifySignature(signer.cert, signed, s.bytes(2));
      if (!signers.some((o) => equal(o.serialized, signer.serialized))) signers.push(signer);
    } catch (e) {
      refused.push(`signature ${i}: ${message(e)}`);
    }
  }
  if (!evalPolicy(cfg.blockValidation, signers)) {
    fail("orderer-signature", `block ${r.block.header.number}: ${signers.length} of ${sigs.length} signatures verify, not enough for ${policyString(cfg.blockValidation)}${refused.length ? ` (${refused.join("; ")})` : ""}`);
  }
  return signers;
}

function contractEvent(events: Bytes, chaincode: string): unknown {
  if (events.length === 0) return undefined;
  const ev = decode(events); // ChaincodeEvent: chaincode_id 1, tx_id 2, event_name 3, payload 4
  if (ev.str(1) !== chaincode || ev.str(3) !== EVENT_NAME) return undefined;
  return JSON.parse(new TextDecoder().decode(ev.bytes(4))) as unknown;
}

const before = (a: Decoded, b: Decoded): boolean =>
  a.block.header.number < b.block.header.number || (a.block.header.number === b.block.header.number && a.txIndex < b.txIndex);

/**
 * checkEndorsementPolicy proves, for every key the transaction writes, that
 * the endorsers satisfy each policy known to govern it: the policy the
 * transaction itself sets, the policy an earlier transaction set (a source
 * receipt, verified in full), or else the chaincode policy from trust.
 */
async function checkEndorsementPolicy(r: Decoded, env: Envelope, endorsers: Signer[], sources: Decoded["keyPolicies"], cfg: ChannelConfig, trust: Trust): Promise<KeyPolicy[]> {
  const ns = env.chaincode;
  for (const [other, ws] of env.writes) {
    if (other !== ns && ws.keys.length > 0) fail("endorsement-policy", `transaction writes namespace ${other} besides its chaincode ${ns}`);
  }
  const own = env.writes.get(ns) ?? { keys: [], policies: new Map<string, Bytes>() };
  const from = new Map<string, [KeyPolicy, Policy]>();
  for (const s of sources) {
    if (!own.keys.includes(s.key)) fail("endorsement-policy", `a policy source is given for "${s.key}", which the transaction does not write`);
    const src = s.receipt;
    if (!before(src, r)) fail("endorsement-policy", `policy source of "${s.key}" (block ${src.block.header.number}, tx ${src.txIndex}) does not precede the transaction`);
    await verify(src, cfg, trust, false).catch((e: unknown) => {
      throw e instanceof ReceiptError ? new ReceiptError(e.check, `policy source of "${s.key}": ${e.message}`) : e;
    });
    const srcEnv = parseEnvelope(src.envelope);
    const b = srcEnv.writes.get(ns)?.policies.get(s.key);
    if (!b || srcEnv.chaincode !== ns) fail("endorsement-policy", `policy source ${src.txId} does not set the policy of "${s.key}" in ${ns}`);
    const p = guard("endorsement-policy", `policy set on "${s.key}" by ${src.txId}`, () => signaturePolicy(b));
    from.set(s.key, [{ key: s.key, policy: policyString(p), source: `transaction ${src.txId} (block ${src.block.header.number})` }, p]);
  }
  const chaincode = trust.chaincodePolicy ? guard("endorsement-policy", "chaincode policy", () => signaturePolicy(new Uint8Array(trust.chaincodePolicy as Uint8Array))) : undefined;
  const out: KeyPolicy[] = [];
  for (const key of own.keys) {
    const checks: [KeyPolicy, Policy][] = [];
    const set = own.policies.get(key);
    if (set) {
      const p = guard("endorsement-policy", `policy set on "${key}"`, () => signaturePolicy(set));
      checks.push([{ key, policy: policyString(p), source: "this transaction" }, p]);
    }
    const known = from.get(key);
    if (known) checks.push(known);
    else if (chaincode) checks.push([{ key, policy: policyString(chaincode), source: "chaincode definition" }, chaincode]);
    if (checks.length === 0) fail("endorsement-policy", `no endorsement policy known for key "${key}" (no source receipt, no chaincode policy)`);
    for (const [kp, p] of checks) {
      if (!evalPolicy(p, endorsers)) fail("endorsement-policy", `endorsers of ${r.txId} do not satisfy ${kp.policy}, set by ${kp.source}, for key "${key}"`);
      out.push(kp);
    }
  }
  return out;
}

const roleNames = ["member", "admin", "client", "peer", "orderer"];
const classifications = ["role", "organization_unit", "identity", "anonymity", "combined"];

/** policyString renders a policy in Fabric's policy language, as the Go verifier does. */
export function policyString(p: Policy): string {
  if (p.kind === "implicit-meta") return `${["ANY", "ALL", "MAJORITY"][Number(p.rule)] ?? p.rule} ${p.subPolicy} [${p.subs.map(policyString).join("; ")}]`;
  const principal = (i: bigint): string => {
    const id = p.identities[Number(i)];
    if (!id) return "'?'";
    const m = decode(id);
    if (m.int(1) === 0n) {
      const r = m.msg(2);
      return `'${r.str(1)}.${roleNames[Number(r.int(2))] ?? r.int(2)}'`;
    }
    return `'${classifications[Number(m.int(1))] ?? m.int(1)} principal'`;
  };
  const render = (rule: Message, depth: number): string => {
    if (depth > 32) return "…";
    if (rule.has(1)) return principal(rule.int(1));
    if (!rule.has(2)) return "?";
    const nOut = rule.msg(2);
    const parts = nOut.all(2).map((sub) => render(decode(sub), depth + 1));
    const n = Number(BigInt.asIntN(32, nOut.int(1)));
    if (n === 1 && parts.length === 1) return parts[0] as string;
    if (n === 1) return `OR(${parts.join(",")})`;
    if (n === parts.length) return `AND(${parts.join(",")})`;
    return `OutOf(${n},${parts.join(",")})`;
  };
  return render(p.rule, 0);
}
