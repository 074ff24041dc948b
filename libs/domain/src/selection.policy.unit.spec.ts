import { isDomainError } from './domain-error';
import {
  EXCLUSION_RULES,
  RANKING_RULES,
  SELECTION_RULE_CODES,
  SelectionCandidate,
  SelectionResult,
  SelectionRuleCode,
  matchesDomain,
  selectCertificate,
} from './selection.policy';

const now = new Date('2026-06-01T00:00:00Z');
const smtp = { service: 'SMTP', fqdn: 'mail.contoso.com' };
const um = { service: 'UM', fqdn: 'mail.contoso.com' };

/** A CA-issued certificate for mail.contoso.com that passes every rule at `now`. */
const cert = (id: string, o: Partial<SelectionCandidate> = {}): SelectionCandidate => ({
  id,
  thumbprint: `${id.toUpperCase()}0000`,
  certificateDomains: ['mail.contoso.com'],
  enhancedKeyUsage: ['serverAuth'],
  keyAlgorithm: 'RSA',
  publicKeySize: 2048,
  isSelfSigned: false,
  chainTrusted: true,
  revocation: 'good',
  hasPrivateKey: true,
  notBefore: '2026-01-01T00:00:00Z',
  notAfter: '2027-01-01T00:00:00Z',
  state: 'Issued',
  ...o,
});
const selfSigned = (id: string, o: Partial<SelectionCandidate> = {}) => cert(id, { isSelfSigned: true, chainTrusted: false, ...o });

const verdict = (result: SelectionResult, id: string) => {
  const v = result.candidates.find((c) => c.id === id);
  if (!v) throw new Error(`no verdict for ${id}`);
  return v;
};
const rules = (result: SelectionResult) => Object.fromEntries(result.candidates.map((c) => [c.id, c.rule]));

/** The `contoso-wildcard` scenario of the shared Exchange fixtures (exchange-scenarios.json). */
const contosoWildcard = {
  domainNames: ['*.contoso.com'],
  matches: ['mail.contoso.com', 'pop.contoso.com'],
  doesNotMatch: ['contoso.com', 'a.b.contoso.com'],
};

describe('matchesDomain', () => {
  it.each<[string, string, string, boolean]>([
    ['a name matches itself', 'mail.contoso.com', 'mail.contoso.com', true],
    ['names are compared case-insensitively', 'Mail.Contoso.COM', 'mail.CONTOSO.com', true],
    ['one trailing dot on the host name is ignored', 'mail.contoso.com', 'mail.contoso.com.', true],
    ['a different name does not match', 'mail.contoso.com', 'pop.contoso.com', false],
    ['a plain name does not cover its subdomains', 'contoso.com', 'mail.contoso.com', false],
    ['a single-label host name matches itself', 'server01', 'SERVER01', true],
    ...contosoWildcard.matches.map((h): [string, string, string, boolean] => [
      `contoso-wildcard: *.contoso.com matches ${h}`,
      contosoWildcard.domainNames[0],
      h,
      true,
    ]),
    ...contosoWildcard.doesNotMatch.map((h): [string, string, string, boolean] => [
      `contoso-wildcard: *.contoso.com does not match ${h}`,
      contosoWildcard.domainNames[0],
      h,
      false,
    ]),
    ['a wildcard is compared case-insensitively', '*.Contoso.COM', 'MAIL.contoso.com', true],
    ['a wildcard does not match an empty leftmost label', '*.contoso.com', '.contoso.com', false],
    ['a wildcard directly under a top-level name matches nothing', '*.com', 'contoso.com', false],
    ['a partial-label wildcard matches nothing', 'mail*.contoso.com', 'mail1.contoso.com', false],
    ['a wildcard that is not the leftmost label matches nothing', 'a.*.contoso.com', 'a.b.contoso.com', false],
    ['a host name containing * matches nothing, not even itself', '*.contoso.com', '*.contoso.com', false],
    ['an empty host name matches nothing', 'mail.contoso.com', '', false],
    ['an empty pattern matches nothing', '', 'mail.contoso.com', false],
  ])('%s', (_name, pattern, fqdn, expected) => {
    expect(matchesDomain(pattern, fqdn)).toBe(expected);
  });
});

describe('certificate selection: exclusion rules', () => {
  it.each<[string, SelectionCandidate, SelectionRuleCode]>([
    ['a certificate still being requested is excluded as NotIssued', cert('a', { state: 'RequestGenerated' }), 'NotIssued'],
    ['a certificate in lifecycle state Revoked is excluded as NotIssued', cert('a', { state: 'Revoked' }), 'NotIssued'],
    ['a superseded certificate is excluded as NotIssued', cert('a', { state: 'Superseded' }), 'NotIssued'],
    ['a certificate for other names is excluded as DomainMismatch', cert('a', { certificateDomains: ['pop.contoso.com', 'contoso.com'] }), 'DomainMismatch'],
    ['a wildcard one level too shallow is excluded as DomainMismatch', cert('a', { certificateDomains: ['*.mail.contoso.com'] }), 'DomainMismatch'],
    ['a certificate with no names is excluded as DomainMismatch', cert('a', { certificateDomains: [] }), 'DomainMismatch'],
    ['an EKU listing only clientAuth is excluded as NoServerAuthEku', cert('a', { enhancedKeyUsage: ['clientAuth'] }), 'NoServerAuthEku'],
    ['an EKU extension that is present but empty is excluded as NoServerAuthEku', cert('a', { enhancedKeyUsage: [] }), 'NoServerAuthEku'],
    ['a 512-bit RSA key is excluded as WeakKey', cert('a', { publicKeySize: 512 }), 'WeakKey'],
    ['a 1023-bit RSA key is excluded as WeakKey', cert('a', { publicKeySize: 1023 }), 'WeakKey'],
    ['a certificate whose notBefore is after now is excluded as NotYetValid', cert('a', { notBefore: '2026-06-02T00:00:00Z' }), 'NotYetValid'],
    ['a certificate whose notAfter is before now is excluded as Expired', cert('a', { notAfter: '2026-05-31T23:59:59Z' }), 'Expired'],
    ['a certificate whose dates cannot be read is excluded as UnreadableValidity', cert('a', { notAfter: 'next year' }), 'UnreadableValidity'],
    ['a CA-issued certificate without a trusted chain is excluded as ChainUntrusted', cert('a', { chainTrusted: false }), 'ChainUntrusted'],
    ['a CA-issued certificate the revocation check reports revoked is excluded as Revoked', cert('a', { revocation: 'revoked' }), 'Revoked'],
    ['a self-signed certificate reported revoked is excluded as Revoked', selfSigned('a', { revocation: 'revoked' }), 'Revoked'],
    ['a CA-issued certificate whose revocation check gave no answer is excluded as RevocationUnknown', cert('a', { revocation: 'unknown' }), 'RevocationUnknown'],
    ['a certificate without its private key is excluded as NoPrivateKey', cert('a', { hasPrivateKey: false }), 'NoPrivateKey'],
    ['a certificate breaking every rule reports the first, NotIssued', cert('a', { state: 'Removed', certificateDomains: [], hasPrivateKey: false, notAfter: '2020-01-01T00:00:00Z' }), 'NotIssued'],
    ['an expired, untrusted and keyless certificate reports Expired, the first rule it breaks', cert('a', { notAfter: '2026-01-02T00:00:00Z', chainTrusted: false, hasPrivateKey: false }), 'Expired'],
    ['a weak-keyed certificate without serverAuth reports NoServerAuthEku, which is checked before the key', cert('a', { enhancedKeyUsage: ['codeSigning'], publicKeySize: 512 }), 'NoServerAuthEku'],
    ['an untrusted, revoked, keyless certificate reports ChainUntrusted', cert('a', { chainTrusted: false, revocation: 'revoked', hasPrivateKey: false }), 'ChainUntrusted'],
  ])('%s', (_name, candidate, rule) => {
    const result = selectCertificate(smtp, [candidate], now);
    expect(result.selected).toBeNull();
    expect(result.candidates).toEqual([{ id: 'a', thumbprint: candidate.thumbprint, outcome: 'excluded', rule, reason: expect.any(String) }]);
    expect(result.candidates[0].reason.length).toBeGreaterThan(10);
  });

  it.each<[string, SelectionCandidate, string]>([
    ['an absent EKU extension (null) allows selection', cert('a', { enhancedKeyUsage: null }), smtp.fqdn],
    ['serverAuth given by its OID allows selection', cert('a', { enhancedKeyUsage: ['1.3.6.1.5.5.7.3.1'] }), smtp.fqdn],
    ['an EKU listing serverAuth among others allows selection', cert('a', { enhancedKeyUsage: ['clientAuth', 'serverAuth'] }), smtp.fqdn],
    ['an RSA key of exactly 1024 bits is accepted', cert('a', { publicKeySize: 1024 }), smtp.fqdn],
    ['an ECDSA key is accepted whatever its size', cert('a', { keyAlgorithm: 'ECDSA', publicKeySize: 256 }), smtp.fqdn],
    ['a self-signed certificate needs no trusted chain', selfSigned('a'), smtp.fqdn],
    ['a self-signed certificate whose revocation is unknown is not excluded (no issuer to ask)', selfSigned('a', { revocation: 'unknown' }), smtp.fqdn],
    ['a CA-issued certificate whose revocation was not checked is not excluded', cert('a', { revocation: 'notChecked' }), smtp.fqdn],
    ['a certificate is valid at the exact instant of its notBefore', cert('a', { notBefore: now.toISOString() }), smtp.fqdn],
    ['a certificate is valid at the exact instant of its notAfter', cert('a', { notAfter: now.toISOString() }), smtp.fqdn],
    ['a wildcard certificate serves a host one label under it', cert('a', { certificateDomains: ['*.contoso.com'] }), 'pop.contoso.com'],
    ['the requested FQDN is matched case-insensitively', cert('a', { certificateDomains: ['Mail.Contoso.com'] }), 'MAIL.contoso.COM'],
    ['a match on any one of several certificate domains is enough', cert('a', { certificateDomains: ['server01', 'contoso.local', 'mail.contoso.com'] }), smtp.fqdn],
  ])('%s', (_name, candidate, fqdn) => {
    const result = selectCertificate({ service: 'SMTP', fqdn }, [candidate], now);
    expect(result.selected).toEqual({ id: 'a', thumbprint: candidate.thumbprint, reason: expect.stringContaining('only') });
    expect(result.candidates).toEqual([{ id: 'a', thumbprint: candidate.thumbprint, outcome: 'selected', rule: 'Selected', reason: result.selected?.reason }]);
  });
});

describe('certificate selection: ranking', () => {
  it.each<[string, { service: string; fqdn: string }, SelectionCandidate[], string, Record<string, SelectionRuleCode>]>([
    [
      'a CA-issued certificate beats a newer self-signed one',
      smtp,
      [selfSigned('new-ss', { notBefore: '2026-05-30T00:00:00Z' }), cert('old-ca', { notBefore: '2025-07-01T00:00:00Z' })],
      'old-ca',
      { 'old-ca': 'Selected', 'new-ss': 'SelfSignedOutrankedByCaIssued' },
    ],
    [
      'among CA-issued certificates the newest notBefore wins',
      smtp,
      [cert('jan', { notBefore: '2026-01-01T00:00:00Z' }), cert('mar', { notBefore: '2026-03-01T00:00:00Z' }), cert('feb', { notBefore: '2026-02-01T00:00:00Z' })],
      'mar',
      { mar: 'Selected', feb: 'OlderNotBefore', jan: 'OlderNotBefore' },
    ],
    [
      'among self-signed certificates alone the newest notBefore wins',
      { service: 'POP', fqdn: 'mail.contoso.com' },
      [selfSigned('older', { notBefore: '2025-09-01T00:00:00Z' }), selfSigned('newer', { notBefore: '2026-02-01T00:00:00Z' })],
      'newer',
      { newer: 'Selected', older: 'OlderNotBefore' },
    ],
    [
      'the newest notBefore rule ignores expiry, even when the older certificate lasts longer',
      { service: 'IMAP', fqdn: 'mail.contoso.com' },
      [cert('long', { notBefore: '2025-12-01T00:00:00Z', notAfter: '2028-12-01T00:00:00Z' }), cert('short', { notBefore: '2026-02-01T00:00:00Z', notAfter: '2026-08-01T00:00:00Z' })],
      'short',
      { short: 'Selected', long: 'OlderNotBefore' },
    ],
    [
      'equal notBefore is decided by the lower thumbprint',
      smtp,
      [cert('x', { thumbprint: 'BB' }), cert('y', { thumbprint: 'aa' })],
      'y',
      { y: 'Selected', x: 'OutrankedByTieBreak' },
    ],
    [
      'a missing thumbprint loses the tie-break, then ids decide',
      smtp,
      [cert('n2', { thumbprint: null }), cert('n1', { thumbprint: null }), cert('t', { thumbprint: 'FF' })],
      't',
      { t: 'Selected', n1: 'OutrankedByTieBreak', n2: 'OutrankedByTieBreak' },
    ],
    [
      'UM prefers the CA-issued certificate with the longest time to expiry, not the newest',
      um,
      [cert('newer-short', { notBefore: '2026-05-01T00:00:00Z', notAfter: '2026-11-01T00:00:00Z' }), cert('older-long', { notBefore: '2025-06-01T00:00:00Z', notAfter: '2028-06-01T00:00:00Z' })],
      'older-long',
      { 'older-long': 'Selected', 'newer-short': 'ShorterRemainingValidity' },
    ],
    [
      'UM prefers a short-lived CA-issued certificate over a long-lived self-signed one',
      um,
      [selfSigned('ss-long', { notAfter: '2030-01-01T00:00:00Z' }), cert('ca-short', { notAfter: '2026-06-15T00:00:00Z' })],
      'ca-short',
      { 'ca-short': 'Selected', 'ss-long': 'SelfSignedOutrankedByCaIssued' },
    ],
    [
      'the service name UM is recognised case-insensitively',
      { service: 'um', fqdn: 'mail.contoso.com' },
      [cert('short', { notAfter: '2026-09-01T00:00:00Z' }), cert('long', { notAfter: '2027-09-01T00:00:00Z' })],
      'long',
      { long: 'Selected', short: 'ShorterRemainingValidity' },
    ],
    [
      'UM breaks an equal expiry by thumbprint',
      um,
      [cert('p', { thumbprint: '02' }), cert('q', { thumbprint: '01' })],
      'q',
      { q: 'Selected', p: 'OutrankedByTieBreak' },
    ],
  ])('%s', (_name, request, candidates, winner, expected) => {
    const result = selectCertificate(request, candidates, now);
    expect(result.selected?.id).toBe(winner);
    expect(rules(result)).toEqual(expected);
    for (const v of result.candidates.filter((c) => c.outcome === 'outranked')) {
      expect(v.reason).toContain(`certificate ${winner}`);
    }
  });

  const umTiers = [
    selfSigned('ss-short', { notAfter: '2026-09-01T00:00:00Z' }),
    cert('ca-short', { notAfter: '2026-09-01T00:00:00Z' }),
    selfSigned('ss-long', { notAfter: '2028-01-01T00:00:00Z' }),
    cert('ca-long', { notAfter: '2028-01-01T00:00:00Z' }),
  ];
  it.each<[string, string[], string, Record<string, SelectionRuleCode>]>([
    [
      'UM tier 1: the CA-issued certificate with the longest time to expiry wins over all three others',
      ['ss-short', 'ca-short', 'ss-long', 'ca-long'],
      'ca-long',
      { 'ca-long': 'Selected', 'ca-short': 'ShorterRemainingValidity', 'ss-long': 'SelfSignedOutrankedByCaIssued', 'ss-short': 'SelfSignedOutrankedByCaIssued' },
    ],
    [
      'UM tier 2: without it, the shorter-lived CA-issued certificate wins over both self-signed ones',
      ['ss-short', 'ca-short', 'ss-long'],
      'ca-short',
      { 'ca-short': 'Selected', 'ss-long': 'SelfSignedOutrankedByCaIssued', 'ss-short': 'SelfSignedOutrankedByCaIssued' },
    ],
    [
      'UM tier 3: with no CA-issued certificate, the longest-lived self-signed one wins',
      ['ss-short', 'ss-long'],
      'ss-long',
      { 'ss-long': 'Selected', 'ss-short': 'ShorterRemainingValidity' },
    ],
    ['UM tier 4: the shortest-lived self-signed certificate is used when it is the only one', ['ss-short'], 'ss-short', { 'ss-short': 'Selected' }],
  ])('%s', (_name, ids, winner, expected) => {
    const result = selectCertificate(um, umTiers.filter((c) => ids.includes(c.id)), now);
    expect(result.selected?.id).toBe(winner);
    expect(rules(result)).toEqual(expected);
  });

  it('UM lists the candidates in the documented order of preference', () => {
    const result = selectCertificate(um, umTiers, now);
    expect(result.candidates.map((c) => c.id)).toEqual(['ca-long', 'ca-short', 'ss-long', 'ss-short']);
  });
});

describe('certificate selection: a realistic mixed store', () => {
  // Request: SMTP STARTTLS for mail.contoso.com at 2026-06-01.
  const store: SelectionCandidate[] = [
    cert('ca-wildcard', { thumbprint: 'A1', certificateDomains: ['*.contoso.com'], notBefore: '2026-02-01T00:00:00Z' }),
    cert('ca-san-older', { thumbprint: 'B2', certificateDomains: ['mail.contoso.com', 'autodiscover.contoso.com'], notBefore: '2025-10-01T00:00:00Z' }),
    selfSigned('ss-newest', { thumbprint: 'C3', certificateDomains: ['mail.contoso.com', 'server01'], notBefore: '2026-05-20T00:00:00Z' }),
    cert('ca-expired', { thumbprint: 'D4', notBefore: '2025-04-01T00:00:00Z', notAfter: '2026-04-01T00:00:00Z' }),
    cert('ca-keyless', { thumbprint: 'E5', notBefore: '2026-05-25T00:00:00Z', hasPrivateKey: false }),
    cert('ca-deep-wildcard', { thumbprint: 'F6', certificateDomains: ['*.mail.contoso.com'], notBefore: '2026-05-26T00:00:00Z' }),
    selfSigned('ss-expired', { thumbprint: '07', notBefore: '2025-01-01T00:00:00Z', notAfter: '2026-01-01T00:00:00Z' }),
    cert('ca-pending', { thumbprint: null, state: 'AwaitingApproval' }),
  ];

  it('selects the newest trusted CA-issued certificate, here the wildcard, and reports one exact rule per loser', () => {
    const result = selectCertificate(smtp, store, now);
    expect(result.service).toBe('SMTP');
    expect(result.fqdn).toBe('mail.contoso.com');
    expect(result.selected).toEqual({ id: 'ca-wildcard', thumbprint: 'A1', reason: expect.stringContaining('CA-issued') });
    expect(result.candidates.map((c) => [c.id, c.outcome, c.rule])).toEqual([
      ['ca-wildcard', 'selected', 'Selected'],
      ['ca-san-older', 'outranked', 'OlderNotBefore'],
      ['ss-newest', 'outranked', 'SelfSignedOutrankedByCaIssued'],
      ['ss-expired', 'excluded', 'Expired'],
      ['ca-expired', 'excluded', 'Expired'],
      ['ca-keyless', 'excluded', 'NoPrivateKey'],
      ['ca-deep-wildcard', 'excluded', 'DomainMismatch'],
      ['ca-pending', 'excluded', 'NotIssued'],
    ]);
    expect(verdict(result, 'ss-newest').reason).toBe('It is self-signed; CA-issued certificate ca-wildcard (thumbprint A1) is preferred whatever the ages.');
    expect(verdict(result, 'ca-san-older').reason).toContain('2025-10-01T00:00:00Z');
    expect(verdict(result, 'ca-san-older').reason).toContain('ca-wildcard');
  });

  it('for UM, the same store selects the CA-issued certificate that expires last', () => {
    const longer = store.map((c) => (c.id === 'ca-san-older' ? { ...c, notAfter: '2027-10-01T00:00:00Z' } : c));
    const result = selectCertificate({ service: 'UM', fqdn: 'mail.contoso.com' }, longer, now);
    expect(result.selected?.id).toBe('ca-san-older');
    expect(rules(result)).toMatchObject({ 'ca-wildcard': 'ShorterRemainingValidity', 'ss-newest': 'SelfSignedOutrankedByCaIssued' });
  });

  const seeded = (seed: number) => {
    let s = seed;
    const next = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
    const out = [...store];
    for (let i = out.length - 1; i > 0; i--) {
      const j = Math.floor(next() * (i + 1));
      [out[i], out[j]] = [out[j], out[i]];
    }
    return out;
  };
  it.each<[string, SelectionCandidate[]]>([
    ['the result is the same when the candidates arrive reversed', [...store].reverse()],
    ['the result is the same when the candidates arrive rotated', [...store.slice(3), ...store.slice(0, 3)]],
    ['the result is the same for shuffle seed 1', seeded(1)],
    ['the result is the same for shuffle seed 42', seeded(42)],
    ['the result is the same for shuffle seed 2026', seeded(2026)],
  ])('%s', (_name, shuffled) => {
    expect(shuffled.map((c) => c.id)).not.toEqual(store.map((c) => c.id));
    expect(selectCertificate(smtp, shuffled, now)).toEqual(selectCertificate(smtp, store, now));
    expect(selectCertificate(um, shuffled, now)).toEqual(selectCertificate(um, store, now));
  });

  it('does not change the candidate list it is given', () => {
    const copy = [...store];
    selectCertificate(smtp, copy, now);
    expect(copy).toEqual(store);
  });
});

describe('certificate selection: edge cases and codes', () => {
  it('an empty candidate list selects nothing', () => {
    expect(selectCertificate(smtp, [], now)).toEqual({ service: 'SMTP', fqdn: 'mail.contoso.com', selected: null, candidates: [] });
  });

  it('selects nothing when every candidate is excluded, and still explains each', () => {
    const result = selectCertificate(smtp, [cert('a', { hasPrivateKey: false }), cert('b', { chainTrusted: false })], now);
    expect(result.selected).toBeNull();
    expect(rules(result)).toEqual({ a: 'NoPrivateKey', b: 'ChainUntrusted' });
  });

  it('refuses an invalid clock with a DomainError', () => {
    let error: unknown;
    try {
      selectCertificate(smtp, [cert('a')], new Date('not a date'));
    } catch (e) {
      error = e;
    }
    expect(isDomainError(error) && error.code).toBe('InvalidClock');
  });

  it('exports every rule code once, exclusion rules in the order they are applied', () => {
    expect(new Set(SELECTION_RULE_CODES).size).toBe(SELECTION_RULE_CODES.length);
    expect(SELECTION_RULE_CODES).toEqual([...EXCLUSION_RULES, ...RANKING_RULES]);
    expect(EXCLUSION_RULES).toEqual([
      'NotIssued',
      'DomainMismatch',
      'NoServerAuthEku',
      'WeakKey',
      'UnreadableValidity',
      'NotYetValid',
      'Expired',
      'ChainUntrusted',
      'Revoked',
      'RevocationUnknown',
      'NoPrivateKey',
    ]);
  });
});
