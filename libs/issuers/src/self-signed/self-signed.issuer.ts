import { randomBytes } from 'node:crypto';
import { IssueContext, IssueOutcome, Issuer } from '../../../application/src';
import { KeyVault, createSelfSigned, importKeyPair, parseKeyLabel } from '../../../crypto/src';

/** Days a self-signed certificate is valid when the request does not say (Exchange's default). */
export const SELF_SIGNED_DEFAULT_DAYS = 365;

/** Signs the certificate with its own key. Never pending, never rejected. */
export class SelfSignedIssuer implements Issuer {
  readonly provider = 'self-signed' as const;

  constructor(private readonly vault: KeyVault) {}

  async issue(ctx: IssueContext): Promise<IssueOutcome> {
    const stored = await this.vault.get(ctx.keyId);
    if (!stored) throw new Error(`key ${ctx.keyId} is missing from the key vault`);
    const keys = await importKeyPair(stored.pkcs8, parseKeyLabel(stored.label));
    // RFC 5280: positive, at most 20 octets; 16 random bytes with the top bit cleared.
    const serial = randomBytes(16);
    serial[0] &= 0x7f;
    serial[0] |= 0x01;
    const days = ctx.request.validityDays ?? SELF_SIGNED_DEFAULT_DAYS;
    const notBefore = new Date(Math.floor(ctx.now.getTime() / 1000) * 1000);
    const notAfter = new Date(notBefore.getTime() + days * 86_400_000);
    const certificatePem = await createSelfSigned({
      subject: ctx.request.subject,
      domainNames: ctx.request.domainNames,
      key: ctx.request.key,
      keys,
      serialNumber: serial.toString('hex'),
      notBefore,
      notAfter,
    });
    return { kind: 'issued', certificatePem, chainPem: [] };
  }
}
