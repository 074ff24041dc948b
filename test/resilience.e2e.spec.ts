import { createDecipheriv } from 'node:crypto';
import IORedis from 'ioredis';
import { testRedisUrl } from '../libs/testing/src';
import { CertflowHarness } from './support/certflow.harness';

/**
 * Many requests at once, and the worst that can happen to the worker and Redis while they are
 * processed: every certificate must still be issued exactly once, and no key material may
 * appear anywhere but the key vault.
 */
let h: CertflowHarness;
let redis: IORedis;

beforeAll(async () => {
  h = await CertflowHarness.start('resilience');
  redis = new IORedis(testRedisUrl());
});
afterAll(async () => {
  await redis.quit();
  await h.stop();
});

async function requestMany(n: number, body: (i: number) => object): Promise<string[]> {
  const results = await Promise.all(Array.from({ length: n }, (_, i) => h.request('POST', '/certificates', body(i))));
  for (const r of results) expect(r.status).toBe(202);
  return results.map((r) => r.body.id);
}

async function issuedCount(ids: string[]): Promise<number> {
  const { rows } = await h.db.pool.query(`SELECT count(*)::int AS n FROM certificate_view WHERE state = 'Issued' AND id = ANY($1::uuid[])`, [ids]);
  return rows[0].n;
}

async function expectIssuedExactlyOnce(ids: string[]): Promise<void> {
  await h.waitFor(async () => (await issuedCount(ids)) === ids.length, 240_000, `${ids.length} certificates to be issued`);
  const { rows } = await h.db.pool.query(
    `SELECT stream_id, count(*) FILTER (WHERE type = 'CertificateIssued')::int AS issued,
            count(*) FILTER (WHERE type = 'CertificateRequestGenerated')::int AS generated
       FROM events WHERE stream_id = ANY($1::text[]) GROUP BY stream_id`,
    [ids.map((id) => `certificate-${id}`)],
  );
  expect(rows).toHaveLength(ids.length);
  for (const r of rows) expect([r.stream_id, r.issued, r.generated]).toEqual([r.stream_id, 1, 1]);
  const thumbprints = (await h.db.pool.query('SELECT thumbprint FROM certificate_view WHERE id = ANY($1::uuid[])', [ids])).rows.map((r) => r.thumbprint);
  expect(new Set(thumbprints).size).toBe(ids.length);
  expect((await h.db.pool.query('SELECT count(*)::int AS n FROM key_vault WHERE key_id = ANY($1::uuid[])', [ids])).rows[0].n).toBe(ids.length);
}

it('issues 100 concurrent RSA-2048 self-signed requests, each exactly once with a unique thumbprint', async () => {
  const started = Date.now();
  const ids = await requestMany(100, (i) => ({ provider: 'self-signed', domainNames: [`host${i}.load.contoso.com`], keyAlgorithm: 'RSA', keySize: 2048 }));
  expect(Date.now() - started).toBeLessThan(30_000);
  await expectIssuedExactlyOnce(ids);
});

it('issues 100 concurrent requests exactly once while the worker is killed with SIGKILL and Redis is flushed', async () => {
  const ids = await requestMany(100, (i) => ({
    provider: 'self-signed',
    domainNames: [`chaos${i}.contoso.com`],
    ...(i % 2 === 0 ? { keyAlgorithm: 'RSA', keySize: 2048 } : { keyAlgorithm: 'ECDSA', curve: 'P-256' }),
  }));
  // Kill the worker mid-flight: jobs it held are abandoned without any cleanup.
  await h.waitFor(async () => (await issuedCount(ids)) >= 10, 120_000, 'the first certificates');
  await h.killWorker();
  const atKill = await issuedCount(ids);
  expect(atKill).toBeLessThan(100);
  // While no worker runs, Redis loses everything: queued jobs, locks, BullMQ's bookkeeping.
  await redis.flushall();
  h.startWorker();
  await h.waitFor(async () => (await issuedCount(ids)) >= Math.min(atKill + 20, 95), 120_000, 'progress after the restart');
  await redis.flushall(); // and once more while the new worker is busy
  await expectIssuedExactlyOnce(ids);
  expect(h.logs.some((l) => l.includes('reconciled in-flight certificates'))).toBe(true);
});

it('never lets private key material reach the event log, Redis or the logs', async () => {
  const { rows: keys } = await h.db.pool.query('SELECT key_id, iv, auth_tag, ciphertext FROM key_vault');
  expect(keys.length).toBeGreaterThanOrEqual(200);
  const needles: string[] = [];
  for (const k of keys.slice(0, 60)) {
    const d = createDecipheriv('aes-256-gcm', h.masterKey, k.iv);
    d.setAAD(Buffer.from(k.key_id));
    d.setAuthTag(k.auth_tag);
    const pkcs8 = Buffer.concat([d.update(k.ciphertext), d.final()]);
    const b64 = pkcs8.toString('base64');
    // The private part sits in the back half of the PKCS#8 structure; any 32-char window of it
    // would show up in a base64, base64url or hex dump.
    const mid = Math.floor(b64.length * 0.6);
    needles.push(b64.slice(mid, mid + 32), pkcs8.subarray(-40, -8).toString('hex'), pkcs8.toString('base64url').slice(mid, mid + 32));
  }
  const haystacks: [string, string][] = [];
  const { rows } = await h.db.pool.query('SELECT data::text AS d, metadata::text AS m FROM events');
  haystacks.push(['events', rows.map((r) => r.d + r.m).join('\n')]);
  const { rows: views } = await h.db.pool.query('SELECT aggregate::text AS a FROM certificate_view');
  haystacks.push(['certificate_view', views.map((r) => r.a).join('\n')]);
  haystacks.push(['logs', h.logs.join('\n')]);
  const redisDump: string[] = [];
  for (const key of await redis.keys('*')) {
    const type = await redis.type(key);
    if (type === 'string') redisDump.push(String(await redis.get(key)));
    else if (type === 'hash') redisDump.push(JSON.stringify(await redis.hgetall(key)));
    else if (type === 'list') redisDump.push(JSON.stringify(await redis.lrange(key, '0', '-1')));
    else if (type === 'set') redisDump.push(JSON.stringify(await redis.smembers(key)));
    else if (type === 'zset') redisDump.push(JSON.stringify(await redis.zrange(key, '0', '-1')));
    else if (type === 'stream') redisDump.push(JSON.stringify(await redis.xrange(key, '-', '+')));
  }
  expect(redisDump.length).toBeGreaterThan(0);
  haystacks.push(['redis', redisDump.join('\n')]);
  for (const [where, text] of haystacks) {
    expect([where, /PRIVATE KEY/.test(text)]).toEqual([where, false]);
    for (const needle of needles) expect([where, text.includes(needle)]).toEqual([where, false]);
  }
  // The searches can find things: the same needles are in the key material itself.
  expect(needles.every((n) => n.length >= 32)).toBe(true);
});
