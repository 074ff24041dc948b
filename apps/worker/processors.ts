import { LoggerService } from '@nestjs/common';
import { Job, UnrecoverableError, Worker } from 'bullmq';
import IORedis from 'ioredis';
import { CertificateWorkHandler, Clock, ServiceBindingWorkHandler, WorkContext, WorkResult, backoffMs } from '../../libs/application/src';
import { isDomainError } from '../../libs/domain/src';
import { CertificateJobPayload, JOB_QUEUE, JobName, QueueName } from '../../libs/queue/src';
import { deployJobHandlers } from './deploy-reactions';

type JobHandler = (ctx: WorkContext & { timerKind?: string }) => Promise<WorkResult>;

/** After this many failed rounds (each of BullMQ's attempts), a step is failed for good. */
export const MAX_STEP_FAILURES = 8;

/**
 * One processor per queue, thin: validate the payload, call the application handler, and turn
 * failures into events. A DomainError is permanent (recorded, not retried); anything else is
 * retried by BullMQ with backoff, and when its attempts run out the failure is recorded as an
 * event and the reconciler tries again after a longer backoff.
 */
export class QueueProcessors {
  private readonly workers: Worker[] = [];
  private readonly handlers: Map<JobName, JobHandler>;

  constructor(
    private readonly work: CertificateWorkHandler,
    private readonly connection: IORedis,
    private readonly prefix: string,
    private readonly concurrency: number,
    private readonly lockMs: number,
    private readonly clock: Clock,
    private readonly log: LoggerService,
    private readonly deploy?: ServiceBindingWorkHandler,
  ) {
    this.handlers = registerHandlers([
      [JobName.GenerateRequest, (ctx) => this.work.generateRequest(ctx)],
      [JobName.IssueCertificate, (ctx) => this.work.issueCertificate(ctx)],
      [JobName.FireTimer, (ctx) => this.work.fireTimer({ ...ctx, kind: ctx.timerKind ?? '' })],
      ...deployJobHandlers(this.deploy),
    ]);
  }

  start(queues: readonly QueueName[] = [QueueName.Crypto, QueueName.Ca, QueueName.Deploy]): void {
    for (const queue of queues) {
      const worker = new Worker(queue, (job) => this.process(job), {
        connection: this.connection,
        prefix: this.prefix,
        concurrency: this.concurrency,
        lockDuration: this.lockMs,
        stalledInterval: Math.max(1000, Math.floor(this.lockMs / 2)),
        maxStalledCount: 5,
      });
      worker.on('error', (e) => this.log.warn({ msg: 'queue worker error', queue, error: e.message }, 'Worker'));
      this.workers.push(worker);
    }
  }

  /** Waits for running jobs to finish, then stops (graceful shutdown). */
  async close(): Promise<void> {
    await Promise.all(this.workers.map((w) => w.close()));
  }

  async process(job: Job<CertificateJobPayload>): Promise<WorkResult> {
    const handler = this.handlers.get(job.name as JobName);
    if (!handler) throw new UnrecoverableError(`no handler for job ${job.name}`);
    const ctx = parsePayload(job.data);
    await this.clock.sync?.();
    try {
      const result = await handler(ctx);
      this.log.debug?.({ msg: 'job finished', job: job.name, certificateId: ctx.certificateId, ...result }, 'Worker');
      return result;
    } catch (e) {
      const reason = e instanceof Error ? e.message : String(e);
      if (isDomainError(e)) {
        await this.work.recordPermanentFailure(ctx, job.name, `${e.code}: ${reason}`);
        this.log.warn({ msg: 'job failed permanently', job: job.name, certificateId: ctx.certificateId, code: e.code }, 'Worker');
        throw new UnrecoverableError(reason);
      }
      const attempts = job.opts.attempts ?? 1;
      if (job.attemptsMade + 1 >= attempts) {
        const failures = await this.recordFailure(ctx, job.name, reason);
        this.log.warn({ msg: 'job attempts exhausted', job: job.name, certificateId: ctx.certificateId, failures, error: reason }, 'Worker');
      }
      throw e;
    }
  }

  private async recordFailure(ctx: WorkContext, step: string, reason: string): Promise<string> {
    const failuresSoFar = await this.work.failedAttempts(ctx.certificateId);
    const retryAt = new Date(this.clock.now().getTime() + backoffMs(failuresSoFar + 1));
    const result = await this.work.recordTransientFailure(ctx, step, reason, retryAt);
    // The event's attempt number is the count of failed rounds; past the limit, give up for good.
    if (result.outcome === 'done') {
      const failures = await this.work.failedAttempts(ctx.certificateId);
      if (failures >= MAX_STEP_FAILURES) {
        await this.work.recordPermanentFailure(ctx, step, `gave up after ${failures} failed rounds: ${reason}`);
        return `${failures} (final)`;
      }
      return `${failures}, next at ${retryAt.toISOString()}`;
    }
    return result.detail;
  }
}

function registerHandlers(entries: [JobName, JobHandler][]): Map<JobName, JobHandler> {
  const map = new Map<JobName, JobHandler>();
  for (const [name, handler] of entries) {
    if (map.has(name)) throw new Error(`job ${name} has two handlers`);
    map.set(name, handler);
  }
  const missing = (Object.keys(JOB_QUEUE) as JobName[]).filter((n) => !map.has(n));
  if (missing.length) throw new Error(`jobs without a handler: ${missing.join(', ')}`);
  return map;
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

function parsePayload(data: unknown): WorkContext & { timerKind?: string } {
  const d = data as Partial<CertificateJobPayload> | null;
  if (!d || typeof d.certificateId !== 'string' || !UUID.test(d.certificateId) || typeof d.causationId !== 'string') {
    throw new UnrecoverableError('job payload must carry certificateId (uuid) and causationId');
  }
  return { certificateId: d.certificateId, causationId: d.causationId, correlationId: d.correlationId ?? d.causationId, timerKind: d.timerKind };
}
