#!/usr/bin/env node
/*
 * Issue-throughput benchmark: how many self-signed certificates per second the real system
 * (api + worker processes, PostgreSQL event log, BullMQ on Redis) issues, compared with a
 * "bare loop" doing the same cryptography in-process (no HTTP, no queue, no log).
 *
 *   npm run bench:issue-throughput                      # build, then run with the defaults
 *   npm run bench:issue-throughput -- --ecdsa=500 --rsa=50 --worker-concurrency=32
 *   node bench/issue-throughput.js --only=ecdsa         # needs a build (dist/) already
 *
 * Options (command line `--name=value`, or the environment variable in brackets):
 *   --rsa=N                 RSA-2048 certificates per run            [BENCH_RSA_N, 200]
 *   --ecdsa=N               ECDSA P-256 certificates per run         [BENCH_ECDSA_N, 2000]
 *   --only=rsa|ecdsa        run one key type only                    [BENCH_ONLY]
 *   --concurrency=N         client requests in flight                [BENCH_CLIENT_CONCURRENCY, 50]
 *   --worker-concurrency=N  CERTFLOW_WORKER_CONCURRENCY of the worker [BENCH_WORKER_CONCURRENCY
 *                           or CERTFLOW_WORKER_CONCURRENCY, else the app's default, 16]
 *   --bare-concurrency=N    async tasks of the bare loop             [BENCH_BARE_CONCURRENCY,
 *                           = the worker concurrency]
 *   --warmup=N              certificates issued (not measured) before each system run, and
 *                           bare iterations before each bare run     [BENCH_WARMUP, 20 (RSA: 4)]
 *   --timeout=S             stop waiting for a system run S seconds after its first POST and
 *                           report what was issued by then           [BENCH_TIMEOUT_S, 75]
 *
 * What is measured, per key type:
 *   system: N POST /certificates with bounded client concurrency. Completion is detected by a
 *     cheap count on certificate_view (no per-certificate GETs); afterwards the timestamps are
 *     read from the event log: metadata.at of CertificateRequested (api clock) and of
 *     CertificateIssued (worker clock; same machine). certificates/s = N / (last Issued.at −
 *     first POST sent). Latency = Issued.at − the moment the client sent that POST.
 *   bare: generateKeyPair + createCsr + createSelfSigned from dist/libs/crypto, N times, with
 *     `--bare-concurrency` async tasks in this one process. WebCrypto runs keygen and signing on
 *     the libuv thread pool (default 4 threads, as in the worker); ASN.1/DER work of
 *     @peculiar/x509 runs on the main thread. The default equals the worker's BullMQ concurrency
 *     per queue (16), i.e. the number of jobs one worker process runs at once per step.
 *     The bare loop of a key type runs first, while api and worker are up but idle.
 *   CPU: core-seconds used during each system run by api, worker, PostgreSQL (postmaster, its
 *     auxiliary processes and the backends of the bench database), Redis and this client, from
 *     /proc sampled every 250 ms; "anything else" is the rest of the machine's busy time
 *     (other processes: a shared machine makes every number pessimistic, and is warned about).
 *     Divided by the certificates issued, it gives the CPU cost per certificate, and
 *     cores / cost is the most this deployment can issue per second on this machine.
 *
 * Everything is private to the run: a fresh database certflow_bench_<random>, a queue prefix
 * certflow-bench-<random>, a free port. The database, the Redis keys and the processes are
 * removed at the end, also on failure or Ctrl-C. The api/worker output goes to a log file in
 * os.tmpdir() (LOG_LEVEL=warn). The exit code is 0 whether or not targets are met: a benchmark
 * reports, it does not assert. It is 1 only if the benchmark itself could not run.
 */
'use strict';

const { spawn, execFileSync } = require('node:child_process');
const { randomBytes } = require('node:crypto');
const fs = require('node:fs');
const http = require('node:http');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');

const ROOT = path.resolve(__dirname, '..');
const DIST = path.join(ROOT, 'dist');

for (const f of ['apps/api/main.js', 'apps/worker/main.js', 'libs/crypto/src/index.js']) {
  if (!fs.existsSync(path.join(DIST, f))) {
    console.error(`dist/${f} is missing: build first (npm run build), or use npm run bench:issue-throughput.`);
    process.exit(1);
  }
}

const { Client } = require('pg');
const IORedis = require('ioredis');
const crypto = require(path.join(DIST, 'libs/crypto/src'));

// ---------------------------------------------------------------------------------------------
// Options

const argv = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([a-z-]+)(?:=(.*))?$/.exec(a);
    if (!m) {
      console.error(`unknown argument ${a}`);
      process.exit(1);
    }
    return [m[1], m[2] ?? 'true'];
  }),
);
const KNOWN = ['rsa', 'ecdsa', 'only', 'concurrency', 'worker-concurrency', 'bare-concurrency', 'warmup', 'timeout'];
for (const k of Object.keys(argv)) {
  if (!KNOWN.includes(k)) {
    console.error(`unknown option --${k}; known: ${KNOWN.map((x) => '--' + x).join(' ')}`);
    process.exit(1);
  }
}
function intOpt(arg, envName, fallback) {
  const raw = argv[arg] ?? (envName ? process.env[envName] : undefined);
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 0) {
    console.error(`--${arg} must be a whole number, got "${raw}"`);
    process.exit(1);
  }
  return n;
}

const WORKER_CONCURRENCY = intOpt('worker-concurrency', 'BENCH_WORKER_CONCURRENCY', Number(process.env.CERTFLOW_WORKER_CONCURRENCY || 16));
const OPTS = {
  rsaN: intOpt('rsa', 'BENCH_RSA_N', 200),
  ecdsaN: intOpt('ecdsa', 'BENCH_ECDSA_N', 2000),
  only: (argv.only ?? process.env.BENCH_ONLY ?? '').toLowerCase(),
  clientConcurrency: Math.max(1, intOpt('concurrency', 'BENCH_CLIENT_CONCURRENCY', 50)),
  workerConcurrency: Math.max(1, WORKER_CONCURRENCY),
  bareConcurrency: Math.max(1, intOpt('bare-concurrency', 'BENCH_BARE_CONCURRENCY', WORKER_CONCURRENCY)),
  warmup: intOpt('warmup', 'BENCH_WARMUP', -1),
  timeoutS: Math.max(1, intOpt('timeout', 'BENCH_TIMEOUT_S', 75)),
};
if (OPTS.only && !['rsa', 'ecdsa'].includes(OPTS.only)) {
  console.error('--only must be rsa or ecdsa');
  process.exit(1);
}

const KEY_TYPES = [
  {
    id: 'rsa',
    label: 'RSA-2048',
    n: OPTS.rsaN,
    warmup: OPTS.warmup >= 0 ? OPTS.warmup : 4,
    spec: { algorithm: 'RSA', size: 2048 },
    body: (name) => ({ provider: 'self-signed', domainNames: [name], keyAlgorithm: 'RSA', keySize: 2048 }),
    target: { text: '≥ 0.8 × bare loop', met: (r) => r.bare && r.system.rate >= 0.8 * r.bare.rate },
  },
  {
    id: 'ecdsa',
    label: 'ECDSA P-256',
    n: OPTS.ecdsaN,
    warmup: OPTS.warmup >= 0 ? OPTS.warmup : 20,
    spec: { algorithm: 'ECDSA', curve: 'P-256' },
    body: (name) => ({ provider: 'self-signed', domainNames: [name], keyAlgorithm: 'ECDSA', curve: 'P-256' }),
    target: { text: '≥ 500 certificates/s', met: (r) => r.system.rate >= 500 },
  },
].filter((k) => k.n > 0 && (!OPTS.only || OPTS.only === k.id));

// ---------------------------------------------------------------------------------------------
// Small helpers

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const fmt = (x, d = 1) => (x === null || x === undefined || Number.isNaN(x) ? '—' : x.toFixed(d));

function percentile(sorted, p) {
  if (sorted.length === 0) return NaN;
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))];
}
const stats = (values) => {
  const s = [...values].sort((a, b) => a - b);
  return { p50: percentile(s, 50), p99: percentile(s, 99), max: s[s.length - 1] };
};

function withDatabase(url, name) {
  const u = new URL(url);
  u.pathname = `/${name}`;
  return u.toString();
}

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

let CLK_TCK = 100;
try {
  CLK_TCK = Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
} catch {
  // keep 100, the Linux default
}

/** utime+stime of a process (all its threads), in seconds. */
function procTimes(pid) {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // f[0] is field 3 (state)
    return { self: (Number(f[11]) + Number(f[12])) / CLK_TCK };
  } catch {
    return null;
  }
}

function machineTimes() {
  try {
    const cpu = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0].trim().split(/\s+/).slice(1).map(Number);
    // user nice system idle iowait irq softirq steal
    const idle = cpu[3] + (cpu[4] || 0);
    const total = cpu.slice(0, 8).reduce((a, b) => a + b, 0);
    return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
  } catch {
    return { busy: 0, total: 0 };
  }
}

/**
 * Which component a process belongs to, or null. PostgreSQL counts the postmaster, its auxiliary
 * processes (WAL writer, checkpointer, ...) and the backends of the bench database; backends of
 * other databases (someone else's load on a shared server) are left out.
 */
function componentOf(pid, pids) {
  if (pid === String(pids.api)) return 'api';
  if (pid === String(pids.worker)) return 'worker';
  let comm;
  try {
    comm = fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return null;
  }
  if (comm === 'redis-server') return 'redis';
  if (comm !== 'postgres') return null;
  let cmd = '';
  try {
    cmd = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return null;
  }
  if (cmd.includes(DB_NAME)) return 'postgres';
  // A client backend's title is "postgres: <cluster>: <user> <database> <host(port)|[local]> <activity>".
  if (/^postgres: (?:\S+: )?\S+ \S+ (?:\S+\(\d+\)|\[local\])/.test(cmd) || /autovacuum worker|parallel worker/.test(cmd)) return null;
  return 'postgres';
}

/**
 * CPU seconds used between start() and stop() by the api, the worker, PostgreSQL, Redis, this
 * client and the whole machine. /proc is sampled every 250 ms, so that PostgreSQL backends that
 * come and go during the run are counted too (up to their last sample).
 */
class CpuMeter {
  constructor(pids) {
    this.pids = pids;
    this.procs = new Map(); // pid -> { component, first, last }
  }

  scan(initial) {
    let entries = [];
    try {
      entries = fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d));
    } catch {
      return;
    }
    for (const pid of entries) {
      let p = this.procs.get(pid);
      if (!p) {
        const component = componentOf(pid, this.pids);
        if (!component) continue;
        const t = procTimes(pid);
        if (!t) continue;
        // A process first seen after the start used all its CPU time inside the window.
        p = { component, first: initial ? t.self : 0, last: t.self };
        this.procs.set(pid, p);
      } else {
        const t = procTimes(pid);
        if (t) p.last = t.self;
      }
    }
  }

  start() {
    this.m0 = machineTimes();
    const cu = process.cpuUsage();
    this.c0 = (cu.user + cu.system) / 1e6;
    this.scan(true);
    this.timer = setInterval(() => this.scan(false), 250);
    return this;
  }

  stop() {
    clearInterval(this.timer);
    this.scan(false);
    const m1 = machineTimes();
    const cu = process.cpuUsage();
    const out = { api: 0, worker: 0, postgres: 0, redis: 0, client: (cu.user + cu.system) / 1e6 - this.c0 };
    for (const p of this.procs.values()) out[p.component] += p.last - p.first;
    out.machineBusy = m1.busy - this.m0.busy;
    out.machineTotal = m1.total - this.m0.total;
    return out;
  }
}

// ---------------------------------------------------------------------------------------------
// The environment: database, queue prefix, processes — and their removal

const STARTED = Date.now();
const RUN_ID = randomBytes(4).toString('hex');
const SERVER_URL = process.env.DATABASE_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
const REDIS_URL = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const DB_NAME = `certflow_bench_${RUN_ID}`;
const DB_URL = withDatabase(SERVER_URL, DB_NAME);
const QUEUE_PREFIX = `certflow-bench-${RUN_ID}`;
const ADMIN_TOKEN = `cf_bench_${randomBytes(16).toString('hex')}`;
const LOG_FILE = path.join(os.tmpdir(), `certflow-bench-${RUN_ID}.log`);

const state = { dbCreated: false, children: {}, db: null, cleaning: null, log: null };

function spawnApp(app, env) {
  const child = spawn(process.execPath, [path.join(DIST, 'apps', app, 'main.js')], { env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.pipe(state.log, { end: false });
  child.stderr.pipe(state.log, { end: false });
  child.on('exit', (code, signal) => {
    child.exited = { code, signal };
    if (!state.cleaning) state.log.write(`# bench: ${app} exited (${signal ?? code})\n`);
  });
  state.children[app] = child;
  return child;
}

function assertAlive() {
  for (const [name, c] of Object.entries(state.children)) {
    if (c.exited) throw new Error(`${name} exited (${c.exited.signal ?? c.exited.code}); see ${LOG_FILE}:\n${logTail()}`);
  }
}

function logTail(lines = 15) {
  try {
    return fs.readFileSync(LOG_FILE, 'utf8').trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function stopChild(child) {
  if (!child || child.exited) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(t);
}

async function cleanup() {
  if (state.cleaning) return state.cleaning;
  state.cleaning = (async () => {
    const problems = [];
    await Promise.all(Object.values(state.children).map((c) => stopChild(c).catch((e) => problems.push(`stop: ${e.message}`))));
    if (state.db) await state.db.end().catch(() => undefined);
    if (state.dbCreated) {
      const admin = new Client({ connectionString: withDatabase(SERVER_URL, 'postgres') });
      try {
        await admin.connect();
        await admin.query(`DROP DATABASE IF EXISTS ${DB_NAME} WITH (FORCE)`);
      } catch (e) {
        problems.push(`drop database ${DB_NAME}: ${e.message}`);
      } finally {
        await admin.end().catch(() => undefined);
      }
    }
    const redis = new IORedis(REDIS_URL, { maxRetriesPerRequest: 1, lazyConnect: true });
    let deleted = 0;
    try {
      await redis.connect();
      let cursor = '0';
      do {
        const [next, keys] = await redis.scan(cursor, 'MATCH', `${QUEUE_PREFIX}:*`, 'COUNT', 1000);
        cursor = next;
        if (keys.length) deleted += await redis.unlink(...keys);
      } while (cursor !== '0');
    } catch (e) {
      problems.push(`delete redis keys ${QUEUE_PREFIX}:*: ${e.message}`);
    } finally {
      redis.disconnect();
    }
    if (state.log) await new Promise((r) => state.log.end(r));
    console.log(`\ncleanup: processes stopped, database ${DB_NAME} dropped, ${deleted} Redis keys ${QUEUE_PREFIX}:* deleted${problems.length ? '\ncleanup problems: ' + problems.join('; ') : ''}`);
  })();
  return state.cleaning;
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.once(sig, () => {
    console.error(`\n${sig}: cleaning up`);
    cleanup().finally(() => process.exit(130));
  });
}

// ---------------------------------------------------------------------------------------------
// HTTP client

const agent = new http.Agent({ keepAlive: true, maxSockets: OPTS.clientConcurrency });

function post(port, pathName, body) {
  const payload = JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: pathName,
        method: 'POST',
        agent,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) },
      },
      (res) => {
        const chunks = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

function get(port, pathName) {
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: pathName, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode));
    });
    req.on('error', () => resolve(0));
  });
}

/** POSTs `count` requests with `concurrency` in flight; returns per-request send time, id, and errors. */
async function submit(port, kt, count, tag) {
  const sent = [];
  const errors = [];
  let next = 0;
  const one = async () => {
    while (next < count) {
      const i = next++;
      const t0 = Date.now();
      try {
        const res = await post(port, '/certificates', kt.body(`c${i}.${tag}.${RUN_ID}.bench.example.com`));
        const t1 = Date.now();
        if (res.status === 202) sent.push({ id: JSON.parse(res.text).id, sentAt: t0, answeredAt: t1 });
        else errors.push(`${res.status} ${res.text.slice(0, 200)}`);
      } catch (e) {
        errors.push(e.message);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(count, OPTS.clientConcurrency) }, one));
  return { sent, errors };
}

/** Waits until `expected` more certificates are Issued (or have failed) than at `baseline`. */
async function waitDone(baseline, expected, deadline) {
  let last = { issued: 0, failed: 0 };
  for (;;) {
    assertAlive();
    const { rows } = await state.db.query(
      `SELECT (SELECT count(*) FROM certificate_view WHERE state = 'Issued')::int AS issued,
              (SELECT count(*) FROM certificate_view WHERE state IN ('Failed', 'Rejected'))::int AS failed`,
    );
    last = { issued: rows[0].issued - baseline.issued, failed: rows[0].failed - baseline.failed };
    if (last.issued + last.failed >= expected) return { ...last, timedOut: false };
    if (Date.now() > deadline) return { ...last, timedOut: true };
    await sleep(250);
  }
}

async function counts() {
  const { rows } = await state.db.query(
    `SELECT (SELECT count(*) FROM certificate_view WHERE state = 'Issued')::int AS issued,
            (SELECT count(*) FROM certificate_view WHERE state IN ('Failed', 'Rejected'))::int AS failed`,
  );
  return rows[0];
}

// ---------------------------------------------------------------------------------------------
// The two measurements

async function runSystem(port, kt) {
  // Warm-up: JIT, pools and connections of api and worker; not measured.
  if (kt.warmup > 0) {
    const base = await counts();
    const w = await submit(port, kt, kt.warmup, `w${kt.id}`);
    await waitDone(base, w.sent.length, Date.now() + OPTS.timeoutS * 1000);
  }
  const baseline = await counts();
  const meter = new CpuMeter({ api: state.children.api.pid, worker: state.children.worker.pid }).start();
  const firstSent = Date.now();
  const { sent, errors } = await submit(port, kt, kt.n, kt.id);
  const lastAnswered = Date.now();
  const done = await waitDone(baseline, sent.length, firstSent + OPTS.timeoutS * 1000);
  const cpu = meter.stop();
  const detectedAt = Date.now();

  const { rows } = await state.db.query(
    `SELECT stream_id, type, (extract(epoch FROM (metadata->>'at')::timestamptz) * 1000)::float8 AS at
       FROM events
      WHERE stream_id = ANY($1::text[])
        AND type IN ('CertificateRequested', 'CertificateRequestGenerated', 'CertificateIssued')`,
    [sent.map((s) => `certificate-${s.id}`)],
  );
  const byId = new Map(sent.map((s) => [s.id, { ...s }]));
  for (const r of rows) {
    const c = byId.get(r.stream_id.slice('certificate-'.length));
    if (r.type === 'CertificateRequested') c.requestedAt = r.at;
    else if (r.type === 'CertificateRequestGenerated') c.generatedAt = r.at;
    else c.issuedAt = r.at;
  }
  const issued = [...byId.values()].filter((c) => c.issuedAt !== undefined);
  const lastIssued = issued.reduce((m, c) => Math.max(m, c.issuedAt), firstSent);
  const wall = (lastIssued - firstSent) / 1000;
  return {
    n: kt.n,
    submitted: sent.length,
    issued: issued.length,
    failed: done.failed,
    timedOut: done.timedOut,
    errors,
    wall,
    rate: issued.length / wall,
    latency: stats(issued.map((c) => c.issuedAt - c.sentAt)),
    serverLatency: stats(issued.map((c) => c.issuedAt - c.requestedAt)),
    postLatency: stats(sent.map((c) => c.answeredAt - c.sentAt)),
    postRate: sent.length / ((lastAnswered - firstSent) / 1000),
    toGenerated: stats(issued.map((c) => c.generatedAt - c.requestedAt)),
    toIssued: stats(issued.map((c) => c.issuedAt - c.generatedAt)),
    cpu,
    cpuWall: (detectedAt - firstSent) / 1000,
  };
}

async function bareOne(spec, i) {
  const keys = await crypto.generateKeyPair(spec);
  const domainNames = [`b${i}.bare.bench.example.com`];
  await crypto.createCsr({ subject: null, domainNames, key: spec, keys });
  const serial = randomBytes(16);
  serial[0] &= 0x7f;
  serial[0] |= 0x01;
  const notBefore = new Date(Math.floor(Date.now() / 1000) * 1000);
  await crypto.createSelfSigned({
    subject: null,
    domainNames,
    key: spec,
    keys,
    serialNumber: serial.toString('hex'),
    notBefore,
    notAfter: new Date(notBefore.getTime() + 365 * 86_400_000),
  });
}

async function bareLoop(spec, n, concurrency) {
  let next = 0;
  const meter = new CpuMeter({}).start();
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) await bareOne(spec, next++);
    }),
  );
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const cu = process.cpuUsage(cpu0);
  const m = meter.stop();
  const cpu = (cu.user + cu.system) / 1e6;
  return { n, wall, rate: n / wall, cpu, other: m.machineBusy - cpu - m.postgres - m.redis };
}

// ---------------------------------------------------------------------------------------------

function printSystem(kt, s) {
  const cores = os.cpus().length;
  const c = s.cpu;
  const share = (x) => `${fmt(x, 1)} s (${fmt((100 * x) / s.cpuWall, 0)}% of a core)`;
  console.log(`  system: ${s.issued}/${s.n} issued in ${fmt(s.wall, 2)} s → ${fmt(s.rate, 1)} certificates/s` +
    (s.timedOut ? `  [TIMED OUT after ${OPTS.timeoutS} s]` : '') +
    (s.failed ? `  [${s.failed} failed]` : '') +
    (s.errors.length ? `  [${s.errors.length} POST errors, first: ${s.errors[0]}]` : ''));
  console.log(`    latency POST sent → Issued: p50 ${fmt(s.latency.p50, 0)} ms, p99 ${fmt(s.latency.p99, 0)} ms, max ${fmt(s.latency.max, 0)} ms` +
    ` (Requested.at → Issued.at: p50 ${fmt(s.serverLatency.p50, 0)} ms, p99 ${fmt(s.serverLatency.p99, 0)} ms)`);
  console.log(`    stages p50/p99: Requested → RequestGenerated ${fmt(s.toGenerated.p50, 0)}/${fmt(s.toGenerated.p99, 0)} ms,` +
    ` RequestGenerated → Issued ${fmt(s.toIssued.p50, 0)}/${fmt(s.toIssued.p99, 0)} ms`);
  console.log(`    POST /certificates: ${fmt(s.postRate, 0)} accepted/s while submitting, answer p50 ${fmt(s.postLatency.p50, 0)} ms, p99 ${fmt(s.postLatency.p99, 0)} ms`);
  const other = c.machineBusy - c.api - c.worker - c.postgres - c.redis - c.client;
  console.log(`    CPU over ${fmt(s.cpuWall, 1)} s: api ${share(c.api)}, worker ${share(c.worker)}, postgres ${share(c.postgres)},` +
    ` redis ${share(c.redis)}, bench client ${share(c.client)}, anything else ${share(Math.max(0, other))};` +
    ` machine busy ${fmt((100 * c.machineBusy) / Math.max(c.machineTotal, 1e-9), 0)}% of ${cores} cores`);
  const per = (x) => fmt((1000 * x) / Math.max(s.issued, 1), 1);
  console.log(`    CPU per certificate: api ${per(c.api)} ms, worker ${per(c.worker)} ms, postgres ${per(c.postgres)} ms, redis ${per(c.redis)} ms,` +
    ` client ${per(c.client)} ms; total ${per(c.api + c.worker + c.postgres + c.redis + c.client)} ms` +
    ` → at most ~${fmt((cores * s.issued) / Math.max(c.api + c.worker + c.postgres + c.redis + c.client, 1e-9), 0)} certificates/s on ${cores} cores at this cost`);
  if (other > 0.1 * s.cpuWall) console.log(`    warning: other processes used ${fmt((100 * other) / s.cpuWall, 0)}% of a core during this run: the machine was shared`);
}

async function main() {
  const cores = os.cpus().length;
  state.log = fs.createWriteStream(LOG_FILE);
  console.log('certflow issue-throughput benchmark');
  console.log(`  machine: ${cores} cores (${os.cpus()[0]?.model ?? '?'}), node ${process.version}, UV_THREADPOOL_SIZE ${process.env.UV_THREADPOOL_SIZE ?? '4 (default)'}`);
  console.log(`  database ${DB_NAME} on ${new URL(SERVER_URL).host}, redis ${new URL(REDIS_URL).host}, queue prefix ${QUEUE_PREFIX}`);
  console.log(`  client concurrency ${OPTS.clientConcurrency}, worker concurrency ${OPTS.workerConcurrency} (per queue), bare-loop tasks ${OPTS.bareConcurrency}, timeout ${OPTS.timeoutS} s per run`);
  console.log(`  api/worker log (LOG_LEVEL=warn): ${LOG_FILE}`);

  const admin = new Client({ connectionString: withDatabase(SERVER_URL, 'postgres') });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${DB_NAME}`);
    state.dbCreated = true;
  } finally {
    await admin.end();
  }

  const port = await freePort();
  const env = {
    ...process.env,
    DATABASE_URL: DB_URL,
    REDIS_URL,
    PORT: String(port),
    HOST: '127.0.0.1',
    CERTFLOW_ADMIN_TOKEN: ADMIN_TOKEN,
    CERTFLOW_MASTER_KEY: randomBytes(32).toString('hex'),
    CERTFLOW_QUEUE_PREFIX: QUEUE_PREFIX,
    CERTFLOW_WORKER_CONCURRENCY: String(OPTS.workerConcurrency),
    LOG_LEVEL: 'warn',
  };
  spawnApp('api', env);
  const until = Date.now() + 30_000;
  while ((await get(port, '/health')) !== 200) {
    assertAlive();
    if (Date.now() > until) throw new Error(`api not healthy after 30 s:\n${logTail()}`);
    await sleep(100);
  }
  spawnApp('worker', env);
  state.db = new Client({ connectionString: DB_URL });
  await state.db.connect();

  const results = [];
  for (const kt of KEY_TYPES) {
    console.log(`\n${kt.label}: ${kt.n} certificates`);
    // Bare loop first, while api and worker are idle.
    if (kt.warmup > 0) await bareLoop(kt.spec, Math.min(kt.warmup, kt.n), OPTS.bareConcurrency);
    const bare = await bareLoop(kt.spec, kt.n, OPTS.bareConcurrency);
    console.log(`  bare loop: ${kt.n} in ${fmt(bare.wall, 2)} s → ${fmt(bare.rate, 1)} certificates/s (${OPTS.bareConcurrency} tasks, ${fmt(bare.cpu / bare.wall, 2)} cores busy, ${fmt((1000 * bare.cpu) / kt.n, 1)} ms CPU per certificate)`);
    if (bare.other > 0.1 * bare.wall) console.log(`    warning: other processes used ${fmt((100 * bare.other) / bare.wall, 0)}% of a core during the bare loop: the machine was shared`);
    const system = await runSystem(port, kt);
    printSystem(kt, system);
    if (system.timedOut && kt !== KEY_TYPES[KEY_TYPES.length - 1]) {
      console.log('    warning: certificates of this run were still in flight; they load the worker during the next run');
    }
    results.push({ kt, bare, system });
  }

  console.log('\nSummary');
  const rows = [['key type', 'N', 'system cert/s', 'p50 ms', 'p99 ms', 'bare cert/s', 'system/bare', 'target', 'met']];
  for (const r of results) {
    rows.push([
      r.kt.label,
      String(r.kt.n),
      fmt(r.system.rate, 1) + (r.system.timedOut ? '*' : ''),
      fmt(r.system.latency.p50, 0),
      fmt(r.system.latency.p99, 0),
      fmt(r.bare.rate, 1),
      fmt(r.system.rate / r.bare.rate, 2),
      r.kt.target.text,
      r.kt.target.met(r) ? 'yes' : 'NO',
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((row) => row[i].length)));
  for (const [i, row] of rows.entries()) {
    console.log('  ' + row.map((cell, j) => (j === 0 || j === 7 ? cell.padEnd(widths[j]) : cell.padStart(widths[j]))).join('  '));
    if (i === 0) console.log('  ' + widths.map((w) => '-'.repeat(w)).join('  '));
  }
  if (results.some((r) => r.system.timedOut)) console.log('  * timed out: rate over the certificates issued before the timeout');
  if (results.some((r) => r.system.postRate > 1.5 * r.system.rate)) {
    console.log('  Latencies are measured at saturation: requests were accepted faster than certificates were issued, so they are');
    console.log('  mostly time spent waiting in the queue (≈ position in the backlog / issue rate), not the time to issue one.');
  }
  console.log('\nTargets (from the issue): RSA-2048 ≥ 0.8 × bare loop; ECDSA P-256 ≥ 500 certificates/s on 2 cores.');
  if (cores !== 2) console.log(`  note: this machine has ${cores} cores, not 2.`);
  for (const r of results) console.log(`  ${r.kt.label}: ${r.kt.target.text} — ${r.kt.target.met(r) ? 'met' : 'not met'}`);
  console.log(`\nbenchmark took ${fmt((Date.now() - STARTED) / 1000, 0)} s`);
}

main()
  .then(
    () => 0,
    (e) => {
      if (!state.cleaning) console.error(`\nbenchmark failed: ${e.stack ?? e.message}`); // else interrupted
      return 1;
    },
  )
  .then(async (code) => {
    await cleanup();
    agent.destroy();
    process.exit(code);
  });
