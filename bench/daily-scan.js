#!/usr/bin/env node
// Daily reminder/renewal scan over a large fleet (default 100,000 certificates).
//
// certflow does not walk every certificate every day: reminders and renewals are durable
// timers (a projection of the events, table `timers`, indexed on due_at), and the scheduler
// asks only for the due ones. This script fills a fresh database with N certificates (rows of
// the certificate_view and timers projections, written directly: the scan reads projections,
// not the log), then measures in one run:
//   1. the scheduler's query: due timers, as the worker runs it every second;
//   2. the naive daily scan it replaces: read every issued certificate and evaluate the
//      reminder and renewal policies in JavaScript;
// and prints both, and their ratio. Then
//   3. a change of the fleet-wide renewal defaults (RenewalDefaultsChanged), which re-derives
//      the timers of every certificate in one transaction, through the real projection.
//
// Usage: npm run build && node bench/daily-scan.js [--n=100000] [--due=0.01]
'use strict';
const { Client } = require('pg');
const { randomBytes } = require('node:crypto');
const path = require('node:path');
const dist = path.join(__dirname, '..', 'dist');
const { migrate, createPool, CertificateViewProjection } = require(path.join(dist, 'libs/event-store/src'));
const { dueReminder, renewalTime, BUILT_IN_RENEWAL_DEFAULTS } = require(path.join(dist, 'libs/domain/src'));

const arg = (name, fallback) => {
  const a = process.argv.find((x) => x.startsWith(`--${name}=`));
  return a ? Number(a.split('=')[1]) : Number(process.env[`BENCH_${name.toUpperCase()}`] ?? fallback);
};
const N = arg('n', 100_000);
const DUE_SHARE = arg('due', 0.01);
const base = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/certflow';
const withDb = (name) => {
  const u = new URL(base);
  u.pathname = `/${name}`;
  return u.toString();
};

async function timed(fn, runs = 5) {
  const times = [];
  let result;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    result = await fn();
    times.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  times.sort((a, b) => a - b);
  return { median: times[Math.floor(times.length / 2)], min: times[0], result };
}

async function main() {
  const name = `certflow_bench_scan_${randomBytes(4).toString('hex')}`;
  const admin = new Client({ connectionString: withDb('postgres') });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  const pool = createPool(withDb(name), { max: 4 });
  try {
    await migrate(pool);
    const now = new Date();
    console.log(`certflow daily-scan benchmark: ${N.toLocaleString('en')} issued certificates, ${(DUE_SHARE * 100).toFixed(1)} % with a timer due now`);
    const t0 = Date.now();
    // Lifetimes of 30–400 days, issued at random times in the past year.
    await pool.query(
      `INSERT INTO certificate_view (id, seq, version, last_event_id, state, provider, subject, domain_names, certificate_domains,
         thumbprint, not_before, not_after, is_self_signed, key_algorithm, public_key_size, has_private_key, private_key_exportable,
         requested_services, requested_by, created_at, updated_at, attempts, aggregate)
       SELECT gen_random_uuid(), g, 3, gen_random_uuid(), 'Issued', 'self-signed', 'CN=host' || g || '.contoso.test',
              ARRAY['host' || g || '.contoso.test'], ARRAY['host' || g || '.contoso.test'], upper(md5(g::text)) || '00000000',
              nb, na, true, 'ECDSA', 256, true, false, '{}', 'bench', nb, nb, 0,
              -- the evolved aggregate, as big as a real one (a PEM certificate of ~1.2 kB)
              jsonb_build_object('state', 'Issued', 'certificateId', gen_random_uuid(), 'requestedBy', 'bench', 'failedAttempts', 0, 'lastError', null,
                'request', jsonb_build_object('provider', 'self-signed', 'domainNames', ARRAY['host' || g || '.contoso.test']),
                'certificate', jsonb_build_object('notBefore', to_char(nb AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
                  'notAfter', to_char(na AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'), 'certificatePem', repeat('A', 1200)))
         FROM generate_series(1, $1::int) g,
              LATERAL (SELECT $2::timestamptz - (g % 365) * interval '1 day' AS nb) x,
              LATERAL (SELECT x.nb + (30 + (g % 370)) * interval '1 day' AS na) y`,
      [N, now.toISOString()],
    );
    // One reminder timer and one renewal timer per certificate; DUE_SHARE of them are due now.
    await pool.query(
      `INSERT INTO timers (certificate_id, kind, due_at)
       SELECT id, k, CASE WHEN random() < $2 THEN $1::timestamptz - interval '1 minute' ELSE $1::timestamptz + (1 + random() * 300) * interval '1 day' END
         FROM certificate_view, unnest(ARRAY['expiry-reminder', 'renewal']) k`,
      [now.toISOString(), DUE_SHARE],
    );
    await pool.query('ANALYZE certificate_view; ANALYZE timers');
    console.log(`  filled in ${((Date.now() - t0) / 1000).toFixed(1)} s`);

    const scheduler = await timed(async () => {
      const { rows } = await pool.query('SELECT certificate_id, kind, due_at FROM timers WHERE due_at <= $1 ORDER BY due_at LIMIT 100000', [now.toISOString()]);
      return rows.length;
    });
    const naive = await timed(async () => {
      const { rows } = await pool.query(`SELECT id, not_before, not_after FROM certificate_view WHERE state = 'Issued'`);
      let due = 0;
      for (const r of rows) {
        const notAfter = r.not_after.toISOString();
        if (dueReminder(notAfter, now, null)) due++;
        if (renewalTime({ notBefore: r.not_before.toISOString(), notAfter }) <= now) due++;
      }
      return { scanned: rows.length, due };
    }, 3);
    const plan = (await pool.query(`EXPLAIN SELECT certificate_id FROM timers WHERE due_at <= now() ORDER BY due_at LIMIT 1000`)).rows.map((r) => r['QUERY PLAN']).join(' | ');

    console.log('');
    console.log(`  scheduler query (due timers, index on due_at): ${scheduler.median.toFixed(1)} ms median, ${scheduler.result} due found`);
    console.log(`  naive daily scan (all ${naive.result.scanned.toLocaleString('en')} certificates + policies in JS): ${naive.median.toFixed(1)} ms median, ${naive.result.due} due`);
    console.log(`  ratio naive / scheduler: ${(naive.median / scheduler.median).toFixed(1)} ×`);
    console.log(`  per certificate in the naive scan: ${((naive.median * 1000) / naive.result.scanned).toFixed(2)} µs`);
    console.log(`  plan: ${plan}`);

    // 3. PUT /settings/renewal over the whole fleet: the projection re-derives every timer.
    const client = await pool.connect();
    try {
      await client.query('BEGIN');
      const t1 = process.hrtime.bigint();
      await new CertificateViewProjection().apply(client, [{
        type: 'RenewalDefaultsChanged',
        streamId: 'settings-renewal-defaults',
        data: { defaults: { ...BUILT_IN_RENEWAL_DEFAULTS, reminderThresholds: [21, 7, 1], renewBeforeMs: 20 * 86_400_000 }, previous: BUILT_IN_RENEWAL_DEFAULTS },
        metadata: { actor: 'bench', at: now.toISOString(), correlationId: 'bench', causationId: null },
      }]);
      const ms = Number(process.hrtime.bigint() - t1) / 1e6;
      const { rows } = await client.query('SELECT count(*)::int AS n FROM timers');
      await client.query('COMMIT');
      console.log(`  fleet-wide defaults change: ${rows[0].n.toLocaleString('en')} timers of ${N.toLocaleString('en')} certificates re-derived in ${(ms / 1000).toFixed(1)} s (${((ms * 1000) / N).toFixed(0)} µs per certificate)`);
    } finally {
      client.release();
    }
  } finally {
    await pool.end();
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    await admin.end();
  }
}

main().catch((e) => {
  console.error(`daily-scan benchmark failed: ${e.message}`);
  process.exit(1);
});
