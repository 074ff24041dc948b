import { randomUUID } from 'node:crypto';
import { ConcurrencyError, EventMetadata, RecordedEvent } from '../../application/src';
import { TestDatabase, createTestDatabase } from '../../testing/src';
import { LOG_START, LogPosition, PostgresEventStore } from './event-store.adapter';
import { EVENT_SCHEMA_VERSIONS, createEventStore } from './factory';
import { inTransaction } from './migrations';
import { UpcasterRegistry } from './upcasters';

const meta = (actor = 'tester'): EventMetadata => ({ actor, at: new Date().toISOString(), correlationId: randomUUID(), causationId: null });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let db: TestDatabase;
let store: PostgresEventStore;

beforeAll(async () => {
  db = await createTestDatabase('eventstore');
  store = createEventStore(db.pool);
});
afterAll(() => db.drop());

describe('appending and reading a stream', () => {
  it('gives consecutive versions and reads them back in order', async () => {
    const stream = `test-${randomUUID()}`;
    const first = await store.appendToStream(stream, [{ type: 'Thing', data: { n: 1 } }, { type: 'Thing', data: { n: 2 } }], { expectedVersion: 0, metadata: meta() });
    expect(first.nextExpectedVersion).toBe(2);
    await store.appendToStream(stream, [{ type: 'Thing', data: { n: 3 } }], { expectedVersion: 2, metadata: meta() });
    const events = await store.readStream(stream);
    expect(events.map((e) => [e.streamVersion, (e.data as { n: number }).n])).toEqual([[1, 1], [2, 2], [3, 3]]);
    expect(events[0].metadata.actor).toBe('tester');
  });

  it('refuses an append whose expected version is stale, and writes nothing', async () => {
    const stream = `test-${randomUUID()}`;
    await store.appendToStream(stream, [{ type: 'Thing', data: {} }], { expectedVersion: 0, metadata: meta() });
    await expect(store.appendToStream(stream, [{ type: 'Thing', data: {} }], { expectedVersion: 0, metadata: meta() })).rejects.toBeInstanceOf(ConcurrencyError);
    await expect(store.appendToStream(stream, [{ type: 'Thing', data: {} }], { expectedVersion: 5, metadata: meta() })).rejects.toBeInstanceOf(ConcurrencyError);
    expect(await store.readStream(stream)).toHaveLength(1);
  });

  it('lets exactly one of many concurrent writers with the same expected version win', async () => {
    const stream = `test-${randomUUID()}`;
    const results = await Promise.allSettled(
      Array.from({ length: 10 }, (_, i) => store.appendToStream(stream, [{ type: 'Thing', data: { i } }], { expectedVersion: 0, metadata: meta() })),
    );
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
    expect(results.filter((r) => r.status === 'rejected' && r.reason instanceof ConcurrencyError)).toHaveLength(9);
    expect(await store.readStream(stream)).toHaveLength(1);
  });

  it('reads a stream as it was at an instant, by event time', async () => {
    const stream = `test-${randomUUID()}`;
    await store.appendToStream(stream, [{ type: 'Thing', data: {} }], { expectedVersion: 0, metadata: { ...meta(), at: '2026-01-01T00:00:00.000Z' } });
    await store.appendToStream(stream, [{ type: 'Thing', data: {} }], { expectedVersion: 1, metadata: { ...meta(), at: '2026-03-01T00:00:00.000Z' } });
    expect(await store.readStream(stream, { untilAt: '2026-02-01T00:00:00Z' })).toHaveLength(1);
    expect(await store.readStream(stream, { untilAt: '2025-12-31T00:00:00Z' })).toHaveLength(0);
    expect(await store.readStream(stream, { untilAt: '2026-03-01T00:00:00Z' })).toHaveLength(2);
  });
});

describe('schema versions and upcasting', () => {
  it('stores the current schema version and lifts older payloads on read', async () => {
    const stream = `test-${randomUUID()}`;
    const v1 = new PostgresEventStore(db.pool, new UpcasterRegistry({ Renamed: 1 }));
    await v1.appendToStream(stream, [{ type: 'Renamed', data: { fullName: 'Ada Lovelace' } }], { expectedVersion: 0, metadata: meta() });
    const v2 = new PostgresEventStore(
      db.pool,
      new UpcasterRegistry({ Renamed: 2 }, [
        { type: 'Renamed', fromVersion: 1, upcast: (d: { fullName: string }) => ({ given: d.fullName.split(' ')[0], family: d.fullName.split(' ')[1] }) },
      ]),
    );
    const [event] = await v2.readStream(stream);
    expect(event.schemaVersion).toBe(2);
    expect(event.data).toEqual({ given: 'Ada', family: 'Lovelace' });
    const { rows } = await db.pool.query('SELECT schema_version, data FROM events WHERE stream_id = $1', [stream]);
    expect(rows[0]).toEqual({ schema_version: 1, data: { fullName: 'Ada Lovelace' } }); // the stored row is never rewritten
  });

  it('refuses to read an old version that has no upcaster', async () => {
    const stream = `test-${randomUUID()}`;
    await new PostgresEventStore(db.pool, new UpcasterRegistry({ Orphan: 1 })).appendToStream(stream, [{ type: 'Orphan', data: {} }], { expectedVersion: 0, metadata: meta() });
    await expect(new PostgresEventStore(db.pool, new UpcasterRegistry({ Orphan: 3 })).readStream(stream)).rejects.toThrow(/no upcaster for Orphan/);
  });

  it('knows a current schema version for every event type certflow writes', () => {
    for (const [type, version] of Object.entries(EVENT_SCHEMA_VERSIONS)) {
      expect(Number.isInteger(version) && version >= 1).toBe(true);
      expect(type).toMatch(/^[A-Z][A-Za-z]+$/);
    }
  });
});

describe('tailing the global log', () => {
  async function tailAll(from: LogPosition): Promise<{ events: RecordedEvent[]; position: LogPosition }> {
    const events: RecordedEvent[] = [];
    let position = from;
    for (;;) {
      const batch = await store.readAllAfter(position, 200);
      if (batch.length === 0) return { events, position };
      events.push(...batch);
      const last = batch[batch.length - 1];
      position = { transactionId: last.transactionId, globalPosition: last.globalPosition };
    }
  }

  it('never skips an event whose transaction commits after a later-numbered one (where a plain bigserial reader does)', async () => {
    const { position: start } = await tailAll(LOG_START);
    const startPos = (await db.pool.query('SELECT COALESCE(max(global_position), 0) AS p FROM events')).rows[0].p;
    const slow = await db.pool.connect();
    const streamA = `test-${randomUUID()}`;
    const streamB = `test-${randomUUID()}`;
    try {
      await slow.query('BEGIN');
      // A takes the lower global position but has not committed yet...
      await store.appendWith(slow, streamA, [{ type: 'Slow', data: {} }], { expectedVersion: 0, metadata: meta() });
      // ...while B takes a higher one and commits at once.
      await store.appendToStream(streamB, [{ type: 'Fast', data: {} }], { expectedVersion: 0, metadata: meta() });

      // A naive reader ("global_position > last seen") now sees B and moves past A's position.
      const naive = await db.pool.query('SELECT global_position, stream_id FROM events WHERE global_position > $1 ORDER BY global_position', [startPos]);
      expect(naive.rows.map((r) => r.stream_id)).toEqual([streamB]);
      const naiveCheckpoint = Number(naive.rows[naive.rows.length - 1].global_position);

      // The transaction-aware reader holds back: A's transaction is still running.
      const early = await tailAll(start);
      expect(early.events.map((e) => e.streamId)).not.toContain(streamB);

      await slow.query('COMMIT');
      const naiveAfter = await db.pool.query('SELECT stream_id FROM events WHERE global_position > $1', [naiveCheckpoint]);
      expect(naiveAfter.rows.map((r) => r.stream_id)).not.toContain(streamA); // the naive reader lost A for good

      const late = await tailAll(early.position);
      expect(late.events.map((e) => e.streamId)).toEqual([streamA, streamB]);
    } finally {
      slow.release();
    }
  });

  it('delivers every event exactly once, in commit-consistent order, to a reader tailing many concurrent appenders', async () => {
    const { position: start } = await tailAll(LOG_START);
    const streams = Array.from({ length: 12 }, () => `test-${randomUUID()}`);
    const perStream = 15;
    let done = false;
    const seen: RecordedEvent[] = [];
    const reader = (async () => {
      let position = start;
      while (!done || (await store.readAllAfter(position, 1)).length > 0) {
        const batch = await store.readAllAfter(position, 50);
        for (const e of batch) seen.push(e);
        if (batch.length) {
          const last = batch[batch.length - 1];
          position = { transactionId: last.transactionId, globalPosition: last.globalPosition };
        } else await sleep(5);
      }
    })();
    // Each appender holds its transaction open for a random time after taking positions, so
    // commits finish out of position order all the time.
    await Promise.all(
      streams.map(async (stream) => {
        for (let v = 0; v < perStream; v++) {
          const client = await db.pool.connect();
          try {
            await inTransaction(client, async () => {
              await store.appendWith(client, stream, [{ type: 'Tick', data: { v } }], { expectedVersion: v, metadata: meta() });
              await sleep(Math.random() * 25);
            });
          } finally {
            client.release();
          }
        }
      }),
    );
    done = true;
    await reader;
    const mine = seen.filter((e) => streams.includes(e.streamId));
    // Seen once (CI saw 181 of 180 once and has not since): name any event read twice, with the
    // transaction ids and positions involved, so a recurrence can be diagnosed.
    const counts = new Map<string, number>();
    for (const e of mine) counts.set(e.eventId, (counts.get(e.eventId) ?? 0) + 1);
    const twice = mine.filter((e) => counts.get(e.eventId)! > 1).map((e) => `${e.streamId}@${e.streamVersion} xid ${e.transactionId} pos ${e.globalPosition}`);
    expect(twice).toEqual([]);
    expect(mine).toHaveLength(streams.length * perStream);
    expect(new Set(mine.map((e) => e.eventId)).size).toBe(mine.length);
    for (const stream of streams) {
      expect(mine.filter((e) => e.streamId === stream).map((e) => e.streamVersion)).toEqual(Array.from({ length: perStream }, (_, i) => i + 1));
    }
    // Positions were handed out in a different order than the reader saw them: the scenario was real.
    const positions = mine.map((e) => e.globalPosition);
    expect(positions).not.toEqual([...positions].sort((a, b) => a - b));
  });
});
