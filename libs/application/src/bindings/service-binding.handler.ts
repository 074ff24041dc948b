import {
  CertificateState,
  DomainError,
  EnablementCandidate,
  ServiceBindingCommand,
  ServiceBindingEvent,
  ServiceBindingState,
  decideServiceBinding,
  evolveServiceBinding,
  initialServiceBindingState,
  isDomainError,
  serviceBindingStreamId,
} from '../../../domain/src';
import { handleCertificateCommand, loadCertificate } from '../certificates/certificate-commands';
import { Decider, loadAggregate } from '../command-handler';
import {
  Clock,
  ConcurrencyError,
  Deployer,
  EventMetadata,
  EventStore,
  PrivateKeySource,
  RecordedEvent,
  ServedCertificateVerifier,
  ServiceBindingQueries,
  ServiceCatalog,
} from '../ports';

export const serviceBindingDecider: Decider<ServiceBindingCommand, ServiceBindingEvent, ServiceBindingState> = {
  decide: decideServiceBinding,
  evolve: evolveServiceBinding,
  initialState: initialServiceBindingState,
};

export const loadServiceBinding = (store: EventStore, service: string, options?: { untilAt?: string }) =>
  loadAggregate(store, serviceBindingDecider, serviceBindingStreamId(service), options);

/** The actor of the events the worker appends (the same name as the certificate work's). */
const WORKER = 'certflow-worker';

/** What the binding rules need from a certificate's state (null when it does not exist). */
export function enablementCandidate(s: CertificateState): EnablementCandidate | null {
  if (s.state === 'Initial') return null;
  const cert = 'certificate' in s && s.certificate ? s.certificate : null;
  return {
    certificateId: s.certificateId,
    state: s.state,
    thumbprint: cert?.thumbprint ?? '',
    notAfter: cert?.notAfter ?? '',
    hasPrivateKey: 'keyId' in s && !!s.keyId,
    certificateDomains: cert?.certificateDomains ?? [],
  };
}

/**
 * Load → decide → append with the expected version, reloading and deciding again on a concurrent
 * append. A decision with no events (asking again for what is already enabled) appends nothing.
 */
async function handleBinding(
  store: EventStore,
  service: string,
  command: ServiceBindingCommand,
  metadata: EventMetadata,
  retries = 3,
): Promise<{ state: ServiceBindingState; newEvents: readonly RecordedEvent[] }> {
  for (let attempt = 0; ; attempt++) {
    const { state, version } = await loadServiceBinding(store, service);
    const events = decideServiceBinding(command, state);
    if (events.length === 0) return { state, newEvents: [] };
    try {
      const result = await store.appendToStream(serviceBindingStreamId(service), events, { expectedVersion: version, metadata });
      return { state: events.reduce(evolveServiceBinding, state), newEvents: result.events };
    } catch (e) {
      if (e instanceof ConcurrencyError && attempt < retries) continue;
      throw e;
    }
  }
}

export interface EnableResult {
  readonly service: string;
  /** `requested`: a deployment is now pending; `unchanged`: it was already enabled or on its way. */
  readonly outcome: 'requested' | 'unchanged';
  readonly previousCertificateId: string | null;
}

/**
 * Enable-ExchangeCertificate: checks every service first (a refusal for one changes nothing for
 * any), then records one pending deployment per service. The worker deploys them.
 */
export async function requestServiceEnablement(
  store: EventStore,
  catalog: ServiceCatalog,
  input: { certificateId: string; services: readonly string[]; force: boolean; now: Date; actor: string },
  metadata: EventMetadata,
): Promise<EnableResult[]> {
  const services = [...new Set(input.services.map((s) => s.toUpperCase()))];
  if (services.length === 0) throw new DomainError('ServicesRequired', 'Name at least one service to enable the certificate for.', 'invalid');
  const unknown = services.filter((s) => catalog.hostNames(s) === null);
  if (unknown.length) {
    const known = catalog.names();
    throw new DomainError(
      'UnknownService',
      `${unknown.join(', ')} ${unknown.length === 1 ? 'is' : 'are'} not configured; configured services: ${known.length ? known.join(', ') : '(none: set CERTFLOW_CONFIG)'}.`,
      'unprocessable',
      { unknown },
    );
  }
  const { state: certificate } = await loadCertificate(store, input.certificateId);
  const candidate = enablementCandidate(certificate);
  const command = (service: string): ServiceBindingCommand => ({
    type: 'RequestServiceEnablement',
    data: { service, certificateId: input.certificateId, certificate: candidate, hostNames: catalog.hostNames(service)!, force: input.force, now: input.now.toISOString() },
    actor: input.actor,
  });
  // Dry run: refuse before anything is written if any service refuses.
  for (const service of services) decideServiceBinding(command(service), (await loadServiceBinding(store, service)).state);
  const results: EnableResult[] = [];
  for (const service of services) {
    const { newEvents } = await handleBinding(store, service, command(service), metadata);
    const requested = newEvents.find((e) => e.type === 'ServiceEnablementRequested');
    results.push({
      service,
      outcome: requested ? 'requested' : 'unchanged',
      previousCertificateId: requested ? (requested.data as { previousCertificateId: string | null }).previousCertificateId : null,
    });
  }
  return results;
}

export async function releaseService(store: EventStore, service: string, reason: string | null, actor: string, metadata: EventMetadata) {
  return handleBinding(store, service.toUpperCase(), { type: 'ReleaseService', data: { service: service.toUpperCase(), reason }, actor }, metadata);
}

export interface BindingWorkContext {
  readonly certificateId: string;
  readonly causationId: string;
  readonly correlationId: string;
}

export type BindingWorkResult = { outcome: 'done' | 'skipped'; detail: string };

/**
 * The worker's side of enablement. Each step is idempotent: it checks the work is still wanted
 * (the deployment is still the pending one; the issued event has not been acted on yet), does it,
 * and appends the outcome with the expected version. A failed deployment is an event, never a
 * retried job: reloading a server with a certificate it refuses again would not help.
 */
export class ServiceBindingWorkHandler {
  constructor(
    private readonly store: EventStore,
    private readonly catalog: ServiceCatalog,
    private readonly queries: ServiceBindingQueries,
    private readonly deployer: Deployer,
    private readonly verifier: ServedCertificateVerifier,
    private readonly keys: PrivateKeySource,
    private readonly clock: Clock,
  ) {}

  private metadata(ctx: BindingWorkContext): EventMetadata {
    return { actor: WORKER, at: this.clock.now().toISOString(), correlationId: ctx.correlationId, causationId: ctx.causationId };
  }

  /**
   * A certificate was issued (or its issued certificate imported): enable it for the services its
   * request named, without force. A refusal (another certificate is enabled, a host name is not
   * covered, the service is not configured) is recorded as ServiceEnableFailed on that service.
   */
  async enableRequestedServices(ctx: BindingWorkContext): Promise<BindingWorkResult> {
    const { state } = await loadCertificate(this.store, ctx.certificateId);
    if (state.state !== 'Issued') return { outcome: 'skipped', detail: `state is ${state.state}` };
    // A renewal takes over every service the old certificate is enabled for (with force: the old
    // one is enabled there), then supersedes the old certificate.
    const renews = state.request.renews ?? null;
    const takenOver = renews && this.queries.servicesOf ? ((await this.queries.servicesOf([renews])).get(renews) ?? []).map((s) => s.toUpperCase()) : [];
    const services = [...new Set([...state.request.requestedServices.map((s) => s.toUpperCase()), ...takenOver])];
    if (services.length === 0) {
      if (renews) await this.supersede(ctx, renews);
      return { outcome: 'skipped', detail: 'no services requested' };
    }
    const candidate = enablementCandidate(state);
    const done: string[] = [];
    for (const service of services) {
      const { events } = await loadServiceBinding(this.store, service);
      // Idempotent: this issued event was acted on for this service already.
      if (events.some((e) => e.metadata.causationId === ctx.causationId)) continue;
      const hostNames = this.catalog.hostNames(service);
      let command: ServiceBindingCommand;
      if (hostNames === null) {
        command = failure(service, ctx.certificateId, 'UnknownService', `${service} was requested for this certificate but is not configured (CERTFLOW_CONFIG).`);
      } else {
        command = {
          type: 'RequestServiceEnablement',
          data: { service, certificateId: ctx.certificateId, certificate: candidate, hostNames, force: takenOver.includes(service), now: this.clock.now().toISOString() },
          actor: state.requestedBy,
        };
        try {
          decideServiceBinding(command, (await loadServiceBinding(this.store, service)).state);
        } catch (e) {
          if (!isDomainError(e)) throw e;
          command = failure(service, ctx.certificateId, e.code, e.message);
        }
      }
      try {
        await handleBinding(this.store, service, command, this.metadata(ctx));
        done.push(service);
      } catch (e) {
        if (isDomainError(e) || e instanceof ConcurrencyError) continue; // the binding moved on meanwhile
        throw e;
      }
    }
    if (renews) await this.supersede(ctx, renews);
    return { outcome: 'done', detail: `acted on ${done.join(', ') || 'nothing'}` };
  }

  /** The renewal is issued and enabled where the old one was: the old certificate is Superseded (once). */
  private async supersede(ctx: BindingWorkContext, oldId: string): Promise<void> {
    const { state: old } = await loadCertificate(this.store, oldId);
    if (old.state !== 'Issued') return;
    try {
      await handleCertificateCommand(this.store, oldId, { type: 'SupersedeCertificate', data: { supersededBy: ctx.certificateId }, actor: WORKER }, this.metadata(ctx));
    } catch (e) {
      if (isDomainError(e) || e instanceof ConcurrencyError) return; // superseded meanwhile (a duplicate job)
      throw e;
    }
  }

  /**
   * Deploys the pending enablement the job was enqueued for (`causationId` is its
   * ServiceEnablementRequested event), verifies what the server presents, and records the outcome.
   */
  async deploy(ctx: BindingWorkContext): Promise<BindingWorkResult> {
    const service = await this.queries.pendingServiceFor(ctx.causationId);
    if (!service) return { outcome: 'skipped', detail: 'the deployment is no longer pending' };
    const { state: binding, events } = await loadServiceBinding(this.store, service);
    const lastRequest = [...events].reverse().find((e) => e.type === 'ServiceEnablementRequested');
    if (!binding.pending || binding.pending.certificateId !== ctx.certificateId || lastRequest?.eventId !== ctx.causationId) {
      return { outcome: 'skipped', detail: 'a newer enablement replaced this one' };
    }
    const { state } = await loadCertificate(this.store, ctx.certificateId);
    const candidate = enablementCandidate(state);
    if (!candidate || state.state !== 'Issued' || !('keyId' in state) || !state.keyId || !('certificate' in state) || !state.certificate) {
      return this.record(ctx, service, failure(service, ctx.certificateId, 'CertificateNotUsable', `Certificate ${ctx.certificateId} is ${candidate?.state ?? 'missing'} or has no private key; nothing was deployed.`));
    }
    let outcome: ServiceBindingCommand;
    try {
      outcome = await this.deployAndVerify(ctx, service, state.keyId, state.certificate);
    } catch (e) {
      // A failure outside the deployer's own handling (the key missing from the vault, an I/O
      // error) is recorded on the binding, so the deployment never stays pending unseen. The
      // deployers never put key material in their errors.
      outcome = failure(service, ctx.certificateId, 'DeployError', `Deploying to ${service} failed: ${(e as Error).message}`);
    }
    return this.record(ctx, service, outcome);
  }

  /** Key from the vault → deployer → verification; the outcome as the command to record. */
  private async deployAndVerify(
    ctx: BindingWorkContext,
    service: string,
    keyId: string,
    certificate: { thumbprint: string; notAfter: string; certificatePem: string; chainPem: readonly string[] },
  ): Promise<ServiceBindingCommand> {
    const material = {
      service,
      certificateId: ctx.certificateId,
      thumbprint: certificate.thumbprint,
      notAfter: certificate.notAfter,
      certificatePem: certificate.certificatePem,
      chainPem: certificate.chainPem,
      privateKeyPem: await this.keys.privateKeyPem(keyId),
    };
    const result = await this.deployer.deploy(material);
    if (result.outcome === 'failed') return failure(service, ctx.certificateId, result.code, result.reason, result.stderr);
    const verified = await this.verifier.verify(service, material.thumbprint);
    return {
      type: 'RecordServiceEnabled',
      data: verified.checked
        ? { certificateId: ctx.certificateId, verified: verified.matches, servedThumbprint: verified.servedThumbprint, verificationReason: verified.reason }
        : { certificateId: ctx.certificateId, verified: null, servedThumbprint: null, verificationReason: null },
      actor: WORKER,
    };
  }

  private async record(ctx: BindingWorkContext, service: string, command: ServiceBindingCommand): Promise<BindingWorkResult> {
    try {
      await handleBinding(this.store, service, command, this.metadata(ctx), 0);
      return { outcome: 'done', detail: `${service}: ${command.type}` };
    } catch (e) {
      // Another enablement was requested while this one deployed: the newer one decides the binding.
      if (e instanceof ConcurrencyError || (isDomainError(e) && e.code === 'NoPendingEnablement')) return { outcome: 'skipped', detail: (e as Error).message };
      throw e;
    }
  }
}

const failure = (service: string, certificateId: string, code: string, reason: string, stderr: string | null = null): ServiceBindingCommand => ({
  type: 'RecordServiceEnableFailed',
  data: { service, certificateId, code, reason, stderr },
  actor: WORKER,
});
