import { DomainError } from '../domain-error';
import {
  CertificateEvent,
  CertificateRequestSpec,
  ImportFormat,
  IssuedCertificateFacts,
  PROVIDERS,
  RevocationReason,
} from './certificate.events';
import { validateDomainNames, validateKeySpec } from './request.policy';
import type { KeySpec } from './certificate.events';

/**
 * Lifecycle states of a certificate (the `state` field).
 *
 * - `Requested`: asked for; the worker has not generated the key and CSR yet.
 * - `RequestGenerated`: key pair and PKCS#10 request exist (Exchange: PendingRequest). A manual
 *   request stays here until the issued certificate is imported.
 * - `Submitted`: handed to a CA; waiting for it to issue.
 * - `AwaitingApproval`: the CA's policy requires a human approval first.
 * - `Issued`: a certificate exists and can be enabled for services.
 * - `Rejected`: a CA or an approver refused the request (final).
 * - `Failed`: a permanent error ended the flow (final).
 * - `Revoked`: the issued certificate was revoked (final).
 * - `Superseded`: a renewal replaced the certificate (final).
 * - `Removed`: removed from certflow; the history stays (final).
 */
export type LifecycleState =
  | 'Requested'
  | 'RequestGenerated'
  | 'Submitted'
  | 'AwaitingApproval'
  | 'Issued'
  | 'Rejected'
  | 'Failed'
  | 'Revoked'
  | 'Superseded'
  | 'Removed';

export const LIFECYCLE_STATES: readonly LifecycleState[] = [
  'Requested',
  'RequestGenerated',
  'Submitted',
  'AwaitingApproval',
  'Issued',
  'Rejected',
  'Failed',
  'Revoked',
  'Superseded',
  'Removed',
];

/** States in which work is still outstanding (a worker or a person must act). */
export const IN_FLIGHT_STATES: readonly LifecycleState[] = [
  'Requested',
  'RequestGenerated',
  'Submitted',
  'AwaitingApproval',
];

interface Base {
  readonly certificateId: string;
  readonly request: CertificateRequestSpec;
  readonly requestedBy: string;
  /** Transient failures since the last successful step. */
  readonly failedAttempts: number;
  readonly lastError: string | null;
  /** When certflow next works on this request (a retry after a failure, or the next poll of the CA). */
  readonly nextAttemptAt?: string | null;
}
interface WithKey extends Base {
  readonly keyId: string;
  readonly csrPem: string;
}
/** An issued certificate; an imported one may have no key (keyId null) and never had a CSR here. */
interface WithCertificate extends Base {
  readonly keyId: string | null;
  readonly csrPem: string | null;
  readonly certificate: IssuedCertificateFacts & { certificatePem: string; chainPem: readonly string[] };
}

/** The state of a certificate; impossible combinations (a CSR before a request...) do not type-check. */
export type CertificateState =
  | { readonly state: 'Initial' }
  | (Base & { readonly state: 'Requested' })
  | (WithKey & {
      readonly state: 'RequestGenerated';
      /** Stalled-import reminders sent so far (manual requests waiting for the CA's certificate). */
      readonly importRemindersSent?: number;
    })
  | (WithKey & {
      readonly state: 'Submitted';
      readonly orderId: string | null;
      readonly approvals: readonly string[];
      /** The CA's own word for where the order is, from the last poll. */
      readonly orderStatus?: string | null;
    })
  | (WithKey & {
      readonly state: 'AwaitingApproval';
      readonly orderId: string | null;
      readonly approvalsRequired: number;
      readonly approvals: readonly string[];
      /** Reminders sent to approvers so far (the timers projection knows when each is due). */
      readonly remindersSent?: number;
      /** Without enough approvals by then, the request is rejected (ApprovalTimedOut). */
      readonly expiresAt?: string;
      readonly remindEveryHours?: number;
    })
  | (WithCertificate & {
      readonly state: 'Issued';
      /** The renewal in flight (its certificate id), if any: no second renewal starts meanwhile. */
      readonly renewedBy?: string | null;
      /** Failed renewal attempts so far, and when the next one is due (backoff). */
      readonly renewalAttempts?: number;
      readonly renewalRetryAt?: string | null;
      /** The most urgent expiry-reminder threshold already sent (days before notAfter), or null. */
      readonly lastReminderThreshold?: number | null;
      /** The ACME CA's renewal information (RFC 9773), last fetched; `renewAt` replaces the policy time. */
      readonly renewalInfo?: RenewalInfo | null;
    })
  | ((Base & Partial<WithKey>) & { readonly state: 'Rejected'; readonly reason: string })
  | ((Base & Partial<WithKey>) & { readonly state: 'Failed'; readonly reason: string })
  | (WithCertificate & { readonly state: 'Revoked'; readonly revocationReason: RevocationReason })
  | (WithCertificate & { readonly state: 'Superseded'; readonly supersededBy: string })
  | ((Base & Partial<Omit<WithCertificate, keyof Base>>) & { readonly state: 'Removed'; readonly previousState: LifecycleState });

export type ExistingCertificateState = Exclude<CertificateState, { state: 'Initial' }>;

/** What the last RenewalInfoUpdated said (see the event). */
export interface RenewalInfo {
  readonly window: { readonly start: string; readonly end: string } | null;
  readonly renewAt: string | null;
  readonly explanationUrl: string | null;
  readonly nextCheckAt: string;
  readonly error: string | null;
}

type Deliveries = readonly { channel: string; ok: boolean; attempts: number; detail: string }[];

/** The delivery records of a reminder, field by field (nothing else a channel returned gets into an event). */
const copyDeliveries = (deliveries: Deliveries) => deliveries.map((x) => ({ channel: x.channel, ok: x.ok, attempts: x.attempts, detail: x.detail }));

export const initialCertificateState = (): CertificateState => ({ state: 'Initial' });

/** Commands carry who acts; time and ids come in through the command, never from inside decide. */
export type CertificateCommand =
  | {
      type: 'RequestCertificate';
      /** allowWeakKey: the explicit opt-in for RSA 1024 on a self-signed certificate (not stored). */
      data: CertificateRequestSpec & { certificateId: string; allowWeakKey?: boolean };
      actor: string;
    }
  | {
      type: 'ImportIssuedCertificate';
      data: IssuedCertificateFacts & { certificatePem: string; chainPem: readonly string[]; format: ImportFormat; warnings: readonly string[] };
      actor: string;
    }
  | {
      type: 'ImportExternalCertificate';
      data: IssuedCertificateFacts & {
        certificateId: string;
        certificatePem: string;
        chainPem: readonly string[];
        format: ImportFormat;
        keyId: string | null;
        privateKeyExportable: boolean;
        friendlyName: string | null;
      };
      actor: string;
    }
  | { type: 'ExportCertificate'; data: { format: 'pfx'; includesKey: boolean; legacy: boolean }; actor: string }
  | { type: 'RecordRequestGenerated'; data: { keyId: string; csrPem: string }; actor: string }
  | { type: 'SubmitRequest'; data: { orderId: string | null }; actor: string }
  | { type: 'RequireApproval'; data: { approvalsRequired: number; expiresAt: string; remindEveryHours: number }; actor: string }
  | { type: 'RecordOrderPolled'; data: { status: string; nextAttemptAt: string }; actor: string }
  | { type: 'RecordApprovalReminder'; data: { reminder: number; waitingSince: string; approvalsMissing: number }; actor: string }
  | { type: 'ApproveRequest'; data: { comment: string | null }; actor: string }
  | {
      type: 'RecordIssued';
      data: IssuedCertificateFacts & { certificatePem: string; chainPem: readonly string[] };
      actor: string;
    }
  | { type: 'RecordStepFailure'; data: { step: string; reason: string; nextAttemptAt: string | null }; actor: string }
  | { type: 'FailRequest'; data: { step: string; reason: string }; actor: string }
  | { type: 'RejectRequest'; data: { reason: string }; actor: string }
  | { type: 'RevokeCertificate'; data: { reason: RevocationReason }; actor: string }
  | { type: 'SupersedeCertificate'; data: { supersededBy: string }; actor: string }
  /** Start a renewal: `renewalId` is the id the new certificate's request gets. */
  | { type: 'RequestRenewal'; data: { renewalId: string; reuseKey: boolean; automatic: boolean }; actor: string }
  | { type: 'RecordRenewalFailure'; data: { renewalId: string | null; reason: string; nextAttemptAt: string }; actor: string }
  | {
      type: 'RecordRenewalReminder';
      data: {
        threshold: number;
        daysLeft: number;
        catchUp: boolean;
        channels: readonly string[];
        deliveries: readonly { channel: string; ok: boolean; attempts: number; detail: string }[];
      };
      actor: string;
    }
  | { type: 'RecordImportReminder'; data: { reminder: number; waitingSince: string; channels: readonly string[]; deliveries: Deliveries }; actor: string }
  | { type: 'RecordRenewalInfo'; data: RenewalInfo; actor: string }
  | { type: 'RemoveCertificate'; data: { reason: string | null }; actor: string };

const notFound = () => new DomainError('CertificateNotFound', 'No certificate with this id exists.', 'not-found');

const wrongState = (command: string, state: string, allowed: string) =>
  new DomainError(
    'InvalidLifecycleState',
    `${command} is not possible while the certificate is ${state}; it needs ${allowed}.`,
    'conflict',
    { state },
  );

/**
 * Decides which events a command produces, or refuses it with a DomainError. Pure: the same
 * command on the same state always gives the same answer.
 */
export function decide(command: CertificateCommand, state: CertificateState): CertificateEvent[] {
  if (command.type === 'ImportExternalCertificate') {
    if (state.state !== 'Initial') {
      throw new DomainError('CertificateAlreadyExists', 'A certificate with this id exists already.', 'conflict');
    }
    const d = command.data;
    return [
      {
        type: 'ExternalCertificateImported',
        data: {
          ...issuedData(d),
          certificateId: d.certificateId,
          format: d.format,
          keyId: d.keyId,
          privateKeyExportable: d.keyId !== null && d.privateKeyExportable,
          friendlyName: d.friendlyName,
          importedBy: command.actor,
        },
      },
    ];
  }
  if (command.type === 'RequestCertificate') {
    if (state.state !== 'Initial') {
      throw new DomainError('CertificateAlreadyExists', 'A certificate with this id exists already.', 'conflict');
    }
    const spec = command.data;
    if (!PROVIDERS.includes(spec.provider)) {
      throw new DomainError(
        'UnknownProvider',
        `provider must be one of ${PROVIDERS.join(', ')}; got "${spec.provider}".`,
        'invalid',
      );
    }
    validateDomainNames(spec.domainNames);
    validateKeySpec(spec.key, spec.provider, spec.allowWeakKey === true);
    if (spec.validityDays !== null && (!Number.isInteger(spec.validityDays) || spec.validityDays < 1 || spec.validityDays > 3650)) {
      throw new DomainError('InvalidValidity', 'validityDays must be a whole number from 1 to 3650.', 'invalid');
    }
    validateRenewalPolicy(spec);
    return [
      {
        type: 'CertificateRequested',
        data: {
          certificateId: spec.certificateId,
          provider: spec.provider,
          subject: spec.subject,
          domainNames: spec.domainNames.map((d) => d.toLowerCase()),
          key: spec.key.algorithm === 'RSA' ? { algorithm: 'RSA', size: spec.key.size } : { algorithm: 'ECDSA', curve: spec.key.curve },
          privateKeyExportable: spec.privateKeyExportable,
          friendlyName: spec.friendlyName,
          requestedServices: [...spec.requestedServices],
          validityDays: spec.validityDays,
          ...renewalFields(spec),
          requestedBy: command.actor,
        },
      },
    ];
  }
  if (state.state === 'Initial') throw notFound();

  switch (command.type) {
    case 'RecordRequestGenerated':
      if (state.state !== 'Requested') throw wrongState('Recording a generated request', state.state, 'Requested');
      return [{ type: 'CertificateRequestGenerated', data: { keyId: command.data.keyId, csrPem: command.data.csrPem } }];

    case 'SubmitRequest':
      if (state.state !== 'RequestGenerated') throw wrongState('Submitting', state.state, 'RequestGenerated');
      return [{ type: 'CertificateRequestSubmitted', data: { provider: state.request.provider, orderId: command.data.orderId } }];

    case 'RequireApproval':
      if (state.state !== 'Submitted') throw wrongState('Asking for approval', state.state, 'Submitted');
      if (!Number.isInteger(command.data.approvalsRequired) || command.data.approvalsRequired < 1) {
        throw new DomainError('InvalidApprovalCount', 'approvalsRequired must be at least 1.', 'invalid');
      }
      if (!(command.data.remindEveryHours > 0) || Number.isNaN(Date.parse(command.data.expiresAt))) {
        throw new DomainError('InvalidApprovalPolicy', 'An approval needs a valid expiry time and a positive reminder interval.', 'invalid');
      }
      return [
        {
          type: 'CertificateApprovalRequested',
          data: { approvalsRequired: command.data.approvalsRequired, expiresAt: command.data.expiresAt, remindEveryHours: command.data.remindEveryHours },
        },
      ];

    case 'RecordOrderPolled':
      if (state.state !== 'Submitted') throw wrongState('Recording a poll of the CA order', state.state, 'Submitted');
      return [{ type: 'CertificateOrderPolled', data: { status: command.data.status, nextAttemptAt: command.data.nextAttemptAt } }];

    case 'RecordApprovalReminder':
      if (state.state !== 'AwaitingApproval') throw wrongState('Reminding approvers', state.state, 'AwaitingApproval');
      if ((state.remindersSent ?? 0) >= command.data.reminder) {
        throw new DomainError('ReminderAlreadySent', `Reminder ${command.data.reminder} has already been sent.`, 'conflict');
      }
      return [{ type: 'CertificateApprovalReminderSent', data: { ...command.data } }];

    case 'ApproveRequest':
      if (state.state !== 'AwaitingApproval') throw wrongState('Approving', state.state, 'AwaitingApproval');
      if (command.actor.toLowerCase() === state.requestedBy.toLowerCase()) {
        throw new DomainError(
          'SeparationOfDuties',
          `${command.actor} requested this certificate and cannot also approve it; another approver must.`,
          'forbidden',
        );
      }
      if (state.approvals.some((a) => a.toLowerCase() === command.actor.toLowerCase())) {
        throw new DomainError('AlreadyApproved', `${command.actor} has already approved this request.`, 'conflict');
      }
      return [{ type: 'CertificateRequestApproved', data: { approvedBy: command.actor, comment: command.data.comment } }];

    case 'RecordIssued':
      if (state.state !== 'RequestGenerated' && state.state !== 'Submitted') {
        throw wrongState('Recording an issued certificate', state.state, 'RequestGenerated or Submitted');
      }
      return [{ type: 'CertificateIssued', data: issuedData(command.data) }];

    case 'ImportIssuedCertificate':
      if (state.state !== 'RequestGenerated' && state.state !== 'Submitted') {
        throw wrongState('Importing the issued certificate', state.state, 'RequestGenerated or Submitted (a pending request)');
      }
      return [
        {
          type: 'CertificateImported',
          data: { ...issuedData(command.data), format: command.data.format, importedBy: command.actor, warnings: [...command.data.warnings] },
        },
      ];

    case 'ExportCertificate':
      if (state.state !== 'Issued' && state.state !== 'Revoked' && state.state !== 'Superseded') {
        throw wrongState('Exporting', state.state, 'Issued, Revoked or Superseded');
      }
      if (command.data.includesKey) {
        if (!state.keyId) {
          throw new DomainError('NoPrivateKey', 'certflow holds no private key for this certificate, so a PFX with its key cannot be made.', 'conflict');
        }
        if (!state.request.privateKeyExportable) {
          throw new DomainError('PrivateKeyNotExportable', 'The private key of this certificate was marked not exportable when it was requested or imported.', 'forbidden');
        }
      }
      return [{ type: 'CertificateExported', data: { ...command.data, exportedBy: command.actor } }];

    case 'RecordStepFailure':
      if (!isInFlight(state.state)) throw wrongState('Recording a failed attempt', state.state, 'an in-flight state');
      return [
        {
          type: 'CertificateStepFailed',
          data: { step: command.data.step, reason: command.data.reason, nextAttemptAt: command.data.nextAttemptAt, attempt: state.failedAttempts + 1 },
        },
      ];

    case 'FailRequest':
      if (!isInFlight(state.state)) throw wrongState('Failing the request', state.state, 'an in-flight state');
      return [{ type: 'CertificateRequestFailed', data: { step: command.data.step, reason: command.data.reason } }];

    case 'RejectRequest':
      if (state.state !== 'Submitted' && state.state !== 'AwaitingApproval' && state.state !== 'RequestGenerated') {
        throw wrongState('Rejecting', state.state, 'RequestGenerated, Submitted or AwaitingApproval');
      }
      if (!command.data.reason.trim()) throw new DomainError('ReasonRequired', 'A rejection needs a reason.', 'invalid');
      return [{ type: 'CertificateRequestRejected', data: { reason: command.data.reason, rejectedBy: command.actor } }];

    case 'RevokeCertificate':
      if (state.state !== 'Issued' && state.state !== 'Superseded') throw wrongState('Revoking', state.state, 'Issued or Superseded');
      return [{ type: 'CertificateRevoked', data: { reason: command.data.reason, revokedBy: command.actor } }];

    case 'SupersedeCertificate':
      if (state.state !== 'Issued') throw wrongState('Superseding', state.state, 'Issued');
      if (command.data.supersededBy === state.certificateId) {
        throw new DomainError('InvalidSupersede', 'A certificate cannot supersede itself.', 'invalid');
      }
      return [{ type: 'CertificateSuperseded', data: { supersededBy: command.data.supersededBy } }];

    case 'RequestRenewal':
      if (state.state !== 'Issued') throw wrongState('Renewing', state.state, 'Issued');
      if (state.renewedBy) {
        throw new DomainError('RenewalInProgress', `A renewal of this certificate is in flight already (certificate ${state.renewedBy}).`, 'conflict', {
          renewalId: state.renewedBy,
        });
      }
      if (command.data.renewalId === state.certificateId) {
        throw new DomainError('InvalidRenewal', 'A certificate cannot be its own renewal.', 'invalid');
      }
      if (command.data.reuseKey && !state.keyId) {
        throw new DomainError('NoPrivateKey', 'certflow holds no private key for this certificate, so a renewal cannot reuse it.', 'conflict');
      }
      return [{ type: 'CertificateRenewalRequested', data: { renewalId: command.data.renewalId, reuseKey: command.data.reuseKey, automatic: command.data.automatic } }];

    case 'RecordRenewalFailure':
      if (state.state !== 'Issued') throw wrongState('Recording a failed renewal', state.state, 'Issued');
      return [
        {
          type: 'CertificateRenewalFailed',
          data: {
            renewalId: command.data.renewalId,
            reason: command.data.reason,
            attempt: (state.renewalAttempts ?? 0) + 1,
            nextAttemptAt: command.data.nextAttemptAt,
          },
        },
      ];

    case 'RecordRenewalReminder': {
      if (state.state !== 'Issued') throw wrongState('Sending an expiry reminder', state.state, 'Issued');
      const last = state.lastReminderThreshold ?? null;
      if (last !== null && last <= command.data.threshold) {
        throw new DomainError('ReminderAlreadySent', `The ${command.data.threshold}-day reminder (or a more urgent one) has already been sent.`, 'conflict');
      }
      const d = command.data;
      return [
        {
          type: 'RenewalReminderSent',
          data: {
            threshold: d.threshold,
            daysLeft: d.daysLeft,
            catchUp: d.catchUp,
            channels: [...d.channels],
            deliveries: copyDeliveries(d.deliveries),
          },
        },
      ];
    }

    case 'RecordImportReminder': {
      if (state.state !== 'RequestGenerated') throw wrongState('Reminding of a stalled import', state.state, 'RequestGenerated');
      if (state.request.provider !== 'manual') {
        throw new DomainError('NotAManualRequest', `Import reminders are for manual requests; this one goes to ${state.request.provider} by itself.`, 'conflict');
      }
      if ((state.importRemindersSent ?? 0) >= command.data.reminder) {
        throw new DomainError('ReminderAlreadySent', `Import reminder ${command.data.reminder} has already been sent.`, 'conflict');
      }
      const d = command.data;
      return [
        {
          type: 'CertificateImportReminderSent',
          data: {
            reminder: d.reminder,
            waitingSince: d.waitingSince,
            channels: [...d.channels],
            deliveries: copyDeliveries(d.deliveries),
          },
        },
      ];
    }

    case 'RecordRenewalInfo': {
      if (state.state !== 'Issued') throw wrongState('Recording renewal information', state.state, 'Issued');
      if (state.request.provider !== 'acme') {
        throw new DomainError('RenewalInfoNotApplicable', 'Renewal information (RFC 9773) comes from ACME CAs only.', 'conflict');
      }
      const d = command.data;
      if (Number.isNaN(Date.parse(d.nextCheckAt)) || (d.renewAt !== null && Number.isNaN(Date.parse(d.renewAt)))) {
        throw new DomainError('InvalidRenewalInfo', 'Renewal information needs valid times.', 'invalid');
      }
      return [
        {
          type: 'RenewalInfoUpdated',
          data: {
            window: d.window ? { start: d.window.start, end: d.window.end } : null,
            renewAt: d.renewAt,
            explanationUrl: d.explanationUrl,
            nextCheckAt: d.nextCheckAt,
            error: d.error,
          },
        },
      ];
    }

    case 'RemoveCertificate':
      if (state.state === 'Removed') {
        throw new DomainError('CertificateRemoved', 'This certificate has already been removed.', 'conflict');
      }
      return [{ type: 'CertificateRemoved', data: { removedBy: command.actor, reason: command.data.reason } }];

    default: {
      const unknown: never = command;
      throw new DomainError('UnknownCommand', `Unknown command ${(unknown as { type: string }).type}.`, 'invalid');
    }
  }
}

/**
 * Event payloads name their fields one by one: whatever else a caller's object carries (by
 * mistake, a key) never reaches the log.
 */
function issuedData(d: IssuedCertificateFacts & { certificatePem: string; chainPem: readonly string[] }) {
  return {
    thumbprint: d.thumbprint,
    sha256Fingerprint: d.sha256Fingerprint,
    serialNumber: d.serialNumber,
    subject: d.subject,
    issuer: d.issuer,
    notBefore: d.notBefore,
    notAfter: d.notAfter,
    certificateDomains: [...d.certificateDomains],
    publicKeySize: d.publicKeySize,
    keyAlgorithm: d.keyAlgorithm,
    isSelfSigned: d.isSelfSigned,
    certificatePem: d.certificatePem,
    chainPem: [...d.chainPem],
  };
}

/** The optional renewal fields of a request, named one by one and only when given. */
function renewalFields(spec: CertificateRequestSpec): Partial<CertificateRequestSpec> {
  const out: { -readonly [K in keyof CertificateRequestSpec]?: CertificateRequestSpec[K] } = {};
  if (spec.autoRenew !== undefined) out.autoRenew = spec.autoRenew;
  if (spec.renewBeforeMs != null) out.renewBeforeMs = spec.renewBeforeMs;
  if (spec.renewBeforePercentage != null) out.renewBeforePercentage = spec.renewBeforePercentage;
  if (spec.reminderThresholds != null) out.reminderThresholds = [...new Set(spec.reminderThresholds)].sort((a, b) => b - a);
  if (spec.contact != null) out.contact = spec.contact;
  if (spec.renews != null) out.renews = spec.renews;
  if (spec.keyId != null) out.keyId = spec.keyId;
  return out;
}

function validateRenewalPolicy(spec: CertificateRequestSpec): void {
  if (spec.autoRenew !== undefined && typeof spec.autoRenew !== 'boolean') {
    throw new DomainError('InvalidRenewalPolicy', 'autoRenew must be true or false.', 'invalid');
  }
  if (spec.renewBeforeMs != null && !(Number.isFinite(spec.renewBeforeMs) && spec.renewBeforeMs > 0)) {
    throw new DomainError('InvalidRenewalPolicy', 'renewBefore must be a positive duration.', 'invalid');
  }
  const p = spec.renewBeforePercentage;
  if (p != null && !(Number.isFinite(p) && p > 0 && p < 100)) {
    throw new DomainError('InvalidRenewalPolicy', 'renewBeforePercentage must be a number between 0 and 100 (exclusive).', 'invalid');
  }
  if (spec.renewBeforeMs != null && p != null) {
    throw new DomainError('InvalidRenewalPolicy', 'Give renewBefore or renewBeforePercentage, not both.', 'invalid');
  }
  const t = spec.reminderThresholds;
  if (t != null && (!Array.isArray(t) || t.length > 20 || t.some((d) => !Number.isInteger(d) || d < 1 || d > 3650))) {
    throw new DomainError('InvalidRenewalPolicy', 'reminderThresholds must be up to 20 whole numbers of days from 1 to 3650.', 'invalid');
  }
  if (spec.contact != null && !/^[^\s@<>,]+@[^\s@<>,]+\.[^\s@<>,]+$/.test(spec.contact)) {
    throw new DomainError('InvalidContact', 'contact must be a single e-mail address.', 'invalid');
  }
}

export const isInFlight = (state: string): boolean => (IN_FLIGHT_STATES as readonly string[]).includes(state);

/** Folds one event into the state. Total: every event type is handled (checked by `never`). */
export function evolve(state: CertificateState, event: CertificateEvent): CertificateState {
  if (event.type === 'CertificateRequested') {
    const { certificateId, requestedBy, ...request } = event.data;
    return { state: 'Requested', certificateId, requestedBy, request, failedAttempts: 0, lastError: null };
  }
  if (event.type === 'ExternalCertificateImported') {
    const d = event.data;
    const key: KeySpec =
      d.keyAlgorithm === 'RSA' ? { algorithm: 'RSA', size: d.publicKeySize } : { algorithm: 'ECDSA', curve: d.publicKeySize === 384 ? 'P-384' : 'P-256' };
    return {
      state: 'Issued',
      certificateId: d.certificateId,
      requestedBy: d.importedBy,
      // An imported certificate was never requested here; its "request" is what renewal would ask for.
      request: {
        provider: 'manual',
        subject: d.subject,
        domainNames: d.certificateDomains,
        key,
        privateKeyExportable: d.privateKeyExportable,
        friendlyName: d.friendlyName,
        requestedServices: [],
        validityDays: null,
      },
      failedAttempts: 0,
      lastError: null,
      keyId: d.keyId,
      csrPem: null,
      certificate: certificateOf(d),
    };
  }
  if (state.state === 'Initial') return state; // a stream never starts otherwise; ignore garbage defensively
  const s = state as ExistingCertificateState & Partial<WithCertificate>;
  const base: Base = {
    certificateId: s.certificateId,
    request: s.request,
    requestedBy: s.requestedBy,
    failedAttempts: 0,
    lastError: null,
  };
  switch (event.type) {
    case 'CertificateRequestGenerated':
      return { ...base, state: 'RequestGenerated', keyId: event.data.keyId, csrPem: event.data.csrPem };
    case 'CertificateRequestSubmitted':
      return { ...base, ...keyOf(s), state: 'Submitted', orderId: event.data.orderId, approvals: [] };
    case 'CertificateApprovalRequested':
      return {
        ...base,
        ...keyOf(s),
        state: 'AwaitingApproval',
        orderId: 'orderId' in s ? (s.orderId as string | null) : null,
        approvalsRequired: event.data.approvalsRequired,
        approvals: [],
        remindersSent: 0,
        expiresAt: event.data.expiresAt,
        remindEveryHours: event.data.remindEveryHours,
      };
    case 'CertificateOrderPolled':
      return s.state === 'Submitted' ? { ...s, orderStatus: event.data.status, nextAttemptAt: event.data.nextAttemptAt, failedAttempts: 0, lastError: null } : state;
    case 'CertificateApprovalReminderSent':
      return s.state === 'AwaitingApproval' ? { ...s, remindersSent: event.data.reminder } : state;
    case 'CertificateRequestApproved': {
      if (s.state !== 'AwaitingApproval') return state;
      const approvals = [...s.approvals, event.data.approvedBy];
      return approvals.length >= s.approvalsRequired
        ? { ...base, ...keyOf(s), state: 'Submitted', orderId: s.orderId, approvals }
        : { ...s, approvals };
    }
    case 'CertificateIssued':
      return { ...base, ...keyOf(s), state: 'Issued', certificate: certificateOf(event.data) };
    case 'CertificateImported':
      return { ...base, ...keyOf(s), state: 'Issued', certificate: certificateOf(event.data) };
    case 'CertificateExported':
      return state;
    case 'CertificateStepFailed':
      return { ...s, failedAttempts: event.data.attempt, lastError: event.data.reason, nextAttemptAt: event.data.nextAttemptAt } as CertificateState;
    case 'CertificateRequestFailed':
      return { ...base, ...optionalKey(s), state: 'Failed', reason: event.data.reason, lastError: event.data.reason };
    case 'CertificateRequestRejected':
      return { ...base, ...optionalKey(s), state: 'Rejected', reason: event.data.reason };
    case 'CertificateRevoked':
      return { ...base, ...certKeyOf(s), certificate: s.certificate!, state: 'Revoked', revocationReason: event.data.reason };
    case 'CertificateRenewalRequested':
      return s.state === 'Issued' ? { ...s, renewedBy: event.data.renewalId } : state;
    case 'CertificateRenewalFailed':
      return s.state === 'Issued'
        ? { ...s, renewedBy: null, renewalAttempts: event.data.attempt, renewalRetryAt: event.data.nextAttemptAt }
        : state;
    case 'RenewalReminderSent':
      return s.state === 'Issued' ? { ...s, lastReminderThreshold: event.data.threshold } : state;
    case 'CertificateImportReminderSent':
      return s.state === 'RequestGenerated' ? { ...s, importRemindersSent: event.data.reminder } : state;
    case 'RenewalInfoUpdated':
      return s.state === 'Issued' ? { ...s, renewalInfo: { ...event.data } } : state;
    case 'CertificateSuperseded':
      return { ...base, ...certKeyOf(s), certificate: s.certificate!, state: 'Superseded', supersededBy: event.data.supersededBy };
    case 'CertificateRemoved':
      return {
        ...base,
        ...(s.certificate ? { ...certKeyOf(s), certificate: s.certificate } : optionalKey(s)),
        state: 'Removed',
        previousState: s.state,
      };
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

const certKeyOf = (s: { keyId?: string | null; csrPem?: string | null }) => ({ keyId: s.keyId ?? null, csrPem: s.csrPem ?? null });
const certificateOf = (d: IssuedCertificateFacts & { certificatePem: string; chainPem: readonly string[] }) => {
  const { format: _f, importedBy: _i, warnings: _w, certificateId: _c, keyId: _k, privateKeyExportable: _p, friendlyName: _n, ...rest } =
    d as typeof d & Record<string, unknown>;
  return rest as IssuedCertificateFacts & { certificatePem: string; chainPem: readonly string[] };
};
const keyOf = (s: { keyId?: string | null; csrPem?: string | null }): { keyId: string; csrPem: string } => ({ keyId: s.keyId!, csrPem: s.csrPem! });
const optionalKey = (s: { keyId?: string | null; csrPem?: string | null }): Partial<WithKey> =>
  s.keyId && s.csrPem ? { keyId: s.keyId, csrPem: s.csrPem } : {};

export const foldCertificate = (events: readonly CertificateEvent[]): CertificateState =>
  events.reduce(evolve, initialCertificateState());
