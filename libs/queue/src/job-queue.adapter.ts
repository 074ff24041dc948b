import { Queue } from 'bullmq';
import IORedis, { RedisOptions } from 'ioredis';
import { JOB_QUEUE, JobRequest, QueueName } from './queue.names';

export const redisConnection = (url: string, extra: RedisOptions = {}): IORedis =>
  new IORedis(url, { maxRetriesPerRequest: null, enableReadyCheck: true, ...extra });

/** Default job options: retried with exponential backoff; finished jobs are trimmed. */
export const DEFAULT_JOB_OPTIONS = {
  attempts: 5,
  backoff: { type: 'exponential', delay: 1_000 },
  removeOnComplete: { age: 24 * 3600, count: 20_000 },
  removeOnFail: { age: 7 * 24 * 3600 },
} as const;

/** Puts jobs on their queues. Adding a job whose id exists already changes nothing (BullMQ dedupes). */
export class JobQueue {
  private readonly queues = new Map<QueueName, Queue>();

  constructor(
    private readonly connection: IORedis,
    private readonly prefix: string,
    /** Whether close() also closes the connection (when it was made for this queue alone). */
    private readonly ownsConnection = false,
  ) {}

  queue(name: QueueName): Queue {
    let q = this.queues.get(name);
    if (!q) {
      q = new Queue(name, { connection: this.connection, prefix: this.prefix, defaultJobOptions: DEFAULT_JOB_OPTIONS });
      this.queues.set(name, q);
    }
    return q;
  }

  async enqueue(jobs: readonly JobRequest[]): Promise<void> {
    const byQueue = new Map<QueueName, JobRequest[]>();
    for (const j of jobs) {
      const q = JOB_QUEUE[j.name];
      byQueue.set(q, [...(byQueue.get(q) ?? []), j]);
    }
    await Promise.all(
      [...byQueue].map(([q, list]) =>
        this.queue(q).addBulk(list.map((j) => ({ name: j.name, data: j.payload, opts: { jobId: j.jobId } }))),
      ),
    );
  }

  async counts(): Promise<Record<string, Record<string, number>>> {
    const out: Record<string, Record<string, number>> = {};
    for (const name of Object.values(QueueName)) {
      out[name] = await this.queue(name).getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
    }
    return out;
  }

  async close(): Promise<void> {
    await Promise.all([...this.queues.values()].map((q) => q.close()));
    if (this.ownsConnection) await this.connection.quit().catch(() => undefined);
  }
}
