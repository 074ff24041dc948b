import { Body, Controller, HttpCode, Inject, Param, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProperty, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsIn, IsOptional, IsString, MaxLength, MinLength } from 'class-validator';
import { Clock, EventStore, handleCertificateCommand } from '../../../libs/application/src';
import { RevocationReason } from '../../../libs/domain/src';
import { Roles } from '../auth/roles.decorator';
import { Actor, RequestActor, metadataFor } from '../common/request-context';
import { CLOCK, EVENT_STORE } from '../common/tokens';
import { CertificatesService } from './certificates.service';

export class ApproveDto {
  @ApiPropertyOptional({ example: 'checked with the mail team' })
  @IsOptional() @IsString() @MaxLength(2000)
  comment?: string;
}

export class RejectDto {
  @ApiProperty({ example: 'not a domain we own' })
  @IsString() @MinLength(1) @MaxLength(2000)
  reason!: string;
}

const REASONS: RevocationReason[] = [
  'unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded', 'cessationOfOperation', 'certificateHold', 'privilegeWithdrawn', 'aACompromise',
];

export class RevokeDto {
  @ApiProperty({ enum: REASONS, example: 'keyCompromise' })
  @IsIn(REASONS)
  reason!: RevocationReason;
}

/** Approval (separation of duties: an approver other than the requester) and revocation. */
@ApiTags('certificates')
@ApiBearerAuth()
@Controller('certificates/:id')
export class ApprovalsController {
  constructor(
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
    private readonly certificates: CertificatesService,
  ) {}

  @Post('approve')
  @HttpCode(200)
  @Roles('approver')
  @ApiOperation({ summary: 'Approve a request that waits for approval. The approver must not be the requester (403).' })
  async approve(@Param('id') id: string, @Body() dto: ApproveDto, @Actor() who: RequestActor) {
    await this.certificates.state(id);
    await handleCertificateCommand(this.store, id, { type: 'ApproveRequest', data: { comment: dto.comment ?? null }, actor: who.actor }, metadataFor(who, this.clock.now()));
    return this.certificates.get(id);
  }

  @Post('reject')
  @HttpCode(200)
  @Roles('approver')
  @ApiOperation({ summary: 'Reject a pending request, with a reason.' })
  async reject(@Param('id') id: string, @Body() dto: RejectDto, @Actor() who: RequestActor) {
    await this.certificates.state(id);
    await handleCertificateCommand(this.store, id, { type: 'RejectRequest', data: { reason: dto.reason }, actor: who.actor }, metadataFor(who, this.clock.now()));
    return this.certificates.get(id);
  }

  @Post('revoke')
  @HttpCode(200)
  @Roles('operator')
  @ApiOperation({ summary: 'Revoke an issued certificate (RFC 5280 reason). For the internal CA the CRL lists it at once.' })
  async revoke(@Param('id') id: string, @Body() dto: RevokeDto, @Actor() who: RequestActor) {
    await this.certificates.state(id);
    await handleCertificateCommand(this.store, id, { type: 'RevokeCertificate', data: { reason: dto.reason }, actor: who.actor }, metadataFor(who, this.clock.now()));
    return this.certificates.get(id);
  }
}
