import { Inject, Injectable } from '@nestjs/common';
import { Pool } from 'pg';
import { Clock } from '../../../libs/application/src';
import { CertflowConfig } from '../../../libs/config/src';
import { RenewalDefaults, effectiveRenewalPolicy, renewalTime } from '../../../libs/domain/src';
import { readRenewalDefaults } from '../../../libs/event-store/src';
import { CLOCK, CONFIG, PG_POOL } from '../common/tokens';
import { CertificatesService } from '../certificates/certificates.service';
import { Presented } from '../certificates/certificate.presenter';

/** Lead time from request to certificate when the log has no history for a provider yet. */
const DEFAULT_LEAD_SECONDS: Record<string, number> = { manual: 7 * 86_400, 'internal-ca': 3 * 86_400, acme: 3_600, 'self-signed': 60 };

export interface RenewalEntry {
  id: string;
  subject: string;
  certificateDomains: string[];
  provider: string;
  state: string;
  status: string;
  services: string[];
  notAfter: string;
  daysLeft: number;
  plannedRenewalAt: string;
  /** For providers where people act (a CA website, approvers): start by then so that the usual lead time still fits. */
  latestStartAt: string | null;
  leadTime: { seconds: number; samples: number; basis: 'history' | 'default' };
  renewedBy: string | null;
}

/**
 * The fleet's renewal calendar. Each certificate's planned renewal comes from the renewal
 * policy; the lead time a provider needs (request → certificate, 90th percentile) is learned
 * from the log, so that "when must I start at the latest" reflects how long the CA and the
 * approvers really take here.
 */
@Injectable()
export class RenewalsService {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(CONFIG) private readonly config: CertflowConfig,
    private readonly certificates: CertificatesService,
  ) {}

  /** 90th percentile of request → issued/imported per provider, from the event log. */
  async leadTimes(): Promise<Map<string, { seconds: number; samples: number }>> {
    const { rows } = await this.pool.query<{ provider: string; p90: number; n: string }>(
      `WITH requested AS (
         SELECT stream_id, (metadata->>'at')::timestamptz AS at, data->>'provider' AS provider
           FROM events WHERE type = 'CertificateRequested'),
       issued AS (
         SELECT stream_id, min((metadata->>'at')::timestamptz) AS at
           FROM events WHERE type IN ('CertificateIssued', 'CertificateImported') GROUP BY stream_id)
       SELECT r.provider, percentile_cont(0.9) WITHIN GROUP (ORDER BY extract(epoch FROM i.at - r.at)) AS p90, count(*) AS n
         FROM requested r JOIN issued i USING (stream_id) GROUP BY r.provider`,
    );
    return new Map(rows.map((r) => [r.provider, { seconds: Number(r.p90), samples: Number(r.n) }]));
  }

  /** Issued certificates expiring within `withinDays` (and already expired ones), soonest first. */
  async calendar(withinDays: number): Promise<RenewalEntry[]> {
    const now = this.clock.now();
    const leads = await this.leadTimes();
    const defaults = await readRenewalDefaults(this.pool);
    const entries: RenewalEntry[] = [];
    let cursor: string | undefined;
    do {
      const page = await this.certificates.list({ state: 'Issued', expiringWithinDays: withinDays, limit: 1000, cursor });
      // The planned renewal is the renewal timer itself (policy, ACME renewal window, or retry after a failure).
      const { rows } = await this.pool.query<{ certificate_id: string; due_at: Date }>(
        `SELECT certificate_id, due_at FROM timers WHERE kind = 'renewal' AND certificate_id = ANY($1::uuid[])`,
        [page.items.map((c) => c.id)],
      );
      const timers = new Map(rows.map((r) => [r.certificate_id, r.due_at]));
      for (const c of page.items) entries.push(this.entry(c, now, leads, timers.get(c.id as string) ?? null, defaults));
      cursor = page.nextCursor ?? undefined;
    } while (cursor);
    return entries.sort((a, b) => a.notAfter.localeCompare(b.notAfter) || a.id.localeCompare(b.id));
  }

  private entry(c: Presented, now: Date, leads: Map<string, { seconds: number; samples: number }>, timer: Date | null, defaults: RenewalDefaults): RenewalEntry {
    const notBefore = c.notBefore as string;
    const notAfter = c.notAfter as string;
    const provider = c.provider as string;
    // No renewal timer (autoRenew off, or a renewal in flight): when the policy says it is due.
    const planned = timer ?? renewalTime({ notBefore, notAfter }, effectiveRenewalPolicy((c.renewal ?? {}) as { provider: string }, defaults));
    const learned = leads.get(provider);
    const leadTime = learned && learned.samples > 0
      ? { seconds: Math.round(learned.seconds), samples: learned.samples, basis: 'history' as const }
      : { seconds: DEFAULT_LEAD_SECONDS[provider] ?? 86_400, samples: 0, basis: 'default' as const };
    const peopleInvolved = provider === 'manual' || (provider === 'internal-ca' && this.config.internalCa.approvalsRequired > 0);
    return {
      id: c.id as string,
      subject: c.subject as string,
      certificateDomains: c.certificateDomains as string[],
      provider,
      state: c.state as string,
      status: c.status as string,
      services: (c.services as string[]) ?? [],
      notAfter,
      daysLeft: Math.floor((Date.parse(notAfter) - now.getTime()) / 86_400_000),
      plannedRenewalAt: planned.toISOString(),
      latestStartAt: peopleInvolved ? new Date(Date.parse(notAfter) - leadTime.seconds * 1000).toISOString() : null,
      leadTime,
      renewedBy: (c.renewedBy as string | undefined) ?? null,
    };
  }
}

/** RFC 5545 text: backslash, semicolon, comma and new lines escaped. */
const icsText = (s: string): string => s.replace(/\\/g, '\\\\').replace(/;/g, '\\;').replace(/,/g, '\\,').replace(/\r?\n/g, '\\n');
const icsTime = (iso: string): string => iso.replace(/[-:]/g, '').replace(/\.\d{3}/, '');

/** Lines longer than 75 octets are folded (RFC 5545 §3.1). */
function fold(line: string): string {
  const bytes = Buffer.from(line, 'utf8');
  if (bytes.length <= 75) return line;
  const parts: string[] = [];
  let current = '';
  for (const ch of line) {
    if (Buffer.byteLength(current + ch, 'utf8') > (parts.length === 0 ? 75 : 74)) {
      parts.push(current);
      current = '';
    }
    current += ch;
  }
  parts.push(current);
  return parts.join('\r\n ');
}

/** The calendar as an iCalendar feed: a renewal event and an expiry event per certificate. */
export function toICalendar(entries: readonly RenewalEntry[], now: Date): string {
  const stamp = icsTime(now.toISOString());
  const lines = ['BEGIN:VCALENDAR', 'VERSION:2.0', 'PRODID:-//certflow//renewals//EN', 'CALSCALE:GREGORIAN', 'X-WR-CALNAME:certflow renewals'];
  for (const e of entries) {
    const name = e.certificateDomains[0] ?? e.subject;
    const what = `${e.subject} (${e.provider}${e.services.length ? `, ${e.services.join(' ')}` : ''})`;
    const event = (uid: string, at: string, summary: string, description: string) => {
      const end = new Date(Date.parse(at) + 30 * 60_000).toISOString();
      lines.push('BEGIN:VEVENT', `UID:${uid}@certflow`, `DTSTAMP:${stamp}`, `DTSTART:${icsTime(at)}`, `DTEND:${icsTime(end)}`,
        `SUMMARY:${icsText(summary)}`, `DESCRIPTION:${icsText(description)}`, 'END:VEVENT');
    };
    event(`${e.id}-renewal`, e.plannedRenewalAt, `Renew ${name}`, `Planned renewal of ${what}. Expires ${e.notAfter}. Certificate ${e.id}.`);
    if (e.latestStartAt) {
      event(`${e.id}-latest-start`, e.latestStartAt, `Last day to start renewing ${name}`, `${e.provider} usually takes ${Math.round(e.leadTime.seconds / 3600)} h (${e.leadTime.basis}). Certificate ${e.id}.`);
    }
    event(`${e.id}-expiry`, e.notAfter, `${name} expires`, `${what} expires. Certificate ${e.id}.`);
  }
  lines.push('END:VCALENDAR');
  return lines.map(fold).join('\r\n') + '\r\n';
}
