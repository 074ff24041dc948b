import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

/**
 * The TLS material Pebble serves its API with. The Debian package does not ship the cert its
 * example config names, so: a throwaway CA and a localhost / 127.0.0.1 certificate from it.
 * certflow trusts the CA through NODE_EXTRA_CA_CERTS, as it would trust a private ACME CA.
 */
export class PebbleTls {
  readonly dir = mkdtempSync(join(tmpdir(), 'certflow-pebble-'));
  readonly caFile = join(this.dir, 'tls-ca.pem');
  readonly certFile = join(this.dir, 'tls-cert.pem');
  readonly keyFile = join(this.dir, 'tls-key.pem');

  constructor() {
    const openssl = (args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const p = (f: string) => join(this.dir, f);
    openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', p('tls-ca.key'), '-out', this.caFile,
      '-days', '7', '-subj', '/CN=certflow test Pebble TLS CA', '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign']);
    openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', this.keyFile, '-out', p('tls.csr'), '-subj', '/CN=localhost']);
    writeFileSync(p('tls.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    openssl(['x509', '-req', '-in', p('tls.csr'), '-CA', this.caFile, '-CAkey', p('tls-ca.key'), '-set_serial', '1', '-days', '7', '-extfile', p('tls.ext'), '-out', this.certFile]);
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

export interface PebbleOptions {
  tls: PebbleTls;
  /** Where Pebble's VA connects for HTTP-01: the port certflow's API listens on. */
  httpPort: number;
  /** PEBBLE_VA_ALWAYS_VALID=1: every challenge passes without being checked. */
  alwaysValid: boolean;
  listenPort?: number;
  managementPort?: number;
}

/** Pebble (Let's Encrypt's test ACME server, Debian package `pebble`) on loopback. */
export class Pebble {
  readonly logs: string[] = [];

  private constructor(
    private readonly child: ChildProcess,
    private readonly tls: PebbleTls,
    readonly listenPort: number,
    readonly managementPort: number,
  ) {}

  get directoryUrl(): string {
    return `https://127.0.0.1:${this.listenPort}/dir`;
  }

  /** Reserves the ports first, so certflow can be configured before Pebble starts. */
  static async ports(): Promise<{ listenPort: number; managementPort: number }> {
    return { listenPort: await freePort(), managementPort: await freePort() };
  }

  static async start(options: PebbleOptions): Promise<Pebble> {
    const listenPort = options.listenPort ?? (await freePort());
    const managementPort = options.managementPort ?? (await freePort());
    const config = join(options.tls.dir, `pebble-${listenPort}.json`);
    writeFileSync(config, JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${listenPort}`,
        managementListenAddress: `127.0.0.1:${managementPort}`,
        certificate: options.tls.certFile,
        privateKey: options.tls.keyFile,
        httpPort: options.httpPort,
        tlsPort: await freePort(), // tls-alpn-01 is not used
        ocspResponderURL: '',
        externalAccountBindingRequired: false,
      },
    }));
    const child = spawn('pebble', ['-config', config], {
      env: {
        ...process.env,
        PEBBLE_VA_NOSLEEP: '1',
        PEBBLE_WFE_NONCEREJECT: '0',
        ...(options.alwaysValid ? { PEBBLE_VA_ALWAYS_VALID: '1' } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const pebble = new Pebble(child, options.tls, listenPort, managementPort);
    const collect = (chunk: Buffer) => pebble.logs.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    const until = Date.now() + 30_000;
    while ((await pebble.get(pebble.directoryUrl).then((r) => r.status, () => 0)) !== 200) {
      if (child.exitCode !== null || Date.now() > until) {
        child.kill('SIGKILL');
        throw new Error(`pebble did not start:\n${pebble.logs.slice(-20).join('\n')}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    return pebble;
  }

  /** The issuing root, regenerated on every start (PEM). */
  async rootPem(): Promise<string> {
    const { status, body } = await this.get(`https://127.0.0.1:${this.managementPort}/roots/0`);
    if (status !== 200) throw new Error(`pebble /roots/0 answered ${status}`);
    return body;
  }

  /** GET over TLS trusting only Pebble's TLS CA (the test process has no NODE_EXTRA_CA_CERTS). */
  get(url: string): Promise<{ status: number; body: string }> {
    return new Promise((resolve, reject) => {
      const req = request(url, { ca: readFileSync(this.tls.caFile), timeout: 5_000 }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      req.end();
    });
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((r) => this.child.once('exit', r));
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(t);
  }
}
