import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { Pool } from 'pg';
import { JobQueue } from '../../../libs/queue/src';
import { READ_ROLES, Roles } from '../auth/roles.decorator';
import { JOB_QUEUE } from '../ca/test-clock.controller';
import { PG_POOL } from '../common/tokens';
import { RenewalsService } from '../renewals/renewals.service';

const label = (v: string): string => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (l: Record<string, string>): string => `{${Object.entries(l).map(([k, v]) => `${k}="${label(v)}"`).join(',')}}`;

/**
 * Prometheus metrics, named after cert-manager's: per certificate its expiry, planned renewal
 * and readiness (status Valid), plus queue depths, failed jobs and due timers.
 */
@ApiTags('metrics')
@ApiBearerAuth()
@Controller('metrics')
export class MetricsController {
  constructor(
    private readonly renewals: RenewalsService,
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
    @Inject(PG_POOL) private readonly pool: Pool,
  ) {}

  @Get()
  @Roles(...READ_ROLES)
  @ApiProduces('text/plain')
  @ApiOperation({ summary: 'Prometheus metrics (text exposition format).' })
  async metrics(@Res() res: Response): Promise<void> {
    const items = await this.renewals.calendar(3650);
    const out: string[] = [];
    const family = (name: string, help: string, type = 'gauge') => out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    family('certflow_certificate_expiration_timestamp_seconds', 'The date after which the certificate expires (Unix seconds).');
    for (const c of items) {
      const l = { id: c.id, name: c.certificateDomains[0] ?? c.subject, provider: c.provider, state: c.state, status: c.status };
      out.push(`certflow_certificate_expiration_timestamp_seconds${labels(l)} ${Math.floor(Date.parse(c.notAfter) / 1000)}`);
    }
    family('certflow_certificate_renewal_timestamp_seconds', 'The planned renewal time of the certificate (Unix seconds).');
    for (const c of items) {
      const l = { id: c.id, name: c.certificateDomains[0] ?? c.subject, provider: c.provider, state: c.state, status: c.status };
      out.push(`certflow_certificate_renewal_timestamp_seconds${labels(l)} ${Math.floor(Date.parse(c.plannedRenewalAt) / 1000)}`);
    }
    family('certflow_certificate_ready_status', 'Whether the certificate is ready for use (status Valid), by condition.');
    for (const c of items) {
      const base = { id: c.id, name: c.certificateDomains[0] ?? c.subject, provider: c.provider, state: c.state, status: c.status };
      for (const condition of ['True', 'False', 'Unknown']) {
        const value = c.status === 'Valid' ? condition === 'True' : c.status === 'Unknown' ? condition === 'Unknown' : condition === 'False';
        out.push(`certflow_certificate_ready_status${labels({ ...base, condition })} ${value ? 1 : 0}`);
      }
    }
    family('certflow_queue_jobs', 'Jobs in each BullMQ queue by state (failed: jobs whose attempts ran out).');
    const counts = await this.jobs.counts();
    for (const [queue, byState] of Object.entries(counts)) {
      for (const [state, n] of Object.entries(byState)) out.push(`certflow_queue_jobs${labels({ queue, state })} ${n}`);
    }
    family('certflow_timers', 'Durable timers by kind, and how many are due now.');
    const { rows } = await this.pool.query<{ kind: string; total: string; due: string }>(
      `SELECT kind, count(*) AS total, count(*) FILTER (WHERE due_at <= now()) AS due FROM timers GROUP BY kind ORDER BY kind`,
    );
    for (const r of rows) {
      out.push(`certflow_timers${labels({ kind: r.kind, due: 'false' })} ${Number(r.total) - Number(r.due)}`);
      out.push(`certflow_timers${labels({ kind: r.kind, due: 'true' })} ${r.due}`);
    }
    family('certflow_certificates', 'Certificates by lifecycle state.');
    const states = await this.pool.query<{ state: string; n: string }>('SELECT state, count(*) AS n FROM certificate_view GROUP BY state ORDER BY state');
    for (const s of states.rows) out.push(`certflow_certificates${labels({ state: s.state })} ${s.n}`);
    res.status(200).set({ 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).send(out.join('\n') + '\n');
  }
}
