import { Controller, Get, Inject, Query, Res } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiProduces, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { Type } from 'class-transformer';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { Response } from 'express';
import { Clock } from '../../../libs/application/src';
import { READ_ROLES, Roles } from '../auth/roles.decorator';
import { CLOCK } from '../common/tokens';
import { RenewalsService, toICalendar } from './renewals.service';

export class RenewalsQuery {
  @ApiPropertyOptional({ default: 60, description: 'Certificates expiring within this many days (expired ones are always included).' })
  @IsOptional() @Type(() => Number) @IsInt() @Min(0) @Max(3650)
  withinDays?: number;
}

@ApiTags('renewals')
@ApiBearerAuth()
@Controller()
export class RenewalsController {
  constructor(
    private readonly renewals: RenewalsService,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  @Get('renewals')
  @Roles(...READ_ROLES)
  @ApiOperation({ summary: 'Fleet-wide renewal calendar: expiry, planned renewal, and for CAs where people act, the latest day to start (learned from past lead times).' })
  async list(@Query() q: RenewalsQuery) {
    const items = await this.renewals.calendar(q.withinDays ?? 60);
    return { now: this.clock.now().toISOString(), withinDays: q.withinDays ?? 60, items };
  }

  @Get('renewals.ics')
  @Roles(...READ_ROLES)
  @ApiProduces('text/calendar')
  @ApiOperation({ summary: 'The renewal calendar as an iCalendar feed (renewal, last start day and expiry events).' })
  async ics(@Query() q: RenewalsQuery, @Res() res: Response): Promise<void> {
    const items = await this.renewals.calendar(q.withinDays ?? 365);
    res.status(200).set({ 'content-type': 'text/calendar; charset=utf-8', 'content-disposition': 'inline; filename="certflow-renewals.ics"' }).send(toICalendar(items, this.clock.now()));
  }
}
