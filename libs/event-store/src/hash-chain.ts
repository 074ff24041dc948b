import { createHash } from 'node:crypto';
import { canonicalJson } from './canonical-json';

/** The hash before the first event of every stream. */
export const GENESIS_HASH = '0'.repeat(64);

export interface HashedFields {
  streamId: string;
  streamVersion: number;
  eventId: string;
  type: string;
  schemaVersion: number;
  data: unknown;
  metadata: unknown;
}

/** sha256(prevHash ‖ canonical event). Changing, dropping or reordering an event breaks every later hash. */
export function eventHash(prevHash: string, e: HashedFields): string {
  return createHash('sha256')
    .update(prevHash)
    .update(
      canonicalJson({
        streamId: e.streamId,
        streamVersion: e.streamVersion,
        eventId: e.eventId,
        type: e.type,
        schemaVersion: e.schemaVersion,
        data: e.data,
        metadata: e.metadata,
      }),
    )
    .digest('hex');
}
