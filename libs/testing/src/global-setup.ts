/**
 * Makes sure the tests have a PostgreSQL and a Redis. With a Docker engine, testcontainers
 * starts throwaway ones and exports their URLs; without one (as on CI here), the servers named
 * by DATABASE_URL / REDIS_URL (defaults: local PostgreSQL and Redis) are used.
 */
export default async function globalSetup(): Promise<void> {
  if (process.env.CERTFLOW_TEST_NO_CONTAINERS !== '1' && !process.env.DATABASE_URL) {
    try {
      const { getContainerRuntimeClient } = await import('testcontainers');
      await getContainerRuntimeClient();
      const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
      const { RedisContainer } = await import('@testcontainers/redis');
      const [pg, redis] = await Promise.all([
        new PostgreSqlContainer('postgres:16-alpine').withUsername('postgres').withPassword('postgres').start(),
        new RedisContainer('redis:7-alpine').start(),
      ]);
      process.env.DATABASE_URL = pg.getConnectionUri();
      process.env.REDIS_URL = redis.getConnectionUrl();
      (globalThis as Record<string, unknown>).__CERTFLOW_CONTAINERS__ = [pg, redis];
      return;
    } catch {
      // No container runtime: fall through to the configured servers.
    }
  }
  process.env.DATABASE_URL ??= 'postgres://postgres@127.0.0.1:5432/certflow';
  process.env.REDIS_URL ??= 'redis://127.0.0.1:6379';
}
