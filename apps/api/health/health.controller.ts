import { Controller, Get, Inject, Res } from '@nestjs/common';
import { ApiOperation, ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import IORedis from 'ioredis';
import { Pool } from 'pg';
import { Public } from '../auth/roles.decorator';
import { PG_POOL, REDIS } from '../common/tokens';

const withTimeout = <T>(p: Promise<T>, ms: number): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error('timeout')), ms))]);

@ApiTags('health')
@Controller('health')
export class HealthController {
  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(REDIS) private readonly redis: IORedis,
  ) {}

  @Get()
  @Public()
  @ApiOperation({ summary: 'Liveness and dependencies: 200 when PostgreSQL and Redis answer, else 503.' })
  async health(@Res() res: Response): Promise<void> {
    const [postgres, redis] = await Promise.all([
      withTimeout(this.pool.query('SELECT 1'), 2000).then(() => 'up', () => 'down'),
      withTimeout(this.redis.ping(), 2000).then(() => 'up', () => 'down'),
    ]);
    const ok = postgres === 'up' && redis === 'up';
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'degraded', checks: { postgres, redis } });
  }
}
