import { createSecureContext } from 'node:tls';
import { DomainError, KeySpec } from '../../domain/src';
import { createSelfSigned } from './certificates';
import { parsePrivateKey } from './formats';
import { exportPkcs8, generateKeyPair } from './keys';
import { PkiFixture, createPki, sameDer } from './openssl-fixtures.spec';
import { createPkcs12, parsePkcs12 } from './pkcs12';

let pki: PkiFixture;
const selfSigned: Record<'rsa' | 'ec', { certificatePem: string; pkcs8: Buffer; spec: KeySpec }> = {} as never;

beforeAll(async () => {
  pki = createPki();
  for (const [name, spec] of [['rsa', { algorithm: 'RSA', size: 2048 }], ['ec', { algorithm: 'ECDSA', curve: 'P-256' }]] as const) {
    const keys = await generateKeyPair(spec);
    const certificatePem = await createSelfSigned({
      subject: 'CN=server1.fourthcoffee.com, O=Fourth Coffee',
      domainNames: ['server1.fourthcoffee.com', 'server1'],
      key: spec,
      keys,
      serialNumber: name === 'rsa' ? '01' : '02',
      notBefore: new Date('2026-01-01T00:00:00Z'),
      notAfter: new Date('2027-01-01T00:00:00Z'),
    });
    selfSigned[name] = { certificatePem, pkcs8: await exportPkcs8(keys.privateKey), spec };
  }
});
afterAll(() => pki.openssl.cleanup());

async function domainErrorAsync(f: () => Promise<unknown>): Promise<DomainError> {
  try {
    await f();
  } catch (e) {
    expect(e).toBeInstanceOf(DomainError);
    return e as DomainError;
  }
  throw new Error('no error was thrown');
}

describe('createPkcs12', () => {
  const password = 'Export-Pa55!';

  describe.each([
    ['an RSA-2048 self-signed certificate', 'rsa', false, /AES-256-CBC/, /MAC: sha256/],
    ['a P-256 self-signed certificate', 'ec', false, /AES-256-CBC/, /MAC: sha256/],
    ['an RSA-2048 self-signed certificate in legacy mode', 'rsa', true, /pbeWithSHA1And3-KeyTripleDES-CBC/, /MAC: sha1/],
    ['a P-256 self-signed certificate in legacy mode', 'ec', true, /pbeWithSHA1And3-KeyTripleDES-CBC/, /MAC: sha1/],
  ] as const)('for %s', (_sentence, which, legacy, encryption, mac) => {
    let pfx: Buffer;
    beforeAll(async () => {
      const input = selfSigned[which];
      pfx = await createPkcs12({ ...input, chainPem: [], password, friendlyName: 'Fourth Coffee SMTP', legacy });
    });

    it('writes a file openssl pkcs12 -info reads with the password, with the expected encryption and MAC', () => {
      const file = pki.openssl.write(`${which}-${legacy}.pfx`, pfx);
      const result = pki.openssl.status(['pkcs12', '-in', file, '-info', '-noout', '-passin', `pass:${password}`]);
      expect(result.code).toBe(0);
      expect(result.output).toMatch(encryption);
      expect(result.output).toMatch(mac);
      expect(pki.openssl.status(['pkcs12', '-in', file, '-info', '-noout', '-passin', 'pass:wrong']).code).not.toBe(0);
    });

    it('writes a file openssl extracts the same certificate and key from', () => {
      const file = pki.openssl.path(`${which}-${legacy}.pfx`);
      const certs = pki.openssl.run(['pkcs12', '-in', file, '-nokeys', '-passin', `pass:${password}`]);
      expect(sameDer(certs.slice(certs.indexOf('-----BEGIN')), selfSigned[which].certificatePem)).toBe(true);
      expect(certs).toContain('friendlyName: Fourth Coffee SMTP');
      const key = pki.openssl.run(['pkcs12', '-in', file, '-nocerts', '-nodes', '-passin', `pass:${password}`]);
      const keyDer = pki.openssl.run(['pkey', '-pubout', '-outform', 'PEM'], key.slice(key.indexOf('-----BEGIN')));
      const certKey = pki.openssl.run(['x509', '-noout', '-pubkey'], selfSigned[which].certificatePem);
      expect(keyDer).toBe(certKey);
    });

    it("is accepted by Node's tls.createSecureContext", () => {
      expect(() => createSecureContext({ pfx, passphrase: password })).not.toThrow();
    });

    it('reads back through parsePkcs12', async () => {
      const parsed = await parsePkcs12(pfx, password);
      expect(parsed.certificates).toHaveLength(1);
      expect(sameDer(parsed.certificates[0], selfSigned[which].certificatePem)).toBe(true);
      expect(parsed.privateKey?.pkcs8.equals(selfSigned[which].pkcs8)).toBe(true);
      expect(parsed.privateKey?.spec).toEqual(selfSigned[which].spec);
      expect(parsed.friendlyName).toBe('Fourth Coffee SMTP');
    });
  });

  it('puts the chain after the certificate, readable by openssl and Node', async () => {
    const { pkcs8, spec } = await parsePrivateKey(pki.leafKeyPem);
    const pfx = await createPkcs12({ certificatePem: pki.leafPem, chainPem: [pki.intermediatePem, pki.rootPem], pkcs8, spec, password });
    const file = pki.openssl.write('chain.pfx', pfx);
    const certs = pki.openssl.run(['pkcs12', '-in', file, '-nokeys', '-passin', `pass:${password}`]);
    expect(certs.match(/-----BEGIN CERTIFICATE-----/g)).toHaveLength(3);
    expect(() => createSecureContext({ pfx, passphrase: password })).not.toThrow();
    const parsed = await parsePkcs12(pfx, password);
    expect(parsed.certificates.map((c, k) => sameDer(c, [pki.leafPem, pki.intermediatePem, pki.rootPem][k]))).toEqual([true, true, true]);
    expect(parsed.friendlyName).toBeNull();
  });

  it('works with a non-ASCII password, as openssl reads it', async () => {
    const pfx = await createPkcs12({ ...selfSigned.ec, chainPem: [], password: 'Pässwörd-ß' });
    const file = pki.openssl.write('utf8.pfx', pfx);
    expect(pki.openssl.status(['pkcs12', '-in', file, '-info', '-noout', '-passin', 'pass:Pässwörd-ß']).code).toBe(0);
    expect((await parsePkcs12(pfx, 'Pässwörd-ß')).privateKey).not.toBeNull();
  });

  it('refuses an empty password', async () => {
    expect((await domainErrorAsync(() => createPkcs12({ ...selfSigned.rsa, chainPem: [], password: '' }))).code).toBe('PasswordRequired');
  });

  it('refuses a key that does not belong to the certificate', async () => {
    const error = await domainErrorAsync(() => createPkcs12({ ...selfSigned.rsa, pkcs8: selfSigned.ec.pkcs8, spec: selfSigned.ec.spec, chainPem: [], password }));
    expect(error.code).toBe('KeyMismatch');
  });

  it('refuses a spec that does not describe the key', async () => {
    const error = await domainErrorAsync(() => createPkcs12({ ...selfSigned.rsa, spec: { algorithm: 'RSA', size: 4096 }, chainPem: [], password }));
    expect(error.code).toBe('KeyMismatch');
    expect(error.message).toMatch(/RSA-2048, not RSA-4096/);
  });
});

describe('parsePkcs12 of files made by openssl pkcs12 -export', () => {
  const o = () => pki.openssl;
  const exportPfx = (file: string, args: string[]) => {
    o().run(['pkcs12', '-export', '-out', file, ...args]);
    return o().bytes(file);
  };
  const withChain = ['-in', 'leaf.pem', '-inkey', 'leaf.key', '-certfile', 'chain.pem', '-name', 'Contoso Mail'];
  beforeAll(() => {
    o().write('chain.pem', pki.intermediatePem + pki.rootPem);
  });

  const accepted: [string, () => Buffer, string, { certs: number; key: KeySpec | null; name: string | null }][] = [
    ['the default (AES-256-CBC, PBKDF2, SHA-256 MAC) with a chain', () => exportPfx('default.pfx', [...withChain, '-passout', 'pass:pw1']), 'pw1',
      { certs: 3, key: { algorithm: 'RSA', size: 2048 }, name: 'Contoso Mail' }],
    ['an EC key and certificate', () => exportPfx('ec.pfx', ['-in', 'ecleaf.pem', '-inkey', 'ecleaf.key', '-passout', 'pass:pw1']), 'pw1',
      { certs: 1, key: { algorithm: 'ECDSA', curve: 'P-256' }, name: null }],
    ['3DES for key and certificates with a SHA-1 MAC (old Windows)', () =>
      exportPfx('3des.pfx', [...withChain, '-keypbe', 'PBE-SHA1-3DES', '-certpbe', 'PBE-SHA1-3DES', '-macalg', 'sha1', '-passout', 'pass:pw1']), 'pw1',
      { certs: 3, key: { algorithm: 'RSA', size: 2048 }, name: 'Contoso Mail' }],
    ['PBES2 with 3DES and HMAC-SHA1', () => exportPfx('pbes2-3des.pfx', [...withChain, '-keypbe', 'des-ede3-cbc', '-certpbe', 'des-ede3-cbc', '-passout', 'pass:pw1']), 'pw1',
      { certs: 3, key: { algorithm: 'RSA', size: 2048 }, name: 'Contoso Mail' }],
    ['unencrypted certificates (-certpbe NONE)', () => exportPfx('nocertenc.pfx', [...withChain, '-certpbe', 'NONE', '-passout', 'pass:pw1']), 'pw1',
      { certs: 3, key: { algorithm: 'RSA', size: 2048 }, name: 'Contoso Mail' }],
    ['no MAC (-nomac)', () => exportPfx('nomac.pfx', [...withChain, '-nomac', '-passout', 'pass:pw1']), 'pw1',
      { certs: 3, key: { algorithm: 'RSA', size: 2048 }, name: 'Contoso Mail' }],
    ['certificates only (-nokeys)', () => exportPfx('nokeys.pfx', ['-in', 'leaf.pem', '-nokeys', '-passout', 'pass:pw1']), 'pw1',
      { certs: 1, key: null, name: null }],
    ['an empty password', () => exportPfx('empty.pfx', [...withChain, '-passout', 'pass:']), '',
      { certs: 3, key: { algorithm: 'RSA', size: 2048 }, name: 'Contoso Mail' }],
    ['a UTF-8 password', () => exportPfx('utf8.pfx', [...withChain, '-passout', 'pass:Grüße']), 'Grüße',
      { certs: 3, key: { algorithm: 'RSA', size: 2048 }, name: 'Contoso Mail' }],
    ['the same file as base64 text (as key vaults hand it out)', () => Buffer.from(o().bytes('default.pfx').toString('base64')), 'pw1',
      { certs: 3, key: { algorithm: 'RSA', size: 2048 }, name: 'Contoso Mail' }],
  ];

  it.each(accepted)('reads %s', async (_sentence, file, password, expected) => {
    const parsed = await parsePkcs12(file(), password);
    expect(parsed.certificates).toHaveLength(expected.certs);
    expect(sameDer(parsed.certificates[0], pki.leafPem) || sameDer(parsed.certificates[0], pki.ecLeafPem)).toBe(true);
    expect(parsed.privateKey?.spec ?? null).toEqual(expected.key);
    expect(parsed.friendlyName).toBe(expected.name);
    if (expected.key && expected.certs === 3) {
      const { pkcs8 } = await parsePrivateKey(pki.leafKeyPem);
      expect(parsed.privateKey?.pkcs8.equals(pkcs8)).toBe(true);
    }
  });

  const refused: [string, () => Buffer, string, string, RegExp][] = [
    ['a wrong password (AES)', () => o().bytes('default.pfx'), 'nope', 'WrongPassword', /password is wrong/],
    ['a wrong password (3DES)', () => o().bytes('3des.pfx'), 'nope', 'WrongPassword', /password is wrong/],
    ['a wrong password on a file without MAC', () => o().bytes('nomac.pfx'), 'nope', 'WrongPassword', /password is wrong/],
    ['RC2-40 encryption (openssl -legacy)', () => exportPfx('rc2.pfx', [...withChain, '-legacy', '-passout', 'pass:pw1']), 'pw1', 'UnsupportedPkcs12', /PBE-SHA1-RC2-40, which is obsolete/],
    ['a certificate instead of a PFX', () => (o().run(['x509', '-in', 'leaf.pem', '-outform', 'DER', '-out', 'leaf.der']), o().bytes('leaf.der')), 'pw1', 'InvalidPkcs12', /is a certificate, not a PKCS#12/],
    ['PEM text instead of a PFX', () => Buffer.from(pki.leafPem), 'pw1', 'InvalidPkcs12', /PEM text, not a PKCS#12/],
    ['random bytes', () => Buffer.from(Array.from({ length: 300 }, (_, k) => (k * 37 + 11) % 256)), 'pw1', 'InvalidPkcs12', /not a PKCS#12/],
    ['a truncated file', () => o().bytes('default.pfx').subarray(0, 1500), 'pw1', 'InvalidPkcs12', /truncated/],
    ['an empty file', () => Buffer.alloc(0), 'pw1', 'InvalidPkcs12', /empty/],
    ['a MAC with more iterations than accepted', () => exportPfx('slow.pfx', [...withChain, '-iter', '250000', '-passout', 'pass:pw1']), 'pw1', 'UnsupportedPkcs12',
      /uses 250000 iterations for its integrity check \(MAC\); at most 200000/],
    ['a PFX whose content is signed-data (public-key integrity mode)', () => signedDataPfx(o().bytes('default.pfx')), 'pw1',
      'UnsupportedPkcs12', /public-key integrity mode/],
  ];

  it.each(refused)('refuses %s', async (_sentence, file, password, code, message) => {
    const error = await domainErrorAsync(() => parsePkcs12(file(), password));
    expect(error.code).toBe(code);
    expect(error.message).toMatch(message);
    expect(error.message).not.toContain(password === '' ? '\u0000' : password);
  });
});

/** The same PFX with its authSafe content type switched to signed-data (1.2.840.113549.1.7.2). */
function signedDataPfx(pfx: Buffer): Buffer {
  const copy = Buffer.from(pfx);
  const data = Buffer.from('06092a864886f70d010701', 'hex');
  const at = copy.indexOf(data);
  copy[at + data.length - 1] = 0x02;
  return copy;
}
