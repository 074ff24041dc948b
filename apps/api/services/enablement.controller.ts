import { Body, Controller, HttpCode, Param, Post } from '@nestjs/common';
import { ApiAcceptedResponse, ApiBearerAuth, ApiConflictResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { Roles } from '../auth/roles.decorator';
import { Actor, RequestActor } from '../common/request-context';
import { EnableResponse, EnableServicesDto } from './services.dto';
import { ServicesService } from './services.service';

@ApiTags('certificates')
@ApiBearerAuth()
@Controller('certificates/:id/enable')
export class EnablementController {
  constructor(private readonly services: ServicesService) {}

  @Post()
  @HttpCode(202)
  @Roles('operator')
  @ApiOperation({
    summary:
      'Enable the certificate for services (Enable-ExchangeCertificate -Services). Checked at once: the certificate must be Issued, hold its key and cover each service\'s host names. ' +
      'The worker deploys it to the servers and verifies what they present; follow GET /services/<name>.',
  })
  @ApiAcceptedResponse({ type: EnableResponse })
  @ApiConflictResponse({ description: 'ServiceAlreadyBound: another certificate is enabled (its thumbprint and expiry are in `details`); send force: true to overwrite. Nothing was changed.' })
  enable(@Param('id') id: string, @Body() dto: EnableServicesDto, @Actor() who: RequestActor) {
    return this.services.enable(id, dto.services, dto.force ?? false, who);
  }
}
