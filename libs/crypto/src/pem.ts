/** PEM armour and text handling shared by formats.ts and pkcs12.ts. No key material ever goes into a message. */

export const MAX_INPUT_BYTES = 5 * 1024 * 1024;

export interface PemBlock {
  readonly label: string;
  /** The text between the BEGIN and END lines (may hold RFC 1421 headers). */
  readonly body: string;
  /** The whole block, BEGIN to END line, as Node's crypto wants it. */
  readonly text: string;
  /** 1-based line of the BEGIN line. */
  readonly line: number;
}

export type PemProblem =
  | { readonly kind: 'no-end'; readonly label: string; readonly line: number }
  | { readonly kind: 'begin-inside'; readonly label: string; readonly line: number };

const BEGIN = /-----BEGIN ([A-Z0-9][A-Z0-9 #-]*)-----/g;

/** Bytes or text as text: strips a UTF-8 BOM and reads UTF-16 with a BOM (PowerShell's Out-File default). */
export function asText(input: Buffer | string): string {
  if (typeof input === 'string') return input.charCodeAt(0) === 0xfeff ? input.slice(1) : input;
  if (input.length >= 2 && input[0] === 0xff && input[1] === 0xfe) return input.subarray(2).toString('utf16le');
  if (input.length >= 2 && input[0] === 0xfe && input[1] === 0xff) {
    const swapped = Buffer.from(input.subarray(2));
    swapped.subarray(0, swapped.length - (swapped.length % 2)).swap16();
    return swapped.toString('utf16le');
  }
  if (input.length >= 3 && input[0] === 0xef && input[1] === 0xbb && input[2] === 0xbf) return input.subarray(3).toString('utf8');
  return input.toString('latin1');
}

const lineOf = (text: string, index: number): number => {
  let line = 1;
  for (let k = text.indexOf('\n'); k !== -1 && k < index; k = text.indexOf('\n', k + 1)) line++;
  return line;
};

/** All PEM blocks in order; text outside blocks (OpenSSL's "subject=" and "Bag Attributes" lines) is ignored. */
export function readPemBlocks(text: string): { blocks: PemBlock[]; problem: PemProblem | null } {
  const blocks: PemBlock[] = [];
  BEGIN.lastIndex = 0;
  for (let m = BEGIN.exec(text); m; m = BEGIN.exec(text)) {
    const label = m[1];
    const line = lineOf(text, m.index);
    const bodyStart = m.index + m[0].length;
    const endLine = `-----END ${label}-----`;
    const end = text.indexOf(endLine, bodyStart);
    const nextBegin = text.indexOf('-----BEGIN ', bodyStart);
    if (end === -1) return { blocks, problem: { kind: 'no-end', label, line } };
    if (nextBegin !== -1 && nextBegin < end) return { blocks, problem: { kind: 'begin-inside', label, line } };
    blocks.push({ label, body: text.slice(bodyStart, end), text: text.slice(m.index, end + endLine.length), line });
    BEGIN.lastIndex = end + endLine.length;
  }
  return { blocks, problem: null };
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict base64 (white space allowed between characters), or null. */
export function decodeBase64Strict(body: string): Buffer | null {
  const compact = body.replace(/[ \t\r\n]+/g, '');
  if (compact.length === 0 || !BASE64.test(compact)) return null;
  return Buffer.from(compact, 'base64');
}

/** Whether the bytes look like text (printable ASCII and white space only). */
export function looksLikeText(bytes: Buffer): boolean {
  for (const b of bytes) {
    if (b === 0x09 || b === 0x0a || b === 0x0d || (b >= 0x20 && b < 0x7f)) continue;
    return false;
  }
  return true;
}

/** What an armour label holds, in words an administrator reads. */
export function describeLabel(label: string): string {
  switch (label) {
    case 'CERTIFICATE':
    case 'X509 CERTIFICATE':
      return 'a certificate';
    case 'TRUSTED CERTIFICATE':
      return 'an OpenSSL trusted certificate';
    case 'PKCS7':
    case 'CMS':
      return 'a PKCS#7 certificate bundle';
    case 'PRIVATE KEY':
      return 'a private key (PKCS#8)';
    case 'RSA PRIVATE KEY':
      return 'an RSA private key (PKCS#1)';
    case 'EC PRIVATE KEY':
      return 'an EC private key (SEC1)';
    case 'ENCRYPTED PRIVATE KEY':
      return 'an encrypted private key (PKCS#8)';
    case 'DSA PRIVATE KEY':
      return 'a DSA private key';
    case 'OPENSSH PRIVATE KEY':
      return 'an OpenSSH private key';
    case 'CERTIFICATE REQUEST':
    case 'NEW CERTIFICATE REQUEST':
      return 'a certificate signing request (CSR)';
    case 'PUBLIC KEY':
    case 'RSA PUBLIC KEY':
      return 'a public key';
    case 'X509 CRL':
      return 'a certificate revocation list (CRL)';
    case 'PKCS12':
      return 'a PKCS#12 file';
    default:
      return `a "${label}" block`;
  }
}

export const describeLabels = (labels: readonly string[]): string =>
  [...new Set(labels)].map((l) => `${describeLabel(l)} (-----BEGIN ${l}-----)`).join(', ');
