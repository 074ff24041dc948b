import { randomUUID } from 'node:crypto';
import { Pool, PoolClient } from 'pg';
import {
  AppendResult,
  ConcurrencyError,
  EventMetadata,
  EventStore,
  ExpectedVersion,
  NewEvent,
  RecordedEvent,
} from '../../application/src';
import { GENESIS_HASH, eventHash } from './hash-chain';
import { inTransaction } from './migrations';
import { UpcasterRegistry } from './upcasters';

/** Updated in the same transaction as the append, so a read after a write sees the write. */
export interface InlineProjection {
  readonly name: string;
  /** Tables this projection owns; a rebuild empties them and replays the log. */
  readonly tables: readonly string[];
  canHandle(type: string): boolean;
  apply(client: PoolClient, events: readonly RecordedEvent[]): Promise<void>;
}

/** Position of a tailing reader: the last (transaction id, global position) it has taken. */
export interface LogPosition {
  readonly transactionId: string;
  readonly globalPosition: number;
}
export const LOG_START: LogPosition = { transactionId: '0', globalPosition: 0 };

export const EVENTS_CHANNEL = 'certflow_events';

const COLUMNS = `global_position, transaction_id::text AS transaction_id, stream_id, stream_version, event_id, type,
  schema_version, data, metadata, recorded_at, prev_hash, hash`;

interface EventRow {
  global_position: string;
  transaction_id: string;
  stream_id: string;
  stream_version: number;
  event_id: string;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: EventMetadata;
  recorded_at: Date;
  prev_hash: string;
  hash: string;
}

export class PostgresEventStore implements EventStore {
  constructor(
    readonly pool: Pool,
    private readonly upcasters: UpcasterRegistry,
    private readonly projections: readonly InlineProjection[] = [],
  ) {}

  async readStream(streamId: string, options: { untilAt?: string } = {}): Promise<RecordedEvent[]> {
    const params: unknown[] = [streamId];
    let filter = '';
    if (options.untilAt) {
      params.push(options.untilAt);
      filter = `AND (metadata->>'at')::timestamptz <= $2::timestamptz`;
    }
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${COLUMNS} FROM events WHERE stream_id = $1 ${filter} ORDER BY stream_version`,
      params,
    );
    return rows.map((r) => this.toRecorded(r));
  }

  async appendToStream(
    streamId: string,
    events: readonly NewEvent[],
    options: { expectedVersion: ExpectedVersion; metadata: EventMetadata },
  ): Promise<AppendResult> {
    if (events.length === 0) throw new Error('appendToStream needs at least one event');
    const client = await this.pool.connect();
    try {
      return await inTransaction(client, () => this.appendWith(client, streamId, events, options));
    } finally {
      client.release();
    }
  }

  /** The append itself, inside a transaction the caller owns. */
  async appendWith(
    client: PoolClient,
    streamId: string,
    events: readonly NewEvent[],
    { expectedVersion, metadata }: { expectedVersion: ExpectedVersion; metadata: EventMetadata },
  ): Promise<AppendResult> {
    const current = await client.query<{ version: number; hash: string }>(
      'SELECT version, hash FROM streams WHERE stream_id = $1 FOR UPDATE',
      [streamId],
    );
    let version = current.rows[0]?.version ?? 0;
    let prevHash = current.rows[0]?.hash ?? GENESIS_HASH;
    if (expectedVersion !== 'any' && expectedVersion !== version) {
      throw new ConcurrencyError(streamId, expectedVersion, version);
    }
    if (current.rows.length === 0) {
      const created = await client.query(
        'INSERT INTO streams (stream_id, version, hash) VALUES ($1, 0, $2) ON CONFLICT DO NOTHING',
        [streamId, GENESIS_HASH],
      );
      // Another transaction created the stream first (and holds or held its row).
      if (created.rowCount === 0) throw new ConcurrencyError(streamId, expectedVersion, -1);
    }

    const ids: string[] = [];
    const versions: number[] = [];
    const types: string[] = [];
    const schemaVersions: number[] = [];
    const datas: string[] = [];
    const prevHashes: string[] = [];
    const hashes: string[] = [];
    for (const e of events) {
      version++;
      const eventId = randomUUID();
      const schemaVersion = this.upcasters.currentVersion(e.type);
      const hash = eventHash(prevHash, { streamId, streamVersion: version, eventId, type: e.type, schemaVersion, data: e.data, metadata });
      ids.push(eventId);
      versions.push(version);
      types.push(e.type);
      schemaVersions.push(schemaVersion);
      datas.push(JSON.stringify(e.data));
      prevHashes.push(prevHash);
      hashes.push(hash);
      prevHash = hash;
    }
    const inserted = await client.query<EventRow>(
      `INSERT INTO events (stream_id, stream_version, event_id, type, schema_version, data, metadata, prev_hash, hash)
       SELECT $1, v, id, t, sv, d::jsonb, $7::jsonb, ph, h
         FROM unnest($2::int[], $3::uuid[], $4::text[], $5::int[], $6::text[], $8::text[], $9::text[])
           AS x(v, id, t, sv, d, ph, h)
       RETURNING ${COLUMNS}`,
      [streamId, versions, ids, types, schemaVersions, datas, JSON.stringify(metadata), prevHashes, hashes],
    );
    await client.query('UPDATE streams SET version = $2, hash = $3 WHERE stream_id = $1', [streamId, version, prevHash]);
    const recorded = inserted.rows
      .sort((a, b) => a.stream_version - b.stream_version)
      .map((r) => this.toRecorded(r));
    for (const p of this.projections) {
      const mine = recorded.filter((e) => p.canHandle(e.type));
      if (mine.length > 0) await p.apply(client, mine);
    }
    await client.query(`SELECT pg_notify('${EVENTS_CHANNEL}', $1)`, [streamId]);
    return { nextExpectedVersion: version, events: recorded };
  }

  /**
   * Events after `after`, in (transaction id, position) order, from transactions that have all
   * finished: only transactions older than the oldest one still running are read, so an event
   * whose transaction commits late can never be skipped by a reader that has moved on.
   */
  async readAllAfter(after: LogPosition, limit = 500): Promise<RecordedEvent[]> {
    const { rows } = await this.pool.query<EventRow>(
      `SELECT ${COLUMNS} FROM events
        WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint)
          AND transaction_id < pg_snapshot_xmin(pg_current_snapshot())
        ORDER BY transaction_id, global_position
        LIMIT $3`,
      [after.transactionId, after.globalPosition, limit],
    );
    return rows.map((r) => this.toRecorded(r));
  }

  /** Drops every projection's rows and replays the whole log through them, in one transaction. */
  async rebuildProjections(): Promise<{ events: number }> {
    const client = await this.pool.connect();
    try {
      return await inTransaction(client, async () => {
        // Blocks appends (they update `streams`) for the duration; reads go on.
        await client.query('LOCK TABLE streams IN EXCLUSIVE MODE');
        const tables = this.projections.flatMap((p) => p.tables);
        if (tables.length) await client.query(`TRUNCATE ${tables.join(', ')}`);
        let after = 0;
        let count = 0;
        for (;;) {
          const { rows } = await client.query<EventRow>(
            `SELECT ${COLUMNS} FROM events WHERE global_position > $1 ORDER BY global_position LIMIT 1000`,
            [after],
          );
          if (rows.length === 0) break;
          const batch = rows.map((r) => this.toRecorded(r));
          for (const p of this.projections) {
            const mine = batch.filter((e) => p.canHandle(e.type));
            if (mine.length) await p.apply(client, mine);
          }
          after = batch[batch.length - 1].globalPosition;
          count += batch.length;
        }
        return { events: count };
      });
    } finally {
      client.release();
    }
  }

  private toRecorded(r: EventRow): RecordedEvent {
    const { data, schemaVersion } = this.upcasters.upcast(r.type, r.schema_version, r.data);
    return {
      globalPosition: Number(r.global_position),
      transactionId: r.transaction_id,
      streamId: r.stream_id,
      streamVersion: r.stream_version,
      eventId: r.event_id,
      type: r.type,
      schemaVersion,
      data,
      metadata: r.metadata,
      recordedAt: r.recorded_at.toISOString(),
      prevHash: r.prev_hash,
      hash: r.hash,
    };
  }
}
