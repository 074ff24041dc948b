import { randomBytes, randomUUID } from 'node:crypto';
import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { CertificateWorkHandler, Clock, EventMetadata, Issuer, handleCertificateCommand, loadCertificate } from '../../libs/application/src';
import { KeyVault, VaultKeyService, ariCertId } from '../../libs/crypto/src';
import { PostgresEventStore, createEventStore } from '../../libs/event-store/src';
import { fetchRenewalInfo } from '../../libs/issuers/src';
import { TestDatabase, aRequestCommand, createTestDatabase } from '../../libs/testing/src';
import { OpensslCa } from '../../test/support/openssl-ca';

/**
 * ACME Renewal Information (RFC 9773) end to end through the worker's handler, the real event
 * store and its timers, and the real HTTP client: the CA's renewal-info resource is served by a
 * local server that follows the RFC, because Debian's Pebble 2.4 predates ARI (Pebble added it in
 * 2.5). What the handler asks for, and what it records, is checked against the server's answers.
 */
const HOUR = 3_600_000;
let db: TestDatabase;
let store: PostgresEventStore;
let keys: VaultKeyService;
let server: Server;
let baseUrl: string;
let ca: OpensslCa;
/** certflow's clock, moved by the tests; starts at the next full hour (certificates are issued by openssl at real time). */
let now = new Date(Math.ceil(Date.now() / 3_600_000) * 3_600_000);
const BASE = now.getTime();
/** An instant `days` after the start of the test, as the CA would write it and as certflow records it. */
const at = (days: number) => ({ raw: new Date(BASE + days * 86_400_000).toISOString().replace('.000Z', 'Z'), iso: new Date(BASE + days * 86_400_000).toISOString() });
const clock: Clock = { now: () => now };
/** What the CA answers for each certID: status, body and Retry-After. */
const answers = new Map<string, { status: number; body: unknown; retryAfter?: string }>();
const asked: string[] = [];
let work: CertificateWorkHandler;

beforeAll(async () => {
  db = await createTestDatabase('renewal-info');
  store = createEventStore(db.pool);
  keys = new VaultKeyService(new KeyVault(db.pool, randomBytes(32)));
  ca = new OpensslCa('ARI');
  server = createServer((req, res) => {
    if (req.url === '/directory') {
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ newNonce: `${baseUrl}/nonce`, renewalInfo: `${baseUrl}/renewal-info/` }));
      return;
    }
    const certId = (req.url ?? '').replace('/renewal-info/', '');
    asked.push(certId);
    const a = answers.get(certId) ?? { status: 404, body: { type: 'urn:ietf:params:acme:error:malformed', detail: 'unknown certificate' } };
    res.writeHead(a.status, { 'content-type': 'application/json', ...(a.retryAfter ? { 'retry-after': a.retryAfter } : {}) }).end(JSON.stringify(a.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const source = { fetch: (pem: string) => fetchRenewalInfo(`${baseUrl}/directory`, pem) };
  work = new CertificateWorkHandler(store, keys, new Map<string, Issuer>(), clock, undefined, undefined, undefined, source, () => 0.5);
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  await db.drop();
});

const meta = (): EventMetadata => ({ actor: 'certflow-worker', at: now.toISOString(), correlationId: randomUUID(), causationId: null });
const timers = async (id: string) =>
  Object.fromEntries(
    (await db.pool.query<{ kind: string; due_at: Date }>('SELECT kind, due_at FROM timers WHERE certificate_id = $1', [id])).rows.map((r) => [r.kind, r.due_at.toISOString()]),
  );
const fire = (id: string, kind: string) => work.fireTimer({ certificateId: id, causationId: `timer-${kind}-${now.getTime()}`, correlationId: randomUUID(), kind });
const infoOf = async (id: string) => {
  const { state } = await loadCertificate(store, id);
  return state.state === 'Issued' ? state.renewalInfo : undefined;
};

/** An ACME certificate, Issued: a real key and CSR from the vault, signed by a real CA (with an AKI). */
async function issuedAcmeCertificate(): Promise<{ id: string; certId: string }> {
  const id = randomUUID();
  await handleCertificateCommand(store, id, aRequestCommand(id, { provider: 'acme', domainNames: ['ari.contoso.test'] }), meta());
  const { state } = await loadCertificate(store, id);
  if (state.state !== 'Requested') throw new Error('not requested');
  const csrPem = await keys.createCsr(id, state.request.key, state.request.subject, state.request.domainNames);
  await handleCertificateCommand(store, id, { type: 'RecordRequestGenerated', data: { keyId: id, csrPem }, actor: 'certflow-worker' }, meta());
  const certificatePem = ca.signCsr(csrPem, { days: 90 });
  const facts = await keys.certificateFacts(certificatePem);
  await handleCertificateCommand(store, id, { type: 'RecordIssued', data: { ...facts, certificatePem, chainPem: [ca.intermediatePem] }, actor: 'certflow-worker' }, meta());
  return { id, certId: ariCertId(certificatePem) };
}

describe('ACME renewal information (RFC 9773)', () => {
  it('asks right after issuance, renews at a time inside the suggested window, and asks again when the CA says', async () => {
    const { id, certId } = await issuedAcmeCertificate();
    const policyTime = (await timers(id)).renewal;
    expect(Date.parse((await timers(id))['renewal-info'])).toBeLessThanOrEqual(now.getTime());
    const window = { start: at(48).raw, end: at(50).raw };
    answers.set(certId, { status: 200, body: { suggestedWindow: window, explanationURL: 'https://ca.example/why' }, retryAfter: '21600' });

    expect(await fire(id, 'renewal-info')).toMatchObject({ outcome: 'done' });
    expect(asked).toContain(certId);
    const info = await infoOf(id);
    // random 0.5: the middle of the window; next check after Retry-After (6 h).
    expect(info).toMatchObject({ window: { start: at(48).iso, end: at(50).iso }, renewAt: at(49).iso, explanationUrl: 'https://ca.example/why', error: null });
    expect(info!.nextCheckAt).toBe(new Date(now.getTime() + 6 * HOUR).toISOString());
    expect(await timers(id)).toMatchObject({ renewal: at(49).iso, 'renewal-info': info!.nextCheckAt });
    expect((await timers(id)).renewal).not.toBe(policyTime);

    // Not due yet: nothing is asked or recorded.
    const before = asked.length;
    expect(await fire(id, 'renewal-info')).toMatchObject({ outcome: 'skipped' });
    expect(asked.length).toBe(before);

    // Six hours later, the same window: the chosen time stays.
    now = new Date(now.getTime() + 6 * HOUR);
    expect(await fire(id, 'renewal-info')).toMatchObject({ outcome: 'done' });
    expect((await infoOf(id))!.renewAt).toBe(at(49).iso);
  });

  it('follows a moved window, keeps the last window through a failed check, and records why', async () => {
    const { id, certId } = await issuedAcmeCertificate();
    answers.set(certId, { status: 200, body: { suggestedWindow: { start: at(48).raw, end: at(50).raw } } });
    await fire(id, 'renewal-info');
    // The CA moves the window earlier (e.g. it will revoke): a new time inside the new window.
    now = new Date(Date.parse((await infoOf(id))!.nextCheckAt));
    answers.set(certId, { status: 200, body: { suggestedWindow: { start: at(8).raw, end: at(10).raw } }, retryAfter: '3600' });
    await fire(id, 'renewal-info');
    expect(await infoOf(id)).toMatchObject({ renewAt: at(9).iso, nextCheckAt: new Date(now.getTime() + HOUR).toISOString() });

    now = new Date(now.getTime() + HOUR);
    answers.set(certId, { status: 503, body: { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'down' }, retryAfter: '120' });
    await fire(id, 'renewal-info');
    const failed = await infoOf(id);
    expect(failed).toMatchObject({ renewAt: at(9).iso, window: { start: at(8).iso }, nextCheckAt: new Date(now.getTime() + 120_000).toISOString() });
    expect(failed!.error).toMatch(/503/);
    const { events } = await loadCertificate(store, id);
    expect(events.filter((e) => e.type === 'RenewalInfoUpdated')).toHaveLength(3);
  });

  it('renews when the window has begun, and stops asking once the renewal is in flight', async () => {
    const { id, certId } = await issuedAcmeCertificate();
    answers.set(certId, { status: 200, body: { suggestedWindow: { start: new Date(now.getTime() - 2 * HOUR).toISOString(), end: new Date(now.getTime() - HOUR).toISOString() } } });
    await fire(id, 'renewal-info');
    expect((await infoOf(id))!.renewAt).toBe(now.toISOString()); // the window is past: renew now
    expect(await fire(id, 'renewal')).toMatchObject({ outcome: 'done' });
    const { state } = await loadCertificate(store, id);
    expect(state.state === 'Issued' && state.renewedBy).toBeTruthy();
    expect(Object.keys(await timers(id))).toEqual(['expiry-reminder']);
  });

  it('a CA without renewal information: the policy time stands, asked again in a week', async () => {
    const { id } = await issuedAcmeCertificate();
    const policyTime = (await timers(id)).renewal;
    const plain = createServer((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ newNonce: 'x' })));
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    try {
      const url = `http://127.0.0.1:${(plain.address() as AddressInfo).port}/directory`;
      const noAri = new CertificateWorkHandler(store, keys, new Map(), clock, undefined, undefined, undefined, { fetch: (pem) => fetchRenewalInfo(url, pem) });
      await noAri.fireTimer({ certificateId: id, causationId: 'c', correlationId: 'c', kind: 'renewal-info' });
    } finally {
      await new Promise<void>((r) => plain.close(() => r()));
    }
    const info = await infoOf(id);
    expect(info).toMatchObject({ window: null, renewAt: null, nextCheckAt: new Date(now.getTime() + 7 * 24 * HOUR).toISOString() });
    expect(info!.error).toMatch(/no renewal information/);
    expect((await timers(id)).renewal).toBe(policyTime);
  });

  it('asks nothing for certificates of other providers', async () => {
    const id = randomUUID();
    await handleCertificateCommand(store, id, aRequestCommand(id, { provider: 'self-signed' }), meta());
    expect(await fire(id, 'renewal-info')).toMatchObject({ outcome: 'skipped' });
  });
});
