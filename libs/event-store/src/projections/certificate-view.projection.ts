import { PoolClient } from 'pg';
import { RecordedEvent } from '../../../application/src';
import {
  BUILT_IN_RENEWAL_DEFAULTS,
  CERTIFICATE_EVENT_SCHEMA_VERSIONS,
  CertificateEvent,
  CertificateState,
  ExistingCertificateState,
  IN_FLIGHT_STATES,
  RenewalDefaults,
  RenewalDefaultsEvent,
  autoRenewOf,
  effectiveThresholds,
  evolve,
  nextImportReminderAt,
  nextReminderAt,
  plannedRenewalAt,
  initialCertificateState,
} from '../../../domain/src';
import { InlineProjection } from '../event-store.adapter';

const PREFIX = 'certificate-';

/** The fleet-wide renewal defaults as the projection has them (the built-in ones until a change is recorded). */
export async function readRenewalDefaults(client: Pick<PoolClient, 'query'>): Promise<RenewalDefaults> {
  const { rows } = await client.query<{ defaults: RenewalDefaults }>('SELECT defaults FROM renewal_defaults');
  return rows[0]?.defaults ?? BUILT_IN_RENEWAL_DEFAULTS;
}

/**
 * `certificate_view`: one row per certificate, the evolved aggregate plus the columns the API
 * filters and sorts on; and `timers`, the durable timers each certificate needs. Every column is
 * derived from events only (times from event metadata, never now()), so a rebuild from the log
 * gives identical rows. A change of the fleet-wide renewal defaults (RenewalDefaultsChanged)
 * re-derives the timers of every certificate, in log order with the certificate events.
 */
export class CertificateViewProjection implements InlineProjection {
  readonly name = 'certificate_view';
  readonly tables = ['certificate_view', 'timers', 'renewal_defaults'];

  canHandle(type: string): boolean {
    return type in CERTIFICATE_EVENT_SCHEMA_VERSIONS || type === 'RenewalDefaultsChanged';
  }

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    // Certificate events between two defaults changes are applied together; each change in turn.
    let segment: RecordedEvent[] = [];
    for (const e of events) {
      if (e.type !== 'RenewalDefaultsChanged') {
        segment.push(e);
        continue;
      }
      await this.applyCertificateEvents(client, segment);
      segment = [];
      await this.applyDefaultsChange(client, e as RecordedEvent<RenewalDefaultsEvent>);
    }
    await this.applyCertificateEvents(client, segment);
  }

  private async applyDefaultsChange(client: PoolClient, e: RecordedEvent<RenewalDefaultsEvent>): Promise<void> {
    const defaults = (e.data as RenewalDefaultsEvent['data']).defaults;
    await client.query(
      `INSERT INTO renewal_defaults (id, defaults, changed_at, changed_by) VALUES (true, $1, $2, $3)
       ON CONFLICT (id) DO UPDATE SET defaults = EXCLUDED.defaults, changed_at = EXCLUDED.changed_at, changed_by = EXCLUDED.changed_by`,
      [JSON.stringify(defaults), e.metadata.at, e.metadata.actor],
    );
    // Only Issued certificates and manual requests waiting for an import have timers that depend
    // on the defaults; re-derive theirs in pages (a fleet of 100,000 stays within memory).
    let after = '00000000-0000-0000-0000-000000000000';
    for (;;) {
      const { rows } = await client.query<{ id: string; aggregate: ExistingCertificateState; awaiting_since: Date | null }>(
        `SELECT id, aggregate, awaiting_since FROM certificate_view
          WHERE id > $1 AND (state = 'Issued' OR (state = 'RequestGenerated' AND provider = 'manual'))
          ORDER BY id LIMIT 500`,
        [after],
      );
      if (rows.length === 0) break;
      const ids: string[] = [];
      const kinds: string[] = [];
      const dues: string[] = [];
      for (const r of rows) {
        for (const t of timersFor(r.aggregate, r.awaiting_since?.toISOString() ?? null, defaults)) {
          ids.push(r.id);
          kinds.push(t.kind);
          dues.push(t.dueAt);
        }
      }
      await client.query('DELETE FROM timers WHERE certificate_id = ANY($1::uuid[])', [rows.map((r) => r.id)]);
      await client.query('INSERT INTO timers (certificate_id, kind, due_at) SELECT * FROM unnest($1::uuid[], $2::text[], $3::timestamptz[])', [ids, kinds, dues]);
      after = rows[rows.length - 1].id;
    }
  }

  private async applyCertificateEvents(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    if (events.length === 0) return;
    const defaults = await readRenewalDefaults(client);
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
        if (e.type === 'CertificateApprovalRequested' || e.type === 'CertificateRequestGenerated') awaitingSince = e.metadata.at;
      }
      if (state.state === 'Initial') continue;
      if (!waitsForAPerson(state)) awaitingSince = null;
      const last = list[list.length - 1];
      await upsertRow(client, id, seq, createdAt, state, last, awaitingSince);
      await syncTimers(client, id, state, awaitingSince, defaults);
    }
  }
}

/** Waiting for approvers, or for the operator to import the CA's certificate (`awaiting_since` is kept for these). */
const waitsForAPerson = (s: ExistingCertificateState): boolean =>
  s.state === 'AwaitingApproval' || (s.state === 'RequestGenerated' && s.request.provider === 'manual');

/**
 * The durable timers a certificate needs in its current state, under the fleet-wide renewal
 * defaults (see migrations 4 and 6 for the kinds). Pure.
 */
export function timersFor(
  s: ExistingCertificateState,
  awaitingSince: string | null,
  defaults: RenewalDefaults = BUILT_IN_RENEWAL_DEFAULTS,
): { kind: string; dueAt: string }[] {
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
      timers.push({ kind: 'renewal', dueAt: plannedRenewalAt(s, defaults).toISOString() });
    }
    timers.push({ kind: 'expiry-reminder', dueAt: nextReminderAt(s.certificate, s.lastReminderThreshold ?? null, effectiveThresholds(r, defaults)).toISOString() });
    // ACME: ask the CA for its renewal window (RFC 9773) right after issuance, then when it says.
    if (r.provider === 'acme' && autoRenewOf(r) && !s.renewedBy) {
      timers.push({ kind: 'renewal-info', dueAt: s.renewalInfo?.nextCheckAt ?? s.certificate.notBefore });
    }
    return timers;
  }
  const timers: { kind: string; dueAt: string }[] = [];
  if ((s.state === 'Requested' || s.state === 'RequestGenerated' || s.state === 'Submitted') && s.nextAttemptAt) {
    timers.push({ kind: 'next-attempt', dueAt: s.nextAttemptAt });
  }
  if (s.state === 'RequestGenerated' && s.request.provider === 'manual' && awaitingSince) {
    const due = nextImportReminderAt(awaitingSince, s.importRemindersSent ?? 0, defaults);
    if (due) timers.push({ kind: 'import-reminder', dueAt: due.toISOString() });
  }
  return timers;
}

async function syncTimers(client: PoolClient, id: string, s: ExistingCertificateState, awaitingSince: string | null, defaults: RenewalDefaults): Promise<void> {
  await client.query('DELETE FROM timers WHERE certificate_id = $1', [id]);
  for (const t of timersFor(s, awaitingSince, defaults)) {
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
