import { CanActivate, ExecutionContext, ForbiddenException, Injectable, UnauthorizedException } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { Role } from '../../../libs/domain/src';
import { AuthedRequest } from '../common/request-context';
import { PUBLIC_KEY, ROLES_KEY } from './roles.decorator';
import { TokenService } from './token.service';

/** Every route needs a bearer token (401) with one of the route's roles (403), except @Public ones. */
@Injectable()
export class AuthGuard implements CanActivate {
  constructor(
    private readonly reflector: Reflector,
    private readonly tokens: TokenService,
  ) {}

  async canActivate(ctx: ExecutionContext): Promise<boolean> {
    const targets = [ctx.getHandler(), ctx.getClass()];
    if (this.reflector.getAllAndOverride<boolean>(PUBLIC_KEY, targets)) return true;
    const req = ctx.switchToHttp().getRequest<AuthedRequest>();
    const header = req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)$/i.exec(header);
    if (!match) throw new UnauthorizedException({ code: 'Unauthorized', message: 'A bearer token is required (Authorization: Bearer <token>).' });
    const principal = await this.tokens.authenticate(match[1]);
    if (!principal) throw new UnauthorizedException({ code: 'Unauthorized', message: 'The bearer token is unknown or revoked.' });
    req.principal = principal;
    const allowed = this.reflector.getAllAndOverride<Role[]>(ROLES_KEY, targets) ?? ['admin'];
    if (principal.roles.includes('admin') || principal.roles.some((r) => allowed.includes(r))) return true;
    throw new ForbiddenException({
      code: 'Forbidden',
      message: `Token "${principal.name}" has roles [${principal.roles.join(', ')}]; this needs one of [${allowed.join(', ')}].`,
    });
  }
}
