import { PoolClient } from 'pg';
import { RecordedEvent } from '../../../application/src';
import {
  CERTIFICATE_EVENT_SCHEMA_VERSIONS,
  CertificateEvent,
  CertificateState,
  ExistingCertificateState,
  IN_FLIGHT_STATES,
  autoRenewOf,
  evolve,
  nextReminderAt,
  renewalTime,
  thresholdsOf,
  initialCertificateState,
} from '../../../domain/src';
import { InlineProjection } from '../event-store.adapter';

const PREFIX = 'certificate-';

/**
 * `certificate_view`: one row per certificate, the evolved aggregate plus the columns the API
 * filters and sorts on. Every column is derived from events only (times from event metadata,
 * never now()), so a rebuild from the log gives identical rows.
 */
export class CertificateViewProjection implements InlineProjection {
  readonly name = 'certificate_view';
  readonly tables = ['certificate_view', 'timers'];

  canHandle(type: string): boolean {
    return type in CERTIFICATE_EVENT_SCHEMA_VERSIONS;
  }

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    const byStream = new Map<string, RecordedEvent[]>();
    for (const e of events) {
      if (!e.streamId.startsWith(PREFIX)) continue;
      const list = byStream.get(e.streamId) ?? [];
      list.push(e);
      byStream.set(e.streamId, list);
    }
    for (const [streamId, list] of byStream) {
      const id = streamId.slice(PREFIX.length);
      const existing = await client.query<{ aggregate: CertificateState; seq: string; created_at: Date; awaiting_since: Date | null }>(
        'SELECT aggregate, seq, created_at, awaiting_since FROM certificate_view WHERE id = $1',
        [id],
      );
      let awaitingSince = existing.rows[0]?.awaiting_since?.toISOString() ?? null;
      let state = existing.rows[0]?.aggregate ?? initialCertificateState();
      const seq = existing.rows[0] ? Number(existing.rows[0].seq) : list[0].globalPosition;
      const createdAt = existing.rows[0]?.created_at.toISOString() ?? list[0].metadata.at;
      for (const e of list) {
        state = evolve(state, { type: e.type, data: e.data } as CertificateEvent);
        if (e.type === 'CertificateApprovalRequested') awaitingSince = e.metadata.at;
      }
      if (state.state === 'Initial') continue;
      if (state.state !== 'AwaitingApproval') awaitingSince = null;
      const last = list[list.length - 1];
      await upsertRow(client, id, seq, createdAt, state, last, awaitingSince);
      await syncTimers(client, id, state, awaitingSince);
    }
  }
}

/** The durable timers a certificate needs in its current state (see migration 4 for the kinds). */
export function timersFor(s: ExistingCertificateState, awaitingSince: string | null): { kind: string; dueAt: string }[] {
  if (s.state === 'AwaitingApproval') {
    const timers: { kind: string; dueAt: string }[] = [];
    if (s.expiresAt) timers.push({ kind: 'approval-timeout', dueAt: s.expiresAt });
    if (awaitingSince && s.remindEveryHours) {
      const due = Date.parse(awaitingSince) + ((s.remindersSent ?? 0) + 1) * s.remindEveryHours * 3_600_000;
      if (!s.expiresAt || due < Date.parse(s.expiresAt)) timers.push({ kind: 'approval-reminder', dueAt: new Date(due).toISOString() });
    }
    return timers;
  }
  if (s.state === 'Issued') {
    // Renewal (issue 6): at the renewal time (or the retry after a failed renewal), unless a
    // renewal is in flight; and the next expiry reminder. Both derive from state only.
    const timers: { kind: string; dueAt: string }[] = [];
    const r = s.request;
    if (autoRenewOf(r) && !s.renewedBy) {
      const at = renewalTime(s.certificate, { renewBeforeMs: r.renewBeforeMs, renewBeforePercentage: r.renewBeforePercentage }).getTime();
      const retry = s.renewalRetryAt ? Date.parse(s.renewalRetryAt) : 0;
      timers.push({ kind: 'renewal', dueAt: new Date(Math.max(at, retry)).toISOString() });
    }
    timers.push({ kind: 'expiry-reminder', dueAt: nextReminderAt(s.certificate, s.lastReminderThreshold ?? null, thresholdsOf(r)).toISOString() });
    return timers;
  }
  if ((s.state === 'Requested' || s.state === 'RequestGenerated' || s.state === 'Submitted') && s.nextAttemptAt) {
    return [{ kind: 'next-attempt', dueAt: s.nextAttemptAt }];
  }
  return [];
}

async function syncTimers(client: PoolClient, id: string, s: ExistingCertificateState, awaitingSince: string | null): Promise<void> {
  await client.query('DELETE FROM timers WHERE certificate_id = $1', [id]);
  for (const t of timersFor(s, awaitingSince)) {
    await client.query('INSERT INTO timers (certificate_id, kind, due_at) VALUES ($1, $2, $3)', [id, t.kind, t.dueAt]);
  }
}

async function upsertRow(
  client: PoolClient,
  id: string,
  seq: number,
  createdAt: string,
  s: ExistingCertificateState,
  last: RecordedEvent,
  awaitingSince: string | null,
): Promise<void> {
  const cert = 'certificate' in s && s.certificate ? s.certificate : null;
  const key = s.request.key;
  const requestedKeySize = key.algorithm === 'RSA' ? key.size : key.curve === 'P-256' ? 256 : 384;
  const inFlight = (IN_FLIGHT_STATES as readonly string[]).includes(s.state);
  const values = [
    id,
    seq,
    last.streamVersion,
    last.eventId,
    s.state,
    s.request.provider,
    cert?.subject ?? s.request.subject ?? `CN=${s.request.domainNames[0]}`,
    cert?.issuer ?? null,
    s.request.domainNames,
    cert?.certificateDomains ?? [],
    cert?.thumbprint ?? null,
    cert?.sha256Fingerprint ?? null,
    cert?.serialNumber ?? null,
    cert?.notBefore ?? null,
    cert?.notAfter ?? null,
    cert?.isSelfSigned ?? null,
    cert?.keyAlgorithm ?? key.algorithm,
    cert?.publicKeySize ?? requestedKeySize,
    'keyId' in s && !!s.keyId,
    s.request.privateKeyExportable,
    s.request.friendlyName,
    s.request.requestedServices,
    s.requestedBy,
    createdAt,
    last.metadata.at,
    inFlight ? createdAt : null,
    s.failedAttempts,
    s.lastError,
    JSON.stringify(s),
    s.nextAttemptAt ?? null,
    awaitingSince,
    'orderId' in s ? s.orderId : null,
    'orderStatus' in s ? (s.orderStatus ?? null) : null,
  ];
  await client.query(
    `INSERT INTO certificate_view (id, seq, version, last_event_id, state, provider, subject, issuer, domain_names,
       certificate_domains, thumbprint, sha256_fingerprint, serial_number, not_before, not_after, is_self_signed,
       key_algorithm, public_key_size, has_private_key, private_key_exportable, friendly_name, requested_services,
       requested_by, created_at, updated_at, pending_since, attempts, last_error, aggregate, next_attempt_at, awaiting_since,
       order_id, order_status)
     VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$25,$26,$27,$28,$29,$30,$31,$32,$33)
     ON CONFLICT (id) DO UPDATE SET version = EXCLUDED.version, last_event_id = EXCLUDED.last_event_id,
       state = EXCLUDED.state, subject = EXCLUDED.subject, issuer = EXCLUDED.issuer,
       certificate_domains = EXCLUDED.certificate_domains, thumbprint = EXCLUDED.thumbprint,
       sha256_fingerprint = EXCLUDED.sha256_fingerprint, serial_number = EXCLUDED.serial_number,
       not_before = EXCLUDED.not_before, not_after = EXCLUDED.not_after, is_self_signed = EXCLUDED.is_self_signed,
       key_algorithm = EXCLUDED.key_algorithm, public_key_size = EXCLUDED.public_key_size,
       has_private_key = EXCLUDED.has_private_key, updated_at = EXCLUDED.updated_at,
       pending_since = EXCLUDED.pending_since, attempts = EXCLUDED.attempts, last_error = EXCLUDED.last_error,
       aggregate = EXCLUDED.aggregate, next_attempt_at = EXCLUDED.next_attempt_at, awaiting_since = EXCLUDED.awaiting_since,
       order_id = EXCLUDED.order_id, order_status = EXCLUDED.order_status`,
    values,
  );
}
