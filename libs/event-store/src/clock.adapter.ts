import { Pool } from 'pg';
import { Clock } from '../../application/src';

/**
 * certflow's clock: the system clock, plus (only with CERTFLOW_TEST_CLOCK=1) an offset kept in
 * PostgreSQL so that end-to-end tests can move every process's time forward by days.
 * `sync()` reads the offset; workers call it before each job, the api before each request.
 */
export class CertflowClock implements Clock {
  private offsetMs = 0;

  constructor(
    private readonly pool: Pool,
    readonly testClock: boolean,
  ) {}

  now(): Date {
    return new Date(Date.now() + this.offsetMs);
  }

  async sync(): Promise<void> {
    if (!this.testClock) return;
    const { rows } = await this.pool.query<{ offset_ms: string }>('SELECT offset_ms FROM clock_offset');
    this.offsetMs = rows[0] ? Number(rows[0].offset_ms) : 0;
  }

  /** Moves the test clock forward (never back: timers and history must stay in order). */
  async advance(ms: number): Promise<Date> {
    if (!this.testClock) throw new Error('the test clock is not enabled');
    if (!(ms > 0)) throw new Error('advance needs a positive duration');
    const { rows } = await this.pool.query<{ offset_ms: string }>(
      `INSERT INTO clock_offset (id, offset_ms) VALUES (true, $1)
       ON CONFLICT (id) DO UPDATE SET offset_ms = clock_offset.offset_ms + EXCLUDED.offset_ms RETURNING offset_ms`,
      [Math.round(ms)],
    );
    this.offsetMs = Number(rows[0].offset_ms);
    return this.now();
  }
}
