import * as asn1js from 'asn1js';
import * as pkijs from 'pkijs';
import { KeyObject, X509Certificate as NodeX509, createCipheriv, createDecipheriv, createHash, createHmac, createPrivateKey, pbkdf2, randomBytes, timingSafeEqual, webcrypto } from 'node:crypto';
import { promisify } from 'node:util';
import { DomainError, KeySpec } from '../../domain/src';
import {
  MAX_KDF_ITERATIONS,
  MAX_PKCS12_KDF_ITERATIONS,
  ParsedPrivateKey,
  certificateFromDer,
  checkedPkcs8,
  children,
  describeDer,
  keyMatchesCertificate,
  keySpecOf,
  parseBer,
  parseCertificates,
  readTlv,
} from './formats';
import { MAX_INPUT_BYTES, asText, decodeBase64Strict, looksLikeText } from './pem';

/*
 * PKCS#12 (.pfx/.p12) without OpenSSL: pkijs for the ASN.1 structures (and, on export, its
 * PBES2 encryption), Node's crypto for PBKDF2, AES, 3DES and HMAC. Read: PBES2 (PBKDF2 with
 * HMAC-SHA1/2, AES-CBC or 3DES) as `openssl pkcs12 -export` writes by default, and
 * PBE-SHA1-3DES as older tools and Windows' "TripleDES-SHA1" export write. RC2 and RC4
 * (`openssl -legacy` default, very old Windows) are refused with UnsupportedPkcs12: Node's
 * OpenSSL has no RC2 without the legacy provider.
 */

export interface ParsedPkcs12 {
  /** PEM certificates: the one belonging to the private key first, the others in file order. */
  readonly certificates: string[];
  readonly privateKey: ParsedPrivateKey | null;
  /** The friendlyName bag attribute of the key (else of its certificate), as Windows shows it. */
  readonly friendlyName: string | null;
}

export interface CreatePkcs12Options {
  readonly certificatePem: string;
  /** Issuers of the certificate, nearest first; the root may be included. */
  readonly chainPem: readonly string[];
  readonly pkcs8: Buffer;
  readonly spec: KeySpec;
  readonly password: string;
  readonly friendlyName?: string;
  /**
   * PBE-SHA1-3DES for key and certificates with an HMAC-SHA1 MAC, for Windows Server 2016
   * and older, which cannot read AES-encrypted PFX files. Default: AES-256-CBC with
   * PBKDF2-HMAC-SHA256 and an HMAC-SHA256 MAC.
   */
  readonly legacy?: boolean;
  /** KDF iterations for encryption and MAC (default 10000). */
  readonly iterations?: number;
}

const OID = {
  data: '1.2.840.113549.1.7.1',
  signedData: '1.2.840.113549.1.7.2',
  envelopedData: '1.2.840.113549.1.7.3',
  encryptedData: '1.2.840.113549.1.7.6',
  keyBag: '1.2.840.113549.1.12.10.1.1',
  shroudedKeyBag: '1.2.840.113549.1.12.10.1.2',
  certBag: '1.2.840.113549.1.12.10.1.3',
  x509Certificate: '1.2.840.113549.1.9.22.1',
  friendlyName: '1.2.840.113549.1.9.20',
  localKeyId: '1.2.840.113549.1.9.21',
  pbes2: '1.2.840.113549.1.5.13',
  pbkdf2: '1.2.840.113549.1.5.12',
  pbeSha1TripleDes: '1.2.840.113549.1.12.1.3',
} as const;

const LEGACY_PBE_NAMES: Record<string, string> = {
  '1.2.840.113549.1.12.1.1': 'PBE-SHA1-RC4-128',
  '1.2.840.113549.1.12.1.2': 'PBE-SHA1-RC4-40',
  '1.2.840.113549.1.12.1.4': 'PBE-SHA1-2DES',
  '1.2.840.113549.1.12.1.5': 'PBE-SHA1-RC2-128',
  '1.2.840.113549.1.12.1.6': 'PBE-SHA1-RC2-40',
  '1.2.840.113549.1.5.3': 'PBE-MD5-DES',
  '1.2.840.113549.1.5.10': 'PBE-SHA1-DES',
};

const DIGESTS: Record<string, { name: string; size: number; block: number }> = {
  '1.3.14.3.2.26': { name: 'sha1', size: 20, block: 64 },
  '2.16.840.1.101.3.4.2.4': { name: 'sha224', size: 28, block: 64 },
  '2.16.840.1.101.3.4.2.1': { name: 'sha256', size: 32, block: 64 },
  '2.16.840.1.101.3.4.2.2': { name: 'sha384', size: 48, block: 128 },
  '2.16.840.1.101.3.4.2.3': { name: 'sha512', size: 64, block: 128 },
};

const PRFS: Record<string, string> = {
  '1.2.840.113549.2.7': 'sha1',
  '1.2.840.113549.2.8': 'sha224',
  '1.2.840.113549.2.9': 'sha256',
  '1.2.840.113549.2.10': 'sha384',
  '1.2.840.113549.2.11': 'sha512',
};

const CIPHERS: Record<string, { name: string; keyLength: number; ivLength: number }> = {
  '2.16.840.1.101.3.4.1.2': { name: 'aes-128-cbc', keyLength: 16, ivLength: 16 },
  '2.16.840.1.101.3.4.1.22': { name: 'aes-192-cbc', keyLength: 24, ivLength: 16 },
  '2.16.840.1.101.3.4.1.42': { name: 'aes-256-cbc', keyLength: 32, ivLength: 16 },
  '1.2.840.113549.3.7': { name: 'des-ede3-cbc', keyLength: 24, ivLength: 8 },
};

const DEFAULT_ITERATIONS = 10_000;
const pbkdf2Async = promisify(pbkdf2);
const engine = new pkijs.CryptoEngine({ name: 'certflow-node', crypto: webcrypto as unknown as Crypto });

const invalid = (message: string) => new DomainError('InvalidPkcs12', message, 'invalid');
const unsupported = (message: string) => new DomainError('UnsupportedPkcs12', message, 'unprocessable');
const wrongPassword = () =>
  new DomainError('WrongPassword', 'The PKCS#12 (.pfx) password is wrong: the file could not be decrypted with it.', 'unprocessable');

/** RFC 7292 B.1: the password as a NUL-terminated big-endian BMPString. */
function bmpPassword(password: string): Buffer {
  const out = Buffer.alloc(password.length * 2 + 2);
  for (let k = 0; k < password.length; k++) out.writeUInt16BE(password.charCodeAt(k), k * 2);
  return out;
}

const YIELD_EVERY = 10_000;
const yieldToEventLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

/** RFC 7292 Appendix B.2: the PKCS#12 key derivation (id 1 = key, 2 = IV, 3 = MAC key). Yields to the event loop while it hashes. */
export async function pkcs12Kdf(hash: string, password: Buffer, salt: Uint8Array, id: 1 | 2 | 3, iterations: number, length: number): Promise<Buffer> {
  const { size: u, block: v } = Object.values(DIGESTS).find((d) => d.name === hash)!;
  const fill = (src: Uint8Array) => {
    const out = Buffer.alloc(src.length === 0 ? 0 : v * Math.ceil(src.length / v));
    for (let k = 0; k < out.length; k++) out[k] = src[k % src.length];
    return out;
  };
  const D = Buffer.alloc(v, id);
  const I = Buffer.concat([fill(salt), fill(password)]);
  const result: Buffer[] = [];
  for (let produced = 0; produced < length; produced += u) {
    let A = createHash(hash).update(D).update(I).digest();
    for (let j = 1; j < iterations; j++) {
      A = createHash(hash).update(A).digest();
      if (j % YIELD_EVERY === 0) await yieldToEventLoop();
    }
    result.push(A);
    const B = Buffer.alloc(v);
    for (let k = 0; k < v; k++) B[k] = A[k % u];
    for (let off = 0; off < I.length; off += v) {
      let carry = 1;
      for (let k = v - 1; k >= 0; k--) {
        const sum = I[off + k] + B[k] + carry;
        I[off + k] = sum & 0xff;
        carry = sum >> 8;
      }
    }
  }
  return Buffer.concat(result).subarray(0, length);
}

const checkIterations = (iterations: number | null | undefined, what: string, max: number): number => {
  if (iterations === undefined || iterations === null || !Number.isSafeInteger(iterations) || iterations < 1) {
    throw invalid(`The PKCS#12 file is damaged: the iteration count of its ${what} cannot be read.`);
  }
  if (iterations > max) {
    throw unsupported(`The PKCS#12 file uses ${iterations} iterations for its ${what}; at most ${max} are accepted.`);
  }
  return iterations;
};

const bytesOf = (node: unknown): Uint8Array | null =>
  node instanceof asn1js.OctetString ? new Uint8Array(node.getValue()) : null;

const intOf = (node: unknown): number | null => {
  if (!(node instanceof asn1js.Integer)) return null;
  return node.valueBlock.valueHexView.length > 7 ? Number.MAX_SAFE_INTEGER : node.valueBlock.valueDec;
};

/** Decrypts a PKCS#12 EncryptedData or shrouded key bag with the password-based scheme it names. */
async function decrypt(algorithm: pkijs.AlgorithmIdentifier, data: Uint8Array, password: string, what: string, macVerified: boolean): Promise<Buffer> {
  const oid = algorithm.algorithmId;
  let cipher: string;
  let key: Buffer;
  let iv: Buffer;
  if (oid === OID.pbeSha1TripleDes) {
    const [salt, count] = children(algorithm.algorithmParams);
    const saltBytes = bytesOf(salt);
    if (!saltBytes) throw invalid(`The PKCS#12 file is damaged: the salt of its ${what} cannot be read.`);
    const iterations = checkIterations(intOf(count), what, MAX_PKCS12_KDF_ITERATIONS);
    const pw = bmpPassword(password);
    cipher = 'des-ede3-cbc';
    key = await pkcs12Kdf('sha1', pw, saltBytes, 1, iterations, 24);
    iv = await pkcs12Kdf('sha1', pw, saltBytes, 2, iterations, 8);
  } else if (oid === OID.pbes2) {
    let params: pkijs.PBES2Params;
    let kdf: pkijs.PBKDF2Params;
    try {
      params = new pkijs.PBES2Params({ schema: algorithm.algorithmParams });
      if (params.keyDerivationFunc.algorithmId !== OID.pbkdf2) {
        throw unsupported(`The ${what} of the PKCS#12 file uses the key derivation ${params.keyDerivationFunc.algorithmId}; only PBKDF2 is supported.`);
      }
      kdf = new pkijs.PBKDF2Params({ schema: params.keyDerivationFunc.algorithmParams });
    } catch (e) {
      if (e instanceof DomainError) throw e;
      throw invalid(`The PKCS#12 file is damaged: the encryption parameters of its ${what} cannot be read.`);
    }
    const spec = CIPHERS[params.encryptionScheme.algorithmId];
    if (!spec) throw unsupported(`The ${what} of the PKCS#12 file is encrypted with ${params.encryptionScheme.algorithmId}; AES-CBC and 3DES are supported.`);
    const prf = kdf.prf ? PRFS[kdf.prf.algorithmId] : 'sha1';
    if (!prf) throw unsupported(`The ${what} of the PKCS#12 file uses the PBKDF2 hash ${kdf.prf?.algorithmId}; HMAC-SHA1/SHA-2 are supported.`);
    const salt = bytesOf(kdf.salt);
    const ivBytes = bytesOf(params.encryptionScheme.algorithmParams);
    if (!salt || !ivBytes || ivBytes.length !== spec.ivLength) throw invalid(`The PKCS#12 file is damaged: the salt or IV of its ${what} cannot be read.`);
    if (kdf.keyLength !== undefined && kdf.keyLength !== spec.keyLength) throw invalid(`The PKCS#12 file is damaged: the key length of its ${what} does not fit its cipher.`);
    const iterations = checkIterations(kdf.iterationCount, what, MAX_KDF_ITERATIONS);
    cipher = spec.name;
    key = await pbkdf2Async(Buffer.from(password, 'utf8'), salt, iterations, spec.keyLength, prf);
    iv = Buffer.from(ivBytes);
  } else if (LEGACY_PBE_NAMES[oid]) {
    throw unsupported(
      `The ${what} of the PKCS#12 file is encrypted with ${LEGACY_PBE_NAMES[oid]}, which is obsolete and not supported. Export it again with AES-256 (openssl pkcs12 -export without -legacy; Windows: "AES256-SHA256") or TripleDES-SHA1.`,
    );
  } else {
    throw unsupported(`The ${what} of the PKCS#12 file is encrypted with an unknown algorithm (${oid}).`);
  }
  try {
    const decipher = createDecipheriv(cipher, key, iv);
    return Buffer.concat([decipher.update(data), decipher.final()]);
  } catch {
    // without a MAC (or with a MAC under another password) a wrong password shows up only here
    if (macVerified) throw invalid(`The PKCS#12 file is damaged: its ${what} cannot be decrypted although the password is right.`);
    throw wrongPassword();
  }
}

async function verifyMac(pfx: pkijs.PFX, content: Uint8Array, password: string): Promise<void> {
  const mac = pfx.macData!;
  const digest = DIGESTS[mac.mac.digestAlgorithm.algorithmId];
  if (!digest) throw unsupported(`The PKCS#12 file is protected with the MAC algorithm ${mac.mac.digestAlgorithm.algorithmId}; SHA-1 and SHA-2 are supported.`);
  const iterations = checkIterations(mac.iterations ?? 1, 'integrity check (MAC)', MAX_PKCS12_KDF_ITERATIONS);
  const salt = new Uint8Array(mac.macSalt.valueBlock.valueHexView);
  const expected = Buffer.from(mac.mac.digest.valueBlock.valueHexView);
  const matches = async (pw: Buffer) => {
    const key = await pkcs12Kdf(digest.name, pw, salt, 3, iterations, digest.size);
    const actual = createHmac(digest.name, key).update(content).digest();
    return actual.length === expected.length && timingSafeEqual(actual, expected);
  };
  // An empty password is encoded either as an empty BMPString or as just its NUL; tools differ.
  if (!(await matches(bmpPassword(password))) && !(password === '' && (await matches(Buffer.alloc(0))))) throw wrongPassword();
}

interface Bag {
  readonly kind: 'key' | 'cert';
  readonly der: Uint8Array;
  readonly friendlyName: string | null;
  readonly localKeyId: string | null;
  /** Set for shrouded key bags: the encryption to undo. */
  readonly encryption?: pkijs.AlgorithmIdentifier;
}

function bagsOf(safeContents: pkijs.SafeContents): Bag[] {
  const bags: Bag[] = [];
  for (const bag of safeContents.safeBags) {
    let friendlyName: string | null = null;
    let localKeyId: string | null = null;
    for (const attribute of bag.bagAttributes ?? []) {
      const value = attribute.values[0] as asn1js.AsnType | undefined;
      if (attribute.type === OID.friendlyName && value instanceof asn1js.BmpString) friendlyName = value.valueBlock.value;
      if (attribute.type === OID.localKeyId && value instanceof asn1js.OctetString) localKeyId = Buffer.from(value.getValue()).toString('hex');
    }
    if (bag.bagId === OID.certBag) {
      const certBag = bag.bagValue as pkijs.CertBag;
      if (certBag.certId !== OID.x509Certificate) continue;
      const der = bytesOf(certBag.certValue);
      if (!der) throw invalid('The PKCS#12 file is damaged: a certificate bag holds no certificate.');
      bags.push({ kind: 'cert', der, friendlyName, localKeyId });
    } else if (bag.bagId === OID.shroudedKeyBag) {
      const keyBag = bag.bagValue as pkijs.PKCS8ShroudedKeyBag;
      const der = bytesOf(keyBag.encryptedData);
      if (!der) throw invalid('The PKCS#12 file is damaged: a key bag holds no key.');
      bags.push({ kind: 'key', der, friendlyName, localKeyId, encryption: keyBag.encryptionAlgorithm });
    } else if (bag.bagId === OID.keyBag) {
      const info = bag.bagValue as pkijs.PrivateKeyInfo;
      bags.push({ kind: 'key', der: new Uint8Array(info.toSchema().toBER(false)), friendlyName, localKeyId });
    }
  }
  return bags;
}

function pfxBytes(input: Buffer): Buffer {
  if (input.length > MAX_INPUT_BYTES) {
    throw new DomainError('InputTooLarge', `The PKCS#12 file is ${input.length} bytes; the limit is ${MAX_INPUT_BYTES} bytes (5 MB).`, 'invalid');
  }
  if (input.length === 0) throw invalid('The PKCS#12 (.pfx) file is empty.');
  if (input[0] === 0x30) return input;
  const text = asText(input);
  if (text.includes('-----BEGIN ')) {
    throw invalid('The input is PEM text, not a PKCS#12 (.pfx/.p12) file; upload the certificate and the private key separately, or the .pfx file itself.');
  }
  if (looksLikeText(input)) {
    const der = decodeBase64Strict(text);
    if (der && der[0] === 0x30) return der; // a base64-encoded .pfx, as key vaults hand them out
  }
  throw invalid('The input is not a PKCS#12 (.pfx/.p12) file: it is not DER.');
}

async function parsePkcs12Unchecked(input: Buffer, password: string): Promise<ParsedPkcs12> {
  if (!(input instanceof Uint8Array)) throw invalid('The PKCS#12 file must be given as bytes.');
  if (typeof password !== 'string') throw new DomainError('PasswordRequired', 'The PKCS#12 (.pfx) file needs its password.', 'invalid');
  const der = pfxBytes(Buffer.from(input.buffer, input.byteOffset, input.byteLength));
  const tlv = readTlv(der);
  if (tlv && tlv.end > der.length) throw invalid(`The PKCS#12 file is truncated: it declares ${tlv.end} bytes but only ${der.length} are present.`);
  if (tlv && tlv.end < der.length && der.subarray(tlv.end).some((b) => b !== 0)) {
    throw invalid(`The PKCS#12 file has ${der.length - tlv.end} unexpected bytes after its end.`);
  }
  const root = parseBer(der.subarray(0, tlv?.end ?? der.length));
  if (!root) throw invalid('The input is not a PKCS#12 (.pfx/.p12) file: it is not valid DER.');
  let pfx: pkijs.PFX;
  try {
    pfx = new pkijs.PFX({ schema: root });
  } catch {
    const what = describeDer(der);
    throw invalid(what ? `The input is ${what}, not a PKCS#12 (.pfx/.p12) file.` : 'The input is not a PKCS#12 (.pfx/.p12) file.');
  }
  if (pfx.version !== 3) throw invalid(`The PKCS#12 file has version ${pfx.version}; only version 3 exists.`);
  if (pfx.authSafe.contentType === OID.signedData) throw unsupported('The PKCS#12 file is signed with a public key (public-key integrity mode), which is not supported; export it with a password.');
  if (pfx.authSafe.contentType !== OID.data || !(pfx.authSafe.content instanceof asn1js.OctetString)) {
    throw invalid('The PKCS#12 file is damaged: its content is not data.');
  }
  const content = new Uint8Array(pfx.authSafe.content.getValue());
  let macVerified = false;
  if (pfx.macData) {
    await verifyMac(pfx, content, password);
    macVerified = true;
  }
  let authenticatedSafe: pkijs.AuthenticatedSafe;
  try {
    authenticatedSafe = pkijs.AuthenticatedSafe.fromBER(content);
  } catch {
    throw invalid('The PKCS#12 file is damaged: its contents cannot be read.');
  }
  const bags: Bag[] = [];
  for (const info of authenticatedSafe.safeContents) {
    let plain: Uint8Array;
    if (info.contentType === OID.data && info.content instanceof asn1js.OctetString) {
      plain = new Uint8Array(info.content.getValue());
    } else if (info.contentType === OID.encryptedData) {
      let encrypted: pkijs.EncryptedData;
      try {
        encrypted = new pkijs.EncryptedData({ schema: info.content });
      } catch {
        throw invalid('The PKCS#12 file is damaged: an encrypted part cannot be read.');
      }
      const data = encrypted.encryptedContentInfo.getEncryptedContent();
      plain = await decrypt(encrypted.encryptedContentInfo.contentEncryptionAlgorithm, new Uint8Array(data), password, 'certificates', macVerified);
    } else if (info.contentType === OID.envelopedData) {
      throw unsupported('The PKCS#12 file is encrypted to a public key (enveloped data), which is not supported; export it with a password.');
    } else {
      throw invalid(`The PKCS#12 file is damaged: it holds a part of unknown type ${info.contentType}.`);
    }
    try {
      bags.push(...bagsOf(pkijs.SafeContents.fromBER(toArrayBuffer(plain))));
    } catch (e) {
      if (e instanceof DomainError) throw e;
      throw macVerified ? invalid('The PKCS#12 file is damaged: a part of it cannot be read.') : wrongPassword();
    }
  }
  const keyBags = bags.filter((b) => b.kind === 'key');
  if (keyBags.length > 1) throw unsupported(`The PKCS#12 file holds ${keyBags.length} private keys; export one certificate with its key per file.`);
  const certBags = bags.filter((b) => b.kind === 'cert');
  const certificates = certBags.map((b, k) => certificateFromDer(b.der, `certificate ${k + 1} in the PKCS#12 file`));
  if (certificates.length === 0 && keyBags.length === 0) {
    throw new DomainError('EmptyBundle', 'The PKCS#12 file holds neither certificates nor a private key.', 'unprocessable');
  }

  let privateKey: ParsedPrivateKey | null = null;
  let ownCert = -1;
  const keyBag = keyBags[0];
  if (keyBag) {
    const pkcs8 = keyBag.encryption ? await decrypt(keyBag.encryption, keyBag.der, password, 'private key', macVerified) : Buffer.from(keyBag.der);
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' });
    } catch {
      throw macVerified ? invalid('The PKCS#12 file is damaged: its private key cannot be read.') : wrongPassword();
    }
    const spec = keySpecOf(key);
    privateKey = { pkcs8: await checkedPkcs8(key, spec, 'The private key in the PKCS#12 file'), spec };
    ownCert = certBags.findIndex((b) => keyBag.localKeyId !== null && b.localKeyId === keyBag.localKeyId);
    if (ownCert === -1) {
      for (let k = 0; k < certificates.length && ownCert === -1; k++) {
        if (await keyMatchesCertificate(privateKey.pkcs8, certificates[k])) ownCert = k;
      }
    }
  }
  const ordered = ownCert > 0 ? [certificates[ownCert], ...certificates.filter((_, k) => k !== ownCert)] : certificates;
  const friendlyName = keyBag?.friendlyName ?? (ownCert >= 0 ? certBags[ownCert].friendlyName : null) ?? certBags.find((b) => b.friendlyName)?.friendlyName ?? null;
  return { certificates: ordered, privateKey, friendlyName };
}

/**
 * Reads a PKCS#12 (.pfx/.p12) file (DER, or base64 of it) with its password. Codes:
 * InvalidPkcs12 (not a PFX, damaged), WrongPassword, PasswordRequired, UnsupportedPkcs12
 * (RC2/RC4 encryption, public-key modes, several keys, huge iteration counts), EmptyBundle,
 * InputTooLarge, and the certificate/key codes of formats.ts for the contents (e.g.
 * UnsupportedKey for an Ed25519 key). Never throws anything but a DomainError.
 */
export async function parsePkcs12(der: Buffer, password: string): Promise<ParsedPkcs12> {
  try {
    return await parsePkcs12Unchecked(der, password);
  } catch (e) {
    if (e instanceof DomainError) throw e;
    throw invalid('The PKCS#12 file is damaged: it cannot be read.');
  }
}

// ---------------------------------------------------------------------------------------
// Export
// ---------------------------------------------------------------------------------------

const bagAttributes = (friendlyName: string | undefined, localKeyId: Buffer): pkijs.Attribute[] => [
  ...(friendlyName ? [new pkijs.Attribute({ type: OID.friendlyName, values: [new asn1js.BmpString({ value: friendlyName })] })] : []),
  new pkijs.Attribute({ type: OID.localKeyId, values: [new asn1js.OctetString({ valueHex: localKeyId })] }),
];

/** PBE-SHA1-3DES (RFC 7292 appendix C), done with Node's 3DES: pkijs only encrypts with PBES2. */
async function legacyEncrypt(plain: Uint8Array, password: string, iterations: number): Promise<{ algorithm: pkijs.AlgorithmIdentifier; data: Buffer }> {
  const salt = randomBytes(8);
  const pw = bmpPassword(password);
  const cipher = createCipheriv('des-ede3-cbc', await pkcs12Kdf('sha1', pw, salt, 1, iterations, 24), await pkcs12Kdf('sha1', pw, salt, 2, iterations, 8));
  const algorithm = new pkijs.AlgorithmIdentifier({
    algorithmId: OID.pbeSha1TripleDes,
    algorithmParams: new asn1js.Sequence({ value: [new asn1js.OctetString({ valueHex: salt }), new asn1js.Integer({ value: iterations })] }),
  });
  return { algorithm, data: Buffer.concat([cipher.update(plain), cipher.final()]) };
}

const toArrayBuffer = (bytes: Uint8Array): ArrayBuffer => {
  const copy = new Uint8Array(bytes.length);
  copy.set(bytes);
  return copy.buffer;
};

/**
 * Writes a PKCS#12 file that `openssl pkcs12`, Node's tls.createSecureContext and Windows
 * (Server 2019+; `legacy: true` for older) import: the certificate and its chain in an
 * encrypted safe, the private key in a shrouded key bag, both linked by a localKeyId (the
 * certificate's SHA-1) and labelled with the friendly name. Codes: PasswordRequired,
 * KeyMismatch, InvalidFriendlyName, and the codes of parseCertificates for bad PEM input.
 */
export async function createPkcs12(opts: CreatePkcs12Options): Promise<Buffer> {
  if (typeof opts.password !== 'string' || opts.password.length === 0) {
    throw new DomainError('PasswordRequired', 'A PKCS#12 (.pfx) export needs a password to protect the private key.', 'invalid');
  }
  if (opts.friendlyName !== undefined && (opts.friendlyName.length > 255 || /[\x00-\x1f\x7f]/.test(opts.friendlyName))) {
    throw new DomainError('InvalidFriendlyName', 'The friendly name must be at most 255 characters without control characters.', 'invalid');
  }
  const iterations = opts.iterations ?? DEFAULT_ITERATIONS;
  if (!Number.isSafeInteger(iterations) || iterations < 1000 || iterations > MAX_PKCS12_KDF_ITERATIONS) {
    throw new DomainError('InvalidPkcs12Options', `The iteration count must be between 1000 and ${MAX_PKCS12_KDF_ITERATIONS}.`, 'invalid');
  }
  const [leafPem] = parseCertificates(opts.certificatePem).certificates;
  const chainPems = (opts.chainPem ?? []).flatMap((pem) => parseCertificates(pem).certificates);
  if (!(await keyMatchesCertificate(opts.pkcs8, leafPem))) {
    throw new DomainError('KeyMismatch', 'The private key does not belong to the certificate; a PKCS#12 file would not work.', 'unprocessable');
  }
  const spec = keySpecOf(createPrivateKey({ key: Buffer.from(opts.pkcs8), format: 'der', type: 'pkcs8' }));
  const label = (k: KeySpec) => (k.algorithm === 'RSA' ? `RSA-${k.size}` : `ECDSA ${k.curve}`);
  if (label(spec) !== label(opts.spec)) {
    throw new DomainError('KeyMismatch', `The private key is ${label(spec)}, not ${label(opts.spec)} as given.`, 'unprocessable');
  }
  const ders = [leafPem, ...chainPems].map((pem) => new Uint8Array(new NodeX509(pem).raw));
  const localKeyId = createHash('sha1').update(ders[0]).digest();
  const password = toArrayBuffer(Buffer.from(opts.password, 'utf8'));
  const encryption = {
    password,
    // pkijs draws the IV itself; its type asks for one anyway
    contentEncryptionAlgorithm: { name: 'AES-CBC', length: 256 } as pkijs.ContentEncryptionAlgorithm,
    hmacHashAlgorithm: 'SHA-256',
    iterationCount: iterations,
  };

  const certBags = ders.map(
    (der, k) =>
      new pkijs.SafeBag({
        bagId: OID.certBag,
        bagValue: new pkijs.CertBag({ certId: OID.x509Certificate, certValue: new asn1js.OctetString({ valueHex: toArrayBuffer(der) }) }),
        ...(k === 0 ? { bagAttributes: bagAttributes(opts.friendlyName, localKeyId) } : {}),
      }),
  );
  const keyBagValue = new pkijs.PKCS8ShroudedKeyBag({ parsedValue: pkijs.PrivateKeyInfo.fromBER(toArrayBuffer(opts.pkcs8)) });
  if (opts.legacy) {
    const { algorithm, data } = await legacyEncrypt(opts.pkcs8, opts.password, iterations);
    keyBagValue.encryptionAlgorithm = algorithm;
    keyBagValue.encryptedData = new asn1js.OctetString({ valueHex: toArrayBuffer(data) });
  } else {
    await keyBagValue.makeInternalValues(encryption, engine);
  }
  const keySafe = new pkijs.SafeContents({
    safeBags: [new pkijs.SafeBag({ bagId: OID.shroudedKeyBag, bagValue: keyBagValue, bagAttributes: bagAttributes(opts.friendlyName, localKeyId) })],
  });
  const certSafe = new pkijs.SafeContents({ safeBags: certBags });

  let authenticatedSafe: pkijs.AuthenticatedSafe;
  if (opts.legacy) {
    const { algorithm, data } = await legacyEncrypt(new Uint8Array(certSafe.toSchema().toBER(false)), opts.password, iterations);
    const encrypted = new pkijs.EncryptedData({
      encryptedContentInfo: new pkijs.EncryptedContentInfo({
        contentType: OID.data,
        contentEncryptionAlgorithm: algorithm,
        encryptedContent: new asn1js.OctetString({ valueHex: toArrayBuffer(data) }),
      }),
    });
    authenticatedSafe = new pkijs.AuthenticatedSafe({
      safeContents: [
        new pkijs.ContentInfo({ contentType: OID.encryptedData, content: encrypted.toSchema() }),
        new pkijs.ContentInfo({ contentType: OID.data, content: new asn1js.OctetString({ valueHex: keySafe.toSchema().toBER(false) }) }),
      ],
    });
  } else {
    authenticatedSafe = new pkijs.AuthenticatedSafe({
      parsedValue: { safeContents: [{ privacyMode: 1, value: certSafe }, { privacyMode: 0, value: keySafe }] },
    });
    await authenticatedSafe.makeInternalValues({ safeContents: [encryption, {}] }, engine);
  }
  const pfx = new pkijs.PFX({ parsedValue: { integrityMode: 0, authenticatedSafe } });
  await pfx.makeInternalValues(
    { password, iterations, pbkdf2HashAlgorithm: opts.legacy ? 'SHA-1' : 'SHA-256', hmacHashAlgorithm: opts.legacy ? 'SHA-1' : 'SHA-256' },
    engine,
  );
  return Buffer.from(pfx.toSchema().toBER(false));
}
