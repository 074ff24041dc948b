import { execFileSync } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Job } from 'bullmq';
import IORedis from 'ioredis';
import { CertificateWorkHandler, EventMetadata, Issuer, handleCertificateCommand, loadCertificate, systemClock } from '../../libs/application/src';
import { JsonLogger } from '../../libs/config/src';
import { KeyVault, VaultKeyService } from '../../libs/crypto/src';
import { PostgresEventStore, createEventStore } from '../../libs/event-store/src';
import { SelfSignedIssuer } from '../../libs/issuers/src';
import { JobName, JobQueue, QueueName, redisConnection } from '../../libs/queue/src';
import { TestDatabase, aRequestCommand, createTestDatabase, testQueuePrefix, testRedisUrl } from '../../libs/testing/src';
import { Dispatcher } from './dispatcher';
import { QueueProcessors } from './processors';
import { Reconciler } from './reconciler';

const log = new JsonLogger('test', 'error');
const meta = (): EventMetadata => ({ actor: 'alice', at: new Date().toISOString(), correlationId: randomUUID(), causationId: null });

let db: TestDatabase;
let store: PostgresEventStore;
let redis: IORedis;
let prefix: string;
let jobs: JobQueue;
let work: CertificateWorkHandler;
const connections: IORedis[] = [];
const connection = () => {
  const c = redisConnection(testRedisUrl());
  connections.push(c);
  return c;
};
const masterKey = randomBytes(32);

async function waitFor<T>(fn: () => Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > until) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 50));
  }
}

const stateOf = async (id: string) => (await loadCertificate(store, id)).state.state;

async function flushPrefix(): Promise<void> {
  const keys = await redis.keys(`${prefix}:*`);
  if (keys.length) await redis.del(...keys);
}

beforeAll(async () => {
  db = await createTestDatabase('worker');
  store = createEventStore(db.pool);
  redis = redisConnection(testRedisUrl());
  prefix = testQueuePrefix('worker');
  jobs = new JobQueue(redis, prefix);
  const vault = new KeyVault(db.pool, masterKey);
  work = new CertificateWorkHandler(store, new VaultKeyService(vault), new Map<string, Issuer>([['self-signed', new SelfSignedIssuer(vault)]]), systemClock);
});
afterAll(async () => {
  await flushPrefix();
  await jobs.close();
  await Promise.all(connections.map((c) => c.quit()));
  await redis.quit();
  await db.drop();
});

describe('the dispatcher', () => {
  it('enqueues one job per reaction with an id derived from the causing event, and never twice', async () => {
    const id = randomUUID();
    const { newEvents } = await handleCertificateCommand(store, id, aRequestCommand(id), meta());
    const dispatcher = new Dispatcher(db.url, store, jobs, 50, log);
    await dispatcher.dispatchBatch();
    const job = await jobs.queue(QueueName.Crypto).getJob(`${newEvents[0].eventId}_${JobName.GenerateRequest}`);
    expect(job?.data).toEqual({ certificateId: id, causationId: newEvents[0].eventId, correlationId: newEvents[0].metadata.correlationId });
    expect(JSON.stringify(job?.data)).not.toMatch(/PRIVATE|BEGIN/);
    // Replaying from the start (as after a crash before the checkpoint moved) adds nothing new.
    const before = await jobs.queue(QueueName.Crypto).getJobCountByTypes('waiting');
    await db.pool.query('DELETE FROM subscription_checkpoints');
    while ((await dispatcher.dispatchBatch()) > 0);
    expect(await jobs.queue(QueueName.Crypto).getJobCountByTypes('waiting')).toBe(before);
    await jobs.queue(QueueName.Crypto).obliterate({ force: true });
  });
});

describe('the worker pipeline', () => {
  it('takes RSA and ECDSA requests to Issued, with CSRs that openssl verifies', async () => {
    const processors = new QueueProcessors(work, connection(), prefix, 4, 5_000, systemClock, log);
    const dispatcher = new Dispatcher(db.url, store, jobs, 50, log);
    processors.start();
    dispatcher.start();
    try {
      const specs = [
        { key: { algorithm: 'RSA' as const, size: 2048 as const } },
        { key: { algorithm: 'ECDSA' as const, curve: 'P-256' as const } },
        { key: { algorithm: 'ECDSA' as const, curve: 'P-384' as const }, domainNames: ['mail.contoso.com', 'autodiscover.contoso.com'] },
        { provider: 'manual' as const },
      ];
      const ids = await Promise.all(
        specs.map(async (spec) => {
          const id = randomUUID();
          await handleCertificateCommand(store, id, aRequestCommand(id, spec), meta());
          return id;
        }),
      );
      for (const id of ids.slice(0, 3)) await waitFor(async () => (await stateOf(id)) === 'Issued');
      // A manual request stops at RequestGenerated: the operator takes the CSR to a CA.
      await waitFor(async () => (await stateOf(ids[3])) === 'RequestGenerated');
      const dir = mkdtempSync(join(tmpdir(), 'certflow-csr-'));
      for (const id of ids) {
        const { state } = await loadCertificate(store, id);
        if (!('csrPem' in state) || !state.csrPem) throw new Error('no CSR');
        writeFileSync(join(dir, `${id}.csr`), state.csrPem);
        const text = execFileSync('openssl', ['req', '-in', join(dir, `${id}.csr`), '-noout', '-verify', '-text'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
        for (const name of state.request.domainNames) expect(text).toContain(`DNS:${name}`);
      }
    } finally {
      await dispatcher.stop();
      await processors.close();
    }
  });

  it('runs a duplicated job once: one CertificateRequestGenerated event and one vaulted key', async () => {
    const id = randomUUID();
    const { newEvents } = await handleCertificateCommand(store, id, aRequestCommand(id, { key: { algorithm: 'ECDSA', curve: 'P-256' } }), meta());
    const ctx = { certificateId: id, causationId: newEvents[0].eventId, correlationId: 'c' };
    const results = await Promise.all([work.generateRequest(ctx), work.generateRequest(ctx), work.generateRequest(ctx)]);
    expect(results.filter((r) => r.outcome === 'done')).toHaveLength(1);
    const { events } = await loadCertificate(store, id);
    expect(events.filter((e) => e.type === 'CertificateRequestGenerated')).toHaveLength(1);
    expect((await db.pool.query('SELECT count(*)::int AS n FROM key_vault WHERE key_id = $1', [id])).rows[0].n).toBe(1);
    // Issuing twice, too, gives one certificate.
    await Promise.all([work.issueCertificate(ctx), work.issueCertificate(ctx)]);
    expect((await loadCertificate(store, id)).events.filter((e) => e.type === 'CertificateIssued')).toHaveLength(1);
  });

  it('records a failure that retries cannot fix as an event with its reason, instead of losing it', async () => {
    const id = randomUUID();
    const { newEvents } = await handleCertificateCommand(store, id, aRequestCommand(id, { key: { algorithm: 'ECDSA', curve: 'P-256' } }), meta());
    const ctx = { certificateId: id, causationId: newEvents[0].eventId, correlationId: 'c' };
    await work.generateRequest(ctx);
    // A worker configured with the wrong master key cannot decrypt the key: a real failure.
    const wrongVault = new KeyVault(db.pool, randomBytes(32));
    const broken = new CertificateWorkHandler(store, new VaultKeyService(wrongVault), new Map<string, Issuer>([['self-signed', new SelfSignedIssuer(wrongVault)]]), systemClock);
    const processors = new QueueProcessors(broken, redis, prefix, 1, 5_000, systemClock, log);
    const job = { name: JobName.IssueCertificate, data: ctx, opts: { attempts: 3 }, attemptsMade: 2 } as unknown as Job;
    await expect(processors.process(job)).rejects.toThrow(/authenticate/);
    const { state, events } = await loadCertificate(store, id);
    expect(state.state).toBe('RequestGenerated');
    const failed = events.find((e) => e.type === 'CertificateStepFailed');
    expect(failed?.data).toMatchObject({ step: 'issue-certificate', attempt: 1 });
    expect((failed?.data as { reason: string }).reason).toMatch(/authenticate/);
  });
});

describe('the reconciler', () => {
  it('puts the work of every in-flight certificate back after Redis lost it', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 5; i++) {
      const id = randomUUID();
      await handleCertificateCommand(store, id, aRequestCommand(id, { key: { algorithm: 'ECDSA', curve: 'P-256' } }), meta());
      ids.push(id);
    }
    const dispatcher = new Dispatcher(db.url, store, jobs, 50, log);
    while ((await dispatcher.dispatchBatch()) > 0);
    await flushPrefix(); // the queued jobs are gone, and the dispatcher's checkpoint has moved on
    const processors = new QueueProcessors(work, connection(), prefix, 4, 5_000, systemClock, log);
    processors.start();
    try {
      await new Promise((r) => setTimeout(r, 300));
      expect(await Promise.all(ids.map(stateOf))).toEqual(ids.map(() => 'Requested'));
      const reconciler = new Reconciler(db.pool, jobs, 0, systemClock, log);
      // First pass: key + CSR; the second puts the issuing back (the dispatcher is not running).
      await waitFor(async () => {
        await reconciler.reconcile();
        return (await Promise.all(ids.map(stateOf))).every((s) => s === 'Issued');
      });
      for (const id of ids) expect((await loadCertificate(store, id)).events.filter((e) => e.type === 'CertificateIssued')).toHaveLength(1);
    } finally {
      await processors.close();
    }
  });
});
