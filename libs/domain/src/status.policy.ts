/**
 * Exchange's certificate `Status`, computed at read time from the certificate's facts and
 * a clock — never stored, because the same certificate is Valid today and DateInvalid
 * next year.
 *
 * - `PendingRequest`: a request exists but no certificate yet.
 * - `Valid`: issued, inside its validity period, and self-signed or chaining to a trusted root.
 * - `DateInvalid`: expired, or not yet valid.
 * - `Untrusted`: the chain does not reach a trusted root and the certificate is not self-signed.
 * - `Revoked`: the certificate was revoked.
 * - `Invalid`: a signature does not verify, or a CA in the path is revoked or invalid.
 * - `Unknown`: the status cannot be determined (no certificate was ever issued, or revocation
 *   could not be checked).
 */
export type CertificateStatus = 'PendingRequest' | 'Valid' | 'DateInvalid' | 'Untrusted' | 'Revoked' | 'Invalid' | 'Unknown';

export const CERTIFICATE_STATUSES: readonly CertificateStatus[] = [
  'PendingRequest',
  'Valid',
  'DateInvalid',
  'Untrusted',
  'Revoked',
  'Invalid',
  'Unknown',
];

/** Why a status was given. Codes are stable; messages are for people. */
export interface StatusReason {
  readonly code:
    | 'RequestPending'
    | 'NoCertificate'
    | 'Revoked'
    | 'Expired'
    | 'NotYetValid'
    | 'SelfSigned'
    | 'ChainTrusted'
    | 'ChainUntrusted'
    | 'SignatureInvalid'
    | 'CaInvalid'
    | 'RevocationUnknown'
    | 'NotRevoked';
  readonly message: string;
}

export interface StatusInput {
  readonly state: string;
  readonly notBefore: string | null;
  readonly notAfter: string | null;
  readonly isSelfSigned: boolean | null;
  /** Whether the signature over the certificate verifies (self-signed: with its own key). */
  readonly signatureValid: boolean | null;
  /** Whether the chain reaches a trusted root; null when no trust evaluation was made. */
  readonly chainTrusted: boolean | null;
  readonly revocationReason?: string | null;
  /** Problems with a CA in the path (not a CA, expired, revoked, broken signature): the status is Invalid. */
  readonly caProblems?: readonly string[];
  /** The leaf's revocation status from its CRL; `notChecked` when it names no distribution point. */
  readonly revocation?: 'good' | 'revoked' | 'unknown' | 'notChecked' | null;
  readonly revocationDetail?: string | null;
}

const PENDING = ['Requested', 'RequestGenerated', 'Submitted', 'AwaitingApproval'];

/** The ordered chain of checks; the first that decides gives the status. */
export function certificateStatus(input: StatusInput, now: Date): { status: CertificateStatus; reasons: StatusReason[] } {
  if (PENDING.includes(input.state)) {
    return { status: 'PendingRequest', reasons: [{ code: 'RequestPending', message: `The request is ${input.state}; no certificate has been issued yet.` }] };
  }
  if (!input.notAfter || !input.notBefore) {
    return { status: 'Unknown', reasons: [{ code: 'NoCertificate', message: `No certificate was issued (state ${input.state}).` }] };
  }
  if (input.state === 'Revoked') {
    return { status: 'Revoked', reasons: [{ code: 'Revoked', message: `The certificate was revoked${input.revocationReason ? ` (${input.revocationReason})` : ''}.` }] };
  }
  if (input.revocation === 'revoked') {
    return { status: 'Revoked', reasons: [{ code: 'Revoked', message: `The issuing CA revoked the certificate${input.revocationDetail ? `: ${input.revocationDetail}` : ''}.` }] };
  }
  if (input.signatureValid === false) {
    return { status: 'Invalid', reasons: [{ code: 'SignatureInvalid', message: 'The certificate signature does not verify with its issuer\'s key.' }] };
  }
  if (input.caProblems && input.caProblems.length > 0) {
    return { status: 'Invalid', reasons: input.caProblems.map((p) => ({ code: 'CaInvalid' as const, message: `${p}.` })) };
  }
  const t = now.getTime();
  if (t > Date.parse(input.notAfter)) {
    return { status: 'DateInvalid', reasons: [{ code: 'Expired', message: `The certificate expired at ${input.notAfter}.` }] };
  }
  if (t < Date.parse(input.notBefore)) {
    return { status: 'DateInvalid', reasons: [{ code: 'NotYetValid', message: `The certificate is not valid before ${input.notBefore}.` }] };
  }
  if (input.isSelfSigned) {
    return { status: 'Valid', reasons: [{ code: 'SelfSigned', message: 'Self-signed: trusted only where it is installed explicitly.' }] };
  }
  if (input.chainTrusted) {
    if (input.revocation === 'unknown') {
      return {
        status: 'Unknown',
        reasons: [
          { code: 'ChainTrusted', message: 'The chain reaches a trusted root.' },
          { code: 'RevocationUnknown', message: `Revocation could not be checked${input.revocationDetail ? `: ${input.revocationDetail}` : ''}.` },
        ],
      };
    }
    const reasons: StatusReason[] = [{ code: 'ChainTrusted', message: 'The chain reaches a trusted root.' }];
    if (input.revocation === 'good') reasons.push({ code: 'NotRevoked', message: `Not revoked${input.revocationDetail ? `: ${input.revocationDetail}` : ''}.` });
    return { status: 'Valid', reasons };
  }
  return { status: 'Untrusted', reasons: [{ code: 'ChainUntrusted', message: 'The chain does not reach a trusted root.' }] };
}
