import { createHmac } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { CertflowHarness } from './support/certflow.harness';
import { OpensslCa } from './support/openssl-ca';

/**
 * Fleet-wide renewal defaults and stalled-import reminders, over weeks of test-clock time:
 * defaults set in the environment are recorded at start (actor `config`) and followed by every
 * certificate without its own setting; a change through the API moves the timers of existing
 * certificates at once; a manual request whose certificate is not imported is reminded every
 * `importReminderHours` until it is, and then never again.
 */
const SECRET = 'settings-test-secret';
const DAY = 86_400_000;
let h: CertflowHarness;
let webhook: Server;
const hooks: { kind: string; certificateId: string; data: Record<string, unknown> }[] = [];

beforeAll(async () => {
  webhook = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      if (req.headers['x-certflow-signature'] !== `sha256=${createHmac('sha256', SECRET).update(body).digest('hex')}`) {
        res.writeHead(401).end();
        return;
      }
      hooks.push(JSON.parse(body));
      res.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => webhook.listen(0, '127.0.0.1', r));
  h = await CertflowHarness.start('settings', {
    CERTFLOW_TEST_CLOCK: '1',
    CERTFLOW_TIMER_POLL_MS: '200',
    CERTFLOW_REMINDER_DAYS: '5,21',
    CERTFLOW_IMPORT_REMINDER_HOURS: '48',
    CERTFLOW_NOTIFY_WEBHOOK_URL: `http://127.0.0.1:${(webhook.address() as AddressInfo).port}/hook`,
    CERTFLOW_NOTIFY_WEBHOOK_SECRET: SECRET,
  });
});
afterAll(async () => {
  await h?.stop();
  await new Promise<void>((r) => webhook.close(() => r()));
});

const advance = async (days: number, hours = 0) => expect((await h.request('POST', '/test/clock/advance', { days, hours })).status).toBe(200);
const events = async (id: string) => (await h.request('GET', `/certificates/${id}/events`)).body.items as any[];
const ofType = async (id: string, type: string) => (await events(id)).filter((e) => e.type === type);
const hooksFor = (id: string, kind: string) => hooks.filter((x) => x.kind === kind && x.certificateId === id);
const settle = () => new Promise((r) => setTimeout(r, 1500));

async function selfSigned(body: Record<string, unknown>): Promise<string> {
  const res = await h.request('POST', '/certificates', { provider: 'self-signed', keyAlgorithm: 'ECDSA', ...body });
  expect(res.status).toBe(202);
  await h.waitForState(res.body.id, 'Issued');
  return res.body.id;
}

describe('fleet-wide renewal defaults', () => {
  let ladder: string;
  let own: string;
  let planned: string;

  it('records the defaults from the environment once, as the actor config, and shows them', async () => {
    const res = await h.request('GET', '/settings/renewal');
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ reminderThresholds: [21, 5], importReminderHours: 48, renewBefore: null, renewBeforePercentage: null });
    expect(res.body.renewalRule).toMatch(/one third/);
    // A restart with the same environment records nothing new.
    await h.restartApi();
    const history = (await h.request('GET', '/settings/renewal/events')).body.items as any[];
    expect(history).toHaveLength(1);
    expect(history[0]).toMatchObject({ type: 'RenewalDefaultsChanged', metadata: { actor: 'config' } });
    expect(history[0].data.previous.reminderThresholds).toEqual([30, 14, 7, 3, 1]);
  });

  it('refuses bad settings with a 400 naming the field, and changes by anyone but an admin with a 403; nothing is recorded', async () => {
    for (const [body, field] of [
      [{ reminderThresholds: [0] }, 'reminderThresholds'],
      [{ reminderThresholds: 'weekly' }, 'reminderThresholds'],
      [{ renewBefore: 'P1Y' }, 'renewBefore'],
      [{ renewBeforePercentage: 100 }, 'renewBeforePercentage'],
      [{ importReminderHours: -1 }, 'importReminderHours'],
      [{ renewBefore: 'P10D', renewBeforePercentage: 20 }, 'renewBefore'],
      [{ reminderDays: [3] }, 'reminderDays'],
    ] as const) {
      const res = await h.request('PUT', '/settings/renewal', body);
      expect([JSON.stringify(body), res.status]).toEqual([JSON.stringify(body), 400]);
      expect(JSON.stringify(res.body)).toContain(field);
    }
    const operator = (await h.request('POST', '/tokens', { name: 'otto', roles: ['operator'] })).body.token as string;
    expect((await h.request('PUT', '/settings/renewal', { reminderThresholds: [9] }, operator)).status).toBe(403);
    expect((await h.request('GET', '/settings/renewal', undefined, operator)).status).toBe(200);
    expect((await h.request('GET', '/settings/renewal/events')).body.items).toHaveLength(1);
  });

  it('reminds at the default thresholds (21 and 5 days) only; a certificate with its own thresholds keeps them', async () => {
    ladder = await selfSigned({ domainNames: ['ladder.settings.test'], validityDays: 40, autoRenew: false });
    own = await selfSigned({ domainNames: ['own.settings.test'], validityDays: 40, autoRenew: false, reminderThresholds: [30] });
    await advance(19, 2); // 20.9 days left
    await h.waitFor(async () => hooksFor(ladder, 'expiry-reminder').length === 1 && hooksFor(own, 'expiry-reminder').length === 1, 30_000, 'first reminders');
    await advance(16); // 4.9 days left
    await h.waitFor(async () => hooksFor(ladder, 'expiry-reminder').length === 2, 30_000, '5-day reminder');
    await settle();
    expect((await ofType(ladder, 'RenewalReminderSent')).map((e) => e.data.threshold)).toEqual([21, 5]);
    // Its own list has only 30 days: nothing until it expires.
    expect((await ofType(own, 'RenewalReminderSent')).map((e) => e.data.threshold)).toEqual([30]);
  });

  it('a change through the API applies to existing certificates at once: the crossed 1-day threshold fires as one catch-up', async () => {
    await advance(4, 12); // 0.4 days left: no default threshold left to cross
    await settle();
    expect(hooksFor(ladder, 'expiry-reminder')).toHaveLength(2);
    const res = await h.request('PUT', '/settings/renewal', { reminderThresholds: [3, 1] });
    expect(res.status).toBe(200);
    expect(res.body).toMatchObject({ reminderThresholds: [3, 1], importReminderHours: 48, changed: true });
    await h.waitFor(async () => hooksFor(ladder, 'expiry-reminder').length === 3, 30_000, 'catch-up under the new thresholds');
    const sent = await ofType(ladder, 'RenewalReminderSent');
    expect(sent.map((e) => [e.data.threshold, e.data.catchUp])).toEqual([[21, false], [5, false], [1, true]]);
    // The same settings again change nothing and record nothing.
    const again = await h.request('PUT', '/settings/renewal', { reminderThresholds: [1, 3] });
    expect(again.body.changed).toBe(false);
    const history = (await h.request('GET', '/settings/renewal/events')).body.items as any[];
    expect(history.map((e) => e.metadata.actor)).toEqual(['config', 'admin']);
  });

  it('the default renewal time moves the planned renewal of every certificate that has none of its own', async () => {
    planned = await selfSigned({ domainNames: ['planned.settings.test'], validityDays: 60 });
    const withOwn = await selfSigned({ domainNames: ['planned-own.settings.test'], validityDays: 60, renewBeforePercentage: 50 });
    const plannedOf = async (id: string) => ((await h.request('GET', '/renewals?withinDays=365')).body.items as any[]).find((x) => x.id === id);
    const cert = (await h.request('GET', `/certificates/${planned}`)).body;
    const lifetime = Date.parse(cert.notAfter) - Date.parse(cert.notBefore);
    expect(Date.parse((await plannedOf(planned)).plannedRenewalAt)).toBe(Math.trunc(Date.parse(cert.notAfter) - lifetime / 3));
    expect((await h.request('PUT', '/settings/renewal', { renewBefore: 'P10D' })).body).toMatchObject({ renewBefore: 'P10D', renewalRule: 'renew P10D before expiry' });
    expect(Date.parse((await plannedOf(planned)).plannedRenewalAt)).toBe(Date.parse(cert.notAfter) - 10 * DAY);
    const ownCert = (await h.request('GET', `/certificates/${withOwn}`)).body;
    expect(ownCert.renewal).toMatchObject({ renewBeforePercentage: 50, reminderThresholds: null });
    expect(Date.parse((await plannedOf(withOwn)).plannedRenewalAt)).toBe(Date.parse(ownCert.notAfter) - (Date.parse(ownCert.notAfter) - Date.parse(ownCert.notBefore)) / 2);
    // Day 41 (past one third, before 10 days left): not renewed; day 51: renewed.
    await advance(41);
    await settle();
    expect((await h.request('GET', `/certificates/${planned}`)).body.state).toBe('Issued');
    await advance(10);
    const old = await h.waitForState(planned, 'Superseded');
    await h.waitForState(old.supersededBy, 'Issued');
  });
});

describe('reminders for a manual request whose certificate is not imported', () => {
  it('reminds every importReminderHours until the certificate is imported, then never again', async () => {
    const ca = new OpensslCa('Settings');
    const res = await h.request('POST', '/certificates', { provider: 'manual', domainNames: ['stalled.settings.test'], contact: 'owner@settings.test' });
    expect(res.status).toBe(202);
    const id = res.body.id;
    await h.waitForState(id, 'RequestGenerated');
    await advance(1, 12); // 36 h: not yet
    await settle();
    expect(hooksFor(id, 'import-reminder')).toHaveLength(0);
    await advance(0, 13); // 49 h
    await h.waitFor(async () => hooksFor(id, 'import-reminder').length === 1, 30_000, 'first import reminder');
    const first = hooksFor(id, 'import-reminder')[0];
    expect(first.data).toMatchObject({ reminder: 1, provider: 'manual' });
    expect(JSON.stringify(first)).toContain(`/certificates/${id}/import`);
    await advance(2); // 97 h
    await h.waitFor(async () => hooksFor(id, 'import-reminder').length === 2, 30_000, 'second import reminder');
    const recorded = await ofType(id, 'CertificateImportReminderSent');
    expect(recorded.map((e) => e.data.reminder)).toEqual([1, 2]);
    expect(recorded[0].data.deliveries.map((d: { channel: string }) => d.channel.split(':')[0]).sort()).toEqual(['log', 'webhook']);
    expect((await h.request('GET', `/certificates/${id}`)).body.importRemindersSent).toBe(2);

    const csr = (await h.request('GET', `/certificates/${id}/csr`)).text;
    const imported = await h.request('POST', `/certificates/${id}/import`, { certificate: ca.signCsr(csr), intermediates: [ca.intermediatePem] });
    expect(imported.status).toBe(201);
    await advance(3);
    await settle();
    expect(hooksFor(id, 'import-reminder')).toHaveLength(2);
    expect(await ofType(id, 'CertificateImportReminderSent')).toHaveLength(2);
  });

  it('with importReminderHours 0 there are none', async () => {
    expect((await h.request('PUT', '/settings/renewal', { importReminderHours: 0 })).status).toBe(200);
    const res = await h.request('POST', '/certificates', { provider: 'manual', domainNames: ['quiet.settings.test'] });
    await h.waitForState(res.body.id, 'RequestGenerated');
    await advance(5);
    await settle();
    expect(hooksFor(res.body.id, 'import-reminder')).toHaveLength(0);
  });
});
