/**
 * Events of the certificate aggregate (stream `certificate-<uuid>`).
 *
 * Every event is past tense, carries ids and public facts only — never key material — and
 * has a schema version (see CERTIFICATE_EVENT_SCHEMA_VERSIONS). A type name is never renamed;
 * a changed payload gets a new schema version and an upcaster in libs/event-store.
 */

/** Who can issue a certificate. One folder per provider lives in libs/issuers. */
export type ProviderName = 'self-signed' | 'manual' | 'internal-ca' | 'acme';
export const PROVIDERS: readonly ProviderName[] = ['self-signed', 'manual', 'internal-ca', 'acme'];

export type KeyAlgorithm = 'RSA' | 'ECDSA';
export type EcCurve = 'P-256' | 'P-384';

/** The key a request asks for. RSA carries a size in bits, ECDSA a named curve. */
export type KeySpec =
  /** Requests may ask for 2048, 3072 or 4096 (1024 only for self-signed, with an opt-in); imported keys may be any size. */
  | { readonly algorithm: 'RSA'; readonly size: number }
  | { readonly algorithm: 'ECDSA'; readonly curve: EcCurve };

/** What was asked for, kept for the whole life of the certificate (and cloned on renewal). */
export interface CertificateRequestSpec {
  readonly provider: ProviderName;
  /** X.500 subject as the administrator typed it, or null: CN becomes the first domain name. */
  readonly subject: string | null;
  /** DNS names for the subjectAltName extension, lower-case, in the order given. */
  readonly domainNames: readonly string[];
  readonly key: KeySpec;
  readonly privateKeyExportable: boolean;
  readonly friendlyName: string | null;
  /** Services the requester wants this certificate enabled for once it is issued. */
  readonly requestedServices: readonly string[];
  /** Requested validity in days; null means the provider's default (365 for self-signed). */
  readonly validityDays: number | null;
  /*
   * Renewal and reminder policy (issue 6). All optional and absent from events written before
   * it: a missing field means "the default", so old events need no upcaster (schema stays 1).
   */
  /** Renew automatically at the renewal time; default true (manual: the renewal is a new request the operator submits). */
  readonly autoRenew?: boolean;
  /** Renew this long before notAfter (ms; the API accepts an ISO 8601 duration or days). */
  readonly renewBeforeMs?: number | null;
  /** Or when this share of the lifetime remains (0 < p < 100). Default: one third of the lifetime. */
  readonly renewBeforePercentage?: number | null;
  /** Days before notAfter at which reminders go out; default 30, 14, 7, 3, 1 (then daily after expiry). */
  readonly reminderThresholds?: readonly number[] | null;
  /** The owner's e-mail address: added to the recipients of e-mail notifications about this certificate. */
  readonly contact?: string | null;
  /** This request renews that certificate (the old one records `CertificateRenewalRequested` linking back). */
  readonly renews?: string | null;
  /** Reuse this vault key for the CSR (renewal with `reuseKey`); absent: a new key under the certificate id. */
  readonly keyId?: string | null;
}

/** The public facts of an issued certificate, read from its DER by libs/crypto. */
export interface IssuedCertificateFacts {
  /** SHA-1 of the DER, upper-case hex without colons (Exchange's Thumbprint). */
  readonly thumbprint: string;
  readonly sha256Fingerprint: string;
  readonly serialNumber: string;
  readonly subject: string;
  readonly issuer: string;
  readonly notBefore: string;
  readonly notAfter: string;
  /** CN ∪ SAN DNS names, as Exchange's CertificateDomains. */
  readonly certificateDomains: readonly string[];
  readonly publicKeySize: number;
  readonly keyAlgorithm: KeyAlgorithm;
  readonly isSelfSigned: boolean;
}

/** How an imported certificate arrived (recorded on import events). */
export type ImportFormat = 'pem' | 'der' | 'base64' | 'pkcs7-pem' | 'pkcs7-der' | 'pkcs12' | 'pem+key';

export type CertificateEvent =
  /** A certificate was asked for. Starts the stream; lifecycle state `Requested`. */
  | {
      type: 'CertificateRequested';
      data: CertificateRequestSpec & { certificateId: string; requestedBy: string };
    }
  /**
   * A key pair was generated (stored encrypted in the key vault under `keyId`) and a PKCS#10
   * request was signed with it. State `RequestGenerated`: the CSR can be downloaded.
   */
  | { type: 'CertificateRequestGenerated'; data: { keyId: string; csrPem: string } }
  /** The CSR was handed to the provider; `orderId` is the provider's reference, if any. */
  | { type: 'CertificateRequestSubmitted'; data: { provider: ProviderName; orderId: string | null } }
  /**
   * The provider's policy requires human approval before issuing. State `AwaitingApproval`.
   * The policy in force is recorded with it: approvers are reminded every `remindEveryHours`,
   * and without enough approvals by `expiresAt` the request is rejected (ApprovalTimedOut).
   */
  | { type: 'CertificateApprovalRequested'; data: { approvalsRequired: number; expiresAt: string; remindEveryHours: number } }
  /**
   * The provider's order was checked and is still progressing (`status` in the CA's words, e.g.
   * ACME pending/ready/processing). certflow asks again at `nextAttemptAt` (a durable timer).
   */
  | { type: 'CertificateOrderPolled'; data: { status: string; nextAttemptAt: string } }
  /** Approvers were reminded that the request still waits for them (reminder 1, 2, …). */
  | { type: 'CertificateApprovalReminderSent'; data: { reminder: number; waitingSince: string; approvalsMissing: number } }
  /** An approver approved the request. Once enough approvals exist, state goes back to `Submitted`. */
  | { type: 'CertificateRequestApproved'; data: { approvedBy: string; comment: string | null } }
  /** The certificate (and its chain, leaf first not included) was issued. State `Issued`. */
  | {
      type: 'CertificateIssued';
      data: IssuedCertificateFacts & { certificatePem: string; chainPem: readonly string[] };
    }
  /**
   * The certificate a CA issued for this request was imported by an operator (Import-ExchangeCertificate).
   * Its public key matched the request's. `warnings` lists differences worth a look (e.g. SANs the CA
   * dropped or added). State `Issued`.
   */
  | {
      type: 'CertificateImported';
      data: IssuedCertificateFacts & {
        certificatePem: string;
        chainPem: readonly string[];
        format: ImportFormat;
        importedBy: string;
        warnings: readonly string[];
      };
    }
  /**
   * A certificate made elsewhere was imported (a PFX with its key, a certificate with a PEM key, or a
   * certificate alone: `keyId` null). Starts the stream; state `Issued`.
   */
  | {
      type: 'ExternalCertificateImported';
      data: IssuedCertificateFacts & {
        certificateId: string;
        certificatePem: string;
        chainPem: readonly string[];
        format: ImportFormat;
        keyId: string | null;
        privateKeyExportable: boolean;
        friendlyName: string | null;
        importedBy: string;
      };
    }
  /** The certificate was exported (with its private key when `includesKey`): who took it, and how. */
  | { type: 'CertificateExported'; data: { format: 'pfx'; includesKey: boolean; legacy: boolean; exportedBy: string } }
  /**
   * A transient failure (network, CA outage, rate limit) while working on a step. The state
   * does not change; the step is retried with backoff. Recorded so that failures never vanish.
   */
  | {
      type: 'CertificateStepFailed';
      data: { step: string; reason: string; attempt: number; nextAttemptAt: string | null };
    }
  /** A permanent failure (bad CSR, a refused key, an internal error that retries cannot fix). State `Failed`. */
  | { type: 'CertificateRequestFailed'; data: { step: string; reason: string } }
  /** The CA or an approver refused the request. State `Rejected`. */
  | { type: 'CertificateRequestRejected'; data: { reason: string; rejectedBy: string } }
  /** The issued certificate was revoked (RFC 5280 reason name). State `Revoked`. */
  | { type: 'CertificateRevoked'; data: { reason: RevocationReason; revokedBy: string } }
  /**
   * A renewal of this (Issued) certificate was started: `renewalId` is the new certificate, whose
   * CertificateRequested carries `renews` pointing back. While it is in flight no second renewal
   * starts and the renewal timer is off. State stays `Issued` (with `renewedBy`).
   */
  | { type: 'CertificateRenewalRequested'; data: { renewalId: string; reuseKey: boolean; automatic: boolean } }
  /**
   * A renewal attempt failed (the new request failed or was rejected, or starting it failed).
   * The renewal is retried at `nextAttemptAt` (1 h × 2^(attempt−1), capped at 24 h). Clears `renewedBy`.
   */
  | { type: 'CertificateRenewalFailed'; data: { renewalId: string | null; reason: string; attempt: number; nextAttemptAt: string } }
  /**
   * An expiry reminder went out for `threshold` (days before notAfter; 0, −1, … daily after
   * expiry). `catchUp`: it stands for less urgent thresholds crossed while certflow was down.
   * Each threshold is sent once: the state keeps the most urgent threshold sent.
   */
  | {
      type: 'RenewalReminderSent';
      data: {
        threshold: number;
        daysLeft: number;
        catchUp: boolean;
        channels: readonly string[];
        deliveries: readonly { channel: string; ok: boolean; attempts: number; detail: string }[];
      };
    }
  /**
   * A manual request still waits for its certificate to be imported (the operator has the CSR
   * but has not brought back the CA's answer): reminder 1, 2, … sent `importReminderHours`
   * apart, counted from `waitingSince` (when the CSR was made). State stays `RequestGenerated`.
   */
  | {
      type: 'CertificateImportReminderSent';
      data: {
        reminder: number;
        waitingSince: string;
        channels: readonly string[];
        deliveries: readonly { channel: string; ok: boolean; attempts: number; detail: string }[];
      };
    }
  /**
   * The ACME CA's renewal information (RFC 9773) for this certificate was fetched. `window`: the
   * CA's suggested renewal window (null when the CA has none for it, or the fetch failed: then
   * `error` says why and the policy time stands). `renewAt`: the random time inside the window
   * certflow chose (recorded, so a replay chooses the same). certflow asks again at `nextCheckAt`.
   */
  | {
      type: 'RenewalInfoUpdated';
      data: {
        window: { start: string; end: string } | null;
        renewAt: string | null;
        explanationUrl: string | null;
        nextCheckAt: string;
        error: string | null;
      };
    }
  /** A renewal replaced this certificate. State `Superseded`. */
  | { type: 'CertificateSuperseded'; data: { supersededBy: string } }
  /** The certificate was removed from certflow. State `Removed`; the history stays. */
  | { type: 'CertificateRemoved'; data: { removedBy: string; reason: string | null } };

export type CertificateEventType = CertificateEvent['type'];

/** RFC 5280 CRLReason names (as used in `POST /certificates/<id>/revoke`). */
export type RevocationReason =
  | 'unspecified'
  | 'keyCompromise'
  | 'cACompromise'
  | 'affiliationChanged'
  | 'superseded'
  | 'cessationOfOperation'
  | 'certificateHold'
  | 'privilegeWithdrawn'
  | 'aACompromise';

/** Current schema version of each event type; an upcaster lifts older stored versions. */
export const CERTIFICATE_EVENT_SCHEMA_VERSIONS: Record<CertificateEventType, number> = {
  CertificateRequested: 1,
  CertificateRequestGenerated: 1,
  CertificateRequestSubmitted: 1,
  CertificateOrderPolled: 1,
  CertificateApprovalReminderSent: 1,
  CertificateApprovalRequested: 1,
  CertificateRequestApproved: 1,
  CertificateIssued: 1,
  CertificateImported: 1,
  ExternalCertificateImported: 1,
  CertificateExported: 1,
  CertificateStepFailed: 1,
  CertificateRequestFailed: 1,
  CertificateRequestRejected: 1,
  CertificateRevoked: 1,
  CertificateSuperseded: 1,
  CertificateRenewalRequested: 1,
  CertificateRenewalFailed: 1,
  RenewalReminderSent: 1,
  CertificateImportReminderSent: 1,
  RenewalInfoUpdated: 1,
  CertificateRemoved: 1,
};

export const certificateStreamId = (certificateId: string): string => `certificate-${certificateId}`;
