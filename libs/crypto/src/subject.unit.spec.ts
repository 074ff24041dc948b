import { readFileSync } from 'node:fs';
import { DomainError } from '../../domain/src';
import { Openssl } from './openssl-fixtures.spec';
import { parseSubject } from './subject';
import { subtle, x509 } from './x509';

const SCENARIOS = '/work/shared/fixtures/exchange-scenarios.json';

function invalidSubject(input: string): DomainError {
  try {
    parseSubject(input);
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    expect((e as DomainError).code).toBe('InvalidSubject');
    expect((e as DomainError).kind).toBe('invalid');
    return e as DomainError;
  }
  throw new Error(`"${input}" was accepted`);
}

/** The attributes @peculiar/x509 reads back from the dn, as [type-or-oid, value]. */
function readBack(dn: string): [string, string][] {
  return new x509.Name(dn).toJSON().map((rdn) => {
    const entries = Object.entries(rdn);
    expect(entries).toHaveLength(1);
    expect(entries[0][1]).toHaveLength(1);
    return [entries[0][0], entries[0][1][0]];
  });
}

describe('parseSubject', () => {
  describe('subjects from the Exchange certificate guides (shared fixtures)', () => {
    const scenarios = (JSON.parse(readFileSync(SCENARIOS, 'utf8')) as { scenarios: { name: string; subjectName?: string }[] }).scenarios.filter(
      (s) => s.subjectName !== undefined,
    );
    const expected: Record<string, { dn: string } | { error: RegExp }> = {
      'somorita-san': { dn: 'OU=IT Department, O=Somorita Surfboards, CN=mail.somorita.com' },
      'contoso-san': { error: /missing comma before "o=" at position 6.*"c=US, o=contoso inc"/ },
      'mitserv-third-party': { dn: 'C=US, ST=MyState, L=MyCity, O=My Name, CN=mail.mitserv.net' },
      'fourthcoffee-pop': { dn: 'C=US, O=contoso corp, CN=popserver.fourthcoffee.com' },
      'contoso-wildcard': { dn: 'CN=*.contoso.com' },
    };

    it('covers every scenario that has a subjectName', () => {
      expect(scenarios.map((s) => s.name).sort()).toEqual(Object.keys(expected).sort());
    });

    it.each(scenarios.map((s) => [s.name, s.subjectName!] as const))('scenario %s: "%s" is read as the guide means it, or refused with the position', (name, subject) => {
      const want = expected[name];
      if ('error' in want) {
        expect(invalidSubject(subject).message).toMatch(want.error);
      } else {
        expect(parseSubject(subject).dn).toBe(want.dn);
      }
    });
  });

  describe('accepted subjects', () => {
    const cases: [string, string, string, [string, string][]][] = [
      ['the mitserv example with s= for the state', 'c=US, s=MyState, l=MyCity, o=My Name, ou=IT Department, cn=mail.mitserv.net',
        'C=US, ST=MyState, L=MyCity, O=My Name, OU=IT Department, CN=mail.mitserv.net',
        [['C', 'US'], ['ST', 'MyState'], ['L', 'MyCity'], ['O', 'My Name'], ['OU', 'IT Department'], ['CN', 'mail.mitserv.net']]],
      ['st= as well as s= for the state', 'ST=Bavaria, CN=a.example', 'ST=Bavaria, CN=a.example', [['ST', 'Bavaria'], ['CN', 'a.example']]],
      ['keys in any case and a lower-case country upper-cased', 'Cn=x.example, C=de', 'CN=x.example, C=DE', [['CN', 'x.example'], ['C', 'DE']]],
      ['the order as typed, not a canonical order', 'cn=x, o=y, c=US', 'CN=x, O=y, C=US', [['CN', 'x'], ['O', 'y'], ['C', 'US']]],
      ['a double-quoted value holding a comma', 'o="Contoso, Inc.", cn=mail.contoso.com', 'O=Contoso\\, Inc., CN=mail.contoso.com', [['O', 'Contoso, Inc.'], ['CN', 'mail.contoso.com']]],
      ['a backslash-escaped comma', 'o=Contoso\\, Inc., cn=mail.contoso.com', 'O=Contoso\\, Inc., CN=mail.contoso.com', [['O', 'Contoso, Inc.'], ['CN', 'mail.contoso.com']]],
      ['white space around separators and equals signs', '  c = US ,o= Contoso ;  cn =mail.contoso.com  ', 'C=US, O=Contoso, CN=mail.contoso.com', [['C', 'US'], ['O', 'Contoso'], ['CN', 'mail.contoso.com']]],
      ['semicolons as separators', 'cn=a;o=b', 'CN=a, O=b', [['CN', 'a'], ['O', 'b']]],
      ['e= and email= for the e-mail address', 'e=admin@contoso.com, EMAIL=pki@contoso.com', 'E=admin@contoso.com, E=pki@contoso.com', [['E', 'admin@contoso.com'], ['E', 'pki@contoso.com']]],
      ['dc= components in order', 'cn=srv, dc=contoso, dc=com', 'CN=srv, DC=contoso, DC=com', [['CN', 'srv'], ['DC', 'contoso'], ['DC', 'com']]],
      ['serial number, street and postal code written as OIDs for @peculiar/x509', 'SERIALNUMBER=42, street=1 Main St, postalCode=98052, cn=x',
        '2.5.4.5=42, 2.5.4.9=1 Main St, 2.5.4.17=98052, CN=x', [['2.5.4.5', '42'], ['2.5.4.9', '1 Main St'], ['2.5.4.17', '98052'], ['CN', 'x']]],
      ['t= and title= for the title', 't=Admin, title=Boss', 'T=Admin, T=Boss', [['T', 'Admin'], ['T', 'Boss']]],
      ['OpenSSL long names', 'commonName=x, organizationName=y, stateOrProvinceName=z', 'CN=x, O=y, ST=z', [['CN', 'x'], ['O', 'y'], ['ST', 'z']]],
      ['a dotted OID key', 'OID.2.5.4.3=x, 2.5.4.10=y', 'CN=x, O=y', [['CN', 'x'], ['O', 'y']]],
      ['RFC 4514 special characters, escaped in the dn', 'o="a+b <c> ; \\"d\\"", cn=x', 'O=a\\+b \\<c\\> \\; \\"d\\", CN=x', [['O', 'a+b <c> ; "d"'], ['CN', 'x']]],
      ['an escaped leading # and trailing space', 'o=\\#1\\ , cn=x', 'O=\\#1\\ , CN=x', [['O', '#1 '], ['CN', 'x']]],
      ['RFC 4514 hex escapes decoded as UTF-8', 'o=Caf\\C3\\A9, cn=x', 'O=Café, CN=x', [['O', 'Café'], ['CN', 'x']]],
      ['non-ASCII text as typed', 'o=Müller & Söhne, l=Zürich', 'O=Müller & Söhne, L=Zürich', [['O', 'Müller & Söhne'], ['L', 'Zürich']]],
      ['an "=" inside a quoted value', 'o="a=b", cn=x', 'O=a=b, CN=x', [['O', 'a=b'], ['CN', 'x']]],
      ['a backslash inside a value', 'o=dom\\\\user, cn=x', 'O=dom\\\\user, CN=x', [['O', 'dom\\user'], ['CN', 'x']]],
      ['a wildcard common name', 'cn=*.contoso.com', 'CN=*.contoso.com', [['CN', '*.contoso.com']]],
    ];

    it.each(cases)('accepts %s', (_sentence, input, dn, attributes) => {
      const parsed = parseSubject(input);
      expect(parsed.dn).toBe(dn);
      expect(readBack(parsed.dn)).toEqual(attributes);
      expect(parsed.attributes.map((a) => a.value)).toEqual(attributes.map(([, v]) => v));
    });

    it('gives each attribute its canonical type and OID', () => {
      expect(parseSubject('s=WA, email=a@b.example, serialnumber=7').attributes).toEqual([
        { type: 'ST', oid: '2.5.4.8', value: 'WA' },
        { type: 'E', oid: '1.2.840.113549.1.9.1', value: 'a@b.example' },
        { type: 'SERIALNUMBER', oid: '2.5.4.5', value: '7' },
      ]);
    });
  });

  describe('refused subjects', () => {
    const cases: [string, string, RegExp][] = [
      ['an empty subject', '', /empty/],
      ['a subject of white space only', '   \t ', /empty/],
      ['a subject of separators only', ' , ; ,', /starts with a separator "," at position 2/],
      ['two separators in a row', 'cn=a,, o=b', /empty attribute at position 6/],
      ['a trailing separator', 'cn=a, o=b,', /ends with a separator at position 10/],
      ['an unknown key, with its position', 'c=US, xx=1, cn=a', /unknown attribute "xx" at position 7/],
      ['the contoso example with a space instead of a comma', 'c=US o=contoso inc, CN=server01.contoso.com', /missing comma before "o=" at position 6; separate attributes with commas/],
      ['a missing comma later in the subject', 'cn=a, o=b ou=c', /missing comma before "ou=" at position 11/],
      ['an unescaped "=" in a value', 'cn=a=b', /unexpected "=" at position 5/],
      ['an unterminated quote, with its position', 'cn=x, o="Contoso, Inc.', /unterminated quote: the value of O opened with " at position 9/],
      ['text after a closing quote', 'o="a" b, cn=x', /unexpected "b" at position 7 after the quoted value of O/],
      ['a stray quote inside a plain value', 'o=a"b', /unexpected " at position 4/],
      ['a key without "="', 'cn', /"cn" at position 1 has no "="/],
      ['a key followed by something else than "="', 'cn:x', /expected "=" after "cn" at position 3/],
      ['an empty value', 'cn=, o=x', /CN at position 1 has an empty value/],
      ['a three-letter country', 'c=USA, cn=x', /C \(country\) at position 3 must be a two-letter/],
      ['a country with a digit', 'c=U1', /two-letter/],
      ['a common name longer than 64 characters', `cn=${'a'.repeat(65)}`, /is 65 characters long; the maximum is 64/],
      ['a dotted dc value', 'dc=contoso.com', /holds one domain label/],
      ['an e-mail address without @', 'e=admin', /must be an ASCII e-mail address/],
      ['a lone backslash at the end', 'cn=a\\', /lone backslash at position 5/],
      ['an unknown escape', 'cn=a\\qb', /invalid escape "\\q" at position 5/],
      ['escaped bytes that are not UTF-8', 'cn=a\\FF', /not valid UTF-8/],
      ['a control character', 'cn=a\u0001b', /control character/],
      ['a value ending in a backslash, which @peculiar/x509 would misread', 'o=a\\\\, cn=x', /cannot be written in a distinguished name exactly/],
      ['a key that starts with a symbol', '=x', /expected an attribute name such as CN= at position 1/],
      ['a subject longer than 4096 characters', `cn=${'a'.repeat(5000)}`, /maximum is 4096/],
    ];

    it.each(cases)('refuses %s', (_sentence, input, message) => {
      const error = invalidSubject(input);
      expect(error.message).toMatch(message);
      expect(error.message.startsWith('Invalid subject: ')).toBe(true);
    });

    it('names the unknown key and its position in the details', () => {
      expect(invalidSubject('cn=a, foo=b').details).toEqual({ key: 'foo', position: 7 });
    });
  });

  describe('the dn in a real certificate request', () => {
    const openssl = new Openssl();
    afterAll(() => openssl.cleanup());

    const cases: [string, string, string][] = [
      ['the mitserv subject shows ST=MyState for s=', 'c=US, s=MyState, l=MyCity, o=My Name, ou=IT Department, cn=mail.mitserv.net',
        'CN=mail.mitserv.net,OU=IT Department,O=My Name,L=MyCity,ST=MyState,C=US'],
      ['a quoted organization keeps its comma', 'c=US, o="Contoso, Inc.", cn=mail.contoso.com', 'CN=mail.contoso.com,O=Contoso\\, Inc.,C=US'],
      ['dc components and an e-mail address', 'dc=com, dc=contoso, cn=srv, e=pki@contoso.com', 'emailAddress=pki@contoso.com,CN=srv,DC=contoso,DC=com'],
      ['serial number and street written as OIDs', 'serialnumber=42, street=1 Main St, cn=x', 'CN=x,street=1 Main St,serialNumber=42'],
    ];

    it.each(cases)('%s (openssl prints RFC 2253, last RDN first)', async (_sentence, input, expected) => {
      const { dn } = parseSubject(input);
      const keys = (await subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, ['sign', 'verify'])) as CryptoKeyPair;
      const csr = await x509.Pkcs10CertificateRequestGenerator.create({ name: dn, keys, signingAlgorithm: { name: 'ECDSA', hash: 'SHA-256' } });
      openssl.write('req.csr', csr.toString('pem'));
      const printed = openssl.run(['req', '-in', 'req.csr', '-noout', '-subject', '-nameopt', 'RFC2253']).trim();
      expect(printed).toBe(`subject=${expected}`);
    });
  });
});
