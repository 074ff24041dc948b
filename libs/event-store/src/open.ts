import { Pool } from 'pg';
import { createPool, ensureDatabase } from './database';
import { PostgresEventStore } from './event-store.adapter';
import { createEventStore } from './factory';
import { migrate } from './migrations';

/** Creates the database if missing, runs migrations, and opens the event store. */
export async function openEventStore(databaseUrl: string, poolSize = 10): Promise<{ pool: Pool; store: PostgresEventStore }> {
  await ensureDatabase(databaseUrl);
  const pool = createPool(databaseUrl, { max: poolSize });
  await migrate(pool);
  return { pool, store: createEventStore(pool) };
}
