import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CertflowHarness } from './support/certflow.harness';

let h: CertflowHarness;
const dir = mkdtempSync(join(tmpdir(), 'certflow-e2e-'));

const openssl = (args: string[], input?: string): string =>
  execFileSync('openssl', args, { encoding: 'utf8', input, stdio: ['pipe', 'pipe', 'pipe'] });

beforeAll(async () => {
  h = await CertflowHarness.start('flow');
});
afterAll(() => h.stop());

describe('requesting a self-signed certificate (fourthcoffee SMTP scenario)', () => {
  let id: string;
  let requestedAt: string;

  it('answers 202 with the id and state Requested without waiting for the worker', async () => {
    requestedAt = new Date().toISOString();
    const res = await h.request('POST', '/certificates', {
      provider: 'self-signed',
      domainNames: ['server1.fourthcoffee.com', 'server1'],
      services: ['SMTP'],
      keyAlgorithm: 'RSA',
      keySize: 2048,
    });
    expect(res.status).toBe(202);
    expect(res.body).toEqual({ id: expect.stringMatching(/^[0-9a-f-]{36}$/), state: 'Requested' });
    id = res.body.id;
  });

  it('reaches Issued with the properties Get-ExchangeCertificate shows', async () => {
    const c = await h.waitForState(id, 'Issued');
    expect(c).toMatchObject({
      status: 'Valid',
      subject: 'CN=server1.fourthcoffee.com',
      issuer: 'CN=server1.fourthcoffee.com',
      certificateDomains: ['server1.fourthcoffee.com', 'server1'],
      publicKeySize: 2048,
      keyAlgorithm: 'RSA',
      hasPrivateKey: true,
      privateKeyExportable: false,
      isSelfSigned: true,
      rootCAType: 'None',
      friendlyName: null,
      requestedServices: ['SMTP'],
      provider: 'self-signed',
    });
    expect(c.thumbprint).toMatch(/^[0-9A-F]{40}$/);
    expect(c.sha256Fingerprint).toMatch(/^[0-9A-F]{64}$/);
    expect(c.serialNumber).toMatch(/^[0-9A-F]+$/);
    const days = (Date.parse(c.notAfter) - Date.parse(c.notBefore)) / 86_400_000;
    expect(days).toBe(365);
  });

  it('serves PEM whose fingerprints and serial are those openssl computes', async () => {
    const c = (await h.request('GET', `/certificates/${id}`)).body;
    const pem = await h.request('GET', `/certificates/${id}/pem`);
    expect(pem.status).toBe(200);
    expect(pem.text).toMatch(/^-----BEGIN CERTIFICATE-----/);
    const file = join(dir, 'leaf.pem');
    writeFileSync(file, pem.text);
    expect(openssl(['x509', '-in', file, '-noout', '-fingerprint', '-sha1']).trim().split('=')[1].replace(/:/g, '')).toBe(c.thumbprint);
    expect(openssl(['x509', '-in', file, '-noout', '-fingerprint', '-sha256']).trim().split('=')[1].replace(/:/g, '')).toBe(c.sha256Fingerprint);
    expect(openssl(['x509', '-in', file, '-noout', '-serial']).trim().split('=')[1]).toBe(c.serialNumber);
    expect(openssl(['x509', '-in', file, '-noout', '-ext', 'subjectAltName'])).toMatch(/DNS:server1.fourthcoffee.com, DNS:server1/);
    // Self-signed: it verifies against itself.
    expect(openssl(['verify', '-CAfile', file, '-purpose', 'sslserver', file])).toMatch(/OK/);
  });

  it('serves the PKCS#10 request, which openssl verifies', async () => {
    const csr = await h.request('GET', `/certificates/${id}/csr`);
    expect(csr.status).toBe(200);
    const file = join(dir, 'req.csr');
    writeFileSync(file, csr.text);
    const text = openssl(['req', '-in', file, '-noout', '-verify', '-text']);
    expect(text).toMatch(/DNS:server1.fourthcoffee.com, DNS:server1/);
  });

  it('has a full history: positions, versions, metadata with the actor, and a hash chain', async () => {
    const { body } = await h.request('GET', `/certificates/${id}/events`);
    expect(body.items.map((e: any) => e.type)).toEqual(['CertificateRequested', 'CertificateRequestGenerated', 'CertificateIssued']);
    expect(body.items.map((e: any) => e.streamVersion)).toEqual([1, 2, 3]);
    const [requested, generated, issued] = body.items;
    expect(requested.metadata).toMatchObject({ actor: 'admin', correlationId: expect.any(String), causationId: null });
    expect(generated.metadata).toMatchObject({ actor: 'certflow-worker', causationId: requested.eventId, correlationId: requested.metadata.correlationId });
    expect(issued.metadata.causationId).toBe(generated.eventId);
    expect(requested.prevHash).toBe('0'.repeat(64));
    expect(generated.prevHash).toBe(requested.hash);
    expect(issued.prevHash).toBe(generated.hash);
    expect(issued.globalPosition).toBeGreaterThan(requested.globalPosition);
    expect(JSON.stringify(body)).not.toMatch(/PRIVATE KEY/);
  });

  it('shows the certificate as it was at a past instant', async () => {
    const { body } = await h.request('GET', `/certificates/${id}/events`);
    const beforeIssue = new Date(Date.parse(body.items[2].metadata.at) - 1).toISOString();
    const past = await h.request('GET', `/certificates/${id}?at=${encodeURIComponent(beforeIssue)}`);
    expect(past.status).toBe(200);
    expect(past.body.state).toBe('RequestGenerated');
    expect(past.body.status).toBe('PendingRequest');
    expect(past.body.thumbprint).toBeNull();
    expect(past.body.certificateRequest).toMatch(/BEGIN CERTIFICATE REQUEST/);
    const before = await h.request('GET', `/certificates/${id}?at=${encodeURIComponent(new Date(Date.parse(requestedAt) - 60_000).toISOString())}`);
    expect(before.status).toBe(404);
    const bad = await h.request('GET', `/certificates/${id}?at=yesterday`);
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ statusCode: 400, code: 'ValidationFailed', message: expect.stringMatching(/at must be an ISO 8601/) });
  });

  it('removes it with a Removed event; the history stays', async () => {
    const res = await h.request('DELETE', `/certificates/${id}?reason=decommissioned`);
    expect(res.status).toBe(200);
    expect(res.body.state).toBe('Removed');
    const events = (await h.request('GET', `/certificates/${id}/events`)).body.items;
    expect(events.map((e: any) => e.type)).toContain('CertificateRemoved');
    expect(events[events.length - 1].data).toEqual({ removedBy: 'admin', reason: 'decommissioned' });
    expect((await h.request('GET', '/certificates')).body.items.map((c: any) => c.id)).not.toContain(id);
    expect((await h.request('GET', '/certificates?state=Removed')).body.items.map((c: any) => c.id)).toContain(id);
    expect((await h.request('DELETE', `/certificates/${id}`)).status).toBe(409);
  });
});

describe('listing certificates', () => {
  const ids: Record<string, string> = {};
  beforeAll(async () => {
    const requests: [string, object][] = [
      ['contoso', { provider: 'self-signed', domainNames: ['mail.contoso.com', 'autodiscover.contoso.com'], keyAlgorithm: 'ECDSA' }],
      ['contosoShort', { provider: 'self-signed', domainNames: ['pop.contoso.com'], keyAlgorithm: 'ECDSA', validityDays: 10 }],
      ['fabrikam', { provider: 'self-signed', domainNames: ['www.fabrikam.com'], keyAlgorithm: 'ECDSA', curve: 'P-384' }],
      ['notcontoso', { provider: 'self-signed', domainNames: ['notcontoso.com'], keyAlgorithm: 'ECDSA' }],
      ['manual', { provider: 'manual', domainNames: ['mail.mitserv.net', 'autodiscover.mitserv.net'], subject: 'CN=mail.mitserv.net, O=My Name, L=MyCity, ST=MyState, C=US', privateKeyExportable: true }],
    ];
    for (const [name, body] of requests) ids[name] = (await h.request('POST', '/certificates', body)).body.id;
    for (const name of ['contoso', 'contosoShort', 'fabrikam', 'notcontoso']) await h.waitForState(ids[name], 'Issued');
    await h.waitForState(ids.manual, 'RequestGenerated');
  });

  const listed = async (query: string): Promise<string[]> => {
    const res = await h.request('GET', `/certificates?${query}`);
    expect(res.status).toBe(200);
    return res.body.items.map((c: any) => c.id);
  };

  it('filters by domain: the name itself or any name under it', async () => {
    const found = await listed('domain=contoso.com');
    expect(found).toEqual(expect.arrayContaining([ids.contoso, ids.contosoShort]));
    expect(found).not.toContain(ids.notcontoso);
    expect(found).not.toContain(ids.fabrikam);
    expect(await listed('domain=MAIL.CONTOSO.COM')).toEqual([ids.contoso]);
  });

  it('filters by state, status and expiry', async () => {
    expect(await listed('state=RequestGenerated')).toEqual([ids.manual]);
    expect(await listed('status=PendingRequest')).toEqual([ids.manual]);
    expect(await listed('status=Valid')).toEqual(expect.arrayContaining([ids.contoso, ids.fabrikam]));
    expect(await listed('expiringWithinDays=30')).toEqual([ids.contosoShort]);
  });

  it('shows a pending manual request with its CSR as certificateRequest', async () => {
    const c = (await h.request('GET', `/certificates/${ids.manual}`)).body;
    expect(c).toMatchObject({ state: 'RequestGenerated', status: 'PendingRequest', privateKeyExportable: true, hasPrivateKey: true, thumbprint: null });
    expect(c.subject).toBe('CN=mail.mitserv.net, O=My Name, L=MyCity, ST=MyState, C=US');
    expect(c.certificateRequest).toMatch(/BEGIN CERTIFICATE REQUEST/);
    expect((await h.request('GET', `/certificates/${ids.manual}/pem`)).status).toBe(409);
  });

  it('pages with a cursor until nextCursor is null, seeing every certificate once', async () => {
    const all = await listed('limit=1000');
    const seen: string[] = [];
    let cursor: string | null = null;
    do {
      const res: any = (await h.request('GET', `/certificates?limit=2${cursor ? `&cursor=${cursor}` : ''}`)).body;
      expect(res.items.length).toBeLessThanOrEqual(2);
      seen.push(...res.items.map((c: any) => c.id));
      cursor = res.nextCursor;
    } while (cursor);
    expect(seen).toEqual(all);
    const filtered = (await h.request('GET', '/certificates?status=Valid&limit=1')).body;
    expect(filtered.items).toHaveLength(1);
    expect(filtered.nextCursor).not.toBeNull();
  });

  it('refuses a limit above 1000 and unknown filters', async () => {
    expect((await h.request('GET', '/certificates?limit=1001')).status).toBe(400);
    const unknown = await h.request('GET', '/certificates?colour=red');
    expect(unknown.status).toBe(400);
    expect(unknown.body.message).toMatch(/colour/);
  });
});

describe('tokens and roles', () => {
  it('answers 401 without a token or with an unknown one, and keeps /health open', async () => {
    expect((await h.request('GET', '/certificates', undefined, null)).status).toBe(401);
    const unknown = await h.request('GET', '/certificates', undefined, 'cf_nope');
    expect(unknown.status).toBe(401);
    expect(unknown.body).toMatchObject({ statusCode: 401, code: 'Unauthorized' });
    const health = await h.request('GET', '/health', undefined, null);
    expect(health.body).toEqual({ status: 'ok', checks: { postgres: 'up', redis: 'up' } });
  });

  it('creates tokens once, records their name as actor, enforces roles with 403, and revokes', async () => {
    const created = await h.request('POST', '/tokens', { name: 'helpdesk', roles: ['requester'] });
    expect(created.status).toBe(201);
    expect(created.body.token).toMatch(/^cf_/);
    const auditor = (await h.request('POST', '/tokens', { name: 'auditor-1', roles: ['auditor'] })).body.token;
    const requester = created.body.token;

    const req = await h.request('POST', '/certificates', { provider: 'self-signed', domainNames: ['helpdesk.contoso.com'], keyAlgorithm: 'ECDSA' }, requester);
    expect(req.status).toBe(202);
    const events = (await h.request('GET', `/certificates/${req.body.id}/events`, undefined, auditor)).body.items;
    expect(events[0].metadata.actor).toBe('helpdesk');

    const denied = await h.request('POST', '/certificates', { provider: 'self-signed', domainNames: ['x.contoso.com'] }, auditor);
    expect(denied.status).toBe(403);
    expect(denied.body.message).toMatch(/auditor-1.*needs one of/);
    expect((await h.request('POST', '/tokens', { name: 'sneaky', roles: ['admin'] }, requester)).status).toBe(403);

    const list = await h.request('GET', '/tokens');
    expect(list.body.items.map((t: any) => t.name)).toEqual(expect.arrayContaining(['admin', 'helpdesk', 'auditor-1']));
    expect(JSON.stringify(list.body)).not.toContain(requester);

    expect((await h.request('DELETE', `/tokens/${created.body.id}`)).status).toBe(204);
    await new Promise((r) => setTimeout(r, 5_200)); // the guard caches lookups for 5 s
    expect((await h.request('GET', '/certificates', undefined, requester)).status).toBe(401);
  });
});

describe('bad input gets a clear 4xx and changes nothing', () => {
  const cases: [string, unknown, number, RegExp][] = [
    ['an unknown provider', { provider: 'verisign', domainNames: ['a.contoso.com'] }, 400, /provider must be one of/],
    ['a provider not configured here', { provider: 'acme', domainNames: ['a.contoso.com'] }, 422, /not configured/],
    ['no domain names', { provider: 'self-signed', domainNames: [] }, 400, /domainNames/],
    ['an invalid domain name, reported by value', { provider: 'self-signed', domainNames: ['ok.contoso.com', 'bad_name!.contoso.com'] }, 400, /"bad_name!.contoso.com"/],
    ['a wildcard that is not leftmost', { provider: 'self-signed', domainNames: ['mail.*.contoso.com'] }, 400, /wildcard/],
    ['a 1024-bit RSA key', { provider: 'self-signed', domainNames: ['a.contoso.com'], keySize: 1024 }, 400, /2048/],
    ['an unknown property', { provider: 'self-signed', domainNames: ['a.contoso.com'], colour: 'red' }, 400, /colour/],
    ['a malformed subject', { provider: 'self-signed', domainNames: ['a.contoso.com'], subject: 'this is not a DN' }, 400, /subject/],
    ['a validity of zero days', { provider: 'self-signed', domainNames: ['a.contoso.com'], validityDays: 0 }, 400, /validityDays/],
  ];

  it.each(cases)('%s', async (_name, body, status, message) => {
    const before = (await h.request('GET', '/certificates?limit=1000&state=Requested')).body.items.length;
    const res = await h.request('POST', '/certificates', body);
    expect(res.status).toBe(status);
    expect(res.body).toMatchObject({ statusCode: status, code: expect.any(String), message: expect.stringMatching(message) });
    expect((await h.request('GET', '/certificates?limit=1000&state=Requested')).body.items.length).toBe(before);
  });

  it('answers malformed JSON with 400 and a 20 MB body with 413', async () => {
    const malformed = await h.request('POST', '/certificates', '{"provider":', h.adminToken, { 'content-type': 'application/json' });
    expect(malformed.status).toBe(400);
    expect(malformed.body.code).toBe('MalformedJson');
    const huge = await h.request('POST', '/certificates', JSON.stringify({ provider: 'self-signed', domainNames: ['a'], pad: 'x'.repeat(20 * 1024 * 1024) }), h.adminToken, { 'content-type': 'application/json' });
    expect(huge.status).toBe(413);
    expect(huge.body.code).toBe('PayloadTooLarge');
    expect((await h.request('GET', '/health', undefined, null)).status).toBe(200);
  });

  it('answers 404 for an unknown certificate and 400 for an id that is not a UUID', async () => {
    expect((await h.request('GET', '/certificates/8c4b7d6e-0000-4000-8000-000000000000')).status).toBe(404);
    const bad = await h.request('GET', '/certificates/not-a-uuid');
    expect(bad.status).toBe(400);
    expect(bad.body.code).toBe('InvalidCertificateId');
  });
});

describe('documentation', () => {
  it('serves the OpenAPI document at /docs', async () => {
    const doc = await h.request('GET', '/docs/openapi.json', undefined, null);
    expect(doc.status).toBe(200);
    expect(Object.keys(doc.body.paths)).toEqual(expect.arrayContaining(['/certificates', '/certificates/{id}', '/certificates/{id}/events', '/tokens', '/health']));
  });
});
