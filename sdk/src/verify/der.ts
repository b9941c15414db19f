// A minimal ASN.1 DER reader: enough of X.509 to check a Fabric
// certificate's signature and chain with WebCrypto, and to name its subject.
import type { Bytes } from "./pb";

/** DERError is malformed DER or an unsupported certificate. */
export class DERError extends Error {}

/** TLV is one DER element: its tag, its contents and its whole encoding. */
export interface TLV {
  tag: number;
  body: Bytes;
  raw: Bytes;
}

/** read returns the element at the start of buf and what follows it. */
export function read(buf: Bytes): [TLV, Bytes] {
  if (buf.length < 2) throw new DERError("truncated element");
  const tag = buf[0] as number;
  if ((tag & 0x1f) === 0x1f) throw new DERError("multi-byte tags are not supported");
  let len = buf[1] as number;
  let i = 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 4 || buf.length < 2 + n) throw new DERError("bad length");
    len = 0;
    for (let k = 0; k < n; k++) len = len * 256 + (buf[i++] as number);
  }
  if (i + len > buf.length) throw new DERError("truncated element");
  return [{ tag, body: buf.subarray(i, i + len), raw: buf.subarray(0, i + len) }, buf.subarray(i + len)];
}

/** children returns the elements inside a constructed element's contents. */
export function children(body: Bytes): TLV[] {
  const out: TLV[] = [];
  let rest = body;
  while (rest.length > 0) {
    const [t, r] = read(rest);
    out.push(t);
    rest = r;
  }
  return out;
}

function expect(t: TLV | undefined, tag: number, what: string): TLV {
  if (!t || t.tag !== tag) throw new DERError(`${what}: expected tag 0x${tag.toString(16)}`);
  return t;
}

/** oid renders an OBJECT IDENTIFIER's contents in dotted form. */
export function oid(body: Bytes): string {
  const parts: number[] = [];
  let v = 0;
  for (const b of body) {
    v = v * 128 + (b & 0x7f);
    if (!(b & 0x80)) {
      if (parts.length === 0) parts.push(v < 80 ? Math.floor(v / 40) : 2, v < 80 ? v % 40 : v - 80);
      else parts.push(v);
      v = 0;
    }
  }
  return parts.join(".");
}

export const OID = {
  ecPublicKey: "1.2.840.10045.2.1",
  p256: "1.2.840.10045.3.1.7",
  ecdsaSHA256: "1.2.840.10045.4.3.2",
  basicConstraints: "2.5.29.19",
  fabricAttributes: "1.2.3.4.5.6.7.8.1",
};

const attrNames: Record<string, string> = {
  "2.5.4.3": "CN", "2.5.4.5": "SERIALNUMBER", "2.5.4.6": "C", "2.5.4.7": "L", "2.5.4.8": "ST",
  "2.5.4.9": "STREET", "2.5.4.10": "O", "2.5.4.11": "OU", "2.5.4.17": "POSTALCODE",
};

/** Certificate is what the verifier needs of an X.509 certificate. */
export interface Certificate {
  raw: Bytes;
  /** tbs is the signed part, TBSCertificate's encoding. */
  tbs: Bytes;
  /** issuer and subject are the Names' encodings, compared byte for byte. */
  issuer: Bytes;
  subject: Bytes;
  /** subjectName renders the subject as Go's pkix.Name.String does. */
  subjectName: string;
  ous: string[];
  spki: Bytes;
  /** keyCurve is the named curve of an EC key, "" for another key type. */
  keyCurve: string;
  sigAlg: string;
  signature: Bytes;
  isCA: boolean;
  /** role is the cachet.role attribute Fabric CA put in the certificate, "" if none. */
  role: string;
}

const latin1 = new TextDecoder("latin1");
const utf8 = new TextDecoder("utf-8");

function nameOf(name: TLV): { text: string; ous: string[] } {
  const parts: string[] = [];
  const ous: string[] = [];
  for (const rdn of children(name.body)) {
    const atvs: string[] = [];
    for (const atv of children(rdn.body)) {
      const [type, value] = children(atv.body);
      const id = oid(expect(type, 0x06, "attribute type").body);
      if (!value) throw new DERError("attribute without value");
      const s = (value.tag === 0x0c ? utf8 : latin1).decode(value.body);
      if (id === "2.5.4.11") ous.push(s);
      atvs.push(`${attrNames[id] ?? id}=${s.replace(/([,+"\\<>;])/g, "\\$1")}`);
    }
    parts.push(atvs.join("+"));
  }
  return { text: parts.reverse().join(","), ous };
}

/** parseCertificate reads a DER X.509 certificate. */
export function parseCertificate(der: Bytes): Certificate {
  const [cert, rest] = read(der);
  if (rest.length) throw new DERError("data after the certificate");
  const [tbs, alg, sig] = children(expect(cert, 0x30, "certificate").body);
  const f = children(expect(tbs, 0x30, "TBSCertificate").body);
  let k = f[0]?.tag === 0xa0 ? 1 : 0; // [0] version
  k++; // serial number
  k++; // signature algorithm (repeated outside)
  const issuer = expect(f[k++], 0x30, "issuer");
  k++; // validity
  const subject = expect(f[k++], 0x30, "subject");
  const spki = expect(f[k++], 0x30, "subject public key info");
  let isCA = false;
  let role = "";
  for (; k < f.length; k++) {
    const t = f[k] as TLV;
    if (t.tag !== 0xa3) continue;
    const [exts] = children(t.body);
    for (const ext of children(expect(exts, 0x30, "extensions").body)) {
      const e = children(ext.body);
      const id = oid(expect(e[0], 0x06, "extension ID").body);
      const value = expect(e[e.length - 1], 0x04, "extension value").body;
      if (id === OID.basicConstraints) {
        const [bc] = children(value);
        const first = bc && children(bc.body)[0];
        isCA = first?.tag === 0x01 && first.body[0] !== 0;
      } else if (id === OID.fabricAttributes) {
        try {
          const attrs = (JSON.parse(utf8.decode(value)) as { attrs?: Record<string, unknown> }).attrs;
          const r = attrs?.["cachet.role"];
          if (typeof r === "string") role = r;
        } catch {
          // not JSON: no attributes
        }
      }
    }
  }
  const [keyAlg] = children(spki.body);
  const [keyType, curve] = children(expect(keyAlg, 0x30, "key algorithm").body);
  const ecKey = oid(expect(keyType, 0x06, "key type").body) === OID.ecPublicKey;
  const sigBits = expect(sig, 0x03, "signature value").body;
  if (sigBits[0] !== 0) throw new DERError("signature bit string with unused bits");
  const [algID] = children(expect(alg, 0x30, "signature algorithm").body);
  const name = nameOf(subject);
  return {
    raw: cert.raw, tbs: (tbs as TLV).raw, issuer: issuer.raw, subject: subject.raw, subjectName: name.text, ous: name.ous,
    spki: spki.raw, keyCurve: ecKey && curve?.tag === 0x06 ? oid(curve.body) : "",
    sigAlg: oid(expect(algID, 0x06, "signature algorithm ID").body), signature: sigBits.subarray(1), isCA, role,
  };
}

// Half the order of P-256: Fabric refuses signatures with a larger S.
const halfOrder = 0xffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551n >> 1n;

function unsigned(t: TLV | undefined): Bytes {
  const b = expect(t, 0x02, "signature integer").body;
  if (b.length === 0 || (b[0] as number) & 0x80) throw new DERError("negative or empty integer");
  let i = 0;
  while (i < b.length - 1 && b[i] === 0) i++;
  const v = b.subarray(i);
  if (v.length > 32 || (v.length === 1 && v[0] === 0)) throw new DERError("integer out of range");
  return v;
}

/**
 * rawSignature converts a DER ECDSA P-256 signature, SEQUENCE{r, s}, to the
 * 64-byte r||s form WebCrypto verifies. With lowS it refuses high-S
 * signatures as Fabric does for transactions and blocks (certificates'
 * signatures may have either S).
 */
export function rawSignature(der: Bytes, lowS = true): Bytes {
  const [seq, rest] = read(der);
  if (rest.length) throw new DERError("data after the signature");
  const [r, s, extra] = children(expect(seq, 0x30, "signature").body);
  if (extra) throw new DERError("signature has more than two integers");
  const rb = unsigned(r);
  const sb = unsigned(s);
  let sv = 0n;
  for (const b of sb) sv = (sv << 8n) | BigInt(b);
  if (lowS && sv > halfOrder) throw new DERError("signature has a high S value, which Fabric refuses");
  const out = new Uint8Array(64);
  out.set(rb, 32 - rb.length);
  out.set(sb, 64 - sb.length);
  return out;
}

/** pemCertificates returns the DER of each CERTIFICATE block in PEM text. */
export function pemCertificates(pem: string): Bytes[] {
  const out: Bytes[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/g)) {
    const bin = atob((m[1] as string).replace(/\s+/g, ""));
    const b = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) b[i] = bin.charCodeAt(i);
    out.push(b);
  }
  return out;
}
