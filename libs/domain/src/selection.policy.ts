import { DomainError } from './domain-error';

/**
 * Certificate selection: which installed certificate a service presents for a given FQDN,
 * modelled on how Exchange picks a certificate for SMTP STARTTLS, POP3, IMAP4 and UM.
 *
 * Selection runs in two steps:
 *
 * 1. Every candidate goes through the exclusion rules, in the order of `EXCLUSION_RULES`.
 *    The first rule a candidate breaks excludes it and is the one reported; the rules after
 *    it are not evaluated.
 * 2. The candidates left are ranked. For every service except UM: a CA-issued certificate
 *    beats a self-signed one whatever their ages, then the newest `notBefore` wins. For UM:
 *    CA-issued before self-signed, and within each the longest time to expiry wins. Equal
 *    candidates are ordered by thumbprint, then id (see `compareSelectionTieBreak`), so the same
 *    candidates always give the same answer, whatever order they arrive in.
 *
 * Pure: no clock (time is `now`), no I/O, no locale-dependent comparisons.
 */

/**
 * The rules that exclude a candidate, in the order they are applied. The first one broken
 * is reported. Codes are stable; the sentences in the results are for people.
 */
export const EXCLUSION_RULES = [
  /** The lifecycle state is not `Issued` (requests, revoked, superseded or removed certificates). */
  'NotIssued',
  /** No entry of `certificateDomains` matches the requested FQDN (see `matchesDomain`). */
  'DomainMismatch',
  /** The Enhanced Key Usage extension is present and does not list Server Authentication (1.3.6.1.5.5.7.3.1). */
  'NoServerAuthEku',
  /** An RSA key shorter than 1024 bits, or a key algorithm other than RSA and ECDSA. */
  'WeakKey',
  /** `notBefore` or `notAfter` cannot be read as a date, so the validity period is unknown. */
  'UnreadableValidity',
  /** `now` is before `notBefore`. */
  'NotYetValid',
  /** `now` is after `notAfter`. */
  'Expired',
  /** CA-issued, and the chain does not reach a trusted root. Self-signed certificates skip this rule. */
  'ChainUntrusted',
  /** The revocation check says the certificate is revoked (CA-issued or self-signed). */
  'Revoked',
  /**
   * CA-issued, and the revocation check could not reach a verdict. Treated as a failed check:
   * Exchange requires the certificate to *pass* the revocation check, and an unknown answer is
   * not a pass. Self-signed certificates have no issuer to ask, so `unknown` does not exclude
   * them. `notChecked` (no check was made) excludes nobody.
   */
  'RevocationUnknown',
  /** The private key is not present, so the service could not use the certificate. */
  'NoPrivateKey',
] as const;

/** The rule that excluded a candidate. */
export type ExclusionRuleCode = (typeof EXCLUSION_RULES)[number];

/** Why a candidate that passed every exclusion rule was selected or not. */
export const RANKING_RULES = [
  /** The candidate ranked first and is the one the service uses. */
  'Selected',
  /** Self-signed, and a CA-issued certificate passed every rule: CA-issued wins whatever the ages. */
  'SelfSignedOutrankedByCaIssued',
  /** Same tier as the winner (both CA-issued or both self-signed), and an older `notBefore`. Not for UM. */
  'OlderNotBefore',
  /** UM only: same tier as the winner, and it expires sooner than the winner. */
  'ShorterRemainingValidity',
  /** Equal to the winner on every ranking rule; the thumbprint, then id, order decided. */
  'OutrankedByTieBreak',
] as const;

/** The rule by which a ranked candidate was selected or out-ranked. */
export type RankingRuleCode = (typeof RANKING_RULES)[number];

/** Every code a selection result can report for a candidate. */
export type SelectionRuleCode = ExclusionRuleCode | RankingRuleCode;

export const SELECTION_RULE_CODES: readonly SelectionRuleCode[] = [...EXCLUSION_RULES, ...RANKING_RULES];

/** Object identifier of the Server Authentication extended key usage (id-kp-serverAuth). */
export const SERVER_AUTH_OID = '1.3.6.1.5.5.7.3.1';

/** Smallest RSA key, in bits, that selection accepts (what Exchange asks for TLS). */
export const SELECTION_MIN_RSA_KEY_BITS = 1024;

export interface SelectionCandidate {
  readonly id: string;
  /** SHA-1 thumbprint in hex; null when unknown. Used, upper-cased, for the tie-break. */
  readonly thumbprint: string | null;
  /** Subject CN and SAN DNS names; entries may be wildcards (`*.contoso.com`). */
  readonly certificateDomains: readonly string[];
  /**
   * Extended key usages, by name (`serverAuth`) or dotted OID; null when the extension is
   * absent, which allows every usage.
   */
  readonly enhancedKeyUsage: readonly string[] | null;
  readonly keyAlgorithm: 'RSA' | 'ECDSA';
  readonly publicKeySize: number;
  readonly isSelfSigned: boolean;
  /** Whether the chain reaches a trusted root; ignored for self-signed certificates. */
  readonly chainTrusted: boolean;
  readonly revocation: 'good' | 'revoked' | 'unknown' | 'notChecked';
  readonly hasPrivateKey: boolean;
  /** ISO 8601. */
  readonly notBefore: string;
  /** ISO 8601. */
  readonly notAfter: string;
  /** Lifecycle state; only `Issued` can be selected. */
  readonly state: string;
}

export interface SelectionRequest {
  /** SMTP, POP, IMAP, IIS or UM; compared case-insensitively. UM has its own ranking. */
  readonly service: string;
  readonly fqdn: string;
}

export interface SelectionVerdict {
  readonly id: string;
  readonly thumbprint: string | null;
  readonly outcome: 'selected' | 'excluded' | 'outranked';
  /** For `excluded`, the first exclusion rule broken; otherwise the ranking rule. */
  readonly rule: SelectionRuleCode;
  readonly reason: string;
}

export interface SelectionResult {
  readonly service: string;
  readonly fqdn: string;
  readonly selected: { readonly id: string; readonly thumbprint: string | null; readonly reason: string } | null;
  /**
   * One verdict per candidate: the selected one first, then the out-ranked ones in rank
   * order, then the excluded ones in tie-break order (thumbprint, then id).
   */
  readonly candidates: SelectionVerdict[];
}

const DAY_MS = 24 * 60 * 60 * 1000;

const normalizeName = (name: string): string => {
  const lower = name.trim().toLowerCase();
  return lower.endsWith('.') ? lower.slice(0, -1) : lower;
};

/**
 * Whether a certificate domain (`pattern`) covers a host name (`fqdn`), case-insensitively
 * and ignoring one trailing dot.
 *
 * - A plain name matches only the same name.
 * - A wildcard must be the whole leftmost label (`*.contoso.com`) and stands for exactly one
 *   non-empty label: it matches `mail.contoso.com`, not `contoso.com` nor `a.b.contoso.com`.
 * - A wildcard needs at least two labels after it (`*.com` matches nothing), and a `*`
 *   anywhere else (`mail*.contoso.com`, `a.*.contoso.com`) makes the pattern match nothing.
 * - A host name containing `*`, or an empty one, matches nothing.
 */
export function matchesDomain(pattern: string, fqdn: string): boolean {
  if (typeof pattern !== 'string' || typeof fqdn !== 'string') return false;
  const p = normalizeName(pattern);
  const host = normalizeName(fqdn);
  if (p.length === 0 || host.length === 0 || host.includes('*')) return false;
  if (!p.includes('*')) return p === host;
  if (!p.startsWith('*.')) return false;
  const suffix = p.slice(2);
  const suffixLabels = suffix.split('.');
  if (suffix.includes('*') || suffixLabels.length < 2 || suffixLabels.some((l) => l.length === 0)) return false;
  const dot = host.indexOf('.');
  if (dot <= 0) return false;
  return host.slice(dot + 1) === suffix;
}

interface Excluded {
  readonly rule: ExclusionRuleCode;
  readonly reason: string;
}

const hasServerAuth = (eku: readonly string[]): boolean =>
  eku.some((u) => {
    const v = String(u).trim();
    return v === SERVER_AUTH_OID || v.toLowerCase() === 'serverauth';
  });

const label = (c: SelectionCandidate): string =>
  c.thumbprint ? `certificate ${c.id} (thumbprint ${c.thumbprint})` : `certificate ${c.id}`;

/** The first exclusion rule the candidate breaks, or null when it may be ranked. */
function firstExclusion(c: SelectionCandidate, fqdn: string, t: number): Excluded | null {
  if (c.state !== 'Issued') {
    return { rule: 'NotIssued', reason: `The certificate is ${c.state}; only an Issued certificate can be selected.` };
  }
  if (!c.certificateDomains.some((d) => matchesDomain(d, fqdn))) {
    const listed = c.certificateDomains.length > 0 ? c.certificateDomains.join(', ') : 'no names';
    return { rule: 'DomainMismatch', reason: `None of its certificate domains (${listed}) matches ${fqdn}.` };
  }
  if (c.enhancedKeyUsage !== null && !hasServerAuth(c.enhancedKeyUsage)) {
    const listed = c.enhancedKeyUsage.length > 0 ? c.enhancedKeyUsage.join(', ') : 'nothing';
    return {
      rule: 'NoServerAuthEku',
      reason: `Its Enhanced Key Usage lists ${listed} but not Server Authentication (${SERVER_AUTH_OID}).`,
    };
  }
  if (c.keyAlgorithm === 'RSA') {
    if (!(c.publicKeySize >= SELECTION_MIN_RSA_KEY_BITS)) {
      return { rule: 'WeakKey', reason: `Its RSA key has ${c.publicKeySize} bits; at least ${SELECTION_MIN_RSA_KEY_BITS} are needed.` };
    }
  } else if (c.keyAlgorithm !== 'ECDSA') {
    return { rule: 'WeakKey', reason: `Its key algorithm ${String(c.keyAlgorithm)} is neither RSA nor ECDSA.` };
  }
  const nb = Date.parse(c.notBefore);
  const na = Date.parse(c.notAfter);
  if (Number.isNaN(nb) || Number.isNaN(na)) {
    return {
      rule: 'UnreadableValidity',
      reason: `Its validity period (${c.notBefore} to ${c.notAfter}) cannot be read as dates.`,
    };
  }
  if (t < nb) return { rule: 'NotYetValid', reason: `It is not valid before ${c.notBefore}.` };
  if (t > na) return { rule: 'Expired', reason: `It expired at ${c.notAfter}.` };
  if (!c.isSelfSigned && !c.chainTrusted) {
    return { rule: 'ChainUntrusted', reason: 'It is CA-issued and its chain does not reach a trusted root.' };
  }
  if (c.revocation === 'revoked') {
    return { rule: 'Revoked', reason: 'The revocation check reports it revoked.' };
  }
  if (c.revocation === 'unknown' && !c.isSelfSigned) {
    return {
      rule: 'RevocationUnknown',
      reason: 'The revocation check for this CA-issued certificate gave no answer, so it does not pass.',
    };
  }
  if (!c.hasPrivateKey) {
    return { rule: 'NoPrivateKey', reason: 'Its private key is not present.' };
  }
  return null;
}

const tieKey = (c: SelectionCandidate): string | null => (c.thumbprint ? c.thumbprint.trim().toUpperCase() : null);

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/**
 * The deterministic last resort: thumbprint ascending (upper-cased, a missing thumbprint
 * last), then id ascending, by code unit (no locale).
 */
export function compareSelectionTieBreak(a: SelectionCandidate, b: SelectionCandidate): number {
  const ka = tieKey(a);
  const kb = tieKey(b);
  if (ka !== kb) {
    if (ka === null) return 1;
    if (kb === null) return -1;
    const byThumbprint = cmp(ka, kb);
    if (byThumbprint !== 0) return byThumbprint;
  }
  return cmp(a.id, b.id);
}

interface Ranked {
  readonly c: SelectionCandidate;
  readonly notBefore: number;
  readonly notAfter: number;
}

const isUm = (service: string): boolean => String(service).trim().toUpperCase() === 'UM';

/** Negative when `a` ranks before `b`. */
function compareRank(um: boolean, a: Ranked, b: Ranked): number {
  if (a.c.isSelfSigned !== b.c.isSelfSigned) return a.c.isSelfSigned ? 1 : -1;
  if (um) {
    if (a.notAfter !== b.notAfter) return b.notAfter - a.notAfter;
  } else if (a.notBefore !== b.notBefore) {
    return b.notBefore - a.notBefore;
  }
  return compareSelectionTieBreak(a.c, b.c);
}

const daysLeft = (r: Ranked, t: number): number => Math.floor((r.notAfter - t) / DAY_MS);

const tier = (c: SelectionCandidate): string => (c.isSelfSigned ? 'self-signed' : 'CA-issued');

function outranked(um: boolean, loser: Ranked, winner: Ranked, t: number): { rule: RankingRuleCode; reason: string } {
  const w = label(winner.c);
  if (loser.c.isSelfSigned && !winner.c.isSelfSigned) {
    return {
      rule: 'SelfSignedOutrankedByCaIssued',
      reason: `It is self-signed; CA-issued ${w} is preferred whatever ${um ? 'the time to expiry' : 'the ages'}.`,
    };
  }
  if (um && loser.notAfter !== winner.notAfter) {
    return {
      rule: 'ShorterRemainingValidity',
      reason:
        `It expires at ${loser.c.notAfter} (${daysLeft(loser, t)} days left), sooner than ${w}, ` +
        `which expires at ${winner.c.notAfter} (${daysLeft(winner, t)} days left); UM prefers the longest time to expiry.`,
    };
  }
  if (!um && loser.notBefore !== winner.notBefore) {
    return {
      rule: 'OlderNotBefore',
      reason: `Its notBefore ${loser.c.notBefore} is older than ${winner.c.notBefore} of ${w}; the newest certificate is preferred.`,
    };
  }
  return {
    rule: 'OutrankedByTieBreak',
    reason: `It ranks equal to ${w} on every rule; the thumbprint, then id, order puts ${winner.c.id} first.`,
  };
}

function selectedReason(um: boolean, winner: Ranked, eligible: number, t: number): string {
  if (eligible === 1) return `The only ${tier(winner.c)} certificate that passes every rule.`;
  const criterion = um
    ? `the longest time to expiry (${daysLeft(winner, t)} days, until ${winner.c.notAfter}), in UM order`
    : `the newest notBefore (${winner.c.notBefore})`;
  const among = `among ${eligible} certificates that pass every rule`;
  return winner.c.isSelfSigned
    ? `Self-signed, with ${criterion}, ${among}; none of them is CA-issued.`
    : `CA-issued, with ${criterion}, ${among}.`;
}

/**
 * Which certificate `request.service` presents for `request.fqdn` at `now`, with a verdict
 * for every candidate. The result does not depend on the order of `candidates`.
 */
export function selectCertificate(
  request: SelectionRequest,
  candidates: readonly SelectionCandidate[],
  now: Date,
): SelectionResult {
  const t = now instanceof Date ? now.getTime() : Number.NaN;
  if (Number.isNaN(t)) throw new DomainError('InvalidClock', 'Certificate selection needs a valid date for now.', 'invalid');
  const um = isUm(request.service);

  const eligible: Ranked[] = [];
  const excluded: Array<{ c: SelectionCandidate; why: Excluded }> = [];
  for (const c of candidates) {
    const why = firstExclusion(c, request.fqdn, t);
    if (why) excluded.push({ c, why });
    else eligible.push({ c, notBefore: Date.parse(c.notBefore), notAfter: Date.parse(c.notAfter) });
  }
  eligible.sort((a, b) => compareRank(um, a, b));
  excluded.sort((a, b) => compareSelectionTieBreak(a.c, b.c));

  const verdicts: SelectionVerdict[] = [];
  let selected: SelectionResult['selected'] = null;
  const winner = eligible[0];
  if (winner) {
    const reason = selectedReason(um, winner, eligible.length, t);
    selected = { id: winner.c.id, thumbprint: winner.c.thumbprint, reason };
    verdicts.push({ id: winner.c.id, thumbprint: winner.c.thumbprint, outcome: 'selected', rule: 'Selected', reason });
    for (const loser of eligible.slice(1)) {
      const { rule, reason: why } = outranked(um, loser, winner, t);
      verdicts.push({ id: loser.c.id, thumbprint: loser.c.thumbprint, outcome: 'outranked', rule, reason: why });
    }
  }
  for (const { c, why } of excluded) {
    verdicts.push({ id: c.id, thumbprint: c.thumbprint, outcome: 'excluded', rule: why.rule, reason: why.reason });
  }
  return { service: request.service, fqdn: request.fqdn, selected, candidates: verdicts };
}
