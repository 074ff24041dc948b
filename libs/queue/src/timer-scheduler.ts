import { Pool } from 'pg';
import { JobQueue } from './job-queue.adapter';
import { JobName, JobRequest } from './queue.names';

/**
 * Moves due durable timers (PostgreSQL table `timers`) into BullMQ. Job ids come from the
 * certificate, the timer kind and its due time, so running this every second — or after a
 * Redis FLUSHALL — enqueues each firing once. A timer disappears when its certificate's state
 * no longer needs it; until then a lost job is simply enqueued again.
 */
export async function enqueueDueTimers(pool: Pool, jobs: JobQueue, now: Date, limit = 1000): Promise<number> {
  const { rows } = await pool.query<{ certificate_id: string; kind: string; due_at: Date }>(
    'SELECT certificate_id, kind, due_at FROM timers WHERE due_at <= $1 ORDER BY due_at LIMIT $2',
    [now.toISOString(), limit],
  );
  const requests: JobRequest[] = rows.map((r) => {
    const causationId = `timer-${r.kind}-${r.due_at.getTime()}`;
    return {
      name: JobName.FireTimer,
      jobId: `${r.certificate_id}_${causationId}`,
      payload: { certificateId: r.certificate_id, causationId, correlationId: causationId, timerKind: r.kind },
    };
  });
  if (requests.length) await jobs.enqueue(requests);
  return requests.length;
}
