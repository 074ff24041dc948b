import { execFileSync } from 'node:child_process';
import IORedis from 'ioredis';
import { testRedisUrl } from '../libs/testing/src';
import { CertflowHarness } from './support/certflow.harness';
import { OpensslCa } from './support/openssl-ca';

/**
 * The internal CA with human approval, over days of (test-clock) time: reminders, approval by a
 * second person, issuance verified by openssl, revocation on the CRL, timeouts, policy — and
 * the same flow surviving a worker kill -9 and a Redis FLUSHALL in the middle.
 */
let h: CertflowHarness;
let redis: IORedis;
let tools: OpensslCa; // only for running openssl on files
const tokens: Record<string, string> = {};

beforeAll(async () => {
  h = await CertflowHarness.start('internalca', {
    CERTFLOW_TEST_CLOCK: '1',
    CERTFLOW_TIMER_POLL_MS: '200',
    CERTFLOW_INTERNAL_CA_ALLOWED_DOMAINS: 'contoso.test,*.fabrikam.test',
    CERTFLOW_INTERNAL_CA_NAME: 'Contoso Test',
  });
  redis = new IORedis(testRedisUrl());
  tools = new OpensslCa('Tools');
  for (const [name, roles] of [['alice', ['requester', 'approver']], ['bob', ['approver']], ['ops', ['operator']]] as const) {
    tokens[name] = (await h.request('POST', '/tokens', { name, roles })).body.token;
  }
});
afterAll(async () => {
  await redis.quit();
  await h.stop();
});

const advance = async (days: number) => {
  const res = await h.request('POST', '/test/clock/advance', { days });
  expect(res.status).toBe(200);
  return res.body;
};
const events = async (id: string) => (await h.request('GET', `/certificates/${id}/events`)).body.items as any[];
const reminders = async (id: string) => (await events(id)).filter((e) => e.type === 'CertificateApprovalReminderSent');
const waitForReminders = (id: string, n: number) => h.waitFor(async () => (await reminders(id)).length >= n, 30_000, `${n} reminders for ${id}`);

async function requestInternal(domainNames: string[], token = tokens.alice): Promise<string> {
  const res = await h.request('POST', '/certificates', { provider: 'internal-ca', domainNames, keyAlgorithm: 'ECDSA' }, token);
  expect(res.status).toBe(202);
  return res.body.id;
}

describe('a three-day approval', () => {
  let id: string;

  it('waits for an approver, saying who must act and until when', async () => {
    id = await requestInternal(['mail.contoso.test', 'autodiscover.contoso.test']);
    const c = await h.waitForState(id, 'AwaitingApproval');
    expect(c).toMatchObject({ status: 'PendingRequest', approvals: [], approvalsRequired: 1, remindersSent: 0, nextAction: { by: 'approver' } });
    const asked = (await events(id)).find((e) => e.type === 'CertificateApprovalRequested');
    const days = (Date.parse(asked.data.expiresAt) - Date.parse(asked.metadata.at)) / 86_400_000;
    expect(days).toBeCloseTo(14, 5);
    expect(asked.data.remindEveryHours).toBe(24);
  });

  it('reminds the approvers on day 1 and day 2, once each', async () => {
    await advance(1);
    await waitForReminders(id, 1);
    await advance(1);
    await waitForReminders(id, 2);
    await new Promise((r) => setTimeout(r, 1_000)); // nothing more arrives
    expect((await reminders(id)).map((e) => e.data.reminder)).toEqual([1, 2]);
    expect(h.logs.some((l) => l.includes('approvers reminded'))).toBe(true);
    expect(h.logs.some((l) => l.includes('approvers notified') && l.includes(id))).toBe(true);
  });

  it('refuses the requester as approver (separation of duties) and a token without the approver role', async () => {
    const self = await h.request('POST', `/certificates/${id}/approve`, { comment: 'mine' }, tokens.alice);
    expect(self.status).toBe(403);
    expect(self.body).toMatchObject({ code: 'SeparationOfDuties', message: expect.stringMatching(/alice requested this certificate/) });
    expect((await h.request('POST', `/certificates/${id}/approve`, {}, tokens.ops)).status).toBe(403);
  });

  it('is issued after a second person approves on day 3, and openssl verifies the chain', async () => {
    // Day 3 (before the third reminder would be due, 72 hours after the request).
    const res = await h.request('POST', '/test/clock/advance', { hours: 20 });
    expect(res.status).toBe(200);
    const approved = await h.request('POST', `/certificates/${id}/approve`, { comment: 'checked with the mail team' }, tokens.bob);
    expect(approved.status).toBe(200);
    const c = await h.waitForState(id, 'Issued');
    expect(c).toMatchObject({ status: 'Valid', rootCAType: 'Internal', isSelfSigned: false, issuer: 'CN=Contoso Test Issuing CA, O=Contoso Test' });
    const types = (await events(id)).map((e) => e.type);
    expect(types).toEqual([
      'CertificateRequested', 'CertificateRequestGenerated', 'CertificateRequestSubmitted', 'CertificateApprovalRequested',
      'CertificateApprovalReminderSent', 'CertificateApprovalReminderSent', 'CertificateRequestApproved', 'CertificateIssued',
    ]);
    const approval = (await events(id)).find((e) => e.type === 'CertificateRequestApproved');
    expect(approval.data).toEqual({ approvedBy: 'bob', comment: 'checked with the mail team' });
    const root = (await h.request('GET', '/ca/internal/root.crt', undefined, null)).text;
    const chain = (await h.request('GET', `/certificates/${id}/pem`)).text;
    const rootFile = tools.write('internal-root.pem', root);
    const chainFile = tools.write('internal-chain.pem', chain);
    // The test clock is days ahead of the system clock; openssl checks at the test clock's time.
    const at = String(Math.floor(Date.parse((await h.request('GET', '/test/clock')).body.now) / 1000));
    expect(tools.run(['verify', '-attime', at, '-CAfile', rootFile, '-untrusted', chainFile, '-purpose', 'sslserver', chainFile])).toMatch(/OK/);
    const text = tools.run(['x509', '-noout', '-text'], chain);
    expect(text).toMatch(/DNS:mail.contoso.test, DNS:autodiscover.contoso.test/);
    expect(text).toMatch(/\/ca\/internal\/crl/);
  });

  it('lists the certificate on the CRL once revoked, as openssl crl shows', async () => {
    const before = execFileSync('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], { input: Buffer.from(await (await fetch(`${h.baseUrl}/ca/internal/crl`)).arrayBuffer()) }).toString();
    const c = (await h.request('GET', `/certificates/${id}`)).body;
    expect(before).not.toContain(c.serialNumber);
    const revoked = await h.request('POST', `/certificates/${id}/revoke`, { reason: 'keyCompromise' }, tokens.ops);
    expect(revoked.status).toBe(200);
    expect(revoked.body).toMatchObject({ state: 'Revoked', status: 'Revoked' });
    const crl = Buffer.from(await (await fetch(`${h.baseUrl}/ca/internal/crl`)).arrayBuffer());
    const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-noout', '-text'], { input: crl }).toString();
    expect(text).toContain(`Serial Number: ${c.serialNumber}`);
    expect(text).toMatch(/Key Compromise/);
    const crlFile = tools.write('internal.crl', crl);
    const interFile = tools.write('internal-inter.pem', (await h.request('GET', `/certificates/${id}/pem`)).text.split(/(?<=-----END CERTIFICATE-----\n)/)[1]);
    expect(tools.run(['crl', '-inform', 'DER', '-in', crlFile, '-CAfile', interFile, '-noout'])).toBe('');
  });
});

describe('requests nobody approves, and requests the policy refuses', () => {
  it('is rejected with ApprovalTimedOut after 14 days, with no burst of reminders', async () => {
    const id = await requestInternal(['old.contoso.test']);
    await h.waitForState(id, 'AwaitingApproval');
    await advance(15);
    const c = await h.waitForState(id, 'Rejected');
    expect(c.reason).toMatch(/^ApprovalTimedOut/);
    const rejected = (await events(id)).find((e) => e.type === 'CertificateRequestRejected');
    expect(rejected.data.rejectedBy).toBe('certflow-worker');
    expect((await reminders(id)).length).toBeLessThanOrEqual(1);
    expect((await h.request('POST', `/certificates/${id}/approve`, {}, tokens.bob)).status).toBe(409);
  });

  it('rejects a name outside the CA\'s policy with the reason, without asking anyone', async () => {
    const id = await requestInternal(['www.evil.test']);
    const c = await h.waitForState(id, 'Rejected');
    expect(c.reason).toMatch(/PolicyViolation: .*www.evil.test/);
    expect((await events(id)).map((e) => e.type)).not.toContain('CertificateApprovalRequested');
  });

  it('lets an approver reject with a reason', async () => {
    const id = await requestInternal(['shop.fabrikam.test']);
    await h.waitForState(id, 'AwaitingApproval');
    const res = await h.request('POST', `/certificates/${id}/reject`, { reason: 'shop is decommissioned' }, tokens.bob);
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ state: 'Rejected', reason: 'shop is decommissioned' });
  });
});

describe('the same flow through a worker kill -9 and a Redis FLUSHALL', () => {
  it('still reminds once per day and issues after approval, exactly once', async () => {
    const id = await requestInternal(['resilient.contoso.test']);
    await h.waitForState(id, 'AwaitingApproval');
    await h.killWorker();
    await redis.flushall();
    await advance(1); // the api fires the due reminder into Redis; no worker runs
    await redis.flushall(); // ...and Redis loses it
    h.startWorker();
    await waitForReminders(id, 1); // the worker's timer scheduler finds it again
    await advance(1);
    await waitForReminders(id, 2);
    await h.killWorker();
    await redis.flushall();
    h.startWorker();
    expect((await h.request('POST', `/certificates/${id}/approve`, {}, tokens.bob)).status).toBe(200);
    await h.waitForState(id, 'Issued');
    const all = await events(id);
    expect(all.filter((e) => e.type === 'CertificateIssued')).toHaveLength(1);
    expect(all.filter((e) => e.type === 'CertificateApprovalReminderSent').map((e) => e.data.reminder)).toEqual([1, 2]);
  });
});

describe('the test clock', () => {
  it('refuses to go backwards or stand still', async () => {
    expect((await h.request('POST', '/test/clock/advance', { days: 0 })).status).toBe(400);
    expect((await h.request('POST', '/test/clock/advance', { days: -1 })).status).toBe(400);
  });
});
