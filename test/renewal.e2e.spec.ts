import { X509Certificate, createHmac } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startSmtpSink } from '../libs/testing/src/smtp-sink';
import { CertflowHarness } from './support/certflow.harness';
import { TestServers, servedThumbprint, startTestServers } from './support/servers';

/**
 * Renewal and expiry reminders over weeks of test-clock time: the 30/14/7/3/1-day reminders of a
 * 40-day certificate arrive exactly once each at a signed webhook and an SMTP sink; a worker that
 * is down across thresholds sends exactly one catch-up; auto-renewal at one third of the lifetime
 * issues the new certificate, swaps the SMTP binding on a real postfix, supersedes the old one
 * (linked both ways) and the old one gets no more reminders.
 */
const SECRET = 'renewal-test-secret';
let h: CertflowHarness;
let servers: TestServers;
let webhook: Server;
let smtp: Awaited<ReturnType<typeof startSmtpSink>>;
const hooks: { certificateId: string; data: { threshold: number; catchUp: boolean }; kind: string }[] = [];
let mails: string[] = [];

beforeAll(async () => {
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      const expected = `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`;
      if (req.headers['x-certflow-signature'] !== expected) {
        res.writeHead(401).end();
        return;
      }
      hooks.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  smtp = await startSmtpSink();
  mails = smtp.mails;
  servers = await startTestServers('renewal');
  const configFile = join(servers.dir, 'certflow.yaml');
  writeFileSync(
    configFile,
    `services:
  SMTP:
    preset: postfix
    hostNames: [mail.contoso.test]
    certFile: ${servers.files.SMTP.certFile}
    keyFile: ${servers.files.SMTP.keyFile}
    fullchainFile: ${servers.files.SMTP.fullchainFile}
    reload: ${JSON.stringify(servers.reload.postfix)}
    verify: { host: 127.0.0.1, port: ${servers.ports.smtp}, starttls: smtp }
`,
  );
  h = await CertflowHarness.start('renewal', {
    CERTFLOW_TEST_CLOCK: '1',
    CERTFLOW_TIMER_POLL_MS: '200',
    CERTFLOW_CONFIG: configFile,
    CERTFLOW_NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`,
    CERTFLOW_NOTIFY_WEBHOOK_SECRET: SECRET,
    CERTFLOW_NOTIFY_SMTP_URL: `smtp://127.0.0.1:${smtp.port}?ignoreTLS=true`,
    CERTFLOW_NOTIFY_EMAIL_FROM: 'certflow@contoso.test',
    CERTFLOW_NOTIFY_EMAIL_TO: 'pki-admins@contoso.test',
  });
});
afterAll(async () => {
  await h?.stop();
  await servers?.stop();
  await new Promise<void>((r) => webhook.close(() => r()));
  await smtp?.close();
});

const advance = async (days: number, hours = 0) => {
  const res = await h.request('POST', '/test/clock/advance', { days, hours });
  expect(res.status).toBe(200);
};
const events = async (id: string) => (await h.request('GET', `/certificates/${id}/events`)).body.items as any[];
const reminders = async (id: string) => (await events(id)).filter((e) => e.type === 'RenewalReminderSent');
const hooksFor = (id: string) => hooks.filter((x) => x.kind === 'expiry-reminder' && x.certificateId === id).map((x) => x.data.threshold);
const mailsFor = (id: string) => mails.filter((m) => m.includes(id)).length;
const waitForReminders = (id: string, n: number) =>
  h.waitFor(async () => (await reminders(id)).length >= n && hooksFor(id).length >= n && mailsFor(id) >= n, 30_000, `${n} reminders for ${id}`);

async function request(body: Record<string, unknown>): Promise<string> {
  const res = await h.request('POST', '/certificates', { provider: 'self-signed', keyAlgorithm: 'ECDSA', ...body });
  expect(res.status).toBe(202);
  return res.body.id;
}

let a: string; // 40 days, no auto-renewal: the reminder ladder
let c: string; // 60 days, auto-renewed at day 40, enabled for SMTP

describe('renewal and reminders', () => {
  it('rejects bad renewal policies and renewals of certificates that are not issued, with a clear 4xx', async () => {
    for (const bad of [{ renewBefore: 'P1Y' }, { renewBefore: 'soon' }, { renewBeforePercentage: 100 }, { reminderThresholds: [0] }, { contact: 'nobody' }]) {
      const res = await h.request('POST', '/certificates', { provider: 'self-signed', domainNames: ['bad.contoso.test'], ...bad });
      expect(res.status).toBe(400);
      expect(JSON.stringify(res.body)).toMatch(/renewBefore|reminderThresholds|contact/);
    }
    const pending = await request({ provider: 'manual', domainNames: ['pending.contoso.test'] });
    await h.waitForState(pending, 'RequestGenerated');
    expect((await h.request('POST', `/certificates/${pending}/renew`, {})).status).toBe(409);
    expect((await h.request('POST', '/certificates/00000000-0000-4000-8000-000000000000/renew', {})).status).toBe(404);
  });

  it('sends the 30-, 14-, 7-, 3- and 1-day reminders of a 40-day certificate exactly once each, by webhook and e-mail', async () => {
    a = await request({ domainNames: ['ladder.contoso.test'], validityDays: 40, autoRenew: false, contact: 'owner@contoso.test' });
    c = await request({ domainNames: ['mail.contoso.test'], validityDays: 60, services: ['SMTP'] });
    await h.waitForState(a, 'Issued');
    await h.waitForState(c, 'Issued');
    await h.waitFor(async () => (await h.request('GET', '/services/SMTP')).body.certificate?.id === c, 60_000, 'SMTP enabled for c');
    // Hours past each threshold, from issuance (day 0): 30 → day 10, 14 → 26, 7 → 33, 3 → 37, 1 → 39.
    const steps: [number, number][] = [[10, 2], [16, 0], [7, 0], [4, 0], [2, 0]];
    for (const [i, [days, hours]] of steps.entries()) {
      await advance(days, hours);
      await waitForReminders(a, i + 1);
    }
    await new Promise((r) => setTimeout(r, 1000)); // nothing more arrives late
    const sent = await reminders(a);
    expect(sent.map((e) => e.data.threshold)).toEqual([30, 14, 7, 3, 1]);
    expect(sent.map((e) => e.data.catchUp)).toEqual([false, false, false, false, false]);
    expect(sent.map((e) => e.data.daysLeft)).toEqual([29, 13, 6, 2, 0]);
    expect(hooksFor(a)).toEqual([30, 14, 7, 3, 1]);
    expect(mailsFor(a)).toBe(5);
    expect(mails.find((m) => m.includes(a))).toMatch(/owner@contoso\.test/);
    const deliveries = sent[0].data.deliveries as { channel: string; ok: boolean }[];
    expect(deliveries.map((d) => d.channel.split(':')[0]).sort()).toEqual(['email', 'log', 'webhook']);
    expect(deliveries.every((d) => d.ok)).toBe(true);
  });

  it('auto-renews at one third of the lifetime: new certificate, SMTP swapped on postfix, old one Superseded and linked both ways', async () => {
    const before = servedThumbprint(servers.ports.smtp, 'smtp');
    expect(before).toBe((await h.request('GET', `/certificates/${c}`)).body.thumbprint);
    await advance(1, 12); // day 40.5: past the renewal time of the 60-day certificate (day 40)
    const old = await h.waitForState(c, 'Superseded');
    const renewal = old.supersededBy as string;
    expect(old.renewedBy).toBe(renewal);
    const fresh = await h.waitForState(renewal, 'Issued');
    expect(fresh.renews).toBe(c);
    expect(fresh.domainNames).toEqual(['mail.contoso.test']);
    expect(fresh.thumbprint).not.toBe(old.thumbprint);
    await h.waitFor(async () => {
      const s = (await h.request('GET', '/services/SMTP')).body;
      return s.certificate?.id === renewal && !s.pending;
    }, 60_000, 'SMTP swapped to the renewal');
    expect(servedThumbprint(servers.ports.smtp, 'smtp')).toBe(fresh.thumbprint);
    const types = (await events(c)).map((e) => e.type);
    expect(types).toContain('CertificateRenewalRequested');
    expect(types[types.length - 1]).toBe('CertificateSuperseded');
  });

  it('with the worker down across the 14- and 7-day thresholds, sends exactly one catch-up; the superseded certificate stays silent', async () => {
    const b = await request({ domainNames: ['outage.contoso.test'], validityDays: 40, autoRenew: false });
    await h.waitForState(b, 'Issued');
    await advance(10, 2);
    await waitForReminders(b, 1);
    const oldRemindersBefore = (await reminders(c)).length;
    await h.killWorker();
    await advance(16); // past 14 days left
    await advance(7); // past 7 days left
    h.startWorker();
    await waitForReminders(b, 2);
    await new Promise((r) => setTimeout(r, 2000));
    const sent = await reminders(b);
    expect(sent.map((e) => [e.data.threshold, e.data.catchUp])).toEqual([[30, false], [7, true]]);
    expect(hooksFor(b)).toEqual([30, 7]);
    // The superseded certificate crossed its 14-day threshold meanwhile: nothing for it.
    expect((await reminders(c)).length).toBe(oldRemindersBefore);
    expect((await h.request('GET', `/certificates/${c}`)).body.state).toBe('Superseded');
  });

  it('renews on demand (POST /renew) with the same key when asked, once at a time', async () => {
    const requester = (await h.request('POST', '/tokens', { name: 'rita', roles: ['requester'] })).body.token as string;
    const old = await request({ domainNames: ['ondemand.contoso.test'], validityDays: 90, autoRenew: false });
    await h.waitForState(old, 'Issued');
    const res = await h.request('POST', `/certificates/${old}/renew`, { reuseKey: true }, requester);
    expect(res.status).toBe(202);
    expect(res.body.renews).toBe(old);
    expect((await h.request('POST', `/certificates/${old}/renew`, {}, requester)).status).toBe(409);
    expect((await h.request('POST', `/certificates/${old}/renew`, { reuseKey: 'yes' }, requester)).status).toBe(400);
    await h.waitForState(old, 'Superseded');
    const generated = (await events(res.body.id)).find((e) => e.type === 'CertificateRequestGenerated');
    expect(generated.data.keyId).toBe(old);
    const spkiOf = async (id: string) =>
      new X509Certificate((await h.request('GET', `/certificates/${id}/pem`)).text).publicKey.export({ type: 'spki', format: 'der' }).toString('hex');
    expect(await spkiOf(res.body.id)).toBe(await spkiOf(old));
    const all = JSON.stringify([...(await events(old)), ...(await events(res.body.id))]);
    expect(all).not.toMatch(/PRIVATE KEY/);
  });

  it('a renewal that ends without a certificate is a failed renewal of the old one, which may be renewed again', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certflow-renewal-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-days', '3650', '-subj', '/CN=legacy.contoso.test',
      '-addext', 'subjectAltName=DNS:legacy.contoso.test', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')], { stdio: 'ignore' });
    const imported = await h.request('POST', '/certificates/import', { certificate: readFileSync(join(dir, 'c.pem'), 'utf8') });
    expect(imported.status).toBe(201);
    const old = imported.body.id as string;
    const first = await h.request('POST', `/certificates/${old}/renew`, {});
    expect(first.status).toBe(202);
    await h.waitForState(first.body.id, 'RequestGenerated'); // manual: the operator submits the CSR
    expect((await h.request('GET', `/certificates/${old}`)).body.renewedBy).toBe(first.body.id);
    expect((await h.request('DELETE', `/certificates/${first.body.id}?reason=wrong%20CA`)).status).toBe(200);
    const failed = (await events(old)).find((e) => e.type === 'CertificateRenewalFailed');
    expect(failed.data).toMatchObject({ renewalId: first.body.id, attempt: 1, reason: 'the renewal was removed: wrong CA' });
    expect(Date.parse(failed.data.nextAttemptAt) - Date.parse(failed.metadata.at)).toBe(3_600_000);
    expect((await h.request('POST', `/certificates/${old}/renew`, {})).status).toBe(202);
  });
});
