import { DomainError } from '../../domain/src';
import { x509 } from './x509';

/** One attribute of a subject, in the order the administrator typed it. */
export interface SubjectAttribute {
  /** Canonical short name: C, ST, L, O, OU, CN, E, DC, SERIALNUMBER, STREET, POSTALCODE, T, G, SN, I, UID, or a dotted OID. */
  readonly type: string;
  readonly oid: string;
  /** The decoded value (quotes and escapes removed; C upper-cased). */
  readonly value: string;
}

export interface ParsedSubject {
  /**
   * RFC 4514-style string in the typed order (first attribute = first RDN of the encoded
   * Name, as Windows and @peculiar/x509 write it; OpenSSL's `-nameopt RFC2253` prints it
   * reversed). Attribute types that @peculiar/x509 cannot read by name (SERIALNUMBER, STREET,
   * POSTALCODE, UID) are written as dotted OIDs, so `new x509.Name(dn)` reads every `dn` back.
   */
  readonly dn: string;
  readonly attributes: SubjectAttribute[];
}

interface AttributeDef {
  readonly type: string;
  readonly oid: string;
  /** How @peculiar/x509's string parser names the type (its short name, or the OID). */
  readonly dnName: string;
  readonly description: string;
  /** Upper bound from RFC 5280 Appendix A (ub-*), where there is one. */
  readonly maxLength?: number;
  /** Returns a message if the value is not acceptable for this type, or the value to store. */
  readonly check?: (value: string) => { error: string } | { value: string };
}

const PRINTABLE = /^[A-Za-z0-9 '()+,\-./:=?]*$/;

const DEFS: readonly AttributeDef[] = [
  {
    type: 'C', oid: '2.5.4.6', dnName: 'C', description: 'country',
    check: (v) => (/^[A-Za-z]{2}$/.test(v) ? { value: v.toUpperCase() } : { error: 'must be a two-letter ISO 3166 country code such as US or DE' }),
  },
  { type: 'ST', oid: '2.5.4.8', dnName: 'ST', description: 'state or province', maxLength: 128 },
  { type: 'L', oid: '2.5.4.7', dnName: 'L', description: 'locality (city)', maxLength: 128 },
  { type: 'O', oid: '2.5.4.10', dnName: 'O', description: 'organization', maxLength: 64 },
  { type: 'OU', oid: '2.5.4.11', dnName: 'OU', description: 'organizational unit', maxLength: 64 },
  { type: 'CN', oid: '2.5.4.3', dnName: 'CN', description: 'common name', maxLength: 64 },
  {
    type: 'E', oid: '1.2.840.113549.1.9.1', dnName: 'E', description: 'e-mail address', maxLength: 255,
    check: (v) => (/^[\x21-\x7e]+@[\x21-\x7e]+$/.test(v) ? { value: v } : { error: 'must be an ASCII e-mail address such as admin@contoso.com' }),
  },
  {
    type: 'DC', oid: '0.9.2342.19200300.100.1.25', dnName: 'DC', description: 'domain component', maxLength: 63,
    check: (v) =>
      /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(v)
        ? { value: v }
        : { error: v.includes('.') ? 'holds one domain label; write "dc=contoso, dc=com", not "dc=contoso.com"' : 'must be a domain label (letters, digits, hyphens)' },
  },
  {
    type: 'SERIALNUMBER', oid: '2.5.4.5', dnName: '2.5.4.5', description: 'serial number', maxLength: 64,
    check: (v) => (PRINTABLE.test(v) ? { value: v } : { error: "may hold only letters, digits, spaces and ' ( ) + , - . / : = ?" }),
  },
  { type: 'STREET', oid: '2.5.4.9', dnName: '2.5.4.9', description: 'street address', maxLength: 128 },
  { type: 'POSTALCODE', oid: '2.5.4.17', dnName: '2.5.4.17', description: 'postal code', maxLength: 40 },
  { type: 'T', oid: '2.5.4.12', dnName: 'T', description: 'title', maxLength: 64 },
  { type: 'G', oid: '2.5.4.42', dnName: 'G', description: 'given name', maxLength: 64 },
  { type: 'SN', oid: '2.5.4.4', dnName: 'SN', description: 'surname', maxLength: 64 },
  { type: 'I', oid: '2.5.4.43', dnName: 'I', description: 'initials', maxLength: 64 },
  { type: 'UID', oid: '0.9.2342.19200300.100.1.1', dnName: '0.9.2342.19200300.100.1.1', description: 'user id', maxLength: 256 },
];

const byType = (type: string): AttributeDef => DEFS.find((d) => d.type === type)!;

/** Every spelling accepted, upper-case: Exchange/Windows short names, OpenSSL long names. */
const ALIASES: ReadonlyMap<string, AttributeDef> = new Map<string, AttributeDef>([
  ...DEFS.map((d) => [d.type, d] as [string, AttributeDef]),
  ['COUNTRYNAME', byType('C')],
  ['S', byType('ST')],
  ['STATEORPROVINCENAME', byType('ST')],
  ['LOCALITYNAME', byType('L')],
  ['ORGANIZATIONNAME', byType('O')],
  ['ORGANIZATIONALUNITNAME', byType('OU')],
  ['COMMONNAME', byType('CN')],
  ['EMAIL', byType('E')],
  ['EMAILADDRESS', byType('E')],
  ['DOMAINCOMPONENT', byType('DC')],
  ['STREETADDRESS', byType('STREET')],
  ['TITLE', byType('T')],
  ['GN', byType('G')],
  ['GIVENNAME', byType('G')],
  ['SURNAME', byType('SN')],
  ['INITIALS', byType('I')],
  ['USERID', byType('UID')],
]);

const KNOWN_NAMES = 'C, ST (or S), L, O, OU, CN, E (or EMAIL), DC, SERIALNUMBER, STREET, POSTALCODE, T (or TITLE), G, SN, I, UID';
const MAX_SUBJECT_LENGTH = 4096;

const invalid = (message: string, details?: Record<string, unknown>): DomainError =>
  new DomainError('InvalidSubject', `Invalid subject: ${message}`, 'invalid', details);

const isSpace = (c: string | undefined): boolean => c === ' ' || c === '\t' || c === '\r' || c === '\n';
const isSeparator = (c: string | undefined): boolean => c === ',' || c === ';';
const ESCAPABLE = new Set([',', ';', '+', '"', '\\', '<', '>', '=', '#', ' ']);
const HEX2 = /^[0-9A-Fa-f]{2}$/;

function lookup(key: string): AttributeDef | null {
  const upper = key.toUpperCase();
  const oid = /^(?:OID\.)?([0-2](?:\.(?:0|[1-9][0-9]*))+)$/.exec(upper)?.[1];
  if (oid) return DEFS.find((d) => d.oid === oid) ?? { type: oid, oid, dnName: oid, description: `attribute ${oid}` };
  return ALIASES.get(upper) ?? null;
}

/**
 * Parses an X.500 subject as Exchange administrators type it for New-ExchangeCertificate
 * (`c=US, s=MyState, l=MyCity, o=My Name, ou=IT Department, cn=mail.mitserv.net`): keys
 * case-insensitive, `,` or `;` between attributes, values plain, double-quoted or with
 * backslash escapes (`\,`, RFC 4514 `\2C`). The order is kept as typed. A missing comma
 * (`c=US o=contoso inc`) is refused rather than guessed, naming the position.
 * Throws DomainError `InvalidSubject` (kind 'invalid').
 */
export function parseSubject(input: string): ParsedSubject {
  if (typeof input !== 'string') throw invalid('the subject must be text');
  if (input.length > MAX_SUBJECT_LENGTH) throw invalid(`the subject is ${input.length} characters long; the maximum is ${MAX_SUBJECT_LENGTH}`);
  const s = input;
  const n = s.length;
  let i = 0;
  const skipSpaces = () => {
    while (i < n && isSpace(s[i])) i++;
  };
  const attributes: SubjectAttribute[] = [];
  let lastSeparator = -1;

  skipSpaces();
  if (i === n) throw invalid('the subject is empty; type it as, for example, "CN=mail.contoso.com, O=Contoso, C=US"');

  for (;;) {
    skipSpaces();
    if (i === n) throw invalid(`the subject ends with a separator at position ${lastSeparator + 1}; remove it or add an attribute after it`);
    if (isSeparator(s[i])) {
      throw attributes.length === 0
        ? invalid(`the subject starts with a separator "${s[i]}" at position ${i + 1}; it should start with an attribute such as CN=`)
        : invalid(`empty attribute at position ${i + 1}: two separators in a row`);
    }
    const keyStart = i;
    while (i < n && /[A-Za-z0-9.\-]/.test(s[i])) i++;
    const key = s.slice(keyStart, i);
    if (key === '') throw invalid(`expected an attribute name such as CN= at position ${i + 1}, found "${s[i]}"`);
    skipSpaces();
    if (s[i] !== '=') {
      throw i === n
        ? invalid(`"${key}" at position ${keyStart + 1} has no "=" and no value`)
        : invalid(`expected "=" after "${key}" at position ${i + 1}, found "${s[i]}"`);
    }
    const def = lookup(key);
    if (!def) throw invalid(`unknown attribute "${key}" at position ${keyStart + 1}; known attributes are ${KNOWN_NAMES}`, { key, position: keyStart + 1 });
    i++; // '='
    skipSpaces();
    const valueStart = i;
    const raw = s[i] === '"' ? readQuoted(def) : readPlain(def);
    if (raw === '') throw invalid(`${def.type} at position ${keyStart + 1} has an empty value`);
    attributes.push({ type: def.type, oid: def.oid, value: checkValue(def, raw, valueStart) });
    if (i === n) break;
    lastSeparator = i;
    i++; // separator
  }
  return { dn: toDn(attributes, s), attributes };

  function readEscape(into: number[]): string {
    // s[i] is the backslash
    const at = i;
    const next = s[i + 1];
    if (next === undefined) throw invalid(`the subject ends with a lone backslash at position ${at + 1}`);
    if (HEX2.test(s.slice(i + 1, i + 3))) {
      // RFC 4514 hex pairs: consecutive ones form one UTF-8 sequence
      while (s[i] === '\\' && HEX2.test(s.slice(i + 1, i + 3))) {
        into.push(parseInt(s.slice(i + 1, i + 3), 16));
        i += 3;
      }
      try {
        return new TextDecoder('utf-8', { fatal: true }).decode(Uint8Array.from(into));
      } catch {
        throw invalid(`the escaped bytes at position ${at + 1} are not valid UTF-8`);
      } finally {
        into.length = 0;
      }
    }
    if (!ESCAPABLE.has(next)) {
      throw invalid(`invalid escape "\\${next}" at position ${at + 1}; a backslash may only precede , ; + " \\ < > = # space or two hex digits`);
    }
    i += 2;
    return next;
  }

  function readQuoted(def: AttributeDef): string {
    const quoteAt = i;
    i++;
    let value = '';
    const bytes: number[] = [];
    while (i < n && s[i] !== '"') {
      if (s[i] === '\\') value += readEscape(bytes);
      else value += s[i++];
    }
    if (i === n) {
      throw invalid(`unterminated quote: the value of ${def.type} opened with " at position ${quoteAt + 1} has no closing "`, { position: quoteAt + 1 });
    }
    i++; // closing quote
    skipSpaces();
    if (i < n && !isSeparator(s[i])) {
      throw invalid(`unexpected "${s[i]}" at position ${i + 1} after the quoted value of ${def.type}; separate attributes with a comma`, { position: i + 1 });
    }
    return value;
  }

  function readPlain(def: AttributeDef): string {
    let value = '';
    let keep = 0; // length of the value without its unescaped trailing white space
    const bytes: number[] = [];
    while (i < n && !isSeparator(s[i])) {
      const c = s[i];
      if (c === '\\') {
        value += readEscape(bytes);
        keep = value.length;
      } else if (c === '=') {
        throw misplacedEquals(def, i);
      } else if (c === '"') {
        throw invalid(`unexpected " at position ${i + 1} inside the value of ${def.type}; quote the whole value ("...") or escape the quote as \\"`, { position: i + 1 });
      } else {
        value += c;
        if (!isSpace(c)) keep = value.length;
        i++;
      }
    }
    return value.slice(0, keep);
  }

  /** Where the attribute that holds position `at` starts (after the previous separator). */
  function keyStartOf(at: number): number {
    let k = at;
    while (k > 0 && !isSeparator(s[k - 1])) k--;
    while (k < at && isSpace(s[k])) k++;
    return k;
  }

  /** An '=' inside a plain value is almost always a missing comma: `c=US o=contoso inc`. */
  function misplacedEquals(def: AttributeDef, at: number): DomainError {
    let wordEnd = at;
    while (wordEnd > 0 && isSpace(s[wordEnd - 1])) wordEnd--;
    let wordStart = wordEnd;
    while (wordStart > 0 && /[A-Za-z0-9.\-]/.test(s[wordStart - 1])) wordStart--;
    const word = s.slice(wordStart, wordEnd);
    const spaceBefore = wordStart > 0 && isSpace(s[wordStart - 1]);
    if (word && spaceBefore && lookup(word)) {
      const before = s.slice(keyStartOf(wordStart), wordStart).trimEnd();
      let afterEnd = at + 1;
      while (afterEnd < n && !isSeparator(s[afterEnd])) afterEnd++;
      const after = s.slice(at + 1, afterEnd).trim();
      return invalid(
        `missing comma before "${word}=" at position ${wordStart + 1}; separate attributes with commas, for example "${before}, ${word}=${after}"`,
        { position: wordStart + 1, key: word },
      );
    }
    return invalid(
      `unexpected "=" at position ${at + 1} in the value of ${def.type}; if "=" is part of the value, quote the value ("...") or escape it as \\=`,
      { position: at + 1 },
    );
  }
}

function checkValue(def: AttributeDef, value: string, valueStart: number): string {
  if (/[\x00-\x1f\x7f]/.test(value)) throw invalid(`the value of ${def.type} at position ${valueStart + 1} contains a control character`);
  if (def.maxLength !== undefined && [...value].length > def.maxLength) {
    throw invalid(`the value of ${def.type} (${def.description}) at position ${valueStart + 1} is ${[...value].length} characters long; the maximum is ${def.maxLength}`);
  }
  if (!def.check) return value;
  const result = def.check(value);
  if ('error' in result) throw invalid(`${def.type} (${def.description}) at position ${valueStart + 1} ${result.error}; found "${value}"`);
  return result.value;
}

/** RFC 4514 section 2.4 escaping, limited to what @peculiar/x509's own parser reads back. */
export function escapeDnValue(value: string): string {
  return value
    .replace(/[\\,+"<>;]/g, '\\$&')
    .replace(/^[ #]/, '\\$&')
    .replace(/ $/, '\\ ');
}

function toDn(attributes: readonly SubjectAttribute[], typed: string): string {
  const defs = attributes.map((a) => lookup(a.type === a.oid ? a.oid : a.type)!);
  const dn = attributes.map((a, k) => `${defs[k].dnName}=${escapeDnValue(a.value)}`).join(', ');
  // @peculiar/x509's string parser has gaps (a value ending in a backslash, "\0a" inside a
  // value); refuse what it would read back differently instead of issuing a different name.
  let readBack: { oid: string; value: string }[] = [];
  try {
    readBack = new x509.Name(dn).toJSON().flatMap((rdn) =>
      Object.entries(rdn).flatMap(([name, values]) => values.map((value) => ({ oid: lookup(name)?.oid ?? name, value }))),
    );
  } catch {
    // compared below
  }
  const same = readBack.length === attributes.length && readBack.every((r, k) => r.oid === attributes[k].oid && r.value === attributes[k].value);
  if (!same) {
    const bad = attributes.find((a) => a.value.includes('\\')) ?? attributes[0];
    throw invalid(`the value of ${bad.type} cannot be written in a distinguished name exactly as typed (avoid backslashes in values): "${typed.length > 200 ? typed.slice(0, 200) + '…' : typed}"`);
  }
  return dn;
}
