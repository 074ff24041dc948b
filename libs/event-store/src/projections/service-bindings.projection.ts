import { Pool, PoolClient } from 'pg';
import { RecordedEvent, ServiceBindingQueries } from '../../../application/src';
import { BINDING_STREAM_PREFIX, SERVICE_BINDING_EVENT_SCHEMA_VERSIONS, ServiceBindingEvent } from '../../../domain/src';
import { InlineProjection } from '../event-store.adapter';

type Data<T extends ServiceBindingEvent['type']> = Extract<ServiceBindingEvent, { type: T }>['data'];

/**
 * `service_bindings`: one row per service (stream `binding-<SERVICE>`): the certificate enabled for
 * it, the deployment pending, and the last error. Derived from binding events only, with times
 * from event metadata, so a rebuild from the log gives identical rows.
 */
export class ServiceBindingsProjection implements InlineProjection {
  readonly name = 'service_bindings';
  readonly tables = ['service_bindings'];

  canHandle(type: string): boolean {
    return type in SERVICE_BINDING_EVENT_SCHEMA_VERSIONS;
  }

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    for (const e of events as readonly RecordedEvent<ServiceBindingEvent>[]) {
      if (!e.streamId.startsWith(BINDING_STREAM_PREFIX)) continue;
      const service = e.streamId.slice(BINDING_STREAM_PREFIX.length);
      const at = e.metadata.at;
      await client.query(
        `INSERT INTO service_bindings (service, version, updated_at) VALUES ($1, $2, $3)
         ON CONFLICT (service) DO UPDATE SET version = EXCLUDED.version, updated_at = EXCLUDED.updated_at`,
        [service, e.streamVersion, at],
      );
      switch (e.type) {
        case 'ServiceEnablementRequested': {
          const d = e.data as Data<'ServiceEnablementRequested'>;
          await client.query(
            `UPDATE service_bindings SET pending_certificate_id = $2, pending_event_id = $3, pending_correlation_id = $4,
               pending_since = $5, pending_requested_by = $6 WHERE service = $1`,
            [service, d.certificateId, e.eventId, e.metadata.correlationId, at, d.requestedBy],
          );
          break;
        }
        case 'ServiceCertificateEnabled': {
          const d = e.data as Data<'ServiceCertificateEnabled'>;
          await client.query(
            `UPDATE service_bindings SET certificate_id = $2, thumbprint = $3, not_after = $4, enabled_at = $5,
               enabled_by = pending_requested_by, verified = $6, served_thumbprint = $7, pending_certificate_id = NULL,
               pending_event_id = NULL, pending_correlation_id = NULL, pending_since = NULL, pending_requested_by = NULL,
               last_error_code = NULL, last_error = NULL, last_error_at = NULL
             WHERE service = $1`,
            [service, d.certificateId, d.thumbprint, d.notAfter, at, d.verified, d.servedThumbprint],
          );
          break;
        }
        case 'ServiceEnableFailed': {
          const d = e.data as Data<'ServiceEnableFailed'>;
          await client.query(
            `UPDATE service_bindings SET last_error_code = $3, last_error = $4, last_error_at = $5,
               pending_event_id = CASE WHEN pending_certificate_id = $2 THEN NULL ELSE pending_event_id END,
               pending_correlation_id = CASE WHEN pending_certificate_id = $2 THEN NULL ELSE pending_correlation_id END,
               pending_since = CASE WHEN pending_certificate_id = $2 THEN NULL ELSE pending_since END,
               pending_requested_by = CASE WHEN pending_certificate_id = $2 THEN NULL ELSE pending_requested_by END,
               pending_certificate_id = CASE WHEN pending_certificate_id = $2 THEN NULL ELSE pending_certificate_id END
             WHERE service = $1`,
            [service, d.certificateId, d.code, d.reason, at],
          );
          break;
        }
        case 'ServiceVerificationFailed': {
          const d = e.data as Data<'ServiceVerificationFailed'>;
          await client.query(
            `UPDATE service_bindings SET verified = false, served_thumbprint = $2, last_error_code = 'VerificationFailed',
               last_error = $3, last_error_at = $4 WHERE service = $1`,
            [service, d.servedThumbprint, d.reason, at],
          );
          break;
        }
        case 'ServiceCertificateReleased':
          await client.query(
            `UPDATE service_bindings SET certificate_id = NULL, thumbprint = NULL, not_after = NULL, enabled_at = NULL,
               enabled_by = NULL, verified = NULL, served_thumbprint = NULL WHERE service = $1`,
            [service],
          );
          break;
      }
    }
  }
}

export interface ServiceBindingRow {
  service: string;
  version: number;
  certificate_id: string | null;
  thumbprint: string | null;
  not_after: Date | null;
  enabled_at: Date | null;
  enabled_by: string | null;
  verified: boolean | null;
  served_thumbprint: string | null;
  pending_certificate_id: string | null;
  pending_event_id: string | null;
  pending_correlation_id: string | null;
  pending_since: Date | null;
  last_error_code: string | null;
  last_error: string | null;
  last_error_at: Date | null;
  updated_at: Date;
}

/** Reads of `service_bindings` for the api, the worker and the reconciler. */
export class ServiceBindingsReadModel implements ServiceBindingQueries {
  constructor(private readonly pool: Pool) {}

  async pendingServiceFor(requestEventId: string): Promise<string | null> {
    const { rows } = await this.pool.query<{ service: string }>('SELECT service FROM service_bindings WHERE pending_event_id = $1', [requestEventId]);
    return rows[0]?.service ?? null;
  }

  async all(): Promise<ServiceBindingRow[]> {
    return (await this.pool.query<ServiceBindingRow>('SELECT * FROM service_bindings ORDER BY service')).rows;
  }

  async one(service: string): Promise<ServiceBindingRow | null> {
    return (await this.pool.query<ServiceBindingRow>('SELECT * FROM service_bindings WHERE service = $1', [service])).rows[0] ?? null;
  }

  /** The services each certificate is enabled for now, for a page of certificates, in one query. */
  async servicesOf(certificateIds: readonly string[]): Promise<Map<string, string[]>> {
    const out = new Map<string, string[]>();
    if (certificateIds.length === 0) return out;
    const { rows } = await this.pool.query<{ certificate_id: string; service: string }>(
      'SELECT certificate_id, service FROM service_bindings WHERE certificate_id = ANY($1::uuid[]) ORDER BY service',
      [certificateIds],
    );
    for (const r of rows) out.set(r.certificate_id, [...(out.get(r.certificate_id) ?? []), r.service]);
    return out;
  }

  /** The services a certificate was enabled for at an instant, from the log (the last Enabled/Released of each binding). */
  async servicesOfAt(certificateId: string, at: string): Promise<string[]> {
    const { rows } = await this.pool.query<{ stream_id: string; type: string; certificate_id: string }>(
      `SELECT DISTINCT ON (stream_id) stream_id, type, data->>'certificateId' AS certificate_id
         FROM events
        WHERE stream_id LIKE 'binding-%' AND type IN ('ServiceCertificateEnabled', 'ServiceCertificateReleased')
          AND (metadata->>'at')::timestamptz <= $1::timestamptz
        ORDER BY stream_id, stream_version DESC`,
      [at],
    );
    return rows
      .filter((r) => r.type === 'ServiceCertificateEnabled' && r.certificate_id === certificateId)
      .map((r) => r.stream_id.slice(BINDING_STREAM_PREFIX.length))
      .sort();
  }

  /** Deployments asked for and not finished: what the reconciler puts back after a Redis loss. */
  async pending(): Promise<{ service: string; certificateId: string; eventId: string; correlationId: string | null }[]> {
    const { rows } = await this.pool.query<{ service: string; pending_certificate_id: string; pending_event_id: string; pending_correlation_id: string | null }>(
      'SELECT service, pending_certificate_id, pending_event_id, pending_correlation_id FROM service_bindings WHERE pending_event_id IS NOT NULL ORDER BY service',
    );
    return rows.map((r) => ({ service: r.service, certificateId: r.pending_certificate_id, eventId: r.pending_event_id, correlationId: r.pending_correlation_id }));
  }
}
