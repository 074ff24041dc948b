import { Body, Controller, Delete, Get, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiTags } from '@nestjs/swagger';
import { IsString, MaxLength } from 'class-validator';
import { Pool } from 'pg';
import { Clock, EventStore, handleCommand } from '../../../libs/application/src';
import { certificateFacts, isRootCertificate, parseCertificates } from '../../../libs/crypto/src';
import {
  DomainError, TrustRootCommand, TrustRootEvent, TrustRootState, decideTrustRoot, evolveTrustRoot, trustRootStreamId,
} from '../../../libs/domain/src';
import { READ_ROLES, Roles } from '../auth/roles.decorator';
import { Actor, RequestActor, metadataFor } from '../common/request-context';
import { CLOCK, EVENT_STORE, PG_POOL } from '../common/tokens';
import { TrustService } from './trust.service';

export class AddTrustedRootDto {
  @ApiProperty({ description: 'The root CA certificate: PEM, or base64 DER.' })
  @IsString() @MaxLength(65_536)
  certificate!: string;
}

const trustDecider = {
  decide: (c: TrustRootCommand, s: TrustRootState) => decideTrustRoot(c, s),
  evolve: (s: TrustRootState, e: TrustRootEvent) => evolveTrustRoot(s, e),
  initialState: (): TrustRootState => ({ state: 'Initial' }),
};

@ApiTags('trust')
@ApiBearerAuth()
@Controller('trust/roots')
export class TrustController {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly trust: TrustService,
  ) {}

  @Post()
  @Roles('operator')
  @ApiOperation({ summary: 'Trust a root CA (RootCAType Registry). An audited event; certificates chaining to it become Valid.' })
  async add(@Body() dto: AddTrustedRootDto, @Actor() who: RequestActor) {
    const { certificates } = parseCertificates(dto.certificate);
    if (certificates.length !== 1) {
      throw new DomainError('OneRootExpected', `Send one root certificate at a time; this input holds ${certificates.length}.`, 'invalid');
    }
    const pem = certificates[0];
    const facts = await certificateFacts(pem);
    await handleCommand(this.store, trustDecider, trustRootStreamId(facts.sha256Fingerprint), {
      type: 'AddTrustedRoot',
      data: {
        sha256Fingerprint: facts.sha256Fingerprint,
        thumbprint: facts.thumbprint,
        subject: facts.subject,
        notAfter: facts.notAfter,
        certificatePem: pem,
        isCertificateAuthority: await isRootCertificate(pem),
      },
      actor: who.actor,
    }, metadataFor(who, this.clock.now()));
    this.trust.invalidate();
    return { sha256Fingerprint: facts.sha256Fingerprint, thumbprint: facts.thumbprint, subject: facts.subject, notAfter: facts.notAfter };
  }

  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'The roots operators added (Registry), and how many Mozilla roots ship with this Node (ThirdParty).' })
  async list() {
    const { rows } = await this.pool.query('SELECT sha256_fingerprint, thumbprint, subject, not_after, added_by, added_at FROM trusted_roots ORDER BY added_at, sha256_fingerprint');
    const { anchors } = await this.trust.current();
    return {
      items: rows.map((r) => ({
        sha256Fingerprint: r.sha256_fingerprint,
        thumbprint: r.thumbprint,
        subject: r.subject,
        notAfter: r.not_after.toISOString(),
        addedBy: r.added_by,
        addedAt: r.added_at.toISOString(),
        rootCAType: 'Registry',
      })),
      anchors: anchors.size,
    };
  }

  @Delete(':fingerprint')
  @HttpCode(204)
  @Roles('operator')
  @ApiOperation({ summary: 'Stop trusting a root (by SHA-256 fingerprint or SHA-1 thumbprint). An audited event.' })
  async remove(@Param('fingerprint') fingerprint: string, @Actor() who: RequestActor): Promise<void> {
    const wanted = fingerprint.replace(/:/g, '').toUpperCase();
    const { rows } = await this.pool.query<{ sha256_fingerprint: string }>(
      'SELECT sha256_fingerprint FROM trusted_roots WHERE sha256_fingerprint = $1 OR thumbprint = $1',
      [wanted],
    );
    if (rows.length === 0) throw new DomainError('RootNotTrusted', `No trusted root has the fingerprint ${fingerprint}.`, 'not-found');
    await handleCommand(this.store, trustDecider, trustRootStreamId(rows[0].sha256_fingerprint), { type: 'RemoveTrustedRoot', data: {}, actor: who.actor }, metadataFor(who, this.clock.now()));
    this.trust.invalidate();
  }
}
