import { createParamDecorator, ExecutionContext } from '@nestjs/common';
import { randomUUID } from 'node:crypto';
import { Request } from 'express';
import { EventMetadata } from '../../../libs/application/src';
import { Role } from '../../../libs/domain/src';

export interface Principal {
  tokenId: string;
  name: string;
  roles: Role[];
}

export type AuthedRequest = Request & { principal?: Principal; correlationId?: string };

/** Who is calling and under which correlation id; `at` is filled in by the handler's clock. */
export interface RequestActor {
  actor: string;
  roles: Role[];
  correlationId: string;
}

export const Actor = createParamDecorator((_: unknown, ctx: ExecutionContext): RequestActor => {
  const req = ctx.switchToHttp().getRequest<AuthedRequest>();
  const header = req.header('x-correlation-id');
  const correlationId = header && /^[A-Za-z0-9._:-]{1,128}$/.test(header) ? header : randomUUID();
  return { actor: req.principal?.name ?? 'anonymous', roles: req.principal?.roles ?? [], correlationId };
});

export const metadataFor = (who: RequestActor, now: Date): EventMetadata => ({
  actor: who.actor,
  at: now.toISOString(),
  correlationId: who.correlationId,
  causationId: null,
});
