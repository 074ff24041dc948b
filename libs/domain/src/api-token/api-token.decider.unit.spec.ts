import { deciderSpec } from '../../../testing/src/decider-spec';
import {
  ApiTokenCommand,
  ApiTokenEvent,
  ApiTokenState,
  apiTokenStreamId,
  decideApiToken,
  evolveApiToken,
  Role,
  ROLES,
} from './api-token.decider';

// given / when / then -------------------------------------------------------------------------

const fold = (events: readonly ApiTokenEvent[]): ApiTokenState =>
  events.reduce(evolveApiToken, { state: 'Initial' } as ApiTokenState);

const given = deciderSpec<ApiTokenCommand, ApiTokenEvent, ApiTokenState>({
  decide: decideApiToken,
  evolve: evolveApiToken,
  initialState: () => ({ state: 'Initial' }),
  checkMessage: (message) => {
    expect(message.trim().length).toBeGreaterThan(10);
    expect(message).toMatch(/\.$/);
  },
});

// fixtures ------------------------------------------------------------------------------------

const TOKEN_ID = '7f000000-0000-4000-8000-000000000001';
const HASH = 'a'.repeat(64);

const create = (overrides: Partial<{ name: string; roles: Role[]; tokenHash: string }> = {}, actor = 'admin-bootstrap'): ApiTokenCommand => ({
  type: 'CreateApiToken',
  data: { tokenId: TOKEN_ID, name: 'ci-pipeline', roles: ['requester'], tokenHash: HASH, ...overrides },
  actor,
});
const revoke = (actor = 'admin-bootstrap'): ApiTokenCommand => ({ type: 'RevokeApiToken', data: {}, actor });

const created = (roles: Role[] = ['requester'], name = 'ci-pipeline'): ApiTokenEvent => ({
  type: 'ApiTokenCreated',
  data: { tokenId: TOKEN_ID, name, roles, tokenHash: HASH, createdBy: 'admin-bootstrap' },
});
const revoked: ApiTokenEvent = { type: 'ApiTokenRevoked', data: { tokenId: TOKEN_ID, revokedBy: 'admin-bootstrap' } };

// ---------------------------------------------------------------------------------------------

describe('api token decider', () => {
  describe('CreateApiToken', () => {
    it('a new token is created with its hash, roles and creator, and becomes Active', () => {
      const after = given([]).when(create({ roles: ['approver', 'auditor'] })).then([created(['approver', 'auditor'])]);
      expect(after).toEqual({ state: 'Active', tokenId: TOKEN_ID, name: 'ci-pipeline', roles: ['approver', 'auditor'] });
    });

    it.each(ROLES.map((r) => [r]))('a token with only the %s role can be created', (role) => {
      given([]).when(create({ roles: [role] })).then([created([role])]);
    });

    it('a token with every role can be created', () => {
      given([]).when(create({ roles: [...ROLES] })).then([created([...ROLES])]);
    });

    it.each<[string, string]>([
      ['a single letter', 'a'],
      ['a single digit', '7'],
      ['an e-mail-like name', 'alice@contoso.com'],
      ['dots, underscores and hyphens', 'svc.exchange_renewal-01'],
      ['exactly 64 characters', `a${'b'.repeat(63)}`],
    ])('a name of %s is valid', (_name, name) => {
      given([]).when(create({ name })).then([created(['requester'], name)]);
    });

    it.each<[string, string]>([
      ['an empty name', ''],
      ['a name of 65 characters', `a${'b'.repeat(64)}`],
      ['a name starting with a hyphen', '-ci'],
      ['a name starting with a dot', '.ci'],
      ['a name starting with @', '@ci'],
      ['a name with a space', 'ci pipeline'],
      ['a name with a slash', 'ci/pipeline'],
      ['a name with a colon', 'ci:pipeline'],
      ['a name with a trailing new line', 'ci\n'],
      ['a non-ASCII name', 'bücher'],
    ])('%s is refused', (_name, name) => {
      given([]).when(create({ name })).thenRefused('InvalidTokenName', 'invalid');
    });

    it('a token without roles is refused', () => {
      given([]).when(create({ roles: [] })).thenRefused('RolesRequired', 'invalid');
    });

    it('roles that are not a list are refused', () => {
      given([]).when(create({ roles: 'admin' as unknown as Role[] })).thenRefused('RolesRequired', 'invalid');
    });

    it('an unknown role is refused and named, with the known roles listed', () => {
      const error = given([])
        .when(create({ roles: ['requester', 'superuser' as Role] }))
        .thenRefused('UnknownRole', 'invalid');
      expect(error.message).toContain('superuser');
      for (const r of ROLES) expect(error.message).toContain(r);
    });

    it('role names are case-sensitive', () => {
      given([]).when(create({ roles: ['Admin' as Role] })).thenRefused('UnknownRole', 'invalid');
    });

    it('duplicate roles are recorded once, in first-seen order', () => {
      const after = given([])
        .when(create({ roles: ['approver', 'requester', 'approver', 'requester'] }))
        .then([created(['approver', 'requester'])]);
      expect(after).toMatchObject({ state: 'Active', roles: ['approver', 'requester'] });
    });

    it('creating a token that exists already is refused', () => {
      given([created()]).when(create()).thenRefused('TokenExists', 'conflict');
    });

    it('creating a token that was revoked is refused too (ids are never reused)', () => {
      given([created(), revoked]).when(create()).thenRefused('TokenExists', 'conflict');
    });

    it('the event carries the hash only, never anything but the command fields and the creator', () => {
      const [event] = decideApiToken(create(), { state: 'Initial' });
      expect(Object.keys(event.data).sort()).toEqual(['createdBy', 'name', 'roles', 'tokenHash', 'tokenId']);
    });
  });

  describe('RevokeApiToken', () => {
    it('an Active token is revoked and records who revoked it', () => {
      const after = given([created(['admin'])]).when(revoke('alice')).then([
        { type: 'ApiTokenRevoked', data: { tokenId: TOKEN_ID, revokedBy: 'alice' } },
      ]);
      expect(after).toEqual({ state: 'Revoked', tokenId: TOKEN_ID, name: 'ci-pipeline', roles: ['admin'] });
    });

    it('revoking a token that does not exist is refused as not found', () => {
      given([]).when(revoke()).thenRefused('TokenNotFound', 'not-found');
    });

    it('revoking a token twice is refused as a conflict', () => {
      given([created(), revoked]).when(revoke()).thenRefused('TokenRevoked', 'conflict');
    });
  });

  describe('evolve', () => {
    it.each<[string, ApiTokenEvent[], ApiTokenState['state']]>([
      ['no events is Initial', [], 'Initial'],
      ['a created token is Active', [created()], 'Active'],
      ['a created then revoked token is Revoked', [created(), revoked], 'Revoked'],
      ['a revocation of a token that never existed is ignored', [revoked], 'Initial'],
    ])('%s', (_name, events, state) => {
      expect(fold(events).state).toBe(state);
    });

    it('the state never holds the token hash', () => {
      for (const s of [fold([created()]), fold([created(), revoked])]) {
        expect(JSON.stringify(s)).not.toContain(HASH);
      }
    });

    it('the stream id is token-<id>', () => {
      expect(apiTokenStreamId(TOKEN_ID)).toBe(`token-${TOKEN_ID}`);
    });
  });
});
