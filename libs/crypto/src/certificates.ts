import { IssuedCertificateFacts, KeySpec } from '../../domain/src';
import { KeyPair, signingAlgorithm } from './keys';
import { x509 } from './x509';

export interface CsrInput {
  /** RFC 4514 subject (`CN=mail.contoso.com, O=Contoso`), or null for CN = first domain name. */
  subject: string | null;
  domainNames: readonly string[];
  key: KeySpec;
  keys: KeyPair;
}

export const subjectOrDefault = (subject: string | null, domainNames: readonly string[]): string =>
  subject ?? `CN=${domainNames[0]}`;

/** Throws a plain Error naming the problem if the subject is not a distinguished name. */
export function parseDistinguishedName(subject: string): string {
  const name = new x509.Name(subject);
  if (name.toJSON().length === 0) throw new Error('the subject has no attributes');
  return name.toString();
}

const sanExtension = (domainNames: readonly string[]) =>
  new x509.SubjectAlternativeNameExtension(domainNames.map((value) => ({ type: 'dns' as const, value })));

/** A PKCS#10 request with every domain name in subjectAltName, signed with the new key. */
export async function createCsr(input: CsrInput): Promise<string> {
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: subjectOrDefault(input.subject, input.domainNames),
    keys: input.keys,
    signingAlgorithm: signingAlgorithm(input.key),
    extensions: [sanExtension(input.domainNames)],
  });
  return csr.toString('pem');
}

export interface SelfSignedInput extends CsrInput {
  serialNumber: string;
  notBefore: Date;
  notAfter: Date;
}

/** A self-signed server certificate (serverAuth + clientAuth), as New-ExchangeCertificate makes one. */
export async function createSelfSigned(input: SelfSignedInput): Promise<string> {
  const usages =
    input.key.algorithm === 'RSA'
      ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
      : x509.KeyUsageFlags.digitalSignature;
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: input.serialNumber,
    name: subjectOrDefault(input.subject, input.domainNames),
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    keys: input.keys,
    signingAlgorithm: signingAlgorithm(input.key),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      sanExtension(input.domainNames),
      await x509.SubjectKeyIdentifierExtension.create(input.keys.publicKey),
    ],
  });
  return cert.toString('pem');
}

const hex = (buf: ArrayBuffer): string => Buffer.from(buf).toString('hex').toUpperCase();

/** The facts Get-ExchangeCertificate shows, read from the certificate itself. */
export async function certificateFacts(pem: string): Promise<IssuedCertificateFacts> {
  const cert = new x509.X509Certificate(pem);
  const san = cert.getExtension(x509.SubjectAlternativeNameExtension);
  const dnsNames = san ? san.names.items.filter((n) => n.type === 'dns').map((n) => n.value.toLowerCase()) : [];
  const cns = cert.subjectName.getField('CN').map((c) => c.toLowerCase());
  const algorithm = cert.publicKey.algorithm as RsaHashedKeyAlgorithm & EcKeyAlgorithm;
  const isEc = algorithm.name === 'ECDSA' || algorithm.name === 'ECDH';
  const publicKeySize = isEc ? Number(algorithm.namedCurve.replace('P-', '')) : algorithm.modulusLength;
  const isSelfSigned = cert.subject === cert.issuer && (await cert.verify({ signatureOnly: true }).catch(() => false));
  return {
    thumbprint: hex(await cert.getThumbprint('SHA-1')),
    sha256Fingerprint: hex(await cert.getThumbprint('SHA-256')),
    serialNumber: cert.serialNumber.toUpperCase(),
    subject: cert.subject,
    issuer: cert.issuer,
    notBefore: cert.notBefore.toISOString(),
    notAfter: cert.notAfter.toISOString(),
    certificateDomains: [...new Set([...cns, ...dnsNames])],
    publicKeySize,
    keyAlgorithm: isEc ? 'ECDSA' : 'RSA',
    isSelfSigned,
  };
}

/** Whether the certificate's signature verifies with its own public key (self-signed) or the given issuer's. */
export async function verifySignature(pem: string, issuerPem?: string): Promise<boolean> {
  const cert = new x509.X509Certificate(pem);
  const publicKey = issuerPem ? new x509.X509Certificate(issuerPem).publicKey : cert.publicKey;
  return cert.verify({ publicKey, signatureOnly: true }).catch(() => false);
}
