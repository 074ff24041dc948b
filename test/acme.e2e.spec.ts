import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import IORedis from 'ioredis';
import { testRedisUrl } from '../libs/testing/src';
import { CertflowHarness } from './support/certflow.harness';
import { Pebble, PebbleTls, freePort } from './support/pebble';

/**
 * The acme provider against Pebble, Let's Encrypt's test CA, on loopback: certflow registers
 * an account, orders, answers HTTP-01 on its own challenge route, finalizes with its CSR and
 * imports the chain, one durable step at a time.
 */
const tls = new PebbleTls();
const portOf = (h: CertflowHarness) => Number(new URL(h.baseUrl).port);

const acmeEnv = (pebble: { listenPort: number }, pollMs: number): Record<string, string> => ({
  ACME_DIRECTORY_URL: `https://127.0.0.1:${pebble.listenPort}/dir`,
  ACME_EMAIL: 'certflow-admin@example.com',
  NODE_EXTRA_CA_CERTS: tls.caFile,
  ACME_POLL_INTERVAL_MS: String(pollMs),
  CERTFLOW_TIMER_POLL_MS: '200',
});

async function events(h: CertflowHarness, id: string): Promise<{ type: string; data: any; metadata: { at: string } }[]> {
  return (await h.request('GET', `/certificates/${id}/events`)).body.items;
}

function opensslVerify(dir: string, rootPem: string, pem: string): string {
  const [leaf, ...chain] = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----\n?/g) ?? [];
  writeFileSync(join(dir, 'root.pem'), rootPem);
  writeFileSync(join(dir, 'leaf.pem'), leaf ?? '');
  writeFileSync(join(dir, 'chain.pem'), chain.join('\n'));
  return execFileSync('openssl', ['verify', '-CAfile', join(dir, 'root.pem'), '-untrusted', join(dir, 'chain.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

afterAll(() => tls.remove());

describe('with Pebble accepting every challenge (PEBBLE_VA_ALWAYS_VALID=1)', () => {
  let h: CertflowHarness;
  let pebble: Pebble;

  beforeAll(async () => {
    const ports = await Pebble.ports();
    h = await CertflowHarness.start('acme', acmeEnv(ports, 500));
    pebble = await Pebble.start({ tls, httpPort: portOf(h), alwaysValid: true, ...ports });
  });
  afterAll(async () => {
    await h?.stop();
    await pebble?.stop();
  });

  it('issues three concurrent requests through one account, with a chain that openssl verifies against Pebble\'s root', async () => {
    const names = [['www.acme-one.test', 'acme-one.test'], ['mail.acme-two.test'], ['host.acme-three.test']];
    const posted = await Promise.all(names.map((domainNames) => h.request('POST', '/certificates', { provider: 'acme', domainNames, keyAlgorithm: 'ECDSA', curve: 'P-256' })));
    for (const p of posted) expect(p.status).toBe(202);
    const ids: string[] = posted.map((p) => p.body.id);
    const issued = await Promise.all(ids.map((id) => h.waitForState(id, 'Issued')));

    const root = await pebble.rootPem();
    for (const [i, cert] of issued.entries()) {
      expect(cert.certificateDomains).toEqual(expect.arrayContaining(names[i]));
      expect(cert.issuer).toMatch(/Pebble Intermediate CA/);
      const pem = (await h.request('GET', `/certificates/${ids[i]}/pem`)).text;
      expect(opensslVerify(tls.dir, root, pem)).toMatch(/leaf\.pem: OK/);

      const history = await events(h, ids[i]);
      const submitted = history.filter((e) => e.type === 'CertificateRequestSubmitted');
      expect(submitted).toHaveLength(1);
      expect(submitted[0].data).toMatchObject({ provider: 'acme', orderId: expect.stringMatching(new RegExp(`^https://127\\.0\\.0\\.1:${pebble.listenPort}/my-order/`)) });
      expect(history.some((e) => e.type === 'CertificateOrderPolled')).toBe(true);
      expect(history.filter((e) => e.type === 'CertificateIssued')).toHaveLength(1);
    }

    const { rows } = await h.db.pool.query(`SELECT stream_id, data FROM events WHERE type = 'AcmeAccountRegistered'`);
    expect(rows).toHaveLength(1);
    expect(rows[0].stream_id).toMatch(/^acme-account-[0-9a-f]{16}$/);
    expect(rows[0].data).toMatchObject({ directoryUrl: pebble.directoryUrl, email: 'certflow-admin@example.com', accountUrl: expect.stringContaining('/my-account/') });
    // The account key is in the vault, and only its id is in the event.
    expect((await h.db.pool.query('SELECT algorithm FROM key_vault WHERE key_id = $1', [rows[0].data.keyId])).rows).toEqual([{ algorithm: 'ECDSA-P-256' }]);
    expect(JSON.stringify(rows[0].data)).not.toMatch(/PRIVATE KEY|"d":/);
    expect((await h.db.pool.query('SELECT count(*)::int AS n FROM acme_challenges')).rows[0].n).toBe(0);
  });

  it('asks Pebble for renewal information after issuance; Pebble 2.4 has none, so the policy time stands and it asks again in a week', async () => {
    const posted = await h.request('POST', '/certificates', { provider: 'acme', domainNames: ['ari.acme-one.test'], keyAlgorithm: 'ECDSA' });
    const cert = await h.waitForState(posted.body.id, 'Issued');
    await h.waitFor(async () => (await events(h, posted.body.id)).some((e) => e.type === 'RenewalInfoUpdated'), 30_000, 'RenewalInfoUpdated');
    const info = (await events(h, posted.body.id)).find((e) => e.type === 'RenewalInfoUpdated')!;
    expect(info.data).toMatchObject({ window: null, renewAt: null, error: expect.stringMatching(/no renewal information/) });
    const wait = Date.parse(info.data.nextCheckAt) - Date.parse(info.metadata.at);
    expect(wait).toBeGreaterThan(7 * 86_400_000 - 60_000);
    expect(wait).toBeLessThanOrEqual(7 * 86_400_000);
    const lifetime = Date.parse(cert.notAfter) - Date.parse(cert.notBefore);
    const { rows } = await h.db.pool.query(`SELECT kind, due_at FROM timers WHERE certificate_id = $1 ORDER BY kind`, [posted.body.id]);
    const due = Object.fromEntries(rows.map((r: { kind: string; due_at: Date }) => [r.kind, r.due_at.toISOString()]));
    expect(Date.parse(due.renewal)).toBe(Math.trunc(Date.parse(cert.notAfter) - lifetime / 3));
    expect(due['renewal-info']).toBe(info.data.nextCheckAt);
  });

  it('rejects a wildcard at once when the challenge is http-01, naming the reason', async () => {
    const posted = await h.request('POST', '/certificates', { provider: 'acme', domainNames: ['*.acme-wild.test'] });
    expect(posted.status).toBe(202);
    const cert = await h.waitForState(posted.body.id, 'Rejected');
    const rejected = (await events(h, posted.body.id)).find((e) => e.type === 'CertificateRequestRejected');
    expect(JSON.stringify(rejected?.data ?? cert)).toMatch(/dns-01/);
  });

  it('answers 404 on the challenge route for a token it does not know, without a token', async () => {
    const res = await h.request('GET', '/.well-known/acme-challenge/unknown-token', undefined, null);
    expect(res.status).toBe(404);
  });
});

describe('with Pebble validating HTTP-01 for real against certflow\'s challenge route', () => {
  let h: CertflowHarness;
  let pebble: Pebble;

  beforeAll(async () => {
    const ports = await Pebble.ports();
    h = await CertflowHarness.start('acme-http01', acmeEnv(ports, 500));
    pebble = await Pebble.start({ tls, httpPort: portOf(h), alwaysValid: false, ...ports });
  });
  afterAll(async () => {
    await h?.stop();
    await pebble?.stop();
  });

  it('issues for localhost after Pebble fetched the key authorization from /.well-known/acme-challenge/', async () => {
    const posted = await h.request('POST', '/certificates', { provider: 'acme', domainNames: ['localhost'] });
    expect(posted.status).toBe(202);
    const cert = await h.waitForState(posted.body.id, 'Issued');
    expect(cert.certificateDomains).toEqual(['localhost']);
    const pem = (await h.request('GET', `/certificates/${posted.body.id}/pem`)).text;
    expect(opensslVerify(tls.dir, await pebble.rootPem(), pem)).toMatch(/OK/);

    // Pebble's VA really fetched the token from certflow's API port, and the check passed.
    const fetched = pebble.logs.filter((l) => l.includes(`Attempting to validate w/ HTTP: http://localhost:${portOf(h)}/.well-known/acme-challenge/`));
    expect(fetched.length).toBeGreaterThan(0);
    expect(pebble.logs.some((l) => /set VALID by completed challenge/.test(l))).toBe(true);
    // The response was served from acme_challenges, and removed once the order was valid.
    expect((await h.db.pool.query('SELECT count(*)::int AS n FROM acme_challenges')).rows[0].n).toBe(0);
  });
});

describe('with Pebble validating HTTP-01 against a port where nothing answers', () => {
  let h: CertflowHarness;
  let pebble: Pebble;

  beforeAll(async () => {
    const ports = await Pebble.ports();
    h = await CertflowHarness.start('acme-refused', acmeEnv(ports, 500));
    pebble = await Pebble.start({ tls, httpPort: await freePort(), alwaysValid: false, ...ports });
  });
  afterAll(async () => {
    await h?.stop();
    await pebble?.stop();
  });

  it('ends Rejected with the CA\'s reason, and removes its challenge response', async () => {
    const posted = await h.request('POST', '/certificates', { provider: 'acme', domainNames: ['localhost'] });
    const cert = await h.waitForState(posted.body.id, 'Rejected');
    const rejected = (await events(h, posted.body.id)).find((e) => e.type === 'CertificateRequestRejected');
    expect(rejected?.data.reason).toMatch(/^ACME (authorization for localhost is invalid|order invalid): .*connection/i);
    expect(cert.state).toBe('Rejected');
    expect((await h.db.pool.query('SELECT count(*)::int AS n FROM acme_challenges')).rows[0].n).toBe(0);
  });
});

describe('with the worker killed (SIGKILL) and Redis flushed in the middle of an order', () => {
  let h: CertflowHarness;
  let pebble: Pebble;
  let redis: IORedis;

  beforeAll(async () => {
    const ports = await Pebble.ports();
    // A slow poll leaves time to kill the worker while the order is open at the CA.
    h = await CertflowHarness.start('acme-chaos', acmeEnv(ports, 3_000));
    pebble = await Pebble.start({ tls, httpPort: portOf(h), alwaysValid: true, ...ports });
    redis = new IORedis(testRedisUrl());
  });
  afterAll(async () => {
    await redis?.quit();
    await h?.stop();
    await pebble?.stop();
  });

  it('resumes from the durable timer and ends Issued exactly once, with the same order', async () => {
    const posted = await h.request('POST', '/certificates', { provider: 'acme', domainNames: ['chaos.acme.test'] });
    expect(posted.status).toBe(202);
    const id = posted.body.id;
    await h.waitForState(id, 'Submitted', 60_000);
    await h.killWorker();
    expect((await h.request('GET', `/certificates/${id}`)).body.state).toBe('Submitted');
    await redis.flushall();
    h.startWorker();
    await h.waitForState(id, 'Issued', 120_000);

    const history = await events(h, id);
    expect(history.filter((e) => e.type === 'CertificateIssued')).toHaveLength(1);
    const submitted = history.filter((e) => e.type === 'CertificateRequestSubmitted');
    expect(submitted).toHaveLength(1);
    // At least the poll recorded before the kill; Pebble may finish the order at the first call after it.
    expect(history.filter((e) => e.type === 'CertificateOrderPolled').length).toBeGreaterThanOrEqual(1);
  });
});
