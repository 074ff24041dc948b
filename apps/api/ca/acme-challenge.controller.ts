import { Controller, Get, Inject, Param, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiTags } from '@nestjs/swagger';
import { Response } from 'express';
import { Pool } from 'pg';
import { DomainError } from '../../../libs/domain/src';
import { findHttpChallengeResponse } from '../../../libs/issuers/src';
import { Public } from '../auth/roles.decorator';
import { PG_POOL } from '../common/tokens';

/**
 * ACME HTTP-01 (RFC 8555 §8.3): the CA fetches `http://<name>/.well-known/acme-challenge/<token>`
 * on port 80 and expects the key authorization the worker stored for the order. Public, because
 * the CA has no token; it reveals nothing secret (the CA already knows the answer).
 */
@ApiTags('acme')
@Controller('.well-known/acme-challenge')
export class AcmeChallengeController {
  constructor(@Inject(PG_POOL) private readonly pool: Pool) {}

  @Get(':token')
  @Public()
  @ApiProduces('text/plain')
  @ApiOperation({ summary: 'The key authorization for an ACME HTTP-01 challenge that certflow is answering (404 for unknown tokens).' })
  async respond(@Param('token') token: string, @Res() res: Response): Promise<void> {
    const keyAuthorization = await findHttpChallengeResponse(this.pool, token);
    if (keyAuthorization === null) {
      throw new DomainError('AcmeChallengeNotFound', `certflow is not answering an ACME challenge with the token "${token.slice(0, 100)}".`, 'not-found');
    }
    res.status(200).set({ 'content-type': 'text/plain', 'cache-control': 'no-store' }).send(keyAuthorization);
  }
}
