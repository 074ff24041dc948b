import { Controller, Delete, Get, Param, Query } from '@nestjs/common';
import { ApiBearerAuth, ApiOkResponse, ApiOperation, ApiTags } from '@nestjs/swagger';
import { READ_ROLES, Roles } from '../auth/roles.decorator';
import { Actor, RequestActor } from '../common/request-context';
import { ReleaseServiceQuery, ServiceAtQuery, ServiceResponse } from './services.dto';
import { ServicesService } from './services.service';

@ApiTags('services')
@ApiBearerAuth()
@Controller('services')
export class ServicesController {
  constructor(private readonly services: ServicesService) {}

  @Get()
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Every configured service (CERTFLOW_CONFIG) with the certificate enabled for it, the pending deployment and the last error.' })
  @ApiOkResponse({ type: ServiceResponse, isArray: true })
  list() {
    return this.services.list();
  }

  @Get(':name')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'One service binding; with ?at= as it was at that instant, rebuilt from the log ("what was enabled for SMTP on 3 March").' })
  @ApiOkResponse({ type: ServiceResponse })
  get(@Param('name') name: string, @Query() q: ServiceAtQuery) {
    return this.services.get(name, q.at);
  }

  @Get(':name/events')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'The full history of the service binding: every enablement, failure, verification and release.' })
  events(@Param('name') name: string) {
    return this.services.events(name);
  }

  @Delete(':name/certificate')
  @Roles('operator')
  @ApiOperation({ summary: 'Release the service: certflow no longer considers any certificate enabled for it (the files on the server stay).' })
  @ApiOkResponse({ type: ServiceResponse })
  release(@Param('name') name: string, @Query() q: ReleaseServiceQuery, @Actor() who: RequestActor) {
    return this.services.release(name, q.reason ?? null, who);
  }
}
