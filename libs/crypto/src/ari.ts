import * as asn1js from 'asn1js';
import { DomainError } from '../../domain/src';
import { parseCertificates } from './formats';
import { x509 } from './x509';

/**
 * The ACME Renewal Information certificate identifier (RFC 9773 §4.1): base64url (no padding)
 * of the Authority Key Identifier's keyIdentifier, ".", base64url of the serial number's DER
 * content octets. The serial is read from the DER itself, not from `X509Certificate.serialNumber`:
 * @peculiar/x509 drops the 0x00 sign octet there, and the CA keys its renewal info on the
 * octets exactly as encoded (`00 87 65 43 21` → `AIdlQyE`). The first certificate of a PEM
 * bundle is the one identified (the leaf, as certflow stores chains).
 * Throws the DomainErrors of `parseCertificates` for unreadable input, and
 * NoAuthorityKeyIdentifier (unprocessable) when the certificate names no issuer key: ARI
 * cannot identify it, so the caller falls back to its own renewal schedule.
 */
export function ariCertId(certificatePem: string): string {
  const pem = parseCertificates(certificatePem).certificates[0];
  let cert: x509.X509Certificate;
  try {
    cert = new x509.X509Certificate(pem);
  } catch {
    throw new DomainError('MalformedCertificate', 'The certificate could not be read: its structure is damaged.', 'invalid');
  }
  const keyId = cert.getExtension(x509.AuthorityKeyIdentifierExtension)?.keyId;
  if (!keyId) {
    throw new DomainError(
      'NoAuthorityKeyIdentifier',
      'The certificate has no Authority Key Identifier with a keyIdentifier, so it has no ACME Renewal Information identifier (RFC 9773 §4.1).',
      'unprocessable',
    );
  }
  return `${base64url(Buffer.from(keyId, 'hex'))}.${base64url(serialOctets(cert.rawData))}`;
}

/** The content octets of tbsCertificate.serialNumber, sign octet included. */
function serialOctets(der: ArrayBuffer): Uint8Array {
  const parsed = asn1js.fromBER(der);
  const tbs = (parsed.result as asn1js.Sequence).valueBlock?.value?.[0] as asn1js.Sequence | undefined;
  const items = tbs?.valueBlock?.value ?? [];
  // tbsCertificate ::= SEQUENCE { version [0] EXPLICIT OPTIONAL, serialNumber INTEGER, ... }
  const serial = items[0]?.idBlock.tagClass === 3 ? items[1] : items[0];
  if (parsed.offset === -1 || !(serial instanceof asn1js.Integer)) {
    throw new DomainError('MalformedCertificate', 'The certificate could not be read: its serial number is missing.', 'invalid');
  }
  return new Uint8Array(serial.valueBlock.valueHexView);
}

const base64url = (bytes: Uint8Array): string => Buffer.from(bytes).toString('base64url');
