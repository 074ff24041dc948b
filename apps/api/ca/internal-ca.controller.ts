import { Controller, Get, Header, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { Pool } from 'pg';
import { Clock } from '../../../libs/application/src';
import { createCrl, parseCertificates } from '../../../libs/crypto/src';
import { DomainError, RevocationReason } from '../../../libs/domain/src';
import { InternalCaStore } from '../../../libs/issuers/src';
import { Public } from '../auth/roles.decorator';
import { CLOCK, PG_POOL } from '../common/tokens';

export const INTERNAL_CA = 'INTERNAL_CA';

/** What relying parties fetch without a token: the internal CA's CRL and certificates. */
@ApiTags('internal CA')
@Controller('ca/internal')
export class InternalCaController {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(CLOCK) private readonly clock: Clock,
    @Inject(INTERNAL_CA) private readonly ca: InternalCaStore,
  ) {}

  private async certificates() {
    const certs = await this.ca.certificates();
    if (!certs) throw new DomainError('InternalCaNotSetUp', 'The internal CA has not issued anything yet; it is created on the first internal-ca request.', 'not-found');
    return certs;
  }

  @Get('crl')
  @Public()
  @ApiProduces('application/pkix-crl')
  @ApiOperation({ summary: 'The internal CA\'s CRL (DER), signed by the issuing CA, listing every certificate revoked through certflow. Valid for a day.' })
  async crl(@Res() res: Response): Promise<void> {
    await this.certificates();
    const ca = await this.ca.get();
    const { rows } = await this.pool.query<{ serial_number: string; at: string; reason: RevocationReason }>(
      `SELECT v.serial_number, e.metadata->>'at' AS at, e.data->>'reason' AS reason
         FROM events e JOIN certificate_view v ON e.stream_id = 'certificate-' || v.id::text
        WHERE e.type = 'CertificateRevoked' AND v.provider = 'internal-ca' AND v.serial_number IS NOT NULL
        ORDER BY e.global_position`,
    );
    const now = this.clock.now();
    const der = await createCrl({
      issuerPem: ca.intermediatePem,
      issuerKeys: ca.issuer.keys,
      issuerSpec: ca.issuer.spec,
      entries: rows.map((r) => ({ serialNumber: r.serial_number, revokedAt: new Date(r.at), reason: r.reason })),
      thisUpdate: new Date(now.getTime() - 60_000),
      nextUpdate: new Date(now.getTime() + 86_400_000),
    });
    res.status(200).set({ 'content-type': 'application/pkix-crl', 'cache-control': 'max-age=60' }).send(der);
  }

  @Get('root.crt')
  @Public()
  @Header('content-type', 'application/x-pem-file')
  @ApiOperation({ summary: 'The internal CA\'s root certificate (PEM): install it where the internal certificates must be trusted.' })
  async root(): Promise<string> {
    return (await this.certificates()).rootPem;
  }

  @Get('intermediate.crt')
  @Public()
  @ApiOperation({ summary: 'The issuing CA certificate (DER, as the AIA caIssuers URL promises).' })
  async intermediate(@Res() res: Response): Promise<void> {
    const { intermediatePem } = await this.certificates();
    const der = Buffer.from(parseCertificates(intermediatePem).certificates[0].replace(/-----[^-]+-----|\s/g, ''), 'base64');
    res.status(200).set({ 'content-type': 'application/pkix-cert' }).send(der);
  }
}
