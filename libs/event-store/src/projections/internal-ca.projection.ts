import { PoolClient } from 'pg';
import { RecordedEvent } from '../../../application/src';
import { InternalCaEvent } from '../../../domain/src';
import { InlineProjection } from '../event-store.adapter';

/** `internal_ca`: the internal CA's certificates and vault key ids, derived from its stream. */
export class InternalCaProjection implements InlineProjection {
  readonly name = 'internal_ca';
  readonly tables = ['internal_ca'];

  canHandle(type: string): boolean {
    return type === 'InternalCaCreated';
  }

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    for (const e of events as readonly RecordedEvent<InternalCaEvent>[]) {
      const d = e.data;
      await client.query(
        `INSERT INTO internal_ca (id, root_pem, intermediate_pem, root_key_id, intermediate_key_id, created_at)
         VALUES (true, $1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING`,
        [d.rootPem, d.intermediatePem, d.rootKeyId, d.intermediateKeyId, e.metadata.at],
      );
    }
  }
}
