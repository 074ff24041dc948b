import { SetMetadata } from '@nestjs/common';
import { Role } from '../../../libs/domain/src';

export const ROLES_KEY = 'certflow:roles';
export const PUBLIC_KEY = 'certflow:public';

/** The roles allowed to call a route; `admin` may call everything. */
export const Roles = (...roles: Role[]) => SetMetadata(ROLES_KEY, roles);
/** A route that needs no token: /health, the internal CA's CRL and certificates, ACME challenge answers. */
export const Public = () => SetMetadata(PUBLIC_KEY, true);

export const READ_ROLES: Role[] = ['admin', 'requester', 'approver', 'operator', 'auditor'];
