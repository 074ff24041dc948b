import { certificateStatus, StatusInput } from './status.policy';

const issued = (o: Partial<StatusInput> = {}): StatusInput => ({
  state: 'Issued',
  notBefore: '2026-01-01T00:00:00Z',
  notAfter: '2027-01-01T00:00:00Z',
  isSelfSigned: true,
  signatureValid: null,
  chainTrusted: null,
  ...o,
});
const mid = new Date('2026-06-01T00:00:00Z');

describe('certificate status', () => {
  it.each<[string, StatusInput, Date, string]>([
    ['a request that has no certificate yet is PendingRequest', issued({ state: 'RequestGenerated', notBefore: null, notAfter: null }), mid, 'PendingRequest'],
    ['a request awaiting approval is PendingRequest', issued({ state: 'AwaitingApproval', notBefore: null, notAfter: null }), mid, 'PendingRequest'],
    ['a self-signed certificate inside its validity is Valid', issued(), mid, 'Valid'],
    ['an expired certificate is DateInvalid', issued(), new Date('2027-01-02T00:00:00Z'), 'DateInvalid'],
    ['a certificate before its notBefore is DateInvalid', issued(), new Date('2025-12-31T00:00:00Z'), 'DateInvalid'],
    ['a CA-issued certificate without a trusted chain is Untrusted', issued({ isSelfSigned: false, chainTrusted: false }), mid, 'Untrusted'],
    ['a CA-issued certificate with a trusted chain is Valid', issued({ isSelfSigned: false, chainTrusted: true }), mid, 'Valid'],
    ['a revoked certificate is Revoked even inside its validity', issued({ state: 'Revoked' }), mid, 'Revoked'],
    ['a broken signature is Invalid', issued({ signatureValid: false }), mid, 'Invalid'],
    ['a rejected request with no certificate is Unknown', issued({ state: 'Rejected', notBefore: null, notAfter: null }), mid, 'Unknown'],
  ])('%s', (_name, input, now, expected) => {
    const result = certificateStatus(input, now);
    expect(result.status).toBe(expected);
    expect(result.reasons.length).toBeGreaterThan(0);
  });
});

describe('certificate status with chain evaluation', () => {
  const ca = (o: Partial<StatusInput> = {}) => issued({ isSelfSigned: false, chainTrusted: true, ...o });
  it.each<[string, StatusInput, string, string]>([
    ['a trusted certificate whose CRL does not list it is Valid', ca({ revocation: 'good' }), 'Valid', 'NotRevoked'],
    ['a trusted certificate without a CRL distribution point is Valid', ca({ revocation: 'notChecked' }), 'Valid', 'ChainTrusted'],
    ['a trusted certificate whose CRL cannot be fetched is Unknown', ca({ revocation: 'unknown', revocationDetail: 'http://crl.example/x.crl could not be reached' }), 'Unknown', 'RevocationUnknown'],
    ['a certificate listed on its CA\'s CRL is Revoked', ca({ revocation: 'revoked' }), 'Revoked', 'Revoked'],
    ['a certificate under a revoked intermediate is Invalid', ca({ caProblems: ['the CA certificate CN=Issuing is revoked'] }), 'Invalid', 'CaInvalid'],
    ['a revoked certificate is Revoked even when it has expired', ca({ revocation: 'revoked', notAfter: '2026-02-01T00:00:00Z' }), 'Revoked', 'Revoked'],
  ])('%s', (_name, input, status, code) => {
    const result = certificateStatus(input, mid);
    expect(result.status).toBe(status);
    expect(result.reasons.map((r) => r.code)).toContain(code);
  });
});
