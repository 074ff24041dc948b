import { createHash } from 'node:crypto';
import { Pool } from 'pg';
import { GENESIS_HASH, eventHash } from './hash-chain';

export interface AuditProblem {
  readonly streamId: string;
  readonly streamVersion: number | null;
  readonly problem: string;
}

/**
 * Recomputes every stream's hash chain from the stored rows (before upcasting, as they were
 * hashed) and every global checkpoint. Any edit, deletion or reordering shows up as a problem.
 */
export async function verifyAuditLog(pool: Pool): Promise<{ events: number; checkpoints: number; problems: AuditProblem[] }> {
  const problems: AuditProblem[] = [];
  const lastHash = new Map<string, { version: number; hash: string }>();
  let events = 0;
  let after = 0;
  for (;;) {
    const { rows } = await pool.query(
      `SELECT global_position, stream_id, stream_version, event_id, type, schema_version, data, metadata, prev_hash, hash
         FROM events WHERE global_position > $1 ORDER BY global_position LIMIT 2000`,
      [after],
    );
    if (rows.length === 0) break;
    for (const r of rows) {
      const prev = lastHash.get(r.stream_id) ?? { version: 0, hash: GENESIS_HASH };
      if (r.stream_version !== prev.version + 1) {
        problems.push({ streamId: r.stream_id, streamVersion: r.stream_version, problem: `version ${r.stream_version} follows ${prev.version}` });
      }
      if (r.prev_hash !== prev.hash) {
        problems.push({ streamId: r.stream_id, streamVersion: r.stream_version, problem: 'prev_hash does not match the previous event' });
      }
      const expected = eventHash(r.prev_hash, {
        streamId: r.stream_id,
        streamVersion: r.stream_version,
        eventId: r.event_id,
        type: r.type,
        schemaVersion: r.schema_version,
        data: r.data,
        metadata: r.metadata,
      });
      if (expected !== r.hash) {
        problems.push({ streamId: r.stream_id, streamVersion: r.stream_version, problem: 'content does not match its hash' });
      }
      lastHash.set(r.stream_id, { version: r.stream_version, hash: r.hash });
      after = Number(r.global_position);
      events++;
    }
  }
  const streams = await pool.query<{ stream_id: string; version: number; hash: string }>('SELECT stream_id, version, hash FROM streams');
  for (const s of streams.rows) {
    const seen = lastHash.get(s.stream_id);
    if (!seen || seen.version !== s.version || seen.hash !== s.hash) {
      problems.push({ streamId: s.stream_id, streamVersion: null, problem: 'stream head does not match its last event (events deleted?)' });
    }
  }
  const checkpoints = await pool.query<{ id: string; below: string; event_count: string; hash: string }>(
    'SELECT id, below_transaction_id::text AS below, event_count, hash FROM audit_checkpoints ORDER BY id',
  );
  for (const c of checkpoints.rows) {
    const actual = await logDigest(pool, c.below);
    if (actual.hash !== c.hash || actual.count !== Number(c.event_count)) {
      problems.push({ streamId: '*', streamVersion: null, problem: `global checkpoint ${c.id} does not match the log (events deleted, added or reordered)` });
    }
  }
  return { events, checkpoints: checkpoints.rowCount ?? 0, problems };
}

/** A digest over every event hash of transactions older than `below`, in tailing order. */
async function logDigest(pool: Pool, below: string): Promise<{ hash: string; count: number }> {
  const h = createHash('sha256');
  let afterTx = '0';
  let afterPos = 0;
  let count = 0;
  for (;;) {
    const { rows } = await pool.query<{ tx: string; global_position: string; hash: string }>(
      `SELECT transaction_id::text AS tx, global_position, hash FROM events
        WHERE (transaction_id, global_position) > ($1::xid8, $2::bigint) AND transaction_id < $3::xid8
        ORDER BY transaction_id, global_position LIMIT 5000`,
      [afterTx, afterPos, below],
    );
    if (rows.length === 0) break;
    for (const r of rows) h.update(`${r.global_position}:${r.hash}\n`);
    count += rows.length;
    afterTx = rows[rows.length - 1].tx;
    afterPos = Number(rows[rows.length - 1].global_position);
  }
  return { hash: h.digest('hex'), count };
}

/**
 * Records a global checkpoint over every event of every finished transaction (those older
 * than the oldest still running): no event can later appear inside what it covers.
 */
export async function createAuditCheckpoint(pool: Pool): Promise<{ id: number; events: number }> {
  const { rows } = await pool.query<{ below: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS below');
  const digest = await logDigest(pool, rows[0].below);
  const inserted = await pool.query<{ id: string }>(
    'INSERT INTO audit_checkpoints (below_transaction_id, event_count, hash) VALUES ($1::xid8, $2, $3) RETURNING id',
    [rows[0].below, digest.count, digest.hash],
  );
  return { id: Number(inserted.rows[0].id), events: digest.count };
}
