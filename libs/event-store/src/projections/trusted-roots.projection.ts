import { PoolClient } from 'pg';
import { RecordedEvent } from '../../../application/src';
import { TrustRootEvent } from '../../../domain/src';
import { InlineProjection } from '../event-store.adapter';

/** `trusted_roots`: the operator's roots (RootCAType Registry), derived from trust-root events only. */
export class TrustedRootsProjection implements InlineProjection {
  readonly name = 'trusted_roots';
  readonly tables = ['trusted_roots'];

  canHandle(type: string): boolean {
    return type === 'TrustedRootAdded' || type === 'TrustedRootRemoved';
  }

  async apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void> {
    for (const e of events as readonly RecordedEvent<TrustRootEvent>[]) {
      if (e.type === 'TrustedRootAdded') {
        const d = e.data as Extract<TrustRootEvent, { type: 'TrustedRootAdded' }>['data'];
        await client.query(
          `INSERT INTO trusted_roots (sha256_fingerprint, thumbprint, subject, not_after, certificate_pem, added_by, added_at)
           VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (sha256_fingerprint) DO NOTHING`,
          [d.sha256Fingerprint, d.thumbprint, d.subject, d.notAfter, d.certificatePem, d.addedBy, e.metadata.at],
        );
      } else {
        const d = e.data as Extract<TrustRootEvent, { type: 'TrustedRootRemoved' }>['data'];
        await client.query('DELETE FROM trusted_roots WHERE sha256_fingerprint = $1', [d.sha256Fingerprint]);
      }
    }
  }
}
