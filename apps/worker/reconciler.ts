import { LoggerService } from '@nestjs/common';
import { Pool } from 'pg';
import { JobQueue, JobRequest, jobIdFor } from '../../libs/queue/src';
import { outstandingJob } from './reactions';
import { Clock } from '../../libs/application/src';
import { PendingDeploymentsReconciler } from './deploy-reactions';

/**
 * Re-derives the outstanding work of every in-flight certificate from `certificate_view` and
 * enqueues it again, at start and periodically. This is what makes Redis disposable: after a
 * FLUSHALL or a lost job, the next pass puts the work back. Job ids come from the view's last
 * event, the same ids the dispatcher used, so a job still in Redis is not duplicated.
 * Certificates waiting on a durable timer (a retry after a failure, the next poll of a CA)
 * are left to the timer scheduler.
 */
export class Reconciler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<number> | null = null;

  constructor(
    private readonly pool: Pool,
    private readonly jobs: JobQueue,
    private readonly intervalMs: number,
    private readonly clock: Clock,
    private readonly log: LoggerService,
  ) {}

  start(): void {
    const tick = () => {
      this.running = this.reconcile()
        .catch((e) => {
          this.log.warn({ msg: 'reconcile failed', error: (e as Error).message }, 'Reconciler');
          return 0;
        })
        .finally(() => {
          if (this.timer !== null || this.intervalMs > 0) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.timer = setTimeout(tick, 0);
  }

  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  async reconcile(): Promise<number> {
    let after = 0;
    let enqueued = 0;
    for (;;) {
      const { rows } = await this.pool.query<{
        id: string; seq: string; state: string; provider: string; last_event_id: string; attempts: number; updated_at: Date; correlation_id: string | null;
      }>(
        `SELECT id, seq, state, provider, last_event_id, attempts, updated_at, (SELECT e.metadata->>'correlationId' FROM events e WHERE e.event_id = certificate_view.last_event_id) AS correlation_id
           FROM certificate_view
          WHERE state IN ('Requested', 'RequestGenerated', 'Submitted') AND seq > $1
            -- certificates waiting on a durable timer (a retry, the next poll) are the scheduler's
            AND NOT EXISTS (SELECT 1 FROM timers t WHERE t.certificate_id = certificate_view.id)
          ORDER BY seq LIMIT 1000`,
        [after],
      );
      if (rows.length === 0) break;
      const jobs: JobRequest[] = [];
      for (const r of rows) {
        after = Number(r.seq);
        const name = outstandingJob(r.state, r.provider);
        if (!name) continue;
        jobs.push({
          name,
          jobId: jobIdFor(r.last_event_id, name),
          payload: { certificateId: r.id, causationId: r.last_event_id, correlationId: r.correlation_id ?? r.last_event_id },
        });
      }
      if (jobs.length) await this.jobs.enqueue(jobs);
      enqueued += jobs.length;
    }
    enqueued += await new PendingDeploymentsReconciler(this.pool, this.jobs).reconcile();
    if (enqueued > 0) this.log.log({ msg: 'reconciled in-flight certificates', enqueued }, 'Reconciler');
    return enqueued;
  }
}

