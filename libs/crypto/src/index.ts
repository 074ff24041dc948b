export * from './x509';
export * from './keys';
export * from './certificates';
export * from './key-vault.adapter';
export * from './key-service.adapter';
export * from './chain';
export {
  parseCertificates,
  orderChain,
  parsePrivateKey,
  keyMatchesCertificate,
  publicKeyMatches,
  keySpecOf,
  MAX_KDF_ITERATIONS,
  MAX_PKCS12_KDF_ITERATIONS,
} from './formats';
export type { CertificateFormat, ParsedCertificates, ParsedPrivateKey, OrderedChain } from './formats';
export { parsePkcs12, createPkcs12 } from './pkcs12';
export type { ParsedPkcs12, CreatePkcs12Options } from './pkcs12';
export { MAX_INPUT_BYTES } from './pem';
export { ariCertId } from './ari';
export * from './subject';
export * from './ca';
