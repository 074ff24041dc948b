import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createSecureContext } from 'node:tls';
import { CertflowHarness } from './support/certflow.harness';
import { OpensslCa } from './support/openssl-ca';

/**
 * The third-party CA walkthrough, with the openssl command line as the CA: request (the
 * Somorita scenario, 4 SANs) → CSR verified → root + intermediate sign it → import as .p7b →
 * Untrusted → trust the root → Valid, Registry → export PFX → openssl and Node both load it.
 */
const scenarios = JSON.parse(readFileSync(join(__dirname, '..', '..', 'shared', 'fixtures', 'exchange-scenarios.json'), 'utf8')).scenarios as any[];
const somorita = scenarios.find((s) => s.name === 'somorita-san');

let h: CertflowHarness;
let ca: OpensslCa;
beforeAll(async () => {
  h = await CertflowHarness.start('thirdparty');
  ca = new OpensslCa('Somorita');
});
afterAll(() => h.stop());

describe('a request taken to a third-party CA and imported days later', () => {
  let id: string;
  let leafPem: string;

  it('generates a request whose CSR openssl verifies, with the subject as typed and every SAN', async () => {
    const res = await h.request('POST', '/certificates', {
      provider: 'manual',
      subject: somorita.subjectName,
      domainNames: somorita.domainNames,
      privateKeyExportable: true,
      friendlyName: 'Somorita mail',
    });
    expect(res.status).toBe(202);
    id = res.body.id;
    const pending = await h.waitForState(id, 'RequestGenerated');
    expect(pending).toMatchObject({ status: 'PendingRequest', thumbprint: null, hasPrivateKey: true });
    expect(pending.certificateRequest).toMatch(/BEGIN CERTIFICATE REQUEST/);
    const csr = (await h.request('GET', `/certificates/${id}/csr`)).text;
    const text = ca.run(['req', '-noout', '-verify', '-text'], csr);
    for (const name of somorita.domainNames) expect(text).toContain(`DNS:${name}`);
    expect(ca.run(['req', '-noout', '-subject', '-nameopt', 'RFC2253'], csr).trim()).toBe('subject=CN=mail.somorita.com,O=Somorita Surfboards,OU=IT Department');
    leafPem = ca.signCsr(csr, { name: 'somorita' });
  });

  it('refuses a certificate that was issued for another key, and changes nothing', async () => {
    const other = ca.issueWithKey('mail.somorita.com', somorita.domainNames);
    const before = (await h.request('GET', `/certificates/${id}/events`)).body.items.length;
    const res = await h.request('POST', `/certificates/${id}/import`, { certificate: other.certPem });
    expect(res.status).toBe(409);
    expect(res.body).toMatchObject({ code: 'KeyMismatch', message: expect.stringMatching(/public key differs/) });
    expect((await h.request('GET', `/certificates/${id}/events`)).body.items.length).toBe(before);
    expect((await h.request('GET', `/certificates/${id}`)).body.state).toBe('RequestGenerated');
  });

  it('imports the CA\'s answer as a .p7b; without its root trusted the certificate is Untrusted', async () => {
    const p7b = ca.p7b([leafPem, ca.intermediatePem]).toString('utf8');
    const res = await h.request('POST', `/certificates/${id}/import`, { certificate: p7b });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ state: 'Issued', status: 'Untrusted', rootCAType: 'Unknown', isSelfSigned: false, warnings: [] });
    expect(res.body.certificateDomains).toEqual(expect.arrayContaining(somorita.domainNames));
    expect(res.body.certificateDomains).toHaveLength(somorita.expect.certificateDomains);
    const events = (await h.request('GET', `/certificates/${id}/events`)).body.items;
    const imported = events.find((e: any) => e.type === 'CertificateImported');
    expect(imported.data).toMatchObject({ format: 'pkcs7-pem', importedBy: 'admin' });
    expect(imported.data.chainPem).toHaveLength(1);
  });

  it('is Valid with RootCAType Registry once the root is trusted, with openssl\'s thumbprint', async () => {
    const added = await h.request('POST', '/trust/roots', { certificate: ca.rootPem });
    expect(added.status).toBe(201);
    const c = (await h.request('GET', `/certificates/${id}`)).body;
    expect(c).toMatchObject({ status: 'Valid', rootCAType: 'Registry', chainLength: 3 });
    expect(c.thumbprint).toBe(ca.fingerprint(leafPem));
    expect(c.sha256Fingerprint).toBe(ca.fingerprint(leafPem, 'sha256'));
    expect(c.enhancedKeyUsage).toEqual(['serverAuth', 'clientAuth']);
    const roots = (await h.request('GET', '/trust/roots')).body;
    expect(roots.items).toEqual([expect.objectContaining({ subject: 'C=US, O=Somorita Trust, CN=Somorita Root CA', rootCAType: 'Registry', addedBy: 'admin' })]);
    expect(roots.anchors).toBeGreaterThan(100); // Mozilla's roots as well
    expect((await h.request('POST', '/trust/roots', { certificate: ca.rootPem })).status).toBe(409);
    const notRoot = await h.request('POST', '/trust/roots', { certificate: ca.intermediatePem });
    expect(notRoot.status).toBe(422);
    expect(notRoot.body.code).toBe('NotARootCertificate');
  });

  it('serves the chain with ?include=root, which openssl verifies', async () => {
    const pem = (await h.request('GET', `/certificates/${id}/pem?include=root`)).text;
    expect(pem.match(/BEGIN CERTIFICATE/g)).toHaveLength(3);
    const file = ca.write('served.pem', pem);
    expect(ca.run(['verify', '-CAfile', ca.path('root.pem'), '-untrusted', file, file])).toMatch(/OK/);
    expect((await h.request('GET', `/certificates/${id}/pem`)).text.match(/BEGIN CERTIFICATE/g)).toHaveLength(2);
  });

  it('exports a PFX that openssl and Node both load, and records who exported the key', async () => {
    const res = await fetch(`${h.baseUrl}/certificates/${id}/export`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ format: 'pfx', password: 'correct horse battery' }),
    });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/application\/x-pkcs12/);
    const pfx = Buffer.from(await res.arrayBuffer());
    const file = ca.write('export.pfx', pfx);
    const info = execFileSync('openssl', ['pkcs12', '-in', file, '-info', '-nokeys', '-passin', 'pass:correct horse battery'], { encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    expect(info).toMatch(/BEGIN CERTIFICATE/);
    expect(() => createSecureContext({ pfx, passphrase: 'correct horse battery' })).not.toThrow();
    const leafOut = execFileSync('openssl', ['pkcs12', '-in', file, '-clcerts', '-nokeys', '-passin', 'pass:correct horse battery'], { encoding: 'utf8' });
    expect(ca.fingerprint(leafOut)).toBe(ca.fingerprint(leafPem));
    const events = (await h.request('GET', `/certificates/${id}/events`)).body.items;
    expect(events[events.length - 1]).toMatchObject({ type: 'CertificateExported', data: { format: 'pfx', includesKey: true, exportedBy: 'admin' } });
    const wrong = await h.request('POST', `/certificates/${id}/export`, { format: 'pfx', password: 'short' });
    expect(wrong.status).toBe(400);
  });

  it('goes back to Untrusted when the root is removed from the trust store', async () => {
    const sha256 = ca.fingerprint(ca.rootPem, 'sha256');
    expect((await h.request('DELETE', `/trust/roots/${sha256}`)).status).toBe(204);
    expect((await h.request('GET', `/certificates/${id}`)).body.status).toBe('Untrusted');
    expect((await h.request('DELETE', `/trust/roots/${sha256}`)).status).toBe(404);
    expect((await h.request('POST', '/trust/roots', { certificate: ca.rootPem })).status).toBe(201);
  });
});

describe('importing certificates made elsewhere', () => {
  it('imports a PFX from openssl with its key, and refuses the same certificate twice', async () => {
    const made = ca.issueWithKey('owa.somorita.com', ['owa.somorita.com']);
    const pfx = ca.pfx(made.certPem, made.keyPem, 'pfx-pass-123', [ca.intermediatePem]);
    const res = await h.request('POST', '/certificates/import', { pfx: pfx.toString('base64'), password: 'pfx-pass-123', privateKeyExportable: true });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({ state: 'Issued', hasPrivateKey: true, privateKeyExportable: true, status: 'Valid', rootCAType: 'Registry' });
    expect(res.body.thumbprint).toBe(ca.fingerprint(made.certPem));
    const events = (await h.request('GET', `/certificates/${res.body.id}/events`)).body.items;
    expect(events[0]).toMatchObject({ type: 'ExternalCertificateImported', data: { format: 'pkcs12', importedBy: 'admin' } });
    expect(JSON.stringify(events)).not.toMatch(/PRIVATE KEY|pfx-pass-123/);
    const again = await h.request('POST', '/certificates/import', { pfx: pfx.toString('base64'), password: 'pfx-pass-123' });
    expect(again.status).toBe(409);
    expect(again.body.code).toBe('CertificateAlreadyExists');
  });

  it('refuses a PFX with the wrong password and writes nothing', async () => {
    const made = ca.issueWithKey('wrongpass.somorita.com', ['wrongpass.somorita.com']);
    const pfx = ca.pfx(made.certPem, made.keyPem, 'right-password');
    const before = (await h.request('GET', '/certificates?limit=1000')).body.items.length;
    const res = await h.request('POST', '/certificates/import', { pfx: pfx.toString('base64'), password: 'wrong-password' });
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.message).toMatch(/password/i);
    expect((await h.request('GET', '/certificates?limit=1000')).body.items.length).toBe(before);
  });

  it('imports a certificate with a PEM key, and a certificate alone (no key: export refused)', async () => {
    const withKey = ca.issueWithKey('smtp.somorita.com', ['smtp.somorita.com']);
    const a = await h.request('POST', '/certificates/import', { certificate: withKey.certPem, privateKey: withKey.keyPem, intermediates: [ca.intermediatePem] });
    expect(a.status).toBe(201);
    expect(a.body).toMatchObject({ hasPrivateKey: true, privateKeyExportable: false });
    const exportA = await h.request('POST', `/certificates/${a.body.id}/export`, { format: 'pfx', password: 'long enough' });
    expect(exportA.status).toBe(403);
    expect(exportA.body.code).toBe('PrivateKeyNotExportable');

    const alone = ca.issueWithKey('pop.somorita.com', ['pop.somorita.com']);
    const b = await h.request('POST', '/certificates/import', { certificate: alone.certPem });
    expect(b.status).toBe(201);
    expect(b.body).toMatchObject({ hasPrivateKey: false, state: 'Issued' });
    const exportB = await h.request('POST', `/certificates/${b.body.id}/export`, { format: 'pfx', password: 'long enough' });
    expect(exportB.status).toBe(409);
    expect(exportB.body.code).toBe('NoPrivateKey');

    const mismatch = ca.issueWithKey('imap.somorita.com', ['imap.somorita.com']);
    const c = await h.request('POST', '/certificates/import', { certificate: mismatch.certPem, privateKey: withKey.keyPem });
    expect(c.status).toBe(422);
    expect(c.body.code).toBe('KeyMismatch');
  });

  it('imports a DER certificate uploaded as a raw body for a pending request', async () => {
    const req = await h.request('POST', '/certificates', { provider: 'manual', domainNames: ['raw.somorita.com', 'extra.somorita.com'] });
    await h.waitForState(req.body.id, 'RequestGenerated');
    const csr = (await h.request('GET', `/certificates/${req.body.id}/csr`)).text;
    // The CA drops one of the names: the import still works, with a warning.
    const csrFile = ca.write('dropped.csr', csr);
    ca.run(['req', '-in', csrFile, '-noout']);
    ca.write('dropped.ext', 'basicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\nsubjectAltName=DNS:raw.somorita.com\n');
    ca.run(['x509', '-req', '-in', csrFile, '-CA', ca.path('inter.pem'), '-CAkey', ca.path('inter.key'), '-set_serial', '777', '-days', '30', '-extfile', ca.path('dropped.ext'), '-outform', 'DER', '-out', ca.path('dropped.der')]);
    const res = await fetch(`${h.baseUrl}/certificates/${req.body.id}/import`, {
      method: 'POST',
      headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': 'application/pkix-cert' },
      body: new Uint8Array(readFileSync(ca.path('dropped.der'))),
    });
    const body = await res.json();
    expect(res.status).toBe(201);
    expect(body.state).toBe('Issued');
    expect(body.warnings).toEqual(['The certificate does not cover requested name(s): extra.somorita.com.']);
    // Its intermediate was not sent: the chain does not reach the root.
    expect(body.status).toBe('Untrusted');
  });
});

describe('which certificate a service presents (selection)', () => {
  it('prefers CA-issued over a newer self-signed one, and says why for every other certificate', async () => {
    const names = ['mail.selection.test'];
    const caIssued = ca.issueWithKey('mail.selection.test', names);
    const older = ca.issueWithKey('mail.selection.test', names);
    const wildcard = ca.issueWithKey('*.selection.test', ['*.selection.test']);
    const expired = ca.issueWithKey('mail.selection.test', names, { notAfterPast: true });
    const keyless = ca.issueWithKey('mail.selection.test', names);
    const imports = {
      older: await h.request('POST', '/certificates/import', { certificate: older.certPem, privateKey: older.keyPem, intermediates: [ca.intermediatePem] }),
      caIssued: await h.request('POST', '/certificates/import', { certificate: caIssued.certPem, privateKey: caIssued.keyPem, intermediates: [ca.intermediatePem] }),
      wildcard: await h.request('POST', '/certificates/import', { certificate: wildcard.certPem, privateKey: wildcard.keyPem, intermediates: [ca.intermediatePem] }),
      expired: await h.request('POST', '/certificates/import', { certificate: expired.certPem, privateKey: expired.keyPem, intermediates: [ca.intermediatePem] }),
      keyless: await h.request('POST', '/certificates/import', { certificate: keyless.certPem, intermediates: [ca.intermediatePem] }),
    };
    for (const [name, r] of Object.entries(imports)) expect([name, r.status]).toEqual([name, 201]);
    const selfSigned = await h.request('POST', '/certificates', { provider: 'self-signed', domainNames: names, keyAlgorithm: 'ECDSA' });
    await h.waitForState(selfSigned.body.id, 'Issued');

    const res = await h.request('GET', '/selection?service=SMTP&fqdn=mail.selection.test');
    expect(res.status).toBe(200);
    const byId = Object.fromEntries(res.body.candidates.map((c: any) => [c.id, c]));
    const winner = res.body.selected.id;
    // Both CA-issued certificates were issued the same second; the newer or the tie-break wins, never the self-signed one.
    expect([imports.caIssued.body.id, imports.older.body.id, imports.wildcard.body.id]).toContain(winner);
    expect(byId[selfSigned.body.id]).toMatchObject({ outcome: 'outranked', rule: 'SelfSignedOutrankedByCaIssued' });
    expect(byId[imports.expired.body.id]).toMatchObject({ outcome: 'excluded', rule: 'Expired' });
    expect(byId[imports.keyless.body.id]).toMatchObject({ outcome: 'excluded', rule: 'NoPrivateKey' });

    const um = await h.request('GET', '/selection?service=UM&fqdn=mail.selection.test');
    expect(um.body.selected).not.toBeNull();
    const none = await h.request('GET', '/selection?service=SMTP&fqdn=nothing.example.org');
    expect(none.body).toMatchObject({ selected: null, candidates: [] });
    expect((await h.request('GET', '/selection?service=SMTP')).status).toBe(400);
  });
});

describe('bad certificate files: thousands of mutated inputs', () => {
  it('answers every mutated upload with a 4xx, never a 5xx, stays healthy and writes nothing', async () => {
    const req = await h.request('POST', '/certificates', { provider: 'manual', domainNames: ['fuzz.somorita.com'] });
    const pendingId = req.body.id;
    await h.waitForState(pendingId, 'RequestGenerated');
    const made = ca.issueWithKey('fuzz.somorita.com', ['fuzz.somorita.com']);
    const der = Buffer.from(made.certPem.replace(/-----[^-]+-----|\s/g, ''), 'base64');
    const seeds: Buffer[] = [
      Buffer.from(made.certPem),
      der,
      ca.p7b([made.certPem, ca.intermediatePem], 'DER'),
      ca.p7b([made.certPem], 'PEM'),
      ca.pfx(made.certPem, made.keyPem, 'pw'),
    ];
    let seed = 42;
    const rand = (n: number) => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const mutate = (b: Buffer): Buffer => {
      const m = mutateOnce(b);
      if (m.equals(b)) m[rand(m.length)] ^= 0xff; // a mutation that changed nothing would be a valid file
      return m;
    };
    const mutateOnce = (b: Buffer): Buffer => {
      const out = Buffer.from(b);
      switch (rand(5)) {
        case 0: for (let i = 0; i < 1 + rand(8); i++) out[rand(out.length)] ^= 1 << rand(8); return out;
        case 1: return out.subarray(0, rand(out.length));
        case 2: return Buffer.concat([out.subarray(0, rand(out.length)), Buffer.from([rand(256), rand(256), rand(256)]), out.subarray(rand(out.length))]);
        case 3: return Buffer.from(Array.from({ length: 1 + rand(2000) }, () => rand(256)));
        default: return Buffer.from(out.toString('latin1').replace('CERTIFICATE', ['PRIVATE KEY', 'PKCS7', 'X509 CRL', 'CERTIFICATE REQUEST'][rand(4)]), 'latin1');
      }
    };
    const eventsBefore = (await h.request('GET', `/certificates/${pendingId}/events`)).body.items.length;
    // Certificates the fuzzer did not make: the worker may create renewals meanwhile (the expired
    // certificate imported above is due for one at once); those carry `renews` and are left out.
    const notRenewals = async () =>
      ((await h.request('GET', '/certificates?limit=1000')).body.items as any[]).filter((c) => !c.renews).map((c) => c.id).sort();
    const listBefore = await notRenewals();
    const statuses = new Map<number, number>();
    const post = async (path: string, body: BodyInit, type: string) => {
      const r = await fetch(`${h.baseUrl}${path}`, { method: 'POST', headers: { authorization: `Bearer ${h.adminToken}`, 'content-type': type }, body });
      await r.arrayBuffer();
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    };
    const total = 1500;
    for (let i = 0; i < total; i += 10) {
      await Promise.all(Array.from({ length: 10 }, async (_, j) => {
        const input = mutate(seeds[(i + j) % seeds.length]);
        switch ((i + j) % 3) {
          case 0: return post(`/certificates/${pendingId}/import`, new Uint8Array(input), 'application/octet-stream');
          case 1: return post(`/certificates/${pendingId}/import`, JSON.stringify({ certificate: input.toString('base64') }), 'application/json');
          default: return post('/certificates/import', JSON.stringify({ pfx: input.toString('base64'), password: 'pw' }), 'application/json');
        }
      }));
    }
    const fiveXX = [...statuses].filter(([s]) => s >= 500);
    expect(fiveXX).toEqual([]);
    expect([...statuses.values()].reduce((a, b) => a + b, 0)).toBe(total);
    expect((await h.request('GET', '/health', undefined, null)).status).toBe(200);
    expect((await h.request('GET', `/certificates/${pendingId}/events`)).body.items.length).toBe(eventsBefore);
    expect(await notRenewals()).toEqual(listBefore);
  });
});
