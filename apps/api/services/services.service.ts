import { Inject, Injectable } from '@nestjs/common';
import { presentEvent } from '../common/event.presenter';
import { Pool } from 'pg';
import { Clock, EventStore, loadServiceBinding, releaseService, requestServiceEnablement } from '../../../libs/application/src';
import { ServiceTargets } from '../../../libs/deployers/src';
import { DomainError, SERVICE_NAME } from '../../../libs/domain/src';
import { ServiceBindingRow, ServiceBindingsReadModel } from '../../../libs/event-store/src';
import { RequestActor, metadataFor } from '../common/request-context';
import { CLOCK, EVENT_STORE, PG_POOL } from '../common/tokens';

/** Nest token of the configured service targets (CERTFLOW_CONFIG). */
export const SERVICE_TARGETS = 'SERVICE_TARGETS';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

@Injectable()
export class ServicesService {
  private readonly bindings: ServiceBindingsReadModel;

  constructor(
    @Inject(PG_POOL) pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(SERVICE_TARGETS) private readonly targets: ServiceTargets,
  ) {
    this.bindings = new ServiceBindingsReadModel(pool);
  }

  async enable(certificateId: string, services: string[], force: boolean, who: RequestActor) {
    if (!UUID.test(certificateId)) throw new DomainError('InvalidCertificateId', `"${certificateId}" is not a certificate id (a UUID).`, 'invalid');
    const now = this.clock.now();
    const results = await requestServiceEnablement(this.store, this.targets, { certificateId, services, force, now, actor: who.actor }, metadataFor(who, now));
    return { certificateId, services: results };
  }

  async release(name: string, reason: string | null, who: RequestActor) {
    const service = this.configured(name);
    await releaseService(this.store, service, reason, who.actor, metadataFor(who, this.clock.now()));
    return this.get(service);
  }

  /** Every configured service with its current certificate, plus bindings of services no longer configured. */
  async list() {
    const rows = new Map((await this.bindings.all()).map((r) => [r.service, r]));
    const names = [...new Set([...this.targets.names(), ...rows.keys()])].sort();
    return { items: names.map((n) => this.present(n, rows.get(n) ?? null)) };
  }

  async get(name: string, at?: string) {
    const service = this.name(name);
    if (at) {
      const { state, events } = await loadServiceBinding(this.store, service, { untilAt: at });
      const enabledEvent = [...events].reverse().find((e) => e.type === 'ServiceCertificateEnabled' || e.type === 'ServiceCertificateReleased');
      return {
        ...this.describe(service),
        at,
        state: state.state,
        certificate:
          state.state === 'Bound'
            ? { id: state.current.certificateId, thumbprint: state.current.thumbprint, notAfter: state.current.notAfter, since: enabledEvent?.metadata.at ?? null, verified: state.verified }
            : null,
        pending: state.pending ? { certificateId: state.pending.certificateId, thumbprint: state.pending.thumbprint } : null,
        lastError: state.lastError,
        version: events.length,
      };
    }
    const row = await this.bindings.one(service);
    if (!row && !this.targets.target(service)) throw notConfigured(service, this.targets.names());
    return this.present(service, row);
  }

  async events(name: string) {
    const service = this.name(name);
    const events = await this.store.readStream(`binding-${service}`);
    if (events.length === 0 && !this.targets.target(service)) throw notConfigured(service, this.targets.names());
    return {
      items: events.map(presentEvent),
    };
  }

  private name(name: string): string {
    const service = name.toUpperCase();
    if (!SERVICE_NAME.test(service)) throw new DomainError('InvalidServiceName', `"${name}" is not a service name (letters, digits, "_" or "-").`, 'invalid');
    return service;
  }

  private configured(name: string): string {
    const service = this.name(name);
    if (!this.targets.target(service)) throw notConfigured(service, this.targets.names());
    return service;
  }

  private describe(service: string) {
    const t = this.targets.target(service);
    return { name: service, configured: !!t, hostNames: t?.hostNames ?? [], deployer: t?.target.deployer ?? null, verify: t?.verify ? { host: t.verify.host, port: t.verify.port, starttls: t.verify.starttls } : null };
  }

  private present(service: string, r: ServiceBindingRow | null) {
    return {
      ...this.describe(service),
      state: r?.certificate_id ? 'Bound' : 'Unbound',
      certificate: r?.certificate_id
        ? {
            id: r.certificate_id,
            thumbprint: r.thumbprint,
            notAfter: r.not_after?.toISOString() ?? null,
            since: r.enabled_at?.toISOString() ?? null,
            enabledBy: r.enabled_by,
            verified: r.verified,
            servedThumbprint: r.served_thumbprint,
          }
        : null,
      pending: r?.pending_certificate_id ? { certificateId: r.pending_certificate_id, since: r.pending_since?.toISOString() ?? null } : null,
      lastError: r?.last_error_code ? { code: r.last_error_code, message: r.last_error, at: r.last_error_at?.toISOString() ?? null } : null,
      version: r?.version ?? 0,
      updatedAt: r?.updated_at.toISOString() ?? null,
    };
  }
}

const notConfigured = (service: string, names: readonly string[]) =>
  new DomainError('UnknownService', `${service} is not configured; configured services: ${names.length ? names.join(', ') : '(none: set CERTFLOW_CONFIG)'}.`, 'not-found');
