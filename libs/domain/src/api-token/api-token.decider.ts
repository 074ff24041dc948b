import { DomainError } from '../domain-error';

/**
 * API tokens (stream `token-<uuid>`). A token is a bearer secret; only its SHA-256 hash is
 * ever stored or put in an event. Its name is the `actor` of every event it causes.
 */
export type Role = 'admin' | 'requester' | 'approver' | 'operator' | 'auditor';
export const ROLES: readonly Role[] = ['admin', 'requester', 'approver', 'operator', 'auditor'];

export type ApiTokenEvent =
  /** A token was created; `tokenHash` is the hex SHA-256 of the secret, never the secret. */
  | { type: 'ApiTokenCreated'; data: { tokenId: string; name: string; roles: Role[]; tokenHash: string; createdBy: string } }
  /** A token was revoked and stops working at once. */
  | { type: 'ApiTokenRevoked'; data: { tokenId: string; revokedBy: string } };

export const API_TOKEN_EVENT_SCHEMA_VERSIONS: Record<ApiTokenEvent['type'], number> = {
  ApiTokenCreated: 1,
  ApiTokenRevoked: 1,
};

export type ApiTokenState =
  | { state: 'Initial' }
  | { state: 'Active'; tokenId: string; name: string; roles: Role[] }
  | { state: 'Revoked'; tokenId: string; name: string; roles: Role[] };

export type ApiTokenCommand =
  | { type: 'CreateApiToken'; data: { tokenId: string; name: string; roles: Role[]; tokenHash: string }; actor: string }
  | { type: 'RevokeApiToken'; data: Record<string, never>; actor: string };

const NAME = /^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/;

export function decideApiToken(command: ApiTokenCommand, state: ApiTokenState): ApiTokenEvent[] {
  switch (command.type) {
    case 'CreateApiToken': {
      if (state.state !== 'Initial') throw new DomainError('TokenExists', 'This token exists already.', 'conflict');
      const { name, roles } = command.data;
      if (!NAME.test(name)) {
        throw new DomainError('InvalidTokenName', 'name must be 1-64 letters, digits, ".", "_", "@" or "-", starting with a letter or digit.', 'invalid');
      }
      if (!Array.isArray(roles) || roles.length === 0) throw new DomainError('RolesRequired', 'A token needs at least one role.', 'invalid');
      const bad = roles.filter((r) => !ROLES.includes(r));
      if (bad.length) throw new DomainError('UnknownRole', `Unknown role(s): ${bad.join(', ')}; roles are ${ROLES.join(', ')}.`, 'invalid');
      return [{ type: 'ApiTokenCreated', data: { ...command.data, roles: [...new Set(roles)], createdBy: command.actor } }];
    }
    case 'RevokeApiToken':
      if (state.state === 'Initial') throw new DomainError('TokenNotFound', 'No token with this id exists.', 'not-found');
      if (state.state === 'Revoked') throw new DomainError('TokenRevoked', 'This token is revoked already.', 'conflict');
      return [{ type: 'ApiTokenRevoked', data: { tokenId: state.tokenId, revokedBy: command.actor } }];
  }
}

export function evolveApiToken(state: ApiTokenState, event: ApiTokenEvent): ApiTokenState {
  switch (event.type) {
    case 'ApiTokenCreated':
      return { state: 'Active', tokenId: event.data.tokenId, name: event.data.name, roles: event.data.roles };
    case 'ApiTokenRevoked':
      return state.state === 'Initial' ? state : { ...state, state: 'Revoked' };
  }
}

export const apiTokenStreamId = (tokenId: string): string => `token-${tokenId}`;
