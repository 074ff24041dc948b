import { createServer, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { HttpCrlSource, TrustAnchors, evaluateChain } from './chain';
import { x509 } from './x509';

/** A small PKI made in-process: root → intermediate → leaves, with CRLs served over loopback HTTP. */
const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const now = new Date();
const days = (n: number) => new Date(now.getTime() + n * 86_400_000);
let server: Server;
let base: string;
const crls = new Map<string, ArrayBuffer>();

const keys = () => crypto.subtle.generateKey(alg, true, ['sign', 'verify']) as Promise<CryptoKeyPair>;

async function caCert(name: string, signer: { name: string; keys: CryptoKeyPair } | null, self: CryptoKeyPair, options: { ca?: boolean; crl?: string; notAfter?: Date } = {}) {
  return x509.X509CertificateGenerator.create({
    serialNumber: Math.floor(Math.random() * 1e9).toString(16).padStart(8, '1'),
    subject: name,
    issuer: signer ? signer.name : name,
    notBefore: days(-10),
    notAfter: options.notAfter ?? days(365),
    publicKey: self.publicKey,
    signingKey: (signer ? signer.keys : self).privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(options.ca ?? true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      ...(options.crl ? [new x509.CRLDistributionPointsExtension([options.crl])] : []),
    ],
  });
}

async function leafCert(name: string, signer: { name: string; keys: CryptoKeyPair }, options: { crl?: string; serial?: string; eku?: string[] } = {}) {
  const k = await keys();
  return x509.X509CertificateGenerator.create({
    serialNumber: options.serial ?? '0a' + Math.floor(Math.random() * 1e9).toString(16),
    subject: `CN=${name}`,
    issuer: signer.name,
    notBefore: days(-1),
    notAfter: days(90),
    publicKey: k.publicKey,
    signingKey: signer.keys.privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(false),
      ...(options.eku ? [new x509.ExtendedKeyUsageExtension(options.eku)] : []),
      new x509.SubjectAlternativeNameExtension([{ type: 'dns', value: name }]),
      ...(options.crl ? [new x509.CRLDistributionPointsExtension([options.crl])] : []),
    ],
  });
}

async function publishCrl(path: string, issuer: { name: string; keys: CryptoKeyPair }, revoked: string[]) {
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.name,
    thisUpdate: days(-1),
    nextUpdate: days(7),
    entries: revoked.map((serialNumber) => ({ serialNumber, revocationDate: days(-1), reason: x509.X509CrlReason.keyCompromise })),
    signingAlgorithm: alg,
    signingKey: issuer.keys.privateKey,
  });
  crls.set(path, crl.rawData);
}

let root: { name: string; keys: CryptoKeyPair; cert: x509.X509Certificate };
let inter: { name: string; keys: CryptoKeyPair; cert: x509.X509Certificate };
let anchors: TrustAnchors;

beforeAll(async () => {
  server = createServer((req, res) => {
    const body = crls.get(req.url ?? '');
    if (!body) {
      res.statusCode = 404;
      res.end();
      return;
    }
    res.setHeader('content-type', 'application/pkix-crl');
    res.end(Buffer.from(body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const rootKeys = await keys();
  root = { name: 'CN=Chain Test Root, O=certflow tests', keys: rootKeys, cert: await caCert('CN=Chain Test Root, O=certflow tests', null, rootKeys) };
  const interKeys = await keys();
  inter = {
    name: 'CN=Chain Test Issuing CA, O=certflow tests',
    keys: interKeys,
    cert: await caCert('CN=Chain Test Issuing CA, O=certflow tests', root, interKeys, { crl: `${base}/root.crl` }),
  };
  anchors = new TrustAnchors([{ pem: root.cert.toString('pem'), source: 'Registry' }]);
  await publishCrl('/root.crl', root, []);
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('chain evaluation', () => {
  it('a leaf under a trusted root with a CRL that does not list it is trusted and good', async () => {
    await publishCrl('/inter-good.crl', inter, ['01']);
    const leaf = await leafCert('good.example', inter, { crl: `${base}/inter-good.crl`, eku: ['1.3.6.1.5.5.7.3.1'] });
    const e = await evaluateChain(leaf.toString('pem'), [inter.cert.toString('pem')], anchors, now, new HttpCrlSource());
    expect(e).toMatchObject({ chainTrusted: true, rootCAType: 'Registry', signatureValid: true, caProblems: [], revocation: 'good', isSelfSigned: false, enhancedKeyUsage: ['serverAuth'] });
    expect(e.path).toHaveLength(3);
    expect(e.root).toBe(root.cert.toString('pem'));
  });

  it('a leaf listed on its issuer\'s CRL is revoked', async () => {
    await publishCrl('/inter-revoked.crl', inter, ['0b0b0b']);
    const leaf = await leafCert('revoked.example', inter, { crl: `${base}/inter-revoked.crl`, serial: '0b0b0b' });
    const e = await evaluateChain(leaf.toString('pem'), [inter.cert.toString('pem')], anchors, now, new HttpCrlSource());
    expect(e.revocation).toBe('revoked');
    expect(e.revocationDetail).toMatch(/inter-revoked.crl/);
  });

  it('a CRL that cannot be reached leaves revocation unknown', async () => {
    const leaf = await leafCert('unreachable.example', inter, { crl: 'http://127.0.0.1:1/nothing.crl' });
    const e = await evaluateChain(leaf.toString('pem'), [inter.cert.toString('pem')], anchors, now, new HttpCrlSource(500));
    expect(e).toMatchObject({ chainTrusted: true, revocation: 'unknown' });
    expect(e.revocationDetail).toMatch(/could not be reached/);
  });

  it('a CRL signed by someone else does not count', async () => {
    await publishCrl('/forged.crl', { name: inter.name, keys: await keys() }, []);
    const leaf = await leafCert('forged.example', inter, { crl: `${base}/forged.crl` });
    const e = await evaluateChain(leaf.toString('pem'), [inter.cert.toString('pem')], anchors, now, new HttpCrlSource());
    expect(e.revocation).toBe('unknown');
    expect(e.revocationDetail).toMatch(/not signed by/);
  });

  it('a revoked intermediate is a CA problem', async () => {
    const k = await keys();
    const revokedInter = { name: 'CN=Revoked Issuing CA', keys: k, cert: await caCert('CN=Revoked Issuing CA', root, k, { crl: `${base}/root-revokes.crl` }) };
    await publishCrl('/root-revokes.crl', root, [revokedInter.cert.serialNumber]);
    const leaf = await leafCert('under-revoked.example', revokedInter);
    const e = await evaluateChain(leaf.toString('pem'), [revokedInter.cert.toString('pem')], anchors, now, new HttpCrlSource());
    expect(e.caProblems.join(' ')).toMatch(/Revoked Issuing CA is revoked/);
  });

  it('a leaf without its intermediate, or under an unknown root, is not trusted', async () => {
    const leaf = await leafCert('lonely.example', inter);
    const e = await evaluateChain(leaf.toString('pem'), [], anchors, now);
    expect(e).toMatchObject({ chainTrusted: false, rootCAType: 'Unknown', revocation: 'notChecked' });
    const noAnchors = await evaluateChain(leaf.toString('pem'), [inter.cert.toString('pem'), root.cert.toString('pem')], new TrustAnchors([]), now);
    expect(noAnchors).toMatchObject({ chainTrusted: false, rootCAType: 'Unknown' });
    expect(noAnchors.path).toHaveLength(3);
  });

  it('a leaf whose signature does not verify with its issuer\'s key is invalid', async () => {
    const impostor = { name: inter.name, keys: await keys() };
    const leaf = await leafCert('forged-leaf.example', impostor);
    const e = await evaluateChain(leaf.toString('pem'), [inter.cert.toString('pem')], anchors, now);
    expect(e.signatureValid).toBe(false);
    expect(e.chainTrusted).toBe(false);
  });

  it('an issuer that is not a CA, or an expired CA, is a CA problem', async () => {
    const k = await keys();
    const notCa = { name: 'CN=Not A CA', keys: k, cert: await caCert('CN=Not A CA', root, k, { ca: false }) };
    const e1 = await evaluateChain((await leafCert('x.example', notCa)).toString('pem'), [notCa.cert.toString('pem')], anchors, now);
    expect(e1.caProblems.join(' ')).toMatch(/is not a CA/);
    const k2 = await keys();
    const expiredCa = { name: 'CN=Expired CA', keys: k2, cert: await caCert('CN=Expired CA', root, k2, { notAfter: days(-2) }) };
    const e2 = await evaluateChain((await leafCert('y.example', expiredCa)).toString('pem'), [expiredCa.cert.toString('pem')], anchors, now);
    expect(e2.caProblems.join(' ')).toMatch(/outside its validity period/);
  });

  it('a self-signed certificate is RootCAType None, and Mozilla roots are ThirdParty', async () => {
    const k = await keys();
    const self = await x509.X509CertificateGenerator.createSelfSigned({ serialNumber: '01', name: 'CN=self.example', notBefore: days(-1), notAfter: days(1), keys: k, signingAlgorithm: alg });
    const e = await evaluateChain(self.toString('pem'), [], anchors, now);
    expect(e).toMatchObject({ isSelfSigned: true, signatureValid: true, rootCAType: 'None', enhancedKeyUsage: null });
    const { rootCertificates } = await import('node:tls');
    const mozilla = new TrustAnchors(rootCertificates.map((pem) => ({ pem, source: 'ThirdParty' as const })));
    expect(mozilla.size).toBeGreaterThan(100);
    const leaf = await leafCert('z.example', inter);
    const both = new TrustAnchors([...rootCertificates.map((pem) => ({ pem, source: 'ThirdParty' as const })), { pem: root.cert.toString('pem'), source: 'ThirdParty' }]);
    expect((await evaluateChain(leaf.toString('pem'), [inter.cert.toString('pem')], both, now)).rootCAType).toBe('ThirdParty');
  });
});

describe('extending a trust store', () => {
  it('adds anchors without re-parsing the base, and the added source wins for the same root', async () => {
    const base = new TrustAnchors([{ pem: root.cert.toString('pem'), source: 'ThirdParty' }]);
    const extended = base.extend([{ pem: root.cert.toString('pem'), source: 'Registry' }]);
    const leaf = await leafCert('ext.example', inter);
    expect((await evaluateChain(leaf.toString('pem'), [inter.cert.toString('pem')], base, now)).rootCAType).toBe('ThirdParty');
    expect((await evaluateChain(leaf.toString('pem'), [inter.cert.toString('pem')], extended, now)).rootCAType).toBe('Registry');
    expect(extended.size).toBe(1);
  });
});
