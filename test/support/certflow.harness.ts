import { ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { TestDatabase, createTestDatabase, testQueuePrefix, testRedisUrl } from '../../libs/testing/src';

const ROOT = join(__dirname, '..', '..');

export interface HttpResult<T = any> {
  status: number;
  body: T;
  text: string;
  headers: Headers;
}

const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

/**
 * Runs the built api and worker (dist/) as real processes against a fresh database and a
 * private queue prefix, and collects everything they print.
 */
export class CertflowHarness {
  readonly logs: string[] = [];
  api: ChildProcess | null = null;
  worker: ChildProcess | null = null;

  private constructor(
    readonly db: TestDatabase,
    readonly env: NodeJS.ProcessEnv,
    readonly baseUrl: string,
    readonly adminToken: string,
    readonly masterKey: Buffer,
    readonly queuePrefix: string,
  ) {}

  static async start(label: string, extraEnv: Record<string, string> = {}): Promise<CertflowHarness> {
    const db = await createTestDatabase(label);
    const port = await freePort();
    const adminToken = `cf_test_${randomBytes(16).toString('hex')}`;
    const masterKey = randomBytes(32);
    const queuePrefix = testQueuePrefix(label);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: db.url,
      REDIS_URL: testRedisUrl(),
      PORT: String(port),
      HOST: '127.0.0.1',
      CERTFLOW_ADMIN_TOKEN: adminToken,
      CERTFLOW_MASTER_KEY: masterKey.toString('hex'),
      CERTFLOW_QUEUE_PREFIX: queuePrefix,
      CERTFLOW_RECONCILE_INTERVAL_MS: '2000',
      CERTFLOW_JOB_LOCK_MS: '4000',
      CERTFLOW_DISPATCHER_POLL_MS: '200',
      LOG_LEVEL: 'debug',
      ...extraEnv,
    };
    const h = new CertflowHarness(db, env, `http://127.0.0.1:${port}`, adminToken, masterKey, queuePrefix);
    h.api = h.spawn('api');
    await h.waitFor(async () => (await fetch(`${h.baseUrl}/health`).then((r) => r.status, () => 0)) === 200, 30_000, 'api health');
    h.startWorker();
    return h;
  }

  private spawn(app: 'api' | 'worker'): ChildProcess {
    const child = spawn(process.execPath, [join(ROOT, 'dist', 'apps', app, 'main.js')], { env: this.env, cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const collect = (chunk: Buffer) => this.logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    return child;
  }

  /** Stops the api gracefully and starts it again with the same environment (a restart or a deployment). */
  async restartApi(): Promise<void> {
    const api = this.api;
    if (api && api.exitCode === null && api.signalCode === null) {
      const exited = new Promise((r) => api.once('exit', r));
      api.kill('SIGTERM');
      await exited;
    }
    this.api = this.spawn('api');
    await this.waitFor(async () => (await fetch(`${this.baseUrl}/health`).then((r) => r.status, () => 0)) === 200, 30_000, 'api health after restart');
  }

  startWorker(): void {
    this.worker = this.spawn('worker');
  }

  /** Ends the worker at once, as a crash or `kill -9` would: no draining. */
  async killWorker(): Promise<void> {
    const w = this.worker;
    if (!w || w.exitCode !== null) return;
    const exited = new Promise((r) => w.once('exit', r));
    w.kill('SIGKILL');
    await exited;
  }

  async request<T = any>(method: string, path: string, body?: unknown, token: string | null = this.adminToken, headers: Record<string, string> = {}): Promise<HttpResult<T>> {
    const res = await fetch(`${this.baseUrl}${path}`, {
      method,
      headers: {
        ...(token ? { authorization: `Bearer ${token}` } : {}),
        ...(body !== undefined && typeof body !== 'string' ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // not JSON (PEM, CSR)
    }
    return { status: res.status, body: parsed as T, text, headers: res.headers };
  }

  async waitFor(fn: () => Promise<boolean>, ms: number, what: string): Promise<void> {
    const until = Date.now() + ms;
    while (!(await fn().catch(() => false))) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}\n${this.logs.slice(-30).join('\n')}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async waitForState(id: string, state: string, ms = 60_000): Promise<any> {
    let last: any;
    await this.waitFor(async () => {
      last = (await this.request('GET', `/certificates/${id}`)).body;
      return last?.state === state;
    }, ms, `certificate ${id} to reach ${state} (last: ${last?.state})`);
    return last;
  }

  async stop(): Promise<void> {
    const stops = [this.api, this.worker]
      .filter((c): c is ChildProcess => !!c && c.exitCode === null && c.signalCode === null)
      .map((c) => new Promise<void>((resolve) => {
        const t = setTimeout(() => c.kill('SIGKILL'), 10_000);
        c.once('exit', () => {
          clearTimeout(t);
          resolve();
        });
        c.kill('SIGTERM');
      }));
    await Promise.all(stops);
    await this.db.drop();
  }
}
