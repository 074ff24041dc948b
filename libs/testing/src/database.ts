import { randomBytes } from 'node:crypto';
import { Client, Pool } from 'pg';
import { createPool, migrate } from '../../event-store/src';

export const testDatabaseUrl = (): string => process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/certflow';
export const testRedisUrl = (): string => process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export interface TestDatabase {
  url: string;
  name: string;
  pool: Pool;
  drop(): Promise<void>;
}

function withDatabase(url: string, name: string): string {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

/** A fresh, migrated database for one spec file (dropped afterwards). */
export async function createTestDatabase(label: string): Promise<TestDatabase> {
  const name = `certflow_t_${label.replace(/[^a-z0-9]/gi, '').toLowerCase().slice(0, 20)}_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: withDatabase(testDatabaseUrl(), 'postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const url = withDatabase(testDatabaseUrl(), name);
  const pool = createPool(url, { max: 20 });
  await migrate(pool);
  return {
    url,
    name,
    pool,
    async drop() {
      await pool.end().catch(() => undefined);
      const c = new Client({ connectionString: withDatabase(testDatabaseUrl(), 'postgres') });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

/** A unique BullMQ prefix per spec file, so parallel specs never share queues. */
export const testQueuePrefix = (label: string): string => `certflow-test-${label}-${randomBytes(3).toString('hex')}`;
