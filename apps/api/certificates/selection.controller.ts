import { Controller, Get, Inject, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiTags } from '@nestjs/swagger';
import { domainToASCII } from 'node:url';
import { Clock } from '../../../libs/application/src';
import { SelectionCandidate, selectCertificate } from '../../../libs/domain/src';
import { READ_ROLES, Roles } from '../auth/roles.decorator';
import { CLOCK } from '../common/tokens';
import { SelectionQuery } from './certificates.dto';
import { CertificatesService } from './certificates.service';

@ApiTags('selection')
@ApiBearerAuth()
@Controller('selection')
export class SelectionController {
  constructor(
    private readonly certificates: CertificatesService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({
    summary: 'Which certificate a service presents for a name, and why: Exchange\'s selection rules (UM has its own order). Every other certificate is listed with the first rule that excluded or out-ranked it.',
  })
  async select(@Query() q: SelectionQuery) {
    const fqdn = /^[\x20-\x7e]*$/.test(q.fqdn) ? q.fqdn.toLowerCase() : domainToASCII(q.fqdn) || q.fqdn.toLowerCase();
    const found = await this.certificates.selectionCandidates(fqdn);
    const candidates: SelectionCandidate[] = found.map(({ state, evaluation }) => {
      const c = 'certificate' in state && state.certificate ? state.certificate : null;
      return {
        id: state.certificateId,
        thumbprint: c?.thumbprint ?? null,
        certificateDomains: c?.certificateDomains ?? [],
        enhancedKeyUsage: evaluation?.enhancedKeyUsage ?? null,
        keyAlgorithm: c?.keyAlgorithm ?? state.request.key.algorithm,
        publicKeySize: c?.publicKeySize ?? 0,
        isSelfSigned: c?.isSelfSigned ?? false,
        chainTrusted: evaluation?.chainTrusted ?? false,
        revocation: evaluation?.revocation ?? 'notChecked',
        hasPrivateKey: 'keyId' in state && !!state.keyId,
        notBefore: c?.notBefore ?? '',
        notAfter: c?.notAfter ?? '',
        state: state.state,
      };
    });
    return selectCertificate({ service: q.service, fqdn }, candidates, this.clock.now());
  }
}
