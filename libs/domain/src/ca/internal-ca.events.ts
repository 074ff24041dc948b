/**
 * certflow's internal CA (stream `internal-ca`). Its keys live in the key vault; the events
 * carry the certificates and the vault ids only.
 */
export type InternalCaEvent =
  /**
   * The CA was set up: generated on first use (a root and an issuing intermediate), or imported
   * from an existing CA certificate and key (`imported`). Its root counts as trusted
   * (RootCAType Internal).
   */
  {
    type: 'InternalCaCreated';
    data: { rootPem: string; intermediatePem: string; rootKeyId: string; intermediateKeyId: string; imported: boolean };
  };

export const INTERNAL_CA_EVENT_SCHEMA_VERSIONS: Record<InternalCaEvent['type'], number> = { InternalCaCreated: 1 };
export const INTERNAL_CA_STREAM = 'internal-ca';

/** The internal CA's issuance policy (from configuration). */
export interface InternalCaPolicy {
  /** Domain patterns the CA issues for: `*` (anything), `contoso.com` (that name and every name under it), `*.contoso.com` (names under it). */
  readonly allowedDomains: readonly string[];
  readonly allowedKeyAlgorithms: readonly ('RSA' | 'ECDSA')[];
  readonly maxValidityDays: number;
  /** Approvals needed before issuing; 0 issues at once. */
  readonly approvalsRequired: number;
}

/** Why the policy refuses a request, or null when it allows it. */
export function internalCaPolicyViolation(
  policy: InternalCaPolicy,
  request: { domainNames: readonly string[]; key: { algorithm: string }; validityDays: number | null },
): string | null {
  const allowed = (name: string) =>
    policy.allowedDomains.some((p) => {
      const pattern = p.toLowerCase();
      if (pattern === '*') return true;
      if (pattern.startsWith('*.')) return name.endsWith(pattern.slice(1));
      return name === pattern || name.endsWith(`.${pattern}`);
    });
  const refused = request.domainNames.filter((d) => !allowed(d.toLowerCase()));
  if (refused.length) return `PolicyViolation: the internal CA does not issue for ${refused.join(', ')} (allowed: ${policy.allowedDomains.join(', ')}).`;
  if (!policy.allowedKeyAlgorithms.includes(request.key.algorithm as 'RSA')) {
    return `PolicyViolation: the internal CA does not issue for ${request.key.algorithm} keys (allowed: ${policy.allowedKeyAlgorithms.join(', ')}).`;
  }
  if (request.validityDays !== null && request.validityDays > policy.maxValidityDays) {
    return `PolicyViolation: the internal CA issues for at most ${policy.maxValidityDays} days; ${request.validityDays} were requested.`;
  }
  return null;
}
