import { DomainError } from '../domain-error';
import { KeySpec, ProviderName, PROVIDERS } from './certificate.events';
import { domainNameProblem, validateDomainNames, validateKeySpec } from './request.policy';

/** Runs fn and returns the DomainError it throws (fails the test if it throws nothing else). */
function refusal(fn: () => void): DomainError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    const error = e as DomainError;
    expect(error.message.trim().length).toBeGreaterThan(10);
    expect(error.message).toMatch(/[.]$/);
    return error;
  }
  throw new Error('expected a DomainError, but nothing was thrown');
}

const label63 = 'a'.repeat(63);
const label64 = 'a'.repeat(64);

describe('request policy', () => {
  describe('domain names', () => {
    it.each<[string, string]>([
      ['a fully qualified name is valid', 'server1.fourthcoffee.com'],
      ['a single-label (NetBIOS-style) name is valid', 'server01'],
      ['a wildcard as the whole leftmost label is valid', '*.contoso.com'],
      ['a wildcard under a two-label suffix is valid', '*.contoso.co.uk'],
      ['a punycode (IDN) name is valid', 'xn--bcher-kva.example'],
      ['an upper-case name is valid (DNS is case-insensitive)', 'Mail.Contoso.COM'],
      ['inner hyphens are valid', 'auto-discover.con-toso.com'],
      ['an all-digit label is valid', '123.contoso.com'],
      ['a label of exactly 63 characters is valid', `${label63}.contoso.com`],
      ['a one-character label is valid', 'a.b.c'],
    ])('%s', (_name, name) => {
      expect(domainNameProblem(name)).toBeNull();
      expect(() => validateDomainNames([name])).not.toThrow();
    });

    it.each<[string, string, RegExp]>([
      ['a wildcard that is not the leftmost label is invalid', 'a.*.contoso.com', /wildcard that is not the whole leftmost label/],
      ['two wildcards are invalid', '*.*.contoso.com', /wildcard that is not the whole leftmost label/],
      ['a wildcard directly under a top-level domain is invalid', '*.com', /directly under a top-level/],
      ['a bare wildcard is invalid', '*', /directly under a top-level/],
      ['a partial wildcard label is invalid', 'foo*.contoso.com', /wildcard that is not the whole leftmost label/],
      ['a label that starts with a hyphen is invalid', '-bad.contoso.com', /invalid label "-bad"/],
      ['a label that ends with a hyphen is invalid', 'bad-.contoso.com', /invalid label "bad-"/],
      ['an empty label is invalid', 'a..b', /empty label/],
      ['a leading dot is invalid', '.contoso.com', /empty label/],
      ['a trailing dot is invalid', 'contoso.com.', /empty label/],
      ['a label of 64 characters is invalid', `${label64}.contoso.com`, /label longer than 63 characters/],
      ['leading white space is invalid', ' mail.contoso.com', /white space/],
      ['trailing white space is invalid', 'mail.contoso.com ', /white space/],
      ['a tab is invalid', 'mail.contoso.com\t', /white space/],
      ['white space inside a name is invalid', 'mail server.contoso.com', /invalid label/],
      ['an underscore is invalid', 'mail_server.contoso.com', /invalid label/],
      ['a non-ASCII (not punycode) name is invalid', 'bücher.example', /invalid label/],
      ['an empty string is invalid', '', /is empty/],
      ['a name longer than 253 characters is invalid', `${Array.from({ length: 5 }, () => label63).join('.')}.com`, /longer than 253/],
    ])('%s', (_name, name, problem) => {
      expect(domainNameProblem(name)).toMatch(problem);
      const error = refusal(() => validateDomainNames(['ok.contoso.com', name]));
      expect(error.code).toBe('InvalidDomainName');
      expect(error.kind).toBe('invalid');
      expect(error.message).toContain(`"${name}"`);
      expect(error.details).toEqual({ invalid: [name] });
    });

    it('every invalid name is reported by value, in order, and only the invalid ones', () => {
      const names = ['mail.contoso.com', 'a.*.contoso.com', 'autodiscover.contoso.com', '-bad.contoso.com', 'a..b'];
      const error = refusal(() => validateDomainNames(names));
      expect(error.code).toBe('InvalidDomainName');
      expect(error.details).toEqual({ invalid: ['a.*.contoso.com', '-bad.contoso.com', 'a..b'] });
      for (const n of ['a.*.contoso.com', '-bad.contoso.com', 'a..b']) expect(error.message).toContain(`"${n}"`);
      expect(error.message).not.toContain('"mail.contoso.com"');
      expect(error.message).not.toContain('"autodiscover.contoso.com"');
    });

    it('an empty list is refused', () => {
      const error = refusal(() => validateDomainNames([]));
      expect(error.code).toBe('DomainNamesRequired');
      expect(error.kind).toBe('invalid');
    });

    it('a list that is not an array is refused', () => {
      const error = refusal(() => validateDomainNames(null as unknown as string[]));
      expect(error.code).toBe('DomainNamesRequired');
    });

    it.each<[string, string[], string]>([
      ['the same name twice is a duplicate', ['mail.contoso.com', 'mail.contoso.com'], 'mail.contoso.com'],
      ['names that differ only in case are duplicates', ['mail.contoso.com', 'autodiscover.contoso.com', 'MAIL.Contoso.com'], 'mail.contoso.com'],
      ['a repeated wildcard is a duplicate', ['*.contoso.com', '*.CONTOSO.COM'], '*.contoso.com'],
    ])('%s', (_name, names, dup) => {
      const error = refusal(() => validateDomainNames(names));
      expect(error.code).toBe('DuplicateDomainName');
      expect(error.kind).toBe('invalid');
      expect(error.message).toContain(`"${dup}"`);
    });

    it('a wildcard and a name it covers are not duplicates', () => {
      expect(() => validateDomainNames(['*.contoso.com', 'mail.contoso.com', 'contoso.com'])).not.toThrow();
    });

    const hosts = (n: number) => Array.from({ length: n }, (_, i) => `host${i}.contoso.com`);

    it('exactly 100 names are accepted', () => {
      expect(() => validateDomainNames(hosts(100))).not.toThrow();
    });

    it('more than 100 names are refused', () => {
      const error = refusal(() => validateDomainNames(hosts(101)));
      expect(error.code).toBe('TooManyDomainNames');
      expect(error.kind).toBe('invalid');
      expect(error.message).toContain('100');
    });
  });

  describe('key specs', () => {
    const everyProvider = (key: KeySpec) => PROVIDERS.map((p) => [p, key] as const);

    it.each<[string, KeySpec]>([
      ['RSA 2048 is accepted', { algorithm: 'RSA', size: 2048 }],
      ['RSA 3072 is accepted', { algorithm: 'RSA', size: 3072 }],
      ['RSA 4096 is accepted', { algorithm: 'RSA', size: 4096 }],
      ['ECDSA P-256 is accepted', { algorithm: 'ECDSA', curve: 'P-256' }],
      ['ECDSA P-384 is accepted', { algorithm: 'ECDSA', curve: 'P-384' }],
    ])('%s for every provider', (_name, key) => {
      for (const [provider] of everyProvider(key)) expect(() => validateKeySpec(key, provider)).not.toThrow();
    });

    it.each<[string, unknown, string, string]>([
      ['RSA 1024 is refused (below the CA/Browser Forum minimum)', { algorithm: 'RSA', size: 1024 }, 'WeakKeyRefused', '1024'],
      ['RSA 8192 is refused', { algorithm: 'RSA', size: 8192 }, 'UnsupportedKeySize', '8192'],
      ['RSA 2047 is refused', { algorithm: 'RSA', size: 2047 }, 'UnsupportedKeySize', '2047'],
      ['RSA with a size given as text is refused', { algorithm: 'RSA', size: '2048' }, 'UnsupportedKeySize', '2048'],
      ['ECDSA P-521 is refused', { algorithm: 'ECDSA', curve: 'P-521' }, 'UnsupportedCurve', 'P-521'],
      ['ECDSA with a lower-case curve name is refused', { algorithm: 'ECDSA', curve: 'p-256' }, 'UnsupportedCurve', 'p-256'],
      ['ECDSA secp256k1 is refused', { algorithm: 'ECDSA', curve: 'secp256k1' }, 'UnsupportedCurve', 'secp256k1'],
      ['Ed25519 is refused as an unsupported algorithm', { algorithm: 'Ed25519' }, 'UnsupportedKeyAlgorithm', 'Ed25519'],
    ])('%s', (_name, key, code, named) => {
      const error = refusal(() => validateKeySpec(key as KeySpec, 'self-signed' as ProviderName));
      expect(error.code).toBe(code);
      expect(error.kind).toBe('invalid');
      expect(error.message).toContain(named);
    });
  });
});

describe('the RSA 1024 opt-in (contoso-san scenario: keySize 1024)', () => {
  it.each<[string, ProviderName, boolean, string | null]>([
    ['a self-signed certificate with the opt-in may use RSA 1024', 'self-signed', true, null],
    ['a self-signed certificate without the opt-in may not', 'self-signed', false, 'WeakKeyRefused'],
    ['a manual (CA) request may not, even with the opt-in', 'manual', true, 'WeakKeyRefused'],
    ['an ACME request may not, even with the opt-in', 'acme', true, 'WeakKeyRefused'],
  ])('%s', (_name, provider, optIn, code) => {
    const key: KeySpec = { algorithm: 'RSA', size: 1024 };
    if (code === null) expect(() => validateKeySpec(key, provider, optIn)).not.toThrow();
    else {
      const error = refusal(() => validateKeySpec(key, provider, optIn));
      expect(error.code).toBe(code);
      expect(error.message).toMatch(/2048/);
    }
  });
});
