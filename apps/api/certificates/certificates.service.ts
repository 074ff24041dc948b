import { Inject, Injectable } from '@nestjs/common';
import { presentEvent } from '../common/event.presenter';
import { randomUUID } from 'node:crypto';
import { domainToASCII } from 'node:url';
import { Pool } from 'pg';
import { Clock, EventStore, handleCertificateCommand, loadCertificate, startRenewal } from '../../../libs/application/src';
import { ChainEvaluation, parseSubject } from '../../../libs/crypto/src';
import {
  CertificateRequestSpec, CertificateStatus, DomainError, ExistingCertificateState, KeySpec, ProviderName, parseRenewBefore,
} from '../../../libs/domain/src';
import { loadConfig } from '../../../libs/config/src';
import { ServiceBindingsReadModel } from '../../../libs/event-store/src';
import { RequestActor, metadataFor } from '../common/request-context';
import { CLOCK, EVENT_STORE, PG_POOL } from '../common/tokens';
import { TrustService } from '../trust/trust.service';
import { CreateCertificateDto, ListCertificatesQuery } from './certificates.dto';
import { presentCertificate, Presented } from './certificate.presenter';

/** Providers that can complete a request in this installation: acme only when a directory is configured. */
const availableProviders = (): ProviderName[] => [
  'self-signed',
  'manual',
  'internal-ca',
  ...(loadConfig().acme.directoryUrl ? (['acme'] as const) : []),
];

interface ViewRow {
  id: string;
  seq: string;
  version: number;
  aggregate: ExistingCertificateState;
  created_at: Date;
  updated_at: Date;
  not_before: Date | null;
  not_after: Date | null;
  is_self_signed: boolean | null;
  state: string;
}

@Injectable()
export class CertificatesService {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly trust: TrustService,
  ) {}

  async request(dto: CreateCertificateDto, who: RequestActor): Promise<{ id: string; state: string }> {
    const provider = dto.provider as ProviderName;
    const available = availableProviders();
    if (!available.includes(provider)) {
      throw new DomainError('ProviderNotAvailable', `provider "${provider}" is not configured in this installation (set ACME_DIRECTORY_URL for acme); available: ${available.join(', ')}.`, 'unprocessable');
    }
    const spec: CertificateRequestSpec = {
      provider,
      subject: dto.subject === undefined ? null : normaliseSubject(dto.subject),
      domainNames: dto.domainNames.map(toAsciiName),
      key: keySpec(dto),
      privateKeyExportable: dto.privateKeyExportable ?? false,
      friendlyName: dto.friendlyName ?? null,
      requestedServices: [...new Set((dto.services ?? []).map((s) => s.toUpperCase()))],
      validityDays: dto.validityDays ?? null,
      ...(dto.autoRenew !== undefined ? { autoRenew: dto.autoRenew } : {}),
      ...(dto.renewBefore !== undefined ? { renewBeforeMs: parseRenewBefore(dto.renewBefore) } : {}),
      ...(dto.renewBeforePercentage !== undefined ? { renewBeforePercentage: dto.renewBeforePercentage } : {}),
      ...(dto.reminderThresholds !== undefined ? { reminderThresholds: dto.reminderThresholds } : {}),
      ...(dto.contact !== undefined ? { contact: dto.contact } : {}),
    };
    const id = randomUUID();
    const result = await handleCertificateCommand(
      this.store,
      id,
      { type: 'RequestCertificate', data: { ...spec, certificateId: id, allowWeakKey: dto.allowWeakKey === true }, actor: who.actor },
      metadataFor(who, this.clock.now()),
    );
    return { id, state: result.state.state };
  }

  /** POST /certificates/:id/renew: starts a renewal now (the same clone the renewal timer makes). */
  async renew(id: string, reuseKey: boolean, who: RequestActor): Promise<{ id: string; state: string; renews: string }> {
    const renewalId = randomUUID();
    await startRenewal(this.store, { certificateId: id, renewalId, reuseKey, automatic: false, actor: who.actor }, metadataFor(who, this.clock.now()));
    const { state } = await loadCertificate(this.store, renewalId);
    return { id: renewalId, state: state.state, renews: id };
  }

  async remove(id: string, reason: string | null, who: RequestActor): Promise<Presented> {
    const result = await handleCertificateCommand(this.store, id, { type: 'RemoveCertificate', data: { reason }, actor: who.actor }, metadataFor(who, this.clock.now()));
    const row = await this.row(id);
    return row ? this.present(row, this.clock.now()) : { id, state: result.state.state };
  }

  async get(id: string, at?: string): Promise<Presented> {
    if (at) {
      const { state, version, events } = await loadCertificate(this.store, id, { untilAt: at });
      if (state.state === 'Initial') {
        throw new DomainError('CertificateNotFound', `Certificate ${id} did not exist at ${at}.`, 'not-found');
      }
      const when = new Date(at);
      const services = await new ServiceBindingsReadModel(this.pool).servicesOfAt(id, when.toISOString());
      return presentCertificate(state, { createdAt: events[0].metadata.at, updatedAt: events[events.length - 1].metadata.at, version }, when, await this.evaluate(state, when), services);
    }
    const row = await this.row(id);
    if (!row) throw notFound(id);
    return this.present(row, this.clock.now());
  }

  async state(id: string): Promise<ExistingCertificateState> {
    const row = await this.row(id);
    if (!row) throw notFound(id);
    return row.aggregate;
  }

  async events(id: string): Promise<unknown[]> {
    const events = await this.store.readStream(`certificate-${id}`);
    if (events.length === 0) throw notFound(id);
    return events.map(presentEvent);
  }

  async list(q: ListCertificatesQuery): Promise<{ items: Presented[]; nextCursor: string | null }> {
    const limit = q.limit ?? 100;
    const now = this.clock.now();
    const where: string[] = [];
    const params: unknown[] = [];
    const add = (sql: string, value: unknown) => {
      params.push(value);
      where.push(sql.replace('?', `$${params.length}`));
    };
    if (q.state) add('state = ?', q.state);
    else where.push(`state <> 'Removed'`);
    if (q.domain) {
      const domain = toAsciiName(q.domain.toLowerCase());
      add(`EXISTS (SELECT 1 FROM unnest(domain_names || certificate_domains) d WHERE d = ?::text OR right(d, length($${params.length + 1}) + 1) = '.' || $${params.length + 1})`, domain);
    }
    if (q.expiringWithinDays !== undefined) add('not_after <= ?::timestamptz', new Date(now.getTime() + q.expiringWithinDays * 86_400_000).toISOString());
    // The status depends on the clock, so it is computed per row, not stored; with a status filter
    // the page is filled by reading on until `limit` rows match.
    const items: Presented[] = [];
    let cursor = q.cursor ? Number(q.cursor) : 0;
    let more = false;
    const fetch = q.status ? 500 : limit + 1;
    scan: for (;;) {
      const { rows } = await this.pool.query<ViewRow>(
        `SELECT id, seq, version, aggregate, created_at, updated_at, not_before, not_after, is_self_signed, state
           FROM certificate_view WHERE seq > $${params.length + 1} ${where.length ? 'AND ' + where.join(' AND ') : ''}
          ORDER BY seq LIMIT $${params.length + 2}`,
        [...params, cursor, fetch],
      );
      const services = await new ServiceBindingsReadModel(this.pool).servicesOf(rows.map((r) => r.id));
      for (const r of rows) {
        const presented = await this.present(r, now, services.get(r.id) ?? []);
        if (q.status && presented.status !== (q.status as CertificateStatus)) {
          cursor = Number(r.seq);
          continue;
        }
        if (items.length === limit) {
          more = true;
          break scan;
        }
        cursor = Number(r.seq);
        items.push(presented);
      }
      if (rows.length < fetch) break;
    }
    return { items, nextCursor: more ? String(cursor) : null };
  }

  /** The chain evaluation of an issued certificate against the current trust store (null before issuance). */
  async evaluate(s: ExistingCertificateState, at?: Date): Promise<ChainEvaluation | null> {
    if (!('certificate' in s) || !s.certificate) return null;
    return this.trust.evaluate(s.certificate.thumbprint, s.certificate.certificatePem, s.certificate.chainPem, at);
  }

  /** `services`: the page's bindings, fetched in one query by the caller; a single row fetches its own. */
  private async present(r: ViewRow, now: Date, services?: string[]): Promise<Presented> {
    const bound = services ?? (await new ServiceBindingsReadModel(this.pool).servicesOf([r.id])).get(r.id) ?? [];
    return presentCertificate(
      r.aggregate,
      { createdAt: r.created_at.toISOString(), updatedAt: r.updated_at.toISOString(), version: r.version },
      now,
      await this.evaluate(r.aggregate),
      bound,
    );
  }

  /** Issued certificates with what the selection rules need (SQL narrows to names that can match). */
  async selectionCandidates(fqdn: string): Promise<{ state: ExistingCertificateState; evaluation: ChainEvaluation | null }[]> {
    const labels = fqdn.toLowerCase().split('.');
    const wildcard = labels.length > 1 ? `*.${labels.slice(1).join('.')}` : null;
    const { rows } = await this.pool.query<{ aggregate: ExistingCertificateState }>(
      `SELECT aggregate FROM certificate_view WHERE state = 'Issued' AND (certificate_domains && $1::text[]) ORDER BY seq`,
      [[fqdn.toLowerCase(), ...(wildcard ? [wildcard] : [])]],
    );
    return Promise.all(rows.map(async (r) => ({ state: r.aggregate, evaluation: await this.evaluate(r.aggregate) })));
  }

  private async row(id: string): Promise<ViewRow | null> {
    if (!UUID.test(id)) throw new DomainError('InvalidCertificateId', `"${id}" is not a certificate id (a UUID).`, 'invalid');
    const { rows } = await this.pool.query<ViewRow>(
      'SELECT id, seq, version, aggregate, created_at, updated_at, not_before, not_after, is_self_signed, state FROM certificate_view WHERE id = $1',
      [id],
    );
    return rows[0] ?? null;
  }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const notFound = (id: string) => new DomainError('CertificateNotFound', `No certificate with id ${id}.`, 'not-found');

function keySpec(dto: CreateCertificateDto): KeySpec {
  const algorithm = dto.keyAlgorithm ?? (dto.curve ? 'ECDSA' : 'RSA');
  if (algorithm === 'ECDSA') {
    const curve = dto.curve ?? (dto.keySize === 384 ? 'P-384' : dto.keySize === undefined || dto.keySize === 256 ? 'P-256' : null);
    if (!curve) throw new DomainError('UnsupportedKeySize', `ECDSA keySize must be 256 or 384; got ${dto.keySize}.`, 'invalid');
    return { algorithm: 'ECDSA', curve };
  }
  if (dto.curve) throw new DomainError('InvalidKeySpec', 'curve applies to ECDSA keys only.', 'invalid');
  return { algorithm: 'RSA', size: (dto.keySize ?? 2048) as 2048 };
}

/** IDNs become punycode (A-labels); a wildcard label stays as it is. */
function toAsciiName(name: string): string {
  if (/^[\x20-\x7e]*$/.test(name)) return name.toLowerCase();
  const labels = name.split('.').map((l) => (l === '*' ? l : domainToASCII(l) || l));
  return labels.join('.').toLowerCase();
}

/** The subject as administrators type it (`c=US, s=MyState, o=My Name, cn=mail.mitserv.net`), in canonical form. */
const normaliseSubject = (subject: string): string => parseSubject(subject).dn;

