import { Client } from 'pg';
import { LoggerService } from '@nestjs/common';
import { EVENTS_CHANNEL, LOG_START, LogPosition, PostgresEventStore } from '../../libs/event-store/src';
import { JobQueue } from '../../libs/queue/src';
import { reactionsTo } from './reactions';

const SUBSCRIPTION = 'dispatcher';
/** Only one dispatcher tails the log at a time; the others wait on this advisory lock. */
const DISPATCHER_LOCK = '7165420311';

/**
 * Tails the event log from a checkpoint kept in PostgreSQL and turns events into jobs.
 * Woken by NOTIFY, with a polling fallback. The checkpoint moves only after the jobs are
 * in Redis; a crash in between re-enqueues the same deterministic job ids (a no-op).
 */
export class Dispatcher {
  private client: Client | null = null;
  private stopped = false;
  private wake: (() => void) | null = null;
  private loop: Promise<void> | null = null;
  private leader = false;

  constructor(
    private readonly databaseUrl: string,
    private readonly store: PostgresEventStore,
    private readonly jobs: JobQueue,
    private readonly pollMs: number,
    private readonly log: LoggerService,
  ) {}

  start(): void {
    this.loop = this.run().catch((e) => this.log.error({ msg: 'dispatcher stopped', error: (e as Error).message }, undefined, 'Dispatcher'));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.wake?.();
    await this.loop;
    await this.client?.end().catch(() => undefined);
  }

  isLeader(): boolean {
    return this.leader;
  }

  private async connect(): Promise<void> {
    const client = new Client({ connectionString: this.databaseUrl });
    client.on('error', () => undefined);
    client.on('notification', () => this.wake?.());
    await client.connect();
    await client.query(`LISTEN ${EVENTS_CHANNEL}`);
    this.client = client;
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        if (!this.client) await this.connect();
        if (!this.leader) {
          const { rows } = await this.client!.query<{ ok: boolean }>('SELECT pg_try_advisory_lock($1) AS ok', [DISPATCHER_LOCK]);
          this.leader = rows[0].ok;
          if (this.leader) this.log.log({ msg: 'dispatcher is active' }, 'Dispatcher');
        }
        if (this.leader) {
          const moved = await this.dispatchBatch();
          if (moved > 0) continue; // more may be waiting
        }
        await this.sleep(this.leader ? this.pollMs : this.pollMs * 5);
      } catch (e) {
        this.log.warn({ msg: 'dispatcher error; reconnecting', error: (e as Error).message }, 'Dispatcher');
        this.leader = false;
        await this.client?.end().catch(() => undefined);
        this.client = null;
        await this.sleep(this.pollMs);
      }
    }
  }

  /** One batch: read after the checkpoint, enqueue, move the checkpoint. Returns events handled. */
  async dispatchBatch(): Promise<number> {
    const from = await this.checkpoint();
    const events = await this.store.readAllAfter(from, 500);
    if (events.length === 0) return 0;
    const jobs = events.flatMap(reactionsTo);
    if (jobs.length) await this.jobs.enqueue(jobs);
    const last = events[events.length - 1];
    await this.store.pool.query(
      `INSERT INTO subscription_checkpoints (name, transaction_id, global_position, updated_at) VALUES ($1, $2::xid8, $3, now())
       ON CONFLICT (name) DO UPDATE SET transaction_id = EXCLUDED.transaction_id, global_position = EXCLUDED.global_position, updated_at = now()`,
      [SUBSCRIPTION, last.transactionId, last.globalPosition],
    );
    return events.length;
  }

  private async checkpoint(): Promise<LogPosition> {
    const { rows } = await this.store.pool.query<{ tx: string; pos: string }>(
      'SELECT transaction_id::text AS tx, global_position AS pos FROM subscription_checkpoints WHERE name = $1',
      [SUBSCRIPTION],
    );
    return rows[0] ? { transactionId: rows[0].tx, globalPosition: Number(rows[0].pos) } : LOG_START;
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(done, ms);
      function done() {
        clearTimeout(timer);
        resolve();
      }
      this.wake = done;
    });
  }
}
