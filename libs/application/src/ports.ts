/**
 * Ports: what the application needs from the outside world. Adapters in libs/* implement
 * them; the domain never sees them.
 */

/** Metadata on every event: who, when, and which request/event caused it. */
export interface EventMetadata {
  readonly actor: string;
  readonly at: string;
  readonly correlationId: string;
  readonly causationId: string | null;
}

export interface NewEvent {
  readonly type: string;
  readonly data: unknown;
}

export interface RecordedEvent<E extends { type: string; data: unknown } = { type: string; data: any }> {
  readonly globalPosition: number;
  readonly transactionId: string;
  readonly streamId: string;
  readonly streamVersion: number;
  readonly eventId: string;
  readonly type: E['type'];
  readonly schemaVersion: number;
  readonly data: E['data'];
  readonly metadata: EventMetadata;
  readonly recordedAt: string;
  readonly prevHash: string;
  readonly hash: string;
}

/** `0`: the stream must not exist yet; a number: the stream's current version; `any`: no check. */
export type ExpectedVersion = number | 'any';

export interface AppendResult {
  readonly nextExpectedVersion: number;
  readonly events: readonly RecordedEvent[];
}

export interface EventStore {
  readStream(streamId: string, options?: { untilAt?: string }): Promise<RecordedEvent[]>;
  appendToStream(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedVersion: ExpectedVersion; metadata: EventMetadata },
  ): Promise<AppendResult>;
}

/** Another writer appended to the stream first. The API answers 409; handlers reload and retry. */
export class ConcurrencyError extends Error {
  readonly code = 'ConcurrencyConflict';
  constructor(
    readonly streamId: string,
    readonly expected: ExpectedVersion,
    readonly actual: number,
  ) {
    super(`Stream ${streamId} is at version ${actual}, expected ${expected}; it was changed concurrently.`);
    this.name = 'ConcurrencyError';
  }
}

export interface Clock {
  now(): Date;
  /** Refreshes a clock whose offset lives elsewhere (the test clock); a no-op for the system clock. */
  sync?(): Promise<void>;
}

export const systemClock: Clock = { now: () => new Date() };

/** Keys and requests. Implemented in libs/crypto; private keys never cross this port. */
export interface KeyService {
  /**
   * Makes sure a private key exists under `keyId` (generating and vaulting it if not). Running
   * twice with the same id uses the key stored the first time, so retries change nothing.
   */
  ensureKey(keyId: string, spec: import('../../domain/src').KeySpec): Promise<void>;
  createCsr(
    keyId: string,
    spec: import('../../domain/src').KeySpec,
    subject: string | null,
    domainNames: readonly string[],
  ): Promise<string>;
  certificateFacts(pem: string): Promise<import('../../domain/src').IssuedCertificateFacts>;
}

export interface IssueContext {
  readonly certificateId: string;
  readonly request: import('../../domain/src').CertificateRequestSpec;
  readonly keyId: string;
  readonly csrPem: string;
  readonly now: Date;
  /** The provider's order reference from an earlier step (null on the first call). */
  readonly orderId: string | null;
  /** Approvals recorded so far (internal CA policy). */
  readonly approvals: readonly string[];
}

/**
 * What a CA said at one step. An issuer is called again and again for the same request, each
 * call advancing the order one step; certflow records every answer as an event, and waits
 * between calls on durable timers (never in memory):
 * - `issued`: done.
 * - `pending`: the order exists and is progressing; call again at `retryAt`. `status` is the
 *   CA's own word for where the order is (e.g. ACME's pending/ready/processing).
 * - `approval-required`: a person must approve first (internal CA policy).
 * - `rejected`: the CA refused for good (its reason).
 * A transient failure (network, 5xx, rate limit) is thrown as a TransientIssuerError, with
 * the CA's Retry-After when it gave one.
 */
export type IssueOutcome =
  | { readonly kind: 'issued'; readonly certificatePem: string; readonly chainPem: readonly string[] }
  | { readonly kind: 'pending'; readonly orderId: string | null; readonly status: string; readonly retryAt: Date }
  | { readonly kind: 'approval-required'; readonly approvalsRequired: number }
  | { readonly kind: 'rejected'; readonly reason: string };

/** A failure worth retrying later; `retryAt` honours the CA's Retry-After when it sent one. */
export class TransientIssuerError extends Error {
  constructor(
    message: string,
    readonly retryAt: Date | null = null,
  ) {
    super(message);
    this.name = 'TransientIssuerError';
  }
}

/** One certification authority behind one interface (libs/issuers, one folder each). */
export interface Issuer {
  readonly provider: import('../../domain/src').ProviderName;
  issue(ctx: IssueContext): Promise<IssueOutcome>;
}

// --- Service enablement (issue 5) ----------------------------------------------------------

/** The services configured in this installation (CERTFLOW_CONFIG) and the host names each serves. */
export interface ServiceCatalog {
  names(): readonly string[];
  /** The configured host names of a service, or null if the service is not configured. */
  hostNames(service: string): readonly string[] | null;
}

/**
 * What a deployer writes. The private key is in memory only for the length of the deployment;
 * it never goes into an event, a job, a log line or an error message.
 */
export interface DeploymentMaterial {
  readonly service: string;
  readonly certificateId: string;
  readonly thumbprint: string;
  readonly notAfter: string;
  readonly certificatePem: string;
  /** Intermediates, leaf excluded, nearest first. */
  readonly chainPem: readonly string[];
  readonly privateKeyPem: string;
}

/**
 * - `deployed`: the target has the certificate (files written and reloaded, or the webhook accepted it).
 * - `failed`: it does not; the previous files were restored. `stderr` is already redacted of key material.
 */
export type DeployResult =
  | { readonly outcome: 'deployed'; readonly detail: string }
  | { readonly outcome: 'failed'; readonly code: string; readonly reason: string; readonly stderr: string | null };

/** Puts a certificate where a service's server takes it from (libs/deployers: file + reload, webhook). */
export interface Deployer {
  deploy(material: DeploymentMaterial): Promise<DeployResult>;
}

/**
 * What the server presents after a deployment. `checked: false` when no verify target is
 * configured; `servedThumbprint` null when nothing could be read (the reason says why).
 */
export type VerifyResult =
  | { readonly checked: false }
  | { readonly checked: true; readonly matches: boolean; readonly servedThumbprint: string | null; readonly reason: string | null };

export interface ServedCertificateVerifier {
  verify(service: string, expectedThumbprint: string): Promise<VerifyResult>;
}

/** Reads a vaulted private key as PKCS#8 PEM, for a deployer only. */
export interface PrivateKeySource {
  privateKeyPem(keyId: string): Promise<string>;
}

/** The pending deployment a job was enqueued for, found by its ServiceEnablementRequested event. */
export interface ServiceBindingQueries {
  /** The service whose pending deployment was requested by this event, or null if it is no longer pending. */
  pendingServiceFor(requestEventId: string): Promise<string | null>;
  /** The services each certificate is enabled for now (a renewal takes them over). */
  servicesOf?(certificateIds: readonly string[]): Promise<Map<string, string[]>>;
}

/** A notification for people (expiry reminders, approvals); ids and public facts only, never key material. */
export interface OutgoingNotification {
  readonly id: string;
  readonly kind: string;
  readonly certificateId: string | null;
  readonly subject: string;
  readonly text: string;
  readonly data: Record<string, unknown>;
}

/** Where a notification goes: the certificate's provider picks the route, its contact is added to e-mail recipients. */
export interface NotificationRoute {
  readonly provider: string | null;
  readonly contact: string | null;
}

/** Sends a notification through the channels its route names (libs/notifications); never throws for a failed delivery. */
export interface Notifier {
  send(n: OutgoingNotification, route: NotificationRoute): Promise<{ channels: string[]; deliveries: { channel: string; ok: boolean; attempts: number; detail: string }[] }>;
}

/** What an ACME CA says about when to renew a certificate (RFC 9773 renewal information). */
export type RenewalInfoAnswer =
  | { readonly kind: 'unsupported' }
  | {
      readonly kind: 'window';
      readonly window: { readonly start: string; readonly end: string };
      readonly explanationUrl: string | null;
      readonly retryAfterSeconds: number | null;
    }
  | { readonly kind: 'error'; readonly reason: string; readonly retryAfterSeconds: number | null };

/** Asks the configured ACME CA for a certificate's renewal window (libs/issuers, RFC 9773). */
export interface RenewalInfoSource {
  fetch(certificatePem: string): Promise<RenewalInfoAnswer>;
}
