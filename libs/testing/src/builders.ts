import { CertificateCommand, CertificateRequestSpec, IssuedCertificateFacts } from '../../domain/src';

/** A request spec with sensible defaults (the fourthcoffee self-signed SMTP scenario). */
export const aRequestSpec = (overrides: Partial<CertificateRequestSpec> = {}): CertificateRequestSpec => ({
  provider: 'self-signed',
  subject: null,
  domainNames: ['server1.fourthcoffee.com', 'server1'],
  key: { algorithm: 'RSA', size: 2048 },
  privateKeyExportable: false,
  friendlyName: null,
  requestedServices: ['SMTP'],
  validityDays: null,
  ...overrides,
});

export const aRequestCommand = (certificateId: string, overrides: Partial<CertificateRequestSpec> = {}, actor = 'alice'): CertificateCommand => ({
  type: 'RequestCertificate',
  data: { ...aRequestSpec(overrides), certificateId },
  actor,
});

export const someIssuedFacts = (overrides: Partial<IssuedCertificateFacts> = {}): IssuedCertificateFacts & { certificatePem: string; chainPem: string[] } => ({
  thumbprint: 'A'.repeat(40),
  sha256Fingerprint: 'B'.repeat(64),
  serialNumber: '01',
  subject: 'CN=server1.fourthcoffee.com',
  issuer: 'CN=server1.fourthcoffee.com',
  notBefore: '2026-01-01T00:00:00.000Z',
  notAfter: '2027-01-01T00:00:00.000Z',
  certificateDomains: ['server1.fourthcoffee.com', 'server1'],
  publicKeySize: 2048,
  keyAlgorithm: 'RSA',
  isSelfSigned: true,
  certificatePem: '-----BEGIN CERTIFICATE-----\nMA==\n-----END CERTIFICATE-----\n',
  chainPem: [],
  ...overrides,
});
