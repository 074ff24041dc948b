import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { IncomingMessage, Server, ServerResponse, createServer } from 'node:http';
import { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Pebble, PebbleTls, freePort } from '../../../../test/support/pebble';
import { x509 } from '../../../crypto/src/x509';
import { RenewalInfoResult, fetchRenewalInfo } from './renewal-info.client';

/**
 * The ARI client (RFC 9773) over real HTTP: against a small CA made here, which serves a
 * directory with `renewalInfo` and answers per certID whatever the case needs; and against
 * Pebble, whose Debian build (2.4) does not offer ARI, over TLS trusted the way certflow trusts
 * a private ACME CA (NODE_EXTRA_CA_CERTS, read only at process start — hence a child process).
 */

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const b64url = (hex: string) => Buffer.from(hex, 'hex').toString('base64url');

/** A leaf whose AKI and serial are known, and its certID computed from them (not by ariCertId). */
async function certificate(): Promise<{ pem: string; certId: string }> {
  const keyId = randomBytes(20).toString('hex');
  const serial = `00${(0x80 | randomBytes(1)[0]).toString(16)}${randomBytes(15).toString('hex')}`; // high bit: the 0x00 stays
  const k = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial,
    subject: 'CN=mail.contoso.com',
    issuer: 'CN=Test ACME CA',
    notBefore: new Date(Date.now() - 86_400_000),
    notAfter: new Date(Date.now() + 89 * 86_400_000),
    publicKey: k.publicKey,
    signingKey: k.privateKey,
    signingAlgorithm: alg,
    extensions: [new x509.AuthorityKeyIdentifierExtension(keyId), new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: 'mail.contoso.com' }])],
  });
  return { pem: cert.toString('pem'), certId: `${b64url(keyId)}.${b64url(serial)}` };
}

describe('against a CA that offers renewal information', () => {
  let server: Server;
  let base: string;
  let leaf: { pem: string; certId: string };
  const requests: { method: string; url: string; authorization: string | undefined; accept: string | undefined }[] = [];
  /** How the renewal-info endpoint answers the current case. */
  let answer: { status: number; headers?: Record<string, string>; body?: string } = { status: 500 };

  beforeAll(async () => {
    leaf = await certificate();
    server = createServer((req: IncomingMessage, res: ServerResponse) => {
      req.resume();
      requests.push({ method: req.method ?? '', url: req.url ?? '', authorization: req.headers.authorization, accept: req.headers.accept });
      const json = (status: number, body: unknown, headers: Record<string, string> = {}) => {
        res.writeHead(status, { 'content-type': 'application/json', ...headers });
        res.end(JSON.stringify(body));
      };
      const directory = (extra: Record<string, unknown>) => json(200, { newNonce: `${base}/nonce`, newAccount: `${base}/acct`, newOrder: `${base}/new-order`, ...extra });
      if (req.url === '/dir') return directory({ renewalInfo: `${base}/acme/renewal-info` });
      if (req.url === '/dir-slash') return directory({ renewalInfo: `${base}/acme/renewal-info/` });
      if (req.url === '/dir-none') return directory({});
      if (req.url === '/dir-broken') return json(503, { type: 'urn:ietf:params:acme:error:serverInternal', detail: 'directory down' }, { 'retry-after': '120' });
      if (req.url?.startsWith('/acme/renewal-info/')) {
        res.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
        return res.end(answer.body);
      }
      json(404, { type: 'urn:ietf:params:acme:error:malformed', detail: 'no such resource' });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise((r) => server.close(r)));
  beforeEach(() => {
    requests.length = 0;
  });

  const window = { start: '2026-05-01T00:00:00Z', end: '2026-05-03T00:00:00Z' };
  const ok = (headers: Record<string, string> = { 'retry-after': '21600' }, body: unknown = { suggestedWindow: window, explanationURL: 'https://ca.example/docs/ari' }) => ({
    status: 200,
    headers,
    body: JSON.stringify(body),
  });
  const ariRequests = () => requests.filter((r) => r.url.startsWith('/acme/renewal-info'));

  it('returns the suggested window and Retry-After, asking for the certificate by its certID with an unauthenticated GET', async () => {
    answer = ok();
    const result = await fetchRenewalInfo(`${base}/dir`, leaf.pem);
    expect(result).toEqual<RenewalInfoResult>({
      kind: 'window',
      window: { start: '2026-05-01T00:00:00.000Z', end: '2026-05-03T00:00:00.000Z' },
      explanationUrl: 'https://ca.example/docs/ari',
      retryAfterSeconds: 21_600,
    });
    expect(ariRequests()).toEqual([{ method: 'GET', url: `/acme/renewal-info/${leaf.certId}`, authorization: undefined, accept: 'application/json' }]);
  });

  it('reads the directory once and reuses it', async () => {
    answer = ok();
    await fetchRenewalInfo(`${base}/dir`, leaf.pem);
    requests.length = 0;
    await fetchRenewalInfo(`${base}/dir`, leaf.pem);
    await fetchRenewalInfo(`${base}/dir`, leaf.pem);
    expect(requests.map((r) => r.url)).toEqual([`/acme/renewal-info/${leaf.certId}`, `/acme/renewal-info/${leaf.certId}`]);
  });

  it('joins a renewalInfo URL that ends in "/" without a double slash', async () => {
    answer = ok();
    expect((await fetchRenewalInfo(`${base}/dir-slash`, leaf.pem)).kind).toBe('window');
    expect(ariRequests().map((r) => r.url)).toEqual([`/acme/renewal-info/${leaf.certId}`]);
  });

  it('reads Retry-After as an HTTP-date too; without one, retryAfterSeconds is null; a bad explanationURL is dropped', async () => {
    answer = ok({ 'retry-after': new Date(Date.now() + 3_600_000).toUTCString() });
    const dated = await fetchRenewalInfo(`${base}/dir`, leaf.pem);
    expect(dated.kind === 'window' && dated.retryAfterSeconds).toBeGreaterThanOrEqual(3_598);
    expect(dated.kind === 'window' && dated.retryAfterSeconds).toBeLessThanOrEqual(3_600);

    answer = ok({}, { suggestedWindow: window, explanationURL: 'javascript:alert(1)' });
    expect(await fetchRenewalInfo(`${base}/dir`, leaf.pem)).toMatchObject({ kind: 'window', explanationUrl: null, retryAfterSeconds: null });
  });

  it.each<[string, typeof answer, RegExp, number | null]>([
    ['a 404: the CA does not know the certificate', { status: 404, body: JSON.stringify({ type: 'urn:ietf:params:acme:error:malformed', detail: 'Certificate not found' }) },
      /^The CA does not know this certificate \(.+\): http:\/\/127\.0\.0\.1:\d+\/acme\/renewal-info\/.+ answered HTTP 404: Certificate not found\.$/, null],
    ['a 500 with Retry-After', { status: 500, headers: { 'retry-after': '300' }, body: JSON.stringify({ type: 'urn:ietf:params:acme:error:serverInternal', detail: 'database busy' }) },
      /^Renewal information unavailable: .+ answered HTTP 500: database busy\.$/, 300],
    ['a 503 without a body', { status: 503 }, /answered HTTP 503\.$/, null],
    ['malformed JSON', { status: 200, headers: { 'retry-after': '60' }, body: '{"suggestedWindow": {"start": ' }, /^Renewal information from .+ is not JSON\.$/, 60],
    ['a window whose end is before its start', { status: 200, body: JSON.stringify({ suggestedWindow: { start: window.end, end: window.start } }) },
      /has no valid suggestedWindow/, null],
    ['a window whose end equals its start', { status: 200, body: JSON.stringify({ suggestedWindow: { start: window.start, end: window.start } }) }, /has no valid suggestedWindow/, null],
    ['no suggestedWindow', { status: 200, body: JSON.stringify({ explanationURL: 'https://ca.example/docs' }) }, /has no valid suggestedWindow/, null],
    ['unparseable timestamps', { status: 200, body: JSON.stringify({ suggestedWindow: { start: 'tomorrow', end: 'next week' } }) }, /has no valid suggestedWindow/, null],
    ['a JSON array', { status: 200, body: '[]' }, /has no valid suggestedWindow/, null],
    ['an oversized answer', { status: 200, body: JSON.stringify({ suggestedWindow: window, padding: 'x'.repeat(100_000) }) }, /could not be fetched from .+: the answer is larger than 65536 bytes\.$/, null],
  ])('turns %s into an error', async (_name, a, reason, retryAfterSeconds) => {
    answer = a;
    const result = await fetchRenewalInfo(`${base}/dir`, leaf.pem);
    expect(result).toEqual({ kind: 'error', reason: expect.stringMatching(reason), retryAfterSeconds });
    expect(ariRequests()).toHaveLength(1);
  });

  it('reports a failing directory with its Retry-After, and does not cache it', async () => {
    const first = await fetchRenewalInfo(`${base}/dir-broken`, leaf.pem);
    expect(first).toEqual({ kind: 'error', reason: expect.stringMatching(/^The ACME directory .+\/dir-broken answered HTTP 503: directory down\.$/), retryAfterSeconds: 120 });
    await fetchRenewalInfo(`${base}/dir-broken`, leaf.pem);
    expect(requests.map((r) => r.url)).toEqual(['/dir-broken', '/dir-broken']);
  });

  it('says unsupported when the directory has no renewalInfo, without asking anything else', async () => {
    expect(await fetchRenewalInfo(`${base}/dir-none`, leaf.pem)).toEqual({ kind: 'unsupported' });
    expect(requests.map((r) => r.url)).toEqual(['/dir-none']);
  });

  it('refuses a certificate without an Authority Key Identifier before asking the CA', async () => {
    const k = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
    const noAki = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=no-aki', notBefore: new Date(), notAfter: new Date(Date.now() + 86_400_000), keys: k, signingAlgorithm: alg });
    const result = await fetchRenewalInfo(`${base}/dir`, noAki.toString('pem'));
    expect(result).toEqual({ kind: 'error', reason: expect.stringMatching(/no Authority Key Identifier/), retryAfterSeconds: null });
    expect(ariRequests()).toHaveLength(0);
  });

  it('turns an unreachable CA and a slow one into errors, without credentials from the URL in the reason', async () => {
    const port = await freePort();
    const refused = await fetchRenewalInfo(`http://127.0.0.1:${port}/dir?token=abc`, leaf.pem);
    expect(refused).toEqual({ kind: 'error', reason: expect.stringMatching(/unreachable \(ECONNREFUSED\)/), retryAfterSeconds: null });
    expect(JSON.stringify(refused)).not.toMatch(/token|abc/);
    const withPassword = await fetchRenewalInfo(`http://user:s3cret@127.0.0.1:${port}/dir`, leaf.pem);
    expect(withPassword.kind).toBe('error');
    expect(JSON.stringify(withPassword)).not.toMatch(/s3cret|user/);

    const slow = createServer(() => undefined); // never answers
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    try {
      const started = Date.now();
      const result = await fetchRenewalInfo(`http://127.0.0.1:${(slow.address() as AddressInfo).port}/dir`, leaf.pem, { timeoutMs: 300 });
      expect(result).toEqual({ kind: 'error', reason: expect.stringMatching(/could not be fetched: no answer within 300 ms\.$/), retryAfterSeconds: null });
      expect(Date.now() - started).toBeLessThan(3_000);
    } finally {
      slow.closeAllConnections();
      await new Promise((r) => slow.close(r));
    }
  });
});

describe('against Pebble (Debian 2.4: no renewalInfo in its directory)', () => {
  let tls: PebbleTls;
  let pebble: Pebble;
  let certFile: string;

  beforeAll(async () => {
    tls = new PebbleTls();
    pebble = await Pebble.start({ tls, httpPort: await freePort(), alwaysValid: true });
    certFile = join(tls.dir, 'leaf.pem');
    writeFileSync(certFile, (await certificate()).pem);
  });
  afterAll(async () => {
    await pebble?.stop();
    tls?.remove();
  });

  /**
   * fetchRenewalInfo in a fresh Node process, its TypeScript transpiled on load. certflow trusts
   * a private ACME CA through NODE_EXTRA_CA_CERTS, which Node reads only at start, and the
   * global fetch takes no per-call CA: so the trust is set up exactly as in production.
   */
  function fetchInChild(env: Record<string, string>): RenewalInfoResult {
    const script = `
      const ts = require('typescript');
      const fs = require('fs');
      require.extensions['.ts'] = (m, file) => m._compile(ts.transpileModule(fs.readFileSync(file, 'utf8'), {
        fileName: file,
        compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true, experimentalDecorators: true, emitDecoratorMetadata: true },
      }).outputText, file);
      require(${JSON.stringify(join(__dirname, 'renewal-info.client.ts'))})
        .fetchRenewalInfo(process.argv[1], fs.readFileSync(process.argv[2], 'utf8'))
        .then((r) => process.stdout.write(JSON.stringify(r)), (e) => { console.error(e); process.exit(1); });`;
    const { NODE_EXTRA_CA_CERTS: _inherited, ...parentEnv } = process.env;
    const child = spawnSync(process.execPath, ['-e', script, pebble.directoryUrl, certFile], {
      cwd: join(__dirname, '../../../..'),
      env: { ...parentEnv, ...env },
      encoding: 'utf8',
      timeout: 60_000,
    });
    if (child.status !== 0) throw new Error(`child failed (${child.status}): ${child.stderr}`);
    return JSON.parse(child.stdout) as RenewalInfoResult;
  }

  it('serves a directory without renewalInfo', async () => {
    const { status, body } = await pebble.get(pebble.directoryUrl);
    expect(status).toBe(200);
    expect(JSON.parse(body)).toHaveProperty('newOrder');
    expect(JSON.parse(body)).not.toHaveProperty('renewalInfo');
  });

  it('is unsupported, read over TLS trusted through NODE_EXTRA_CA_CERTS', () => {
    expect(fetchInChild({ NODE_EXTRA_CA_CERTS: tls.caFile })).toEqual({ kind: 'unsupported' });
  });

  it('is an error naming the TLS failure when Pebble\'s TLS CA is not trusted', () => {
    const result = fetchInChild({});
    expect(result).toEqual({ kind: 'error', reason: expect.stringMatching(/^The ACME directory https:\/\/127\.0\.0\.1:\d+\/dir could not be fetched: unreachable \([A-Z_]+\): .*certificate/), retryAfterSeconds: null });
  });
});
