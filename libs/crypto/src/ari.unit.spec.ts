import { DomainError } from '../../domain/src';
import { ariCertId } from './ari';
import { Openssl } from './openssl-fixtures.spec';
import { x509 } from './x509';

/** RFC 9773 §4.1's example: this AKI keyIdentifier and serial give this certID. */
const RFC_AKI = '69:88:5B:6B:87:46:40:41:E1:B3:7B:84:7B:A0:AE:2C:DE:01:C8:D4';
const RFC_CERT_ID = 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AIdlQyE';

const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A leaf made in-process, so the serial octets and the AKI are exactly what the case says. */
async function leaf(serialNumber: string, extensions: x509.Extension[]): Promise<string> {
  const k = (await crypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as CryptoKeyPair;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: 'CN=mail.contoso.com',
    issuer: 'CN=Contoso Issuing CA',
    notBefore: new Date('2026-01-01T00:00:00Z'),
    notAfter: new Date('2026-04-01T00:00:00Z'),
    publicKey: k.publicKey,
    signingKey: k.privateKey,
    signingAlgorithm: alg,
    extensions,
  });
  return cert.toString('pem');
}

const aki = (hex: string) => new x509.AuthorityKeyIdentifierExtension(hex.replace(/:/g, ''));

describe('ariCertId (RFC 9773 §4.1)', () => {
  let openssl: Openssl;
  beforeAll(() => {
    // An issuing CA whose Subject Key Identifier is the RFC's AKI, so its leaves carry that AKI.
    openssl = new Openssl();
    openssl.run(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'ca.key', '-out', 'ca.pem', '-days', '30', '-subj', '/CN=ARI Test CA',
      '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', `subjectKeyIdentifier=${RFC_AKI}`]);
    openssl.run(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', 'leaf.key', '-out', 'leaf.csr', '-subj', '/CN=mail.contoso.com']);
  });
  afterAll(() => openssl.cleanup());

  const opensslLeaf = (serial: string, ext: string): string => {
    openssl.write('leaf.ext', ext);
    openssl.run(['x509', '-req', '-in', 'leaf.csr', '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', serial, '-days', '5', '-extfile', 'leaf.ext', '-out', 'leaf.pem']);
    return openssl.text('leaf.pem');
  };

  it('matches the RFC example for a certificate issued by openssl (serial 0x87654321 is encoded 00 87 65 43 21)', () => {
    const pem = opensslLeaf('0x87654321', 'basicConstraints=CA:FALSE\nauthorityKeyIdentifier=keyid:always\n');
    expect(ariCertId(pem)).toBe(RFC_CERT_ID);
  });

  it('identifies the first certificate of a bundle (the leaf)', () => {
    const pem = opensslLeaf('0x87654321', 'authorityKeyIdentifier=keyid:always\n');
    expect(ariCertId(pem + openssl.text('ca.pem'))).toBe(RFC_CERT_ID);
  });

  it.each<[string, string, string]>([
    ['the RFC example: the 0x00 sign octet before a high bit is kept', '0087654321', RFC_CERT_ID],
    ['a high-bit serial given without its sign octet is encoded with it', '87654321', RFC_CERT_ID],
    ['a serial without a high bit has no leading zero', '0102', 'aYhba4dGQEHhs3uEe6CuLN4ByNQ.AQI'],
    ['a 20-octet serial with a high bit is 21 octets', 'ff'.repeat(20), `aYhba4dGQEHhs3uEe6CuLN4ByNQ.${Buffer.from('00' + 'ff'.repeat(20), 'hex').toString('base64url')}`],
  ])('%s', async (_name, serial, expected) => {
    expect(ariCertId(await leaf(serial, [aki(RFC_AKI)]))).toBe(expected);
  });

  it('uses unpadded base64url (no "=", "+" or "/")', async () => {
    const id = ariCertId(await leaf('00fbff', [aki('fbff')]));
    expect(id).toBe('-_8.APv_');
  });

  it.each<[string, () => Promise<string> | string]>([
    ['a certificate without an Authority Key Identifier', () => opensslLeaf('5', 'basicConstraints=CA:FALSE\nauthorityKeyIdentifier=none\nsubjectKeyIdentifier=none\n')],
    ['an Authority Key Identifier with only the issuer name and serial, no keyIdentifier', () => opensslLeaf('6', 'authorityKeyIdentifier=issuer:always\nsubjectKeyIdentifier=none\n')],
    ['an in-process certificate without extensions', () => leaf('01', [])],
  ])('refuses %s with NoAuthorityKeyIdentifier', async (_name, make) => {
    const pem = await make();
    let error: unknown;
    try {
      ariCertId(pem);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DomainError);
    expect(error).toMatchObject({ code: 'NoAuthorityKeyIdentifier', kind: 'unprocessable' });
  });

  it('refuses input that is not a certificate with a DomainError', () => {
    expect(() => ariCertId('not a certificate')).toThrow(DomainError);
    expect(() => ariCertId('-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n')).toThrow(DomainError);
  });
});
