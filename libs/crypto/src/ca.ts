import { randomBytes } from 'node:crypto';
import { KeySpec, RevocationReason } from '../../domain/src';
import { KeyPair, exportPkcs8, generateKeyPair, importKeyPair, signingAlgorithm } from './keys';
import { x509 } from './x509';

/** The internal CA's own keys: ECDSA P-384 (fast to make and to sign with, accepted everywhere that matters). */
export const CA_KEY: KeySpec = { algorithm: 'ECDSA', curve: 'P-384' };

const serial = (): string => {
  const b = randomBytes(16);
  b[0] = (b[0] & 0x7f) | 0x01;
  return b.toString('hex');
};

export interface CaMaterial {
  rootPem: string;
  intermediatePem: string;
  rootPkcs8: Buffer;
  intermediatePkcs8: Buffer;
}

/** A new root (10 years) and issuing intermediate (5 years) for certflow's internal CA. */
export async function createInternalCa(name: string, now: Date): Promise<CaMaterial> {
  const rootKeys = await generateKeyPair(CA_KEY);
  const interKeys = await generateKeyPair(CA_KEY);
  const rootName = `CN=${name} Root CA, O=${name}`;
  const interName = `CN=${name} Issuing CA, O=${name}`;
  const alg = signingAlgorithm(CA_KEY);
  const root = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: rootName,
    notBefore: now,
    notAfter: new Date(now.getTime() + 3650 * 86_400_000),
    keys: rootKeys,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  const inter = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: interName,
    issuer: root.subject,
    notBefore: now,
    notAfter: new Date(now.getTime() + 1825 * 86_400_000),
    publicKey: interKeys.publicKey,
    signingKey: rootKeys.privateKey,
    signingAlgorithm: alg,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(interKeys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(rootKeys.publicKey),
    ],
  });
  return {
    rootPem: root.toString('pem'),
    intermediatePem: inter.toString('pem'),
    rootPkcs8: await exportPkcs8(rootKeys.privateKey),
    intermediatePkcs8: await exportPkcs8(interKeys.privateKey),
  };
}

export interface SignRequestInput {
  csrPem: string;
  /** The names to certify (the request's, as approved), not whatever else the CSR carries. */
  domainNames: readonly string[];
  keyAlgorithm: 'RSA' | 'ECDSA';
  issuerPem: string;
  issuerKeys: KeyPair;
  issuerSpec: KeySpec;
  notBefore: Date;
  notAfter: Date;
  crlUrl: string | null;
  caIssuersUrl: string | null;
}

/** Signs a PKCS#10 request as a CA: a serverAuth/clientAuth leaf with CRL distribution point and AIA. */
export async function signCertificateRequest(input: SignRequestInput): Promise<string> {
  const csr = new x509.Pkcs10CertificateRequest(input.csrPem);
  if (!(await csr.verify())) throw new Error('the certificate request signature does not verify');
  const issuer = new x509.X509Certificate(input.issuerPem);
  const usages =
    input.keyAlgorithm === 'RSA'
      ? x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment
      : x509.KeyUsageFlags.digitalSignature;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: csr.subjectName,
    issuer: issuer.subjectName,
    notBefore: input.notBefore,
    notAfter: input.notAfter,
    publicKey: csr.publicKey,
    signingKey: input.issuerKeys.privateKey,
    signingAlgorithm: signingAlgorithm(input.issuerSpec),
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(usages, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth]),
      new x509.SubjectAlternativeNameExtension(input.domainNames.map((value) => ({ type: 'dns' as const, value }))),
      await x509.SubjectKeyIdentifierExtension.create(csr.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey),
      ...(input.crlUrl ? [new x509.CRLDistributionPointsExtension([input.crlUrl])] : []),
      ...(input.caIssuersUrl ? [new x509.AuthorityInfoAccessExtension({ caIssuers: new x509.GeneralName('url', input.caIssuersUrl) })] : []),
    ],
  });
  return cert.toString('pem');
}

export interface CrlEntryInput {
  serialNumber: string;
  revokedAt: Date;
  reason: RevocationReason;
}

/** A CRL (DER) signed by the issuer, listing the given serial numbers. */
export async function createCrl(input: {
  issuerPem: string;
  issuerKeys: KeyPair;
  issuerSpec: KeySpec;
  entries: readonly CrlEntryInput[];
  thisUpdate: Date;
  nextUpdate: Date;
}): Promise<Buffer> {
  const issuer = new x509.X509Certificate(input.issuerPem);
  const crl = await x509.X509CrlGenerator.create({
    issuer: issuer.subjectName,
    thisUpdate: input.thisUpdate,
    nextUpdate: input.nextUpdate,
    entries: input.entries.map((e) => ({
      serialNumber: e.serialNumber.toLowerCase(),
      revocationDate: e.revokedAt,
      reason: x509.X509CrlReason[e.reason as keyof typeof x509.X509CrlReason] ?? x509.X509CrlReason.unspecified,
    })),
    signingAlgorithm: signingAlgorithm(input.issuerSpec),
    signingKey: input.issuerKeys.privateKey,
    extensions: [await x509.AuthorityKeyIdentifierExtension.create(issuer.publicKey)],
  });
  return Buffer.from(crl.rawData);
}

export { importKeyPair };
