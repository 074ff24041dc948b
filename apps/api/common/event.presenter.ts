import { RecordedEvent } from '../../../libs/application/src';

/** An event as the history endpoints show it: everything but the internal transaction id. */
export const presentEvent = (e: RecordedEvent) => ({
  globalPosition: e.globalPosition,
  streamVersion: e.streamVersion,
  eventId: e.eventId,
  type: e.type,
  schemaVersion: e.schemaVersion,
  data: e.data,
  metadata: e.metadata,
  recordedAt: e.recordedAt,
  prevHash: e.prevHash,
  hash: e.hash,
});
