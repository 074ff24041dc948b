import { DomainError } from '../domain-error';
import { KeySpec, ProviderName } from './certificate.events';

const LABEL = /^(?!-)[a-z0-9-]{1,63}(?<!-)$/;

/**
 * Why a domain name is refused. Each invalid name is reported by value so that the
 * administrator can fix the exact entry.
 */
export function domainNameProblem(name: string): string | null {
  if (typeof name !== 'string' || name.length === 0) return 'is empty';
  if (name.length > 253) return 'is longer than 253 characters';
  if (name !== name.trim()) return 'has leading or trailing white space';
  const labels = name.toLowerCase().split('.');
  for (let i = 0; i < labels.length; i++) {
    const label = labels[i];
    if (label === '*') {
      if (i !== 0) return 'has a wildcard that is not the whole leftmost label';
      if (labels.length < 3) return 'has a wildcard directly under a top-level name';
      continue;
    }
    if (label.includes('*')) return 'has a wildcard that is not the whole leftmost label';
    if (label.length === 0) return 'has an empty label';
    if (label.length > 63) return `has a label longer than 63 characters ("${label.slice(0, 16)}…")`;
    if (!LABEL.test(label)) return `has an invalid label "${label}" (letters, digits and inner hyphens only)`;
  }
  return null;
}

export function validateDomainNames(names: readonly string[]): void {
  if (!Array.isArray(names) || names.length === 0) {
    throw new DomainError('DomainNamesRequired', 'domainNames must list at least one DNS name.', 'invalid');
  }
  const problems = names
    .map((n) => ({ n, p: domainNameProblem(n) }))
    .filter((x) => x.p !== null)
    .map((x) => `"${x.n}" ${x.p}`);
  if (problems.length > 0) {
    throw new DomainError('InvalidDomainName', `Invalid domain name(s): ${problems.join('; ')}.`, 'invalid', {
      invalid: names.filter((n) => domainNameProblem(n) !== null),
    });
  }
  const lower = names.map((n) => n.toLowerCase());
  const dup = lower.find((n, i) => lower.indexOf(n) !== i);
  if (dup) throw new DomainError('DuplicateDomainName', `Domain name "${dup}" is listed twice.`, 'invalid');
  if (names.length > 100) throw new DomainError('TooManyDomainNames', 'At most 100 domain names per certificate.', 'invalid');
}

/**
 * Key types certflow issues: RSA 2048/3072/4096 (the CA/Browser Forum minimum is 2048) and
 * ECDSA P-256/P-384.
 */
export function validateKeySpec(key: KeySpec, provider: ProviderName, allowWeakKey = false): void {
  if (key.algorithm === 'RSA') {
    if (key.size === 1024) {
      if (allowWeakKey && provider === 'self-signed') return;
      throw new DomainError(
        'WeakKeyRefused',
        provider === 'self-signed'
          ? 'RSA 1024 is below the 2048-bit minimum; for a self-signed certificate it is allowed only with "allowWeakKey": true.'
          : `RSA 1024 is below the 2048-bit minimum of CA policies (CA/Browser Forum); provider ${provider} needs 2048, 3072 or 4096.`,
        'invalid',
      );
    }
    if (![2048, 3072, 4096].includes(key.size)) {
      throw new DomainError(
        'UnsupportedKeySize',
        `RSA keySize must be 2048, 3072 or 4096 (CA/Browser Forum minimum is 2048); got ${key.size}.`,
        'invalid',
      );
    }
    return;
  }
  if (key.algorithm === 'ECDSA') {
    if (!['P-256', 'P-384'].includes(key.curve)) {
      throw new DomainError('UnsupportedCurve', `ECDSA curve must be P-256 or P-384; got ${key.curve}.`, 'invalid');
    }
    return;
  }
  throw new DomainError(
    'UnsupportedKeyAlgorithm',
    `keyAlgorithm must be RSA or ECDSA; got ${(key as { algorithm: string }).algorithm}.`,
    'invalid',
  );
}
