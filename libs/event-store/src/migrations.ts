import { Pool, PoolClient } from 'pg';

/**
 * Schema migrations, run at start by the api, the worker and the CLI (whoever comes first;
 * an advisory lock makes concurrent starts safe). Never edit a shipped migration: add one.
 */
export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  {
    version: 1,
    name: 'event log, streams, checkpoints',
    sql: `
      CREATE TABLE events (
        global_position bigserial PRIMARY KEY,
        -- The writing transaction's id: tailing readers only take events of transactions older
        -- than the oldest one still running, so a late commit is never skipped.
        transaction_id  xid8        NOT NULL DEFAULT pg_current_xact_id(),
        stream_id       text        NOT NULL,
        stream_version  integer     NOT NULL,
        event_id        uuid        NOT NULL UNIQUE,
        type            text        NOT NULL,
        schema_version  integer     NOT NULL,
        data            jsonb       NOT NULL,
        metadata        jsonb       NOT NULL,
        recorded_at     timestamptz NOT NULL DEFAULT now(),
        -- sha256(prev_hash || canonical event): tamper evidence, chained per stream.
        prev_hash       text        NOT NULL,
        hash            text        NOT NULL,
        UNIQUE (stream_id, stream_version)
      );
      CREATE INDEX events_tail_idx ON events (transaction_id, global_position);

      -- One row per stream: its version and last hash. The row lock serialises appends to one
      -- stream while appends to different streams run in parallel.
      CREATE TABLE streams (
        stream_id text PRIMARY KEY,
        version   integer NOT NULL,
        hash      text    NOT NULL
      );

      -- Where each tailing subscriber (the dispatcher) has got to.
      CREATE TABLE subscription_checkpoints (
        name            text PRIMARY KEY,
        transaction_id  xid8   NOT NULL,
        global_position bigint NOT NULL,
        updated_at      timestamptz NOT NULL DEFAULT now()
      );

      -- Periodic hashes over the whole log up to a position, so that deleting or reordering
      -- whole streams is detected too (the per-stream chain cannot see that).
      CREATE TABLE audit_checkpoints (
        id              bigserial PRIMARY KEY,
        -- Covers every event of every transaction older than this one (all finished when taken).
        below_transaction_id xid8 NOT NULL,
        event_count     bigint NOT NULL,
        hash            text   NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now()
      );

      -- Private keys, AES-256-GCM encrypted under the master key. Referenced by key_id only.
      CREATE TABLE key_vault (
        key_id      uuid PRIMARY KEY,
        algorithm   text  NOT NULL,
        iv          bytea NOT NULL,
        auth_tag    bytea NOT NULL,
        ciphertext  bytea NOT NULL,
        created_at  timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 2,
    name: 'projections: certificate_view, api_tokens',
    sql: `
      CREATE TABLE certificate_view (
        id                     uuid PRIMARY KEY,
        seq                    bigint  NOT NULL UNIQUE,
        version                integer NOT NULL,
        last_event_id          uuid    NOT NULL,
        state                  text    NOT NULL,
        provider               text    NOT NULL,
        subject                text,
        issuer                 text,
        domain_names           text[]  NOT NULL,
        certificate_domains    text[]  NOT NULL,
        thumbprint             text,
        sha256_fingerprint     text,
        serial_number          text,
        not_before             timestamptz,
        not_after              timestamptz,
        is_self_signed         boolean,
        key_algorithm          text    NOT NULL,
        public_key_size        integer,
        has_private_key        boolean NOT NULL,
        private_key_exportable boolean NOT NULL,
        friendly_name          text,
        requested_services     text[]  NOT NULL,
        requested_by           text    NOT NULL,
        created_at             timestamptz NOT NULL,
        updated_at             timestamptz NOT NULL,
        pending_since          timestamptz,
        attempts               integer NOT NULL,
        last_error             text,
        aggregate              jsonb   NOT NULL
      );
      CREATE INDEX certificate_view_state_idx ON certificate_view (state, seq);
      CREATE INDEX certificate_view_not_after_idx ON certificate_view (not_after);
      CREATE INDEX certificate_view_thumbprint_idx ON certificate_view (thumbprint);

      CREATE TABLE api_tokens (
        token_id   uuid PRIMARY KEY,
        name       text   NOT NULL,
        roles      text[] NOT NULL,
        token_hash text   NOT NULL UNIQUE,
        created_at timestamptz NOT NULL,
        revoked_at timestamptz
      );
      CREATE INDEX api_tokens_name_idx ON api_tokens (name);
    `,
  },
  {
    version: 3,
    name: 'projection: trusted_roots',
    sql: `
      CREATE TABLE trusted_roots (
        sha256_fingerprint text PRIMARY KEY,
        thumbprint         text NOT NULL,
        subject            text NOT NULL,
        not_after          timestamptz NOT NULL,
        certificate_pem    text NOT NULL,
        added_by           text NOT NULL,
        added_at           timestamptz NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: 'CA flows: durable timers, test clock, internal CA, ACME challenges',
    sql: `
      ALTER TABLE certificate_view
        ADD COLUMN next_attempt_at timestamptz,
        ADD COLUMN awaiting_since  timestamptz,
        ADD COLUMN order_id        text,
        ADD COLUMN order_status    text;

      -- Durable timers, derived from certificate events (a projection): the scheduler moves due
      -- ones into BullMQ. One timer per kind per certificate:
      --   next-attempt       retry a failed step, or poll the CA order again
      --   approval-reminder  remind approvers (every remindEveryHours)
      --   approval-timeout   reject with ApprovalTimedOut at expiresAt
      CREATE TABLE timers (
        certificate_id uuid        NOT NULL,
        kind           text        NOT NULL,
        due_at         timestamptz NOT NULL,
        PRIMARY KEY (certificate_id, kind)
      );
      CREATE INDEX timers_due_idx ON timers (due_at);

      -- The test clock's offset (only used with CERTFLOW_TEST_CLOCK=1).
      CREATE TABLE clock_offset (
        id        boolean PRIMARY KEY DEFAULT true CHECK (id),
        offset_ms bigint  NOT NULL
      );

      -- certflow's internal CA (projection of the internal-ca stream).
      CREATE TABLE internal_ca (
        id                  boolean PRIMARY KEY DEFAULT true CHECK (id),
        root_pem            text NOT NULL,
        intermediate_pem    text NOT NULL,
        root_key_id         uuid NOT NULL,
        intermediate_key_id uuid NOT NULL,
        created_at          timestamptz NOT NULL
      );

      -- ACME HTTP-01 challenge responses that the api serves at /.well-known/acme-challenge/<token>.
      CREATE TABLE acme_challenges (
        token             text PRIMARY KEY,
        key_authorization text NOT NULL,
        certificate_id    uuid NOT NULL,
        created_at        timestamptz NOT NULL DEFAULT now()
      );
    `,
  },
  {
    version: 5,
    name: 'projection: service_bindings',
    sql: `
      -- One row per service binding stream (binding-<SERVICE>): what is enabled, what is pending.
      CREATE TABLE service_bindings (
        service                text PRIMARY KEY,
        version                integer NOT NULL,
        -- The certificate enabled for the service (null: none, or released).
        certificate_id         uuid,
        thumbprint             text,
        not_after              timestamptz,
        enabled_at             timestamptz,
        enabled_by             text,
        verified               boolean,
        served_thumbprint      text,
        -- The deployment asked for and not finished yet (its ServiceEnablementRequested event).
        pending_certificate_id uuid,
        pending_event_id       uuid,
        pending_correlation_id text,
        pending_since          timestamptz,
        pending_requested_by   text,
        last_error_code        text,
        last_error             text,
        last_error_at          timestamptz,
        updated_at             timestamptz NOT NULL
      );
      CREATE INDEX service_bindings_certificate_idx ON service_bindings (certificate_id);
      CREATE INDEX service_bindings_pending_idx ON service_bindings (pending_event_id) WHERE pending_event_id IS NOT NULL;
    `,
  },
  {
    version: 6,
    name: 'renewal: fleet-wide defaults',
    sql: `
      -- The fleet-wide renewal defaults (projection of settings-renewal-defaults). No row: the
      -- built-in ones. The timers projection reads it, so timers stay derived from events only.
      -- Timer kinds added by the renewal issue (see the timers table in migration 4):
      --   renewal          start the automatic renewal (policy time, ARI time, or retry)
      --   expiry-reminder  the next expiry reminder
      --   import-reminder  remind the operator of a manual request still waiting for its import
      --   renewal-info     ask the ACME CA for its renewal window again (RFC 9773)
      CREATE TABLE renewal_defaults (
        id         boolean PRIMARY KEY DEFAULT true CHECK (id),
        defaults   jsonb       NOT NULL,
        changed_at timestamptz NOT NULL,
        changed_by text        NOT NULL
      );
    `,
  },
];

const MIGRATION_LOCK = 0x63657274666c6f77n; // "certflow"

export async function migrate(pool: Pool): Promise<number[]> {
  const client = await pool.connect();
  const applied: number[] = [];
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATION_LOCK.toString()]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const done = new Set(
      (await client.query<{ version: number }>('SELECT version FROM schema_migrations')).rows.map((r) => r.version),
    );
    for (const m of MIGRATIONS) {
      if (done.has(m.version)) continue;
      await inTransaction(client, async () => {
        await client.query(m.sql);
        await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      });
      applied.push(m.version);
    }
  } finally {
    await client.query('SELECT pg_advisory_unlock($1)', [MIGRATION_LOCK.toString()]).catch(() => undefined);
    client.release();
  }
  return applied;
}

export async function inTransaction<T>(client: PoolClient, fn: () => Promise<T>): Promise<T> {
  await client.query('BEGIN');
  try {
    const result = await fn();
    await client.query('COMMIT');
    return result;
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
