import { execFileSync } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeploymentMaterial } from '../../application/src';
import { FileTarget } from '../../config/src';
import { TestServers, fileThumbprint, startTestServers } from '../../../test/support/servers';
import { FileDeployer } from './file/file.deployer';
import { redactKeyMaterial } from './redact';
import { probeServedCertificate } from './verify/tls-probe';
import { WebhookDeployer } from './webhook/webhook.deployer';

/** File and webhook deployers against a real file system and HTTP receiver; the STARTTLS probe against real servers. */
function material(dir: string, cn: string): DeploymentMaterial {
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', join(dir, `${cn}.key`), '-out', join(dir, `${cn}.crt`), '-subj', `/CN=${cn}`, '-days', '2'], { stdio: 'ignore' });
  const certificatePem = readFileSync(join(dir, `${cn}.crt`), 'utf8');
  return {
    service: 'SMTP',
    certificateId: '11111111-1111-4111-8111-111111111111',
    thumbprint: fileThumbprint(certificatePem),
    notAfter: new Date(Date.now() + 86_400_000).toISOString(),
    certificatePem,
    chainPem: [certificatePem], // any PEM will do as a stand-in intermediate
    privateKeyPem: readFileSync(join(dir, `${cn}.key`), 'utf8'),
  };
}

const target = (dir: string, reload: string | null, reloadTimeoutMs = 5_000): FileTarget => ({
  deployer: 'file',
  certFile: join(dir, 'out', 'smtp.crt'),
  keyFile: join(dir, 'out', 'smtp.key'),
  chainFile: join(dir, 'out', 'smtp.chain.pem'),
  fullchainFile: join(dir, 'out', 'smtp.fullchain.pem'),
  reload,
  reloadTimeoutMs,
});

describe('the file deployer', () => {
  const dir = mkdtempSync(join(tmpdir(), 'certflow-file-deployer-'));
  const first = material(dir, 'first.contoso.test');
  const second = material(dir, 'second.contoso.test');

  it('writes certificate, key (0600), chain and full chain, leaving no temporary files, then reloads', async () => {
    const result = await new FileDeployer(target(dir, `echo reloaded > ${join(dir, 'reloaded')}`)).deploy(first);
    expect(result.outcome).toBe('deployed');
    const t = target(dir, null);
    expect(readFileSync(t.certFile, 'utf8')).toBe(first.certificatePem.trim() + '\n');
    expect(statSync(t.keyFile).mode & 0o777).toBe(0o600);
    expect(statSync(t.certFile).mode & 0o777).toBe(0o644);
    expect(readFileSync(t.fullchainFile!, 'utf8')).toBe(first.certificatePem.trim() + '\n' + first.certificatePem.trim() + '\n');
    expect(readdirSync(join(dir, 'out')).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    expect(readFileSync(join(dir, 'reloaded'), 'utf8')).toBe('reloaded\n');
  });

  it('restores the previous files when the reload fails, and redacts the key from its output', async () => {
    const t = target(dir, null);
    const failing = `cat ${t.keyFile} >&2; echo "postfix/postfix-script: fatal: bad certificate" >&2; exit 1`;
    const result = await new FileDeployer(target(dir, failing)).deploy(second);
    expect(result).toMatchObject({ outcome: 'failed', code: 'ReloadFailed', reason: expect.stringContaining('restored') });
    if (result.outcome !== 'failed') throw new Error('unreachable');
    expect(result.stderr).toContain('fatal: bad certificate');
    expect(result.stderr).not.toContain('PRIVATE KEY');
    for (const line of second.privateKeyPem.split('\n').filter((l) => l.length > 20)) expect(result.stderr).not.toContain(line);
    expect(readFileSync(t.certFile, 'utf8')).toBe(first.certificatePem.trim() + '\n');
    expect(readFileSync(t.keyFile, 'utf8')).toBe(first.privateKeyPem.trim() + '\n');
    expect(statSync(t.keyFile).mode & 0o777).toBe(0o600);
  });

  it('gives up on a reload that hangs, and restores', async () => {
    const result = await new FileDeployer(target(dir, 'sleep 30', 300)).deploy(second);
    expect(result).toMatchObject({ outcome: 'failed', code: 'ReloadTimedOut' });
    expect(readFileSync(target(dir, null).certFile, 'utf8')).toBe(first.certificatePem.trim() + '\n');
  });

  it('removes files that did not exist before a failed deployment', async () => {
    const fresh = mkdtempSync(join(tmpdir(), 'certflow-file-deployer-'));
    const result = await new FileDeployer(target(fresh, 'exit 2')).deploy(first);
    expect(result.outcome).toBe('failed');
    expect(readdirSync(join(fresh, 'out'))).toEqual([]);
  });
});

describe('redaction', () => {
  it('removes private key blocks and long base64 runs, and caps the length', () => {
    const armour = ['PRIVATE', 'KEY'].join(' '); // assembled: no key-like literal in the repository
    const text = `x\n-----BEGIN ${armour}-----\nMIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg\n-----END ${armour}-----\nerror: bad`;
    expect(redactKeyMaterial(text)).toBe('x\n[REDACTED PRIVATE KEY]\nerror: bad');
    expect(redactKeyMaterial('error '.repeat(2_000), [], 100)).toMatch(/more characters\)$/);
  });
});

describe('the webhook deployer', () => {
  it('POSTs the certificate signed with HMAC-SHA256, without the key, retrying a 503', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certflow-webhook-'));
    const m = material(dir, 'hook.contoso.test');
    const seen: { body: string; signature: string }[] = [];
    const server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        seen.push({ body, signature: String(req.headers['x-certflow-signature']) });
        res.statusCode = seen.length === 1 ? 503 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/hook`;
    try {
      const secret = 'a-test-secret-of-some-length';
      const result = await new WebhookDeployer({ deployer: 'webhook', url, secret, includeKey: false, retries: 2, timeoutMs: 2_000 }, 10).deploy(m);
      expect(result.outcome).toBe('deployed');
      expect(seen).toHaveLength(2);
      const last = seen[1];
      expect(last.signature).toBe(`sha256=${createHmac('sha256', secret).update(last.body).digest('hex')}`);
      expect(JSON.parse(last.body)).toMatchObject({ service: 'SMTP', thumbprint: m.thumbprint, certificatePem: m.certificatePem });
      expect(last.body).not.toContain('PRIVATE KEY');
      const withKey = new WebhookDeployer({ deployer: 'webhook', url, secret, includeKey: true, retries: 0, timeoutMs: 2_000 }, 10);
      expect(withKey.body(m, 'd')).toContain('PRIVATE KEY');
    } finally {
      server.close();
    }
  });

  it('reports a refusing receiver (4xx) without retrying', async () => {
    let calls = 0;
    const server = createServer((_req, res) => {
      calls++;
      res.statusCode = 401;
      res.end('bad signature');
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
    try {
      const dir = mkdtempSync(join(tmpdir(), 'certflow-webhook-'));
      const result = await new WebhookDeployer({ deployer: 'webhook', url, secret: 'a-test-secret-of-some-length', includeKey: false, retries: 3, timeoutMs: 2_000 }, 10).deploy(material(dir, 'x.contoso.test'));
      expect(result).toMatchObject({ outcome: 'failed', code: 'WebhookFailed', reason: expect.stringContaining('HTTP 401') });
      expect(calls).toBe(1);
    } finally {
      server.close();
    }
  });
});

describe('the served-certificate probe against real servers', () => {
  let servers: TestServers;
  beforeAll(async () => {
    servers = await startTestServers('probe');
  });
  afterAll(() => servers?.stop());

  it.each([
    ['postfix, SMTP STARTTLS', 'SMTP', 'smtp', 'smtp'],
    ['dovecot, IMAP STARTTLS', 'IMAP', 'imap', 'imap'],
    ['dovecot, IMAPS', 'IMAP', 'imaps', 'none'],
    ['dovecot, POP3 STLS', 'POP', 'pop3', 'pop3'],
    ['dovecot, POP3S', 'POP', 'pop3s', 'none'],
    ['nginx, HTTPS', 'IIS', 'https', 'none'],
  ] as const)('reads the leaf thumbprint from %s', async (_name, service, port, starttls) => {
    const leaf = await probeServedCertificate({ host: '127.0.0.1', port: servers.ports[port], starttls, serverName: 'mail.contoso.test' });
    expect(leaf.thumbprint).toBe(fileThumbprint(servers.files[service].certFile));
  });

  it('fails clearly when the protocol is wrong or nothing listens', async () => {
    await expect(probeServedCertificate({ host: '127.0.0.1', port: servers.ports.imap, starttls: 'smtp', serverName: null })).rejects.toThrow(/SMTP greeting/);
    await expect(probeServedCertificate({ host: '127.0.0.1', port: 1, starttls: 'none', serverName: null }, 2_000)).rejects.toThrow(/cannot connect/);
  });
});

