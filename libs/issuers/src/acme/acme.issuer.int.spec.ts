import * as acme from 'acme-client';
import { generateKeyPairSync } from 'node:crypto';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { IssueContext, TransientIssuerError } from '../../../application/src';
import { aRequestSpec } from '../../../testing/src';
import { AcmeAccountStore } from './acme-account.store';
import { AcmeChallengesAdapter } from './acme-challenges.adapter';
import { AcmeIssuer } from './acme.issuer';
import { installAcmeTransport } from './acme-transport';

/**
 * The issuer's error handling through acme-client's real HTTP stack, against a tiny ACME server
 * that answers new orders with whatever the case needs. Pebble cannot be told to rate-limit, so
 * this is where 429 / 5xx / Retry-After are checked end to end: never a sleep, always a typed answer.
 */
let server: Server;
let base: string;
let newOrderAnswer: { status: number; headers?: Record<string, string>; body?: unknown } = { status: 500 };

beforeAll(async () => {
  installAcmeTransport();
  server = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume();
    const send = (status: number, body?: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'replay-nonce': `nonce${Date.now()}`, ...(body !== undefined ? { 'content-type': status >= 400 ? 'application/problem+json' : 'application/json' } : {}), ...headers });
      res.end(body === undefined ? undefined : JSON.stringify(body));
    };
    if (req.url === '/dir') return send(200, { newNonce: `${base}/nonce`, newAccount: `${base}/acct`, newOrder: `${base}/new-order` });
    if (req.url === '/nonce') return send(200);
    if (req.url === '/new-order') return send(newOrderAnswer.status, newOrderAnswer.body, newOrderAnswer.headers);
    return send(404, { type: 'urn:ietf:params:acme:error:malformed', detail: 'no such resource' });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise((r) => server.close(r)));

const now = new Date('2026-11-23T12:00:00.000Z');
const ctx: IssueContext = {
  certificateId: '00000000-0000-4000-8000-000000000001',
  request: { ...aRequestSpec(), provider: 'acme', domainNames: ['mail.contoso.com'] },
  keyId: '00000000-0000-4000-8000-000000000001',
  csrPem: '-----BEGIN CERTIFICATE REQUEST-----\nAA==\n-----END CERTIFICATE REQUEST-----\n',
  now,
  orderId: null,
  approvals: [],
};

function issuerFor(directoryUrl: () => string): AcmeIssuer {
  const accountKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const accounts = {
    account: async () => ({ client: new acme.Client({ directoryUrl: directoryUrl(), accountKey, accountUrl: `${base}/acct/1` }), accountUrl: `${base}/acct/1`, keyId: 'k' }),
  } as unknown as AcmeAccountStore;
  return new AcmeIssuer(accounts, new AcmeChallengesAdapter(null as never, { challenge: 'http-01', dnsHookCommand: null, dnsWebhookUrl: null }), { pollIntervalMs: 1000 });
}

async function attempt(): Promise<{ outcome?: unknown; error?: unknown; ms: number }> {
  const started = Date.now();
  try {
    return { outcome: await issuerFor(() => `${base}/dir`).issue(ctx), ms: Date.now() - started };
  } catch (error) {
    return { error, ms: Date.now() - started };
  }
}

it('turns a rate limit into a transient failure at the CA\'s Retry-After, without sleeping', async () => {
  newOrderAnswer = { status: 429, headers: { 'retry-after': '600' }, body: { type: 'urn:ietf:params:acme:error:rateLimited', detail: 'too many new orders recently' } };
  const { error, ms } = await attempt();
  expect(error).toBeInstanceOf(TransientIssuerError);
  expect((error as TransientIssuerError).message).toBe('ACME rate limit (429 rateLimited): too many new orders recently');
  expect((error as TransientIssuerError).retryAt).toEqual(new Date(now.getTime() + 600_000));
  expect(ms).toBeLessThan(2_000); // acme-client alone would have slept 600 s, five times
});

it('turns a 503 without a problem document into a transient failure left to certflow\'s backoff', async () => {
  newOrderAnswer = { status: 503 };
  const { error, ms } = await attempt();
  expect(error).toBeInstanceOf(TransientIssuerError);
  expect((error as TransientIssuerError).retryAt).toBeNull();
  expect(ms).toBeLessThan(2_000);
});

it('rejects the request when the CA refuses the identifier, with its detail', async () => {
  newOrderAnswer = { status: 400, body: { type: 'urn:ietf:params:acme:error:rejectedIdentifier', detail: 'mail.contoso.com is on a blocklist' } };
  expect((await attempt()).outcome).toEqual({ kind: 'rejected', reason: 'ACME rejectedIdentifier: mail.contoso.com is on a blocklist' });
});

it('treats an unreachable CA as transient', async () => {
  const closed = createServer();
  await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((r) => closed.close(r));
  const error = await issuerFor(() => `http://127.0.0.1:${port}/dir`).issue(ctx).catch((e) => e);
  expect(error).toBeInstanceOf(TransientIssuerError);
  expect(error.message).toMatch(/ACME CA unreachable \(ECONNREFUSED\)/);
});
