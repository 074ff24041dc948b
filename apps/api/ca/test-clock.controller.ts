import { Body, Controller, Get, HttpCode, Inject, Post } from '@nestjs/common';
import { ApiBearerAuth, ApiOperation, ApiPropertyOptional, ApiTags } from '@nestjs/swagger';
import { IsInt, IsOptional, Max, Min } from 'class-validator';
import { Pool } from 'pg';
import { CertflowClock } from '../../../libs/event-store/src';
import { DomainError } from '../../../libs/domain/src';
import { JobQueue, enqueueDueTimers } from '../../../libs/queue/src';
import { Roles } from '../auth/roles.decorator';
import { CLOCK, PG_POOL } from '../common/tokens';

export const JOB_QUEUE = 'JOB_QUEUE';

export class AdvanceClockDto {
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(3650) days?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(100_000) hours?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(1_000_000) minutes?: number;
  @ApiPropertyOptional() @IsOptional() @IsInt() @Min(0) @Max(10_000_000) seconds?: number;
}

/**
 * Only with CERTFLOW_TEST_CLOCK=1 (the route does not exist otherwise): moves certflow's clock
 * forward for every process and fires the timers that came due, so that a three-day approval
 * or a fourteen-day timeout runs in seconds in end-to-end tests.
 */
@ApiTags('test')
@ApiBearerAuth()
@Controller('test/clock')
@Roles('admin')
export class TestClockController {
  constructor(
    @Inject(CLOCK) private readonly clock: CertflowClock,
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(JOB_QUEUE) private readonly jobs: JobQueue,
  ) {}

  @Get()
  @ApiOperation({ summary: 'certflow\'s current (test) time.' })
  async now() {
    await this.clock.sync();
    return { now: this.clock.now().toISOString() };
  }

  @Post('advance')
  @HttpCode(200)
  @ApiOperation({ summary: 'Advance the test clock and fire the timers that are now due.' })
  async advance(@Body() dto: AdvanceClockDto) {
    const ms = (((dto.days ?? 0) * 24 + (dto.hours ?? 0)) * 60 + (dto.minutes ?? 0)) * 60_000 + (dto.seconds ?? 0) * 1000;
    if (ms <= 0) throw new DomainError('NothingToAdvance', 'Give days, hours, minutes or seconds greater than zero.', 'invalid');
    const now = await this.clock.advance(ms);
    const fired = await enqueueDueTimers(this.pool, this.jobs, now);
    return { now: now.toISOString(), fired };
  }
}
