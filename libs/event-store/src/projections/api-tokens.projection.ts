import { PoolClient } from 'pg';
import { RecordedEvent } from '../../../application/src';
import { ApiTokenEvent } from '../../../domain/src';
import { InlineProjection } from '../event-store.adapter';

/** `api_tokens`: the hashes the auth guard looks tokens up by. Derived from token events only. */
export class ApiTokensProjection implements InlineProjection {
  readonly name = 'api_tokens';
  readonly tables = ['api_tokens'];

  canHandle(type: string): boolean {
    return type === 'ApiTokenCreated' || type === 'ApiTokenRevoked';
  }

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    for (const e of events as readonly RecordedEvent<ApiTokenEvent>[]) {
      if (e.type === 'ApiTokenCreated') {
        const d = e.data as Extract<ApiTokenEvent, { type: 'ApiTokenCreated' }>['data'];
        await client.query(
          `INSERT INTO api_tokens (token_id, name, roles, token_hash, created_at) VALUES ($1, $2, $3, $4, $5)
           ON CONFLICT (token_id) DO NOTHING`,
          [d.tokenId, d.name, d.roles, d.tokenHash, e.metadata.at],
        );
      } else {
        const d = e.data as Extract<ApiTokenEvent, { type: 'ApiTokenRevoked' }>['data'];
        await client.query('UPDATE api_tokens SET revoked_at = $2 WHERE token_id = $1', [d.tokenId, e.metadata.at]);
      }
    }
  }
}
