import { DomainError } from '../domain-error';
import { matchesDomain } from '../selection.policy';

/**
 * The service binding aggregate (stream `binding-<SERVICE>`): which certificate certflow has
 * enabled for one service (Enable-ExchangeCertificate -Services), and every change to that.
 * Its history answers "which certificate did SMTP present on 3 March".
 *
 * Enabling is two steps, because the API never waits for a server: the API records that a
 * deployment is wanted (`ServiceEnablementRequested`), and the worker deploys it and records the
 * outcome (`ServiceCertificateEnabled` or `ServiceEnableFailed`). Only `ServiceCertificateEnabled`
 * and `ServiceCertificateReleased` change which certificate is bound.
 */

/** A service name as configured (`SMTP`, `IMAP`, `POP`, `IIS`, `UM`...): upper-case letters, digits, `_`, `-`. */
export const SERVICE_NAME = /^[A-Z0-9][A-Z0-9_-]{0,31}$/;

/** The certificate a binding points at (public facts only). */
export interface BoundCertificate {
  readonly certificateId: string;
  readonly thumbprint: string;
  readonly notAfter: string;
}

export type ServiceBindingEvent =
  /**
   * An operator (or the worker, for services named in the request) asked for the certificate to be
   * enabled for the service. A deployment is now pending; the binding itself has not changed yet.
   * `previousCertificateId` is the certificate enabled at the time (null: none); `force` records
   * that the operator confirmed overwriting it.
   */
  | {
      type: 'ServiceEnablementRequested';
      data: BoundCertificate & { service: string; previousCertificateId: string | null; force: boolean; requestedBy: string };
    }
  /**
   * The certificate was deployed and the server reloaded: the service now uses it (the binding
   * changed). `verified`: true when the server was checked and presented this certificate, false
   * when it presented another one (a `ServiceVerificationFailed` follows), null when no
   * `verify` target is configured. `servedThumbprint` is what the server presented, if checked.
   */
  | {
      type: 'ServiceCertificateEnabled';
      data: BoundCertificate & {
        service: string;
        previousCertificateId: string | null;
        verified: boolean | null;
        servedThumbprint: string | null;
      };
    }
  /**
   * Enabling failed; the binding did not change (the previous files were restored). `code` is
   * machine-readable (`ReloadFailed`, `DeployFailed`, `ServiceAlreadyBound`...), `reason` is for
   * the administrator, and `stderr` is the reload command's output with key material redacted.
   */
  | {
      type: 'ServiceEnableFailed';
      data: { service: string; certificateId: string; code: string; reason: string; stderr: string | null };
    }
  /**
   * After a deployment, the server did not present the certificate that was enabled (or could not
   * be reached). The binding stays (the files are in place); this is an error to look at.
   */
  | {
      type: 'ServiceVerificationFailed';
      data: { service: string; certificateId: string; expectedThumbprint: string; servedThumbprint: string | null; reason: string };
    }
  /** The service was released: certflow no longer considers any certificate enabled for it (files are left as they are). */
  | { type: 'ServiceCertificateReleased'; data: { service: string; certificateId: string; releasedBy: string; reason: string | null } };

export type ServiceBindingEventType = ServiceBindingEvent['type'];

/** Current schema version of each event type; an upcaster lifts older stored versions. */
export const SERVICE_BINDING_EVENT_SCHEMA_VERSIONS: Record<ServiceBindingEventType, number> = {
  ServiceEnablementRequested: 1,
  ServiceCertificateEnabled: 1,
  ServiceEnableFailed: 1,
  ServiceVerificationFailed: 1,
  ServiceCertificateReleased: 1,
};

/** A deployment that was asked for and has not finished yet. */
export interface PendingEnablement extends BoundCertificate {
  readonly force: boolean;
  readonly requestedBy: string;
}

/** The last thing that went wrong (a failed deployment or verification); cleared by a clean enablement. */
export interface BindingError {
  readonly code: string;
  readonly reason: string;
  readonly certificateId: string;
}

/**
 * Binding states (the `state` field):
 * - `Unbound`: no certificate is enabled for the service (never was, or it was released).
 * - `Bound`: `current` is enabled; `verified` says whether the server was seen presenting it.
 * Either may have a `pending` deployment.
 */
export type ServiceBindingState =
  | { readonly state: 'Unbound'; readonly service: string | null; readonly pending: PendingEnablement | null; readonly lastError: BindingError | null }
  | {
      readonly state: 'Bound';
      readonly service: string;
      readonly current: BoundCertificate;
      readonly verified: boolean | null;
      readonly pending: PendingEnablement | null;
      readonly lastError: BindingError | null;
    };

export const initialServiceBindingState = (): ServiceBindingState => ({ state: 'Unbound', service: null, pending: null, lastError: null });

/** What the enable command needs to know about the certificate (read by the caller from its aggregate). */
export interface EnablementCandidate extends BoundCertificate {
  /** Lifecycle state of the certificate; only `Issued` can be enabled. */
  readonly state: string;
  readonly hasPrivateKey: boolean;
  readonly certificateDomains: readonly string[];
}

export type ServiceBindingCommand =
  | {
      type: 'RequestServiceEnablement';
      data: { service: string; certificate: EnablementCandidate | null; certificateId: string; hostNames: readonly string[]; force: boolean; now: string };
      actor: string;
    }
  | {
      type: 'RecordServiceEnabled';
      data: { certificateId: string; verified: boolean | null; servedThumbprint: string | null; verificationReason: string | null };
      actor: string;
    }
  | { type: 'RecordServiceEnableFailed'; data: { service: string; certificateId: string; code: string; reason: string; stderr: string | null }; actor: string }
  | { type: 'ReleaseService'; data: { service: string; reason: string | null }; actor: string };

/** The configured host names the certificate does not cover (wildcards as `matchesDomain` defines them). */
export const uncoveredHostNames = (hostNames: readonly string[], certificateDomains: readonly string[]): string[] =>
  hostNames.filter((h) => !certificateDomains.some((d) => matchesDomain(d.toLowerCase(), h.toLowerCase())));

/**
 * Checks whether a certificate may be enabled for a service, whatever the binding holds: it must
 * be Issued, not expired, have its private key here, and cover every configured host name.
 */
export function checkEnablementCandidate(service: string, c: EnablementCandidate | null, certificateId: string, hostNames: readonly string[], now: string): EnablementCandidate {
  if (!c) throw new DomainError('CertificateNotFound', `No certificate with id ${certificateId}.`, 'not-found');
  if (c.state !== 'Issued') {
    throw new DomainError('CertificateNotIssued', `Certificate ${certificateId} is ${c.state}; only an Issued certificate can be enabled for ${service}.`, 'conflict', { state: c.state });
  }
  if (!c.hasPrivateKey) {
    throw new DomainError('NoPrivateKey', `certflow holds no private key for certificate ${certificateId}, so it cannot be enabled for ${service}; import it with its key.`, 'unprocessable');
  }
  if (Date.parse(c.notAfter) <= Date.parse(now)) {
    throw new DomainError('CertificateExpired', `Certificate ${certificateId} expired at ${c.notAfter}; it cannot be enabled for ${service}.`, 'conflict', { notAfter: c.notAfter });
  }
  const missing = uncoveredHostNames(hostNames, c.certificateDomains);
  if (missing.length) {
    throw new DomainError(
      'HostNameNotCovered',
      `Certificate ${certificateId} does not cover ${missing.join(', ')}, which ${service} is configured to serve; its names are ${c.certificateDomains.join(', ') || '(none)'}.`,
      'unprocessable',
      { missing },
    );
  }
  return c;
}

export function decideServiceBinding(command: ServiceBindingCommand, state: ServiceBindingState): ServiceBindingEvent[] {
  switch (command.type) {
    case 'RequestServiceEnablement': {
      const { service, certificateId, hostNames, force, now } = command.data;
      if (!SERVICE_NAME.test(service)) throw new DomainError('InvalidServiceName', `"${service}" is not a service name (upper-case letters, digits, "_" or "-").`, 'invalid');
      const c = checkEnablementCandidate(service, command.data.certificate, certificateId, hostNames, now);
      const current = state.state === 'Bound' ? state.current : null;
      if (!force) {
        // Asking again for what is enabled or on its way changes nothing (a repeated request is safe).
        if (state.pending?.certificateId === certificateId) return [];
        if (!state.pending && current?.certificateId === certificateId) return [];
        if (state.pending) {
          throw new DomainError(
            'ServiceEnablementPending',
            `${service} is being switched to certificate ${state.pending.thumbprint} (${state.pending.certificateId}); wait for it, or send force: true to replace it.`,
            'conflict',
            { certificateId: state.pending.certificateId, thumbprint: state.pending.thumbprint, notAfter: state.pending.notAfter },
          );
        }
        if (current) {
          throw new DomainError(
            'ServiceAlreadyBound',
            `${service} already uses certificate ${current.thumbprint} (expires ${current.notAfter}); send force: true to overwrite it.`,
            'conflict',
            { certificateId: current.certificateId, thumbprint: current.thumbprint, notAfter: current.notAfter },
          );
        }
      }
      return [
        {
          type: 'ServiceEnablementRequested',
          data: {
            service,
            certificateId: c.certificateId,
            thumbprint: c.thumbprint,
            notAfter: c.notAfter,
            previousCertificateId: current?.certificateId ?? null,
            force,
            requestedBy: command.actor,
          },
        },
      ];
    }
    case 'RecordServiceEnabled': {
      const p = state.pending;
      if (!p || p.certificateId !== command.data.certificateId || !state.service) throw noPending(state.service, command.data.certificateId);
      const d = command.data;
      const enabled: ServiceBindingEvent = {
        type: 'ServiceCertificateEnabled',
        data: {
          service: state.service,
          certificateId: p.certificateId,
          thumbprint: p.thumbprint,
          notAfter: p.notAfter,
          previousCertificateId: state.state === 'Bound' ? state.current.certificateId : null,
          verified: d.verified,
          servedThumbprint: d.servedThumbprint,
        },
      };
      if (d.verified !== false) return [enabled];
      return [
        enabled,
        {
          type: 'ServiceVerificationFailed',
          data: {
            service: state.service,
            certificateId: p.certificateId,
            expectedThumbprint: p.thumbprint,
            servedThumbprint: d.servedThumbprint,
            reason: d.verificationReason ?? `the server presented ${d.servedThumbprint ?? 'no certificate'} instead of ${p.thumbprint}`,
          },
        },
      ];
    }
    case 'RecordServiceEnableFailed': {
      const d = command.data;
      // A failure belongs to the pending deployment of that certificate, or (no deployment pending)
      // to a refused automatic enablement.
      if (state.pending && state.pending.certificateId !== d.certificateId) throw noPending(d.service, d.certificateId);
      return [{ type: 'ServiceEnableFailed', data: { service: d.service, certificateId: d.certificateId, code: d.code, reason: d.reason, stderr: d.stderr } }];
    }
    case 'ReleaseService':
      if (state.state !== 'Bound') throw new DomainError('ServiceNotBound', `No certificate is enabled for ${command.data.service}.`, 'conflict');
      return [
        { type: 'ServiceCertificateReleased', data: { service: state.service, certificateId: state.current.certificateId, releasedBy: command.actor, reason: command.data.reason } },
      ];
  }
}

const noPending = (service: string | null, certificateId: string) =>
  new DomainError('NoPendingEnablement', `No enablement of certificate ${certificateId} for ${service ?? 'this service'} is pending (it finished or was replaced).`, 'conflict');

export function evolveServiceBinding(state: ServiceBindingState, event: ServiceBindingEvent): ServiceBindingState {
  switch (event.type) {
    case 'ServiceEnablementRequested': {
      const { service, certificateId, thumbprint, notAfter, force, requestedBy } = event.data;
      return { ...state, service, pending: { certificateId, thumbprint, notAfter, force, requestedBy } } as ServiceBindingState;
    }
    case 'ServiceCertificateEnabled': {
      const { service, certificateId, thumbprint, notAfter, verified } = event.data;
      return { state: 'Bound', service, current: { certificateId, thumbprint, notAfter }, verified, pending: null, lastError: null };
    }
    case 'ServiceEnableFailed': {
      const { service, certificateId, code, reason } = event.data;
      const pending = state.pending?.certificateId === certificateId ? null : state.pending;
      return { ...state, service, pending, lastError: { code, reason, certificateId } } as ServiceBindingState;
    }
    case 'ServiceVerificationFailed':
      return state.state === 'Bound'
        ? { ...state, verified: false, lastError: { code: 'VerificationFailed', reason: event.data.reason, certificateId: event.data.certificateId } }
        : state;
    case 'ServiceCertificateReleased':
      return { state: 'Unbound', service: event.data.service, pending: state.pending, lastError: state.lastError };
    default: {
      const unknown: never = event;
      return unknown;
    }
  }
}

export const foldServiceBinding = (events: readonly ServiceBindingEvent[]): ServiceBindingState =>
  events.reduce(evolveServiceBinding, initialServiceBindingState());

export const serviceBindingStreamId = (service: string): string => `binding-${service.toUpperCase()}`;
export const BINDING_STREAM_PREFIX = 'binding-';
