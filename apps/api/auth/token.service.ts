import { Inject, Injectable } from '@nestjs/common';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { Pool } from 'pg';
import { Clock, EventMetadata, EventStore, handleCommand } from '../../../libs/application/src';
import { ApiTokenCommand, ApiTokenEvent, ApiTokenState, Role, apiTokenStreamId, decideApiToken, evolveApiToken } from '../../../libs/domain/src';
import { Principal } from '../common/request-context';
import { CLOCK, EVENT_STORE, PG_POOL } from '../common/tokens';

export const hashToken = (token: string): string => createHash('sha256').update(token, 'utf8').digest('hex');

const tokenDecider = {
  decide: (c: ApiTokenCommand, s: ApiTokenState) => decideApiToken(c, s),
  evolve: (s: ApiTokenState, e: ApiTokenEvent) => evolveApiToken(s, e),
  initialState: (): ApiTokenState => ({ state: 'Initial' }),
};

/**
 * Bearer tokens: 32 random bytes, base64url, prefixed `cf_`. Only the SHA-256 is stored. Lookups
 * are cached for a few seconds; a revoked token stops working within that time.
 */
@Injectable()
export class TokenService {
  private readonly cache = new Map<string, { principal: Principal | null; until: number }>();
  static readonly CACHE_MS = 5_000;

  constructor(
    @Inject(PG_POOL) private readonly pool: Pool,
    @Inject(EVENT_STORE) private readonly store: EventStore,
    @Inject(CLOCK) private readonly clock: Clock,
  ) {}

  async authenticate(token: string): Promise<Principal | null> {
    const hash = hashToken(token);
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.until > now) return hit.principal;
    const { rows } = await this.pool.query<{ token_id: string; name: string; roles: Role[] }>(
      'SELECT token_id, name, roles FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL',
      [hash],
    );
    const principal = rows[0] ? { tokenId: rows[0].token_id, name: rows[0].name, roles: rows[0].roles } : null;
    if (this.cache.size > 10_000) this.cache.clear();
    this.cache.set(hash, { principal, until: now + TokenService.CACHE_MS });
    return principal;
  }

  /** Creates a token and returns its secret — the only time the secret exists outside the caller. */
  async create(name: string, roles: Role[], metadata: EventMetadata, secret?: string): Promise<{ tokenId: string; token: string }> {
    const token = secret ?? `cf_${randomBytes(32).toString('base64url')}`;
    const tokenId = randomUUID();
    await handleCommand(this.store, tokenDecider, apiTokenStreamId(tokenId), {
      type: 'CreateApiToken',
      data: { tokenId, name, roles, tokenHash: hashToken(token) },
      actor: metadata.actor,
    }, metadata);
    return { tokenId, token };
  }

  async revoke(tokenId: string, metadata: EventMetadata): Promise<void> {
    await handleCommand(this.store, tokenDecider, apiTokenStreamId(tokenId), { type: 'RevokeApiToken', data: {}, actor: metadata.actor }, metadata);
    this.cache.clear();
  }

  async list(): Promise<{ id: string; name: string; roles: Role[]; createdAt: string; revokedAt: string | null }[]> {
    const { rows } = await this.pool.query('SELECT token_id, name, roles, created_at, revoked_at FROM api_tokens ORDER BY created_at, token_id');
    return rows.map((r) => ({ id: r.token_id, name: r.name, roles: r.roles, createdAt: r.created_at.toISOString(), revokedAt: r.revoked_at?.toISOString() ?? null }));
  }

  /**
   * At start: make sure an admin can get in. With CERTFLOW_ADMIN_TOKEN set, that token is
   * registered (once) as `admin`. Without it, and with no active admin token at all, one is
   * generated and returned so that it can be printed once.
   */
  async bootstrapAdmin(configured: string | null): Promise<string | null> {
    const client = await this.pool.connect();
    try {
      await client.query('SELECT pg_advisory_lock(7165420312)');
      const meta: EventMetadata = { actor: 'certflow-bootstrap', at: this.clock.now().toISOString(), correlationId: randomUUID(), causationId: null };
      if (configured) {
        const known = await client.query('SELECT 1 FROM api_tokens WHERE token_hash = $1', [hashToken(configured)]);
        if (known.rowCount === 0) await this.create('admin', ['admin'], meta, configured);
        return null;
      }
      const admins = await client.query(`SELECT 1 FROM api_tokens WHERE 'admin' = ANY(roles) AND revoked_at IS NULL LIMIT 1`);
      if (admins.rowCount !== 0) return null;
      return (await this.create('admin', ['admin'], meta)).token;
    } finally {
      await client.query('SELECT pg_advisory_unlock(7165420312)').catch(() => undefined);
      client.release();
    }
  }
}
