import * as asn1js from 'asn1js';
import { KeyObject, X509Certificate as NodeX509, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import { DomainError, KeySpec } from '../../domain/src';
import { keyAlgorithm } from './keys';
import {
  MAX_INPUT_BYTES,
  PemBlock,
  asText,
  decodeBase64Strict,
  describeLabel,
  describeLabels,
  looksLikeText,
  readPemBlocks,
} from './pem';
import { subtle, x509 } from './x509';

/*
 * Reading certificates and private keys in the formats administrators bring: PEM bundles,
 * DER, bare base64, PKCS#7 (.p7b/.p7c), PKCS#1/SEC1/PKCS#8 keys. Every failure is a
 * DomainError with a stable code and a message naming what was found; no other error type
 * escapes, whatever the input (see formats.fuzz.unit.spec.ts).
 */

export type CertificateFormat = 'pem' | 'der' | 'base64' | 'pkcs7-pem' | 'pkcs7-der';

export interface ParsedCertificates {
  readonly format: CertificateFormat;
  /** Each certificate as PEM (`-----BEGIN CERTIFICATE-----`), in the order found. */
  readonly certificates: string[];
}

export interface ParsedPrivateKey {
  /** The key as unencrypted PKCS#8 DER, ready for the key vault. Never log it. */
  readonly pkcs8: Buffer;
  /**
   * RSA: the real modulus size (any size from 1024 to 16384 bits is accepted for imported
   * keys; KeySpec's `size` is a number for that reason). ECDSA: P-256 or P-384 only.
   */
  readonly spec: KeySpec;
}

export interface OrderedChain {
  readonly leaf: string;
  /** Issuers of the leaf, nearest first (intermediates, then the root if it was supplied). */
  readonly chain: string[];
}

const CERTIFICATE_LABELS = new Set(['CERTIFICATE', 'X509 CERTIFICATE', 'TRUSTED CERTIFICATE']);
const PKCS7_LABELS = new Set(['PKCS7', 'CMS']);
const PRIVATE_KEY_LABELS = new Set(['PRIVATE KEY', 'RSA PRIVATE KEY', 'EC PRIVATE KEY', 'ENCRYPTED PRIVATE KEY']);
const CSR_LABELS = new Set(['CERTIFICATE REQUEST', 'NEW CERTIFICATE REQUEST']);

const OID_SIGNED_DATA = '1.2.840.113549.1.7.2';
const OID_PBES2 = '1.2.840.113549.1.5.13';
const OID_PBKDF2 = '1.2.840.113549.1.5.12';
const OID_PBE_SHA1_3DES = '1.2.840.113549.1.12.1.3';
const SUPPORTED_PBES2_CIPHERS = new Set([
  '2.16.840.1.101.3.4.1.2', // aes-128-cbc
  '2.16.840.1.101.3.4.1.22', // aes-192-cbc
  '2.16.840.1.101.3.4.1.42', // aes-256-cbc
  '1.2.840.113549.3.7', // des-ede3-cbc
]);

/** The most PBKDF2 iterations accepted (≈ 0.4 s of SHA-256): more would let one upload hold a CPU for minutes. */
export const MAX_KDF_ITERATIONS = 2_000_000;
/**
 * The most iterations accepted for the PKCS#12 KDF (PKCS#12 MACs and PBE-SHA1-3DES). In
 * pkcs12.ts it runs as a JavaScript loop (≈ 2 µs per hash, ≈ 0.4 s per derived block at the
 * limit). Tools write 2000 to 10000.
 */
export const MAX_PKCS12_KDF_ITERATIONS = 200_000;
const MIN_RSA_BITS = 1024;
const MAX_RSA_BITS = 16384;

const err = (code: string, message: string, kind: 'invalid' | 'unprocessable' = 'invalid', details?: Record<string, unknown>) =>
  new DomainError(code, message, kind, details);

// ---------------------------------------------------------------------------------------
// DER helpers
// ---------------------------------------------------------------------------------------

interface Tlv {
  readonly tag: number;
  readonly headerLength: number;
  /** Offset just after the element, as declared; may exceed the buffer (truncated input). */
  readonly end: number;
}

/** Reads one definite-length DER header; null if the header itself is unreadable. */
export function readTlv(der: Uint8Array, offset = 0): Tlv | null {
  if (offset + 2 > der.length) return null;
  const tag = der[offset];
  if ((tag & 0x1f) === 0x1f) return null; // multi-byte tags: never the outer element of what we read
  const first = der[offset + 1];
  if (first < 0x80) return { tag, headerLength: 2, end: offset + 2 + first };
  const count = first & 0x7f;
  if (count === 0 || count > 4 || offset + 2 + count > der.length) return null;
  let length = 0;
  for (let k = 0; k < count; k++) length = length * 256 + der[offset + 2 + k];
  return { tag, headerLength: 2 + count, end: offset + 2 + count + length };
}

const toArrayBuffer = (bytes: Uint8Array): ArrayBuffer => {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
};

/** Parses BER with asn1js; null if it does not parse or leaves unexplained bytes. */
export function parseBer(bytes: Uint8Array): asn1js.AsnType | null {
  try {
    const parsed = asn1js.fromBER(toArrayBuffer(bytes));
    if (parsed.offset === -1 || parsed.result.error) return null;
    return parsed.result;
  } catch {
    return null;
  }
}

export const children = (node: unknown): asn1js.AsnType[] => {
  const value = (node as { valueBlock?: { value?: unknown } } | null)?.valueBlock?.value;
  return Array.isArray(value) ? (value as asn1js.AsnType[]) : [];
};
export const oidOf = (node: unknown): string | null =>
  node instanceof asn1js.ObjectIdentifier ? node.valueBlock.toString() : null;
const smallInt = (node: unknown): number | null =>
  node instanceof asn1js.Integer && node.valueBlock.valueHexView.length <= 6 ? node.valueBlock.valueDec : null;
const isSeq = (node: unknown): boolean => node instanceof asn1js.Sequence;
const isAlgId = (node: unknown): boolean => isSeq(node) && oidOf(children(node)[0]) !== null;
const isContext = (node: unknown, tag: number): boolean => {
  const id = (node as asn1js.BaseBlock | null)?.idBlock;
  return !!id && id.tagClass === 3 && id.tagNumber === tag;
};

/** What a DER structure holds, in words (for "you gave me X, not Y" messages); null if unknown. */
export function describeDer(der: Uint8Array): string | null {
  const root = parseBer(der);
  if (!isSeq(root)) return null;
  const items = children(root);
  const oid = oidOf(items[0]);
  if (oid === OID_SIGNED_DATA) return 'a PKCS#7 certificate bundle';
  if (oid?.startsWith('1.2.840.113549.1.7.')) return 'a PKCS#7 / CMS message';
  const version = smallInt(items[0]);
  if (version === 3 && isSeq(items[1]) && oidOf(children(items[1])[0])?.startsWith('1.2.840.113549.1.7.')) return 'a PKCS#12 (.pfx/.p12) file';
  if ((version === 0 || version === 1) && isAlgId(items[1]) && items[2] instanceof asn1js.OctetString) return 'a private key (PKCS#8)';
  if (items.length === 2 && isAlgId(items[0]) && items[1] instanceof asn1js.OctetString) return 'an encrypted private key (PKCS#8)';
  if (version === 0 && items.length === 9 && items.every((i) => i instanceof asn1js.Integer)) return 'an RSA private key (PKCS#1)';
  if (version === 1 && items[1] instanceof asn1js.OctetString) return 'an EC private key (SEC1)';
  if (items.length === 2 && isAlgId(items[0]) && items[1] instanceof asn1js.BitString) return 'a public key';
  if (items.length === 3 && isSeq(items[0]) && isAlgId(items[1]) && items[2] instanceof asn1js.BitString) {
    const tbs = children(items[0]);
    if (smallInt(tbs[0]) === 0 && isSeq(tbs[1]) && isSeq(tbs[2]) && children(tbs[2]).length === 2) return 'a certificate signing request (CSR)';
    if (isContext(tbs[0], 0) || (tbs[0] instanceof asn1js.Integer && isAlgId(tbs[1]) && isSeq(tbs[3]))) return 'a certificate';
    if (tbs.some((t, k) => k <= 3 && (t instanceof asn1js.UTCTime || t instanceof asn1js.GeneralizedTime))) return 'a certificate revocation list (CRL)';
  }
  return null;
}

// ---------------------------------------------------------------------------------------
// Certificates
// ---------------------------------------------------------------------------------------

/**
 * One DER certificate as PEM, after checking that both @peculiar/x509 and OpenSSL (Node's
 * X509Certificate) read it. `where` names it in messages ("certificate 2 (line 31)").
 */
export function certificateFromDer(der: Uint8Array, where: string, allowTrailing = false): string {
  if (der.length === 0) throw err('MalformedCertificate', `${where} is empty.`);
  const tlv = readTlv(der);
  if (!tlv) {
    throw der.length < 4
      ? err('TruncatedCertificate', `${where} is truncated: only ${der.length} bytes.`)
      : err('MalformedCertificate', `${where} is not valid DER: its length header cannot be read.`);
  }
  if (tlv.tag !== 0x30) throw err('NotACertificate', `${where} is not a certificate: it does not start with an ASN.1 SEQUENCE.`);
  if (tlv.end > der.length) {
    throw err('TruncatedCertificate', `${where} is truncated: it declares ${tlv.end} bytes but only ${der.length} are present.`, 'invalid', {
      declared: tlv.end,
      present: der.length,
    });
  }
  if (tlv.end < der.length && !allowTrailing) {
    throw err('MalformedCertificate', `${where} has ${der.length - tlv.end} unexpected bytes after the certificate.`);
  }
  const bytes = Buffer.from(der.subarray(0, tlv.end));
  try {
    const cert = new x509.X509Certificate(bytes);
    void [cert.subject, cert.issuer, cert.serialNumber, cert.notBefore, cert.notAfter, cert.publicKey.rawData, cert.extensions.length];
    new NodeX509(bytes);
    return cert.toString('pem');
  } catch {
    const what = describeDer(bytes);
    if (what && what !== 'a certificate') throw err('NotACertificate', `${where} is ${what}, not a certificate.`, 'invalid', { found: what });
    throw err('MalformedCertificate', `${where} is not a valid X.509 certificate: its DER structure is damaged.`);
  }
}

/** The certificates of a PKCS#7 / CMS SignedData (a .p7b or .p7c file), in the order stored. */
export function certificatesFromPkcs7(der: Uint8Array, where: string): string[] {
  const tlv = readTlv(der);
  if (tlv && tlv.tag === 0x30 && tlv.end > der.length) {
    throw err('TruncatedCertificate', `${where} is truncated: it declares ${tlv.end} bytes but only ${der.length} are present.`);
  }
  let parsed: ReturnType<typeof asn1js.fromBER>;
  try {
    parsed = asn1js.fromBER(toArrayBuffer(der));
  } catch {
    throw err('MalformedCertificate', `${where} is not valid DER.`);
  }
  if (parsed.offset === -1 || parsed.result.error) {
    throw /end of input/i.test(parsed.result.error ?? '')
      ? err('TruncatedCertificate', `${where} is truncated.`)
      : err('MalformedCertificate', `${where} is not valid DER: ${parsed.result.error || 'unreadable structure'}.`);
  }
  if (der.subarray(parsed.offset).some((b) => b !== 0)) {
    throw err('MalformedCertificate', `${where} has ${der.length - parsed.offset} unexpected bytes after the PKCS#7 structure.`);
  }
  const items = children(parsed.result);
  const contentType = oidOf(items[0]);
  if (!isSeq(parsed.result) || !contentType) throw err('NotACertificate', `${where} is not a PKCS#7 structure.`);
  if (contentType !== OID_SIGNED_DATA) {
    throw err('NotACertificate', `${where} is a PKCS#7 message of type ${contentType}, not a certificate bundle (signed-data).`);
  }
  const signedData = children(items[1])[0];
  if (!isContext(items[1], 0) || !isSeq(signedData)) throw err('MalformedCertificate', `${where} has no signed-data content.`);
  const certificatesField = children(signedData).find((c) => isContext(c, 0));
  const elements = children(certificatesField).filter((c) => isSeq(c));
  if (elements.length === 0) {
    throw err('EmptyBundle', `${where} holds no certificates. Export the certificate again with "include all certificates in the certification path".`, 'unprocessable');
  }
  return elements.map((e, k) => certificateFromDer(new Uint8Array(e.valueBeforeDecodeView), `certificate ${k + 1} in ${where}`));
}

function derInput(der: Buffer, format: 'der' | 'base64'): ParsedCertificates {
  const what = format === 'der' ? 'the DER input' : 'the base64 input';
  const first = children(parseBer(der))[0];
  if (oidOf(first)?.startsWith('1.2.840.113549.1.7.')) {
    return { format: format === 'der' ? 'pkcs7-der' : 'base64', certificates: certificatesFromPkcs7(der, `${what} (PKCS#7)`) };
  }
  return { format, certificates: [certificateFromDer(der, what)] };
}

function pemInput(text: string): ParsedCertificates {
  const { blocks, problem } = readPemBlocks(text);
  const usable = blocks.filter((b) => CERTIFICATE_LABELS.has(b.label) || PKCS7_LABELS.has(b.label));
  if (problem) {
    const what = `the ${problem.label} block that begins on line ${problem.line}`;
    if (CERTIFICATE_LABELS.has(problem.label) || PKCS7_LABELS.has(problem.label) || usable.length > 0) {
      throw err(
        'TruncatedCertificate',
        problem.kind === 'no-end'
          ? `The PEM text is truncated: ${what} has no "-----END ${problem.label}-----" line.`
          : `The PEM text is damaged: ${what} has no END line before the next BEGIN line.`,
      );
    }
    throw err('NotACertificate', `The input is not a certificate: it holds ${describeLabel(problem.label)} (-----BEGIN ${problem.label}-----).`);
  }
  if (usable.length === 0) {
    throw err('NotACertificate', `The input is not a certificate: it holds ${describeLabels(blocks.map((b) => b.label))}. Expected -----BEGIN CERTIFICATE----- or a PKCS#7 bundle.`, 'invalid', {
      found: blocks.map((b) => b.label),
    });
  }
  const certificates: string[] = [];
  usable.forEach((block: PemBlock, k) => {
    const where = `${block.label} block ${k + 1} (line ${block.line})`;
    const der = decodeBase64Strict(block.body);
    if (!der) throw err('MalformedCertificate', `The base64 text of ${where} is damaged (invalid characters or length).`);
    if (PKCS7_LABELS.has(block.label)) certificates.push(...certificatesFromPkcs7(der, where));
    else certificates.push(certificateFromDer(der, where, block.label === 'TRUSTED CERTIFICATE'));
  });
  const onlyPkcs7 = usable.every((b) => PKCS7_LABELS.has(b.label));
  return { format: onlyPkcs7 ? 'pkcs7-pem' : 'pem', certificates };
}

function parseCertificatesUnchecked(input: Buffer | string): ParsedCertificates {
  let bytes: Buffer;
  if (typeof input === 'string') {
    if (input.length > MAX_INPUT_BYTES || Buffer.byteLength(input) > MAX_INPUT_BYTES) throw tooLarge(Buffer.byteLength(input));
    bytes = Buffer.from(input, 'utf8');
  } else if (input instanceof Uint8Array) {
    if (input.length > MAX_INPUT_BYTES) throw tooLarge(input.length);
    bytes = Buffer.from(input.buffer, input.byteOffset, input.byteLength);
  } else {
    throw err('NotACertificate', 'The input is not a certificate: expected the contents of a certificate file.');
  }
  if (bytes.length === 0) throw err('NotACertificate', 'The input is empty: expected a certificate (PEM, DER, base64 or PKCS#7).');
  if (bytes[0] === 0x30) return derInput(bytes, 'der');
  const text = asText(typeof input === 'string' ? input : bytes);
  if (text.includes('-----BEGIN ')) return pemInput(text);
  if (text.trim() === '') throw err('NotACertificate', 'The input is empty: expected a certificate (PEM, DER, base64 or PKCS#7).');
  if (typeof input === 'string' || looksLikeText(bytes)) {
    const der = decodeBase64Strict(text);
    if (der && der[0] === 0x30) return derInput(der, 'base64');
    throw err('NotACertificate', `The input is ${text.length} characters of text that is neither PEM (-----BEGIN CERTIFICATE-----) nor base64-encoded DER.`);
  }
  throw err('NotACertificate', `The input is ${bytes.length} bytes of binary data that is not DER (a DER certificate starts with byte 0x30, this starts with 0x${bytes[0].toString(16).padStart(2, '0')}).`);
}

const tooLarge = (size: number) =>
  err('InputTooLarge', `The input is ${size} bytes; the limit is ${MAX_INPUT_BYTES} bytes (5 MB). A certificate file is a few kilobytes.`, 'invalid', {
    size,
    limit: MAX_INPUT_BYTES,
  });

/**
 * Reads one or more certificates from a PEM bundle (CERTIFICATE, X509 CERTIFICATE, TRUSTED
 * CERTIFICATE, PKCS7 or CMS armour; other blocks such as a private key in the same file are
 * ignored), DER, bare base64 (line breaks allowed) or PKCS#7 DER. UTF-16 text with a BOM is
 * read too. Codes: NotACertificate, TruncatedCertificate, MalformedCertificate, EmptyBundle,
 * InputTooLarge. Never throws anything but a DomainError.
 */
export function parseCertificates(input: Buffer | string): ParsedCertificates {
  try {
    return parseCertificatesUnchecked(input);
  } catch (e) {
    if (e instanceof DomainError) throw e;
    throw err('MalformedCertificate', 'The certificate could not be read: its structure is damaged.');
  }
}

// ---------------------------------------------------------------------------------------
// Chains
// ---------------------------------------------------------------------------------------

interface ChainNode {
  readonly pem: string;
  readonly node: NodeX509;
  readonly subject: string;
  readonly issuer: string;
  readonly isCa: boolean;
  readonly selfIssued: boolean;
}

const safely = <T>(f: () => T, fallback: T): T => {
  try {
    return f();
  } catch {
    return fallback;
  }
};

/**
 * Splits a set of certificates into the leaf (the one certificate that issued no other in the
 * set) and its issuers ordered leaf → root, matching subject/issuer names and key identifiers
 * (OpenSSL's X509_check_issued) and, when two certificates could be the issuer, the signature.
 * A certificate with the same subject and key as one on the path (a cross-signed or re-issued
 * CA) is dropped; any other certificate that is not on the path is refused.
 * Codes: EmptyBundle, AmbiguousChain, UnrelatedCertificate, and parseCertificates' codes.
 */
export function orderChain(certs: readonly string[]): OrderedChain {
  if (!Array.isArray(certs) || certs.length === 0) throw err('EmptyBundle', 'There are no certificates to order.', 'unprocessable');
  const nodes: ChainNode[] = [];
  const seen = new Set<string>();
  for (const pem of certs.flatMap((c) => parseCertificates(c).certificates)) {
    const node = new NodeX509(pem);
    if (seen.has(node.fingerprint256)) continue;
    seen.add(node.fingerprint256);
    const cert = new x509.X509Certificate(pem);
    const basic = safely(() => cert.getExtension(x509.BasicConstraintsExtension), null);
    nodes.push({ pem, node, subject: cert.subject, issuer: cert.issuer, isCa: !!basic?.ca, selfIssued: safely(() => node.checkIssued(node), false) });
  }
  const couldIssue = (parent: ChainNode, child: ChainNode) => parent !== child && safely(() => child.node.checkIssued(parent.node), false);
  const signed = (parent: ChainNode, child: ChainNode) => safely(() => child.node.verify(parent.node.publicKey), false);

  let leaves = nodes.filter((n) => !nodes.some((other) => couldIssue(n, other)));
  if (leaves.length > 1 && leaves.some((l) => !l.isCa)) leaves = leaves.filter((l) => !l.isCa);
  if (leaves.length === 0) {
    throw err('AmbiguousChain', 'No leaf certificate: every certificate in the bundle issued another one in it (cross-certified CAs only).', 'unprocessable');
  }
  if (leaves.length > 1) {
    throw err(
      'AmbiguousChain',
      `The bundle holds ${leaves.length} certificates that did not issue any other certificate in it, so the leaf is ambiguous: ${leaves
        .map((l) => `"${l.subject}"`)
        .join(', ')}. A bundle must be one chain: the server certificate and the CAs above it.`,
      'unprocessable',
      { subjects: leaves.map((l) => l.subject) },
    );
  }
  const leaf = leaves[0];
  const path: ChainNode[] = [leaf];
  for (let current = leaf; !current.selfIssued; ) {
    let parents = nodes.filter((p) => !path.includes(p) && couldIssue(p, current));
    if (parents.length > 1) {
      const verified = parents.filter((p) => signed(p, current));
      if (verified.length > 0) parents = verified;
    }
    if (parents.length === 0) break;
    current = parents.find((p) => !p.selfIssued && nodes.some((g) => !path.includes(g) && g !== p && couldIssue(g, p))) ?? parents[0];
    path.push(current);
  }
  const spki = (n: ChainNode) => n.node.publicKey.export({ type: 'spki', format: 'der' }).toString('base64');
  const unrelated = nodes.filter((n) => !path.includes(n) && !path.some((p) => p.subject === n.subject && spki(p) === spki(n)));
  if (unrelated.length > 0) {
    throw err(
      'UnrelatedCertificate',
      `The bundle holds certificates that are not part of the chain of "${leaf.subject}": ${unrelated
        .map((u) => `"${u.subject}" (issued by "${u.issuer}")`)
        .join(', ')}. Remove them or supply the right chain.`,
      'unprocessable',
      { subjects: unrelated.map((u) => u.subject), sha256Fingerprints: unrelated.map((u) => u.node.fingerprint256.replace(/:/g, '')) },
    );
  }
  return { leaf: leaf.pem, chain: path.slice(1).map((p) => p.pem) };
}

// ---------------------------------------------------------------------------------------
// Private keys
// ---------------------------------------------------------------------------------------

/** The KeySpec of a private key, or UnsupportedKey naming what it is. */
export function keySpecOf(key: KeyObject): KeySpec {
  const type = key.asymmetricKeyType;
  if (type === 'rsa') {
    const bits = key.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS) throw err('UnsupportedKey', `The RSA key has ${bits} bits; at least ${MIN_RSA_BITS} are required.`, 'unprocessable', { bits });
    if (bits > MAX_RSA_BITS) throw err('UnsupportedKey', `The RSA key has ${bits} bits; at most ${MAX_RSA_BITS} are supported.`, 'unprocessable', { bits });
    return { algorithm: 'RSA', size: bits };
  }
  if (type === 'ec') {
    const curve = key.asymmetricKeyDetails?.namedCurve;
    if (curve === 'prime256v1') return { algorithm: 'ECDSA', curve: 'P-256' };
    if (curve === 'secp384r1') return { algorithm: 'ECDSA', curve: 'P-384' };
    throw err('UnsupportedKey', `The EC key uses the curve ${curve ?? '(explicit parameters)'}; only P-256 and P-384 are supported.`, 'unprocessable', { curve });
  }
  if (type === 'rsa-pss') throw err('UnsupportedKey', 'The key is an RSA-PSS key; only plain RSA and ECDSA (P-256, P-384) keys are supported.', 'unprocessable');
  throw err('UnsupportedKey', `The key is a ${type ?? 'unknown'} key; only RSA and ECDSA (P-256, P-384) keys are supported.`, 'unprocessable', { type });
}

/**
 * Checks that a loaded private key is whole (signs, and the signature verifies with its own
 * public key, which catches damaged RSA exponents and EC keys whose stored public point does
 * not match) and that WebCrypto, which signs with it later, imports it. Returns PKCS#8 DER.
 */
export async function checkedPkcs8(key: KeyObject, spec: KeySpec, what: string): Promise<Buffer> {
  let pkcs8: Buffer;
  try {
    pkcs8 = key.export({ type: 'pkcs8', format: 'der' }) as Buffer;
    const probe = Buffer.from('certflow key check');
    const signature = sign('sha256', probe, key);
    if (!verify('sha256', probe, createPublicKey(key), signature)) throw new Error('mismatch');
  } catch {
    throw err('InvalidPrivateKey', `${what} is damaged: its parts do not form a working key.`);
  }
  try {
    await subtle.importKey('pkcs8', pkcs8, keyAlgorithm(spec), true, ['sign']);
  } catch {
    throw err('InvalidPrivateKey', `${what} cannot be used for signing (it does not import as ${spec.algorithm === 'RSA' ? `RSA-${spec.size}` : `ECDSA ${spec.curve}`}).`);
  }
  return pkcs8;
}

/** The KDF iteration count of an encrypted PKCS#8 / PKCS#12 algorithm identifier, if it has one. */
export function kdfIterations(algId: asn1js.AsnType): number | null {
  const [oidNode, params] = children(algId);
  const oid = oidOf(oidNode);
  if (oid === OID_PBES2) {
    const [kdf] = children(params);
    const [kdfOid, kdfParams] = children(kdf);
    if (oidOf(kdfOid) !== OID_PBKDF2) return null;
    return integerValue(children(kdfParams)[1]);
  }
  if (oid?.startsWith('1.2.840.113549.1.12.1.')) return integerValue(children(params)[1]);
  return null;
}

const integerValue = (node: unknown): number | null => {
  if (!(node instanceof asn1js.Integer)) return null;
  const bytes = node.valueBlock.valueHexView;
  if (bytes.length > 7) return Number.MAX_SAFE_INTEGER;
  return node.valueBlock.valueDec;
};

/** Refuses encrypted PKCS#8 keys OpenSSL should not be asked to decrypt (unknown cipher, huge iteration counts). */
function checkEncryptedPkcs8(der: Buffer): void {
  const root = parseBer(der);
  const [algId, data] = children(root);
  if (!isSeq(root) || !isAlgId(algId) || !(data instanceof asn1js.OctetString)) {
    throw err('InvalidPrivateKey', 'The encrypted private key is damaged: its structure cannot be read.');
  }
  const oid = oidOf(children(algId)[0])!;
  if (oid === OID_PBES2) {
    const [kdf, scheme] = children(children(algId)[1]);
    const kdfOid = oidOf(children(kdf)[0]);
    const cipher = oidOf(children(scheme)[0]);
    if (kdfOid !== OID_PBKDF2 || !cipher || !SUPPORTED_PBES2_CIPHERS.has(cipher)) {
      throw err('UnsupportedKey', `The private key is encrypted with an algorithm this service cannot read (${kdfOid ?? '?'} / ${cipher ?? '?'}); export it with AES-256-CBC and PBKDF2.`, 'unprocessable');
    }
  } else if (oid !== OID_PBE_SHA1_3DES) {
    throw err('UnsupportedKey', `The private key is encrypted with an algorithm this service cannot read (${oid}); export it with AES-256-CBC and PBKDF2.`, 'unprocessable');
  }
  const iterations = kdfIterations(algId);
  const max = oid === OID_PBES2 ? MAX_KDF_ITERATIONS : MAX_PKCS12_KDF_ITERATIONS;
  if (iterations === null || iterations < 1) throw err('InvalidPrivateKey', 'The encrypted private key is damaged: its iteration count cannot be read.');
  if (iterations > max) {
    throw err('UnsupportedKey', `The private key is encrypted with ${iterations} KDF iterations; at most ${max} are accepted.`, 'unprocessable');
  }
}

async function parsePrivateKeyUnchecked(pem: string, password?: string): Promise<ParsedPrivateKey> {
  if (typeof pem !== 'string' && !((pem as unknown) instanceof Uint8Array)) throw err('InvalidPrivateKey', 'The private key must be PEM text.');
  const size = typeof pem === 'string' ? Buffer.byteLength(pem) : (pem as unknown as Uint8Array).length;
  if (size > MAX_INPUT_BYTES) throw tooLarge(size);
  const text = asText(typeof pem === 'string' ? pem : Buffer.from(pem as unknown as Uint8Array));
  const { blocks, problem } = readPemBlocks(text);
  const keyBlocks = blocks.filter((b) => PRIVATE_KEY_LABELS.has(b.label));
  if (problem && (PRIVATE_KEY_LABELS.has(problem.label) || keyBlocks.length === 0)) {
    throw err('InvalidPrivateKey', `The PEM text is truncated: the ${problem.label} block that begins on line ${problem.line} has no END line.`);
  }
  if (keyBlocks.length === 0) {
    if (blocks.some((b) => b.label === 'OPENSSH PRIVATE KEY')) {
      throw err('UnsupportedKey', 'The key is in OpenSSH format; convert it with "ssh-keygen -p -m PKCS8 -f <file>" first.', 'unprocessable');
    }
    if (blocks.some((b) => b.label === 'DSA PRIVATE KEY')) throw err('UnsupportedKey', 'DSA keys are not supported; use RSA or ECDSA (P-256, P-384).', 'unprocessable');
    if (blocks.length > 0) {
      throw err('InvalidPrivateKey', `The input is not a private key: it holds ${describeLabels(blocks.map((b) => b.label))}. Expected a PKCS#8 "BEGIN PRIVATE KEY" block (or RSA/EC/ENCRYPTED PRIVATE KEY).`, 'invalid', {
        found: blocks.map((b) => b.label),
      });
    }
    throw err('InvalidPrivateKey', 'The input is not a PEM private key: expected a "BEGIN PRIVATE KEY" line (or RSA/EC/ENCRYPTED PRIVATE KEY).');
  }
  if (keyBlocks.length > 1) throw err('InvalidPrivateKey', `The input holds ${keyBlocks.length} private keys; supply exactly one.`);
  const block = keyBlocks[0];
  const legacyEncrypted = /Proc-Type:\s*4,\s*ENCRYPTED/i.test(block.body);
  const encrypted = block.label === 'ENCRYPTED PRIVATE KEY' || legacyEncrypted;
  const what = `The ${describeLabel(block.label).replace(/^an? /, '')}`;
  if (encrypted && (password === undefined || password === null || password === '')) {
    throw err('PasswordRequired', `${what} is encrypted; supply its password.`);
  }
  if (!legacyEncrypted) {
    const der = decodeBase64Strict(block.body);
    if (!der) throw err('InvalidPrivateKey', `The base64 text of the ${block.label} block (line ${block.line}) is damaged.`);
    const tlv = readTlv(der);
    if (!tlv || tlv.tag !== 0x30 || tlv.end !== der.length) {
      throw tlv && tlv.end > der.length
        ? err('InvalidPrivateKey', `The ${block.label} block (line ${block.line}) is truncated.`)
        : err('InvalidPrivateKey', `The ${block.label} block (line ${block.line}) is not valid DER.`);
    }
    if (block.label === 'ENCRYPTED PRIVATE KEY') checkEncryptedPkcs8(der);
  } else if (!/DEK-Info:\s*(AES-(128|192|256)-CBC|DES-EDE3-CBC),[0-9A-Fa-f]+/i.test(block.body)) {
    throw err('UnsupportedKey', `${what} uses legacy PEM encryption with a cipher this service cannot read; re-export it as PKCS#8 with AES-256.`, 'unprocessable');
  }
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: block.text, format: 'pem', ...(encrypted ? { passphrase: password } : {}) });
  } catch {
    if (encrypted) throw err('WrongPassword', `${what} could not be decrypted: the password is wrong (or the file is damaged).`, 'unprocessable');
    throw err('InvalidPrivateKey', `${what} is damaged: it cannot be read as ${describeLabel(block.label)}.`);
  }
  if (key.type !== 'private') throw err('InvalidPrivateKey', `${what} is not a private key.`);
  const spec = keySpecOf(key);
  return { pkcs8: await checkedPkcs8(key, spec, what), spec };
}

/**
 * Reads a PEM private key: PKCS#8 (PRIVATE KEY), PKCS#1 (RSA PRIVATE KEY), SEC1 (EC PRIVATE
 * KEY), encrypted PKCS#8 (ENCRYPTED PRIVATE KEY, with `password`) and OpenSSL's legacy
 * encrypted PEM. Returns unencrypted PKCS#8 DER and the key's spec.
 * Codes: InvalidPrivateKey, PasswordRequired, WrongPassword, UnsupportedKey, InputTooLarge.
 */
export async function parsePrivateKey(pem: string, password?: string): Promise<ParsedPrivateKey> {
  try {
    return await parsePrivateKeyUnchecked(pem, password);
  } catch (e) {
    if (e instanceof DomainError) throw e;
    throw err('InvalidPrivateKey', 'The private key could not be read: its structure is damaged.');
  }
}

// ---------------------------------------------------------------------------------------
// Matching keys, certificates and requests
// ---------------------------------------------------------------------------------------

/**
 * Compares the SPKI DER Node writes for both keys (EC points uncompressed, named curves).
 * Not KeyObject.equals: comparing an RSA with an EC key leaves an OpenSSL error queued that
 * Node 20 then reports from the next, unrelated createPrivateKey call.
 */
function samePublicKey(a: KeyObject, b: KeyObject): boolean {
  if (a.asymmetricKeyType !== b.asymmetricKeyType) return false;
  try {
    return a.export({ type: 'spki', format: 'der' }).equals(b.export({ type: 'spki', format: 'der' }));
  } catch {
    return false;
  }
}

function certificatePublicKey(certPem: string): KeyObject {
  const [first] = parseCertificates(certPem).certificates;
  return new NodeX509(first).publicKey;
}

/** Whether the private key (PKCS#8 DER) belongs to the (first) certificate in `certPem`. */
export async function keyMatchesCertificate(pkcs8: Buffer, certPem: string): Promise<boolean> {
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  } catch {
    throw err('InvalidPrivateKey', 'The stored private key is not valid PKCS#8.');
  }
  return samePublicKey(createPublicKey(key), certificatePublicKey(certPem));
}

/** Whether the issued certificate carries the public key of the request (CSR) it answers. Code for a bad CSR: InvalidCsr. */
export async function publicKeyMatches(certPem: string, csrPem: string): Promise<boolean> {
  const certKey = certificatePublicKey(certPem);
  let csrKey: KeyObject;
  try {
    const { blocks } = readPemBlocks(asText(csrPem));
    const block = blocks.find((b) => CSR_LABELS.has(b.label));
    const der = block ? decodeBase64Strict(block.body) : decodeBase64Strict(csrPem);
    if (!der) throw new Error('no CSR');
    const csr = new x509.Pkcs10CertificateRequest(toArrayBuffer(der));
    csrKey = createPublicKey({ key: Buffer.from(csr.publicKey.rawData), format: 'der', type: 'spki' });
  } catch {
    throw err('InvalidCsr', 'The certificate request is not a valid PKCS#10 request (-----BEGIN CERTIFICATE REQUEST-----).');
  }
  return samePublicKey(certKey, csrKey);
}
