import { execFileSync } from 'node:child_process';
import { chmodSync, closeSync, cpSync, openSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * Real nginx, postfix and dovecot (Debian packages nginx-light, postfix, dovecot-imapd,
 * dovecot-pop3d) on loopback, non-default ports, each in a private temporary directory, as
 * fixtures for the enablement tests. They run as root (see shared/TOOLCHAIN.md for the recipes).
 * Each service reads its certificate from files certflow's file deployer writes:
 *
 *   IIS  (nginx HTTPS)          tls/iis.fullchain.pem + tls/iis.key
 *   SMTP (postfix STARTTLS)     tls/smtp.key + tls/smtp.fullchain.pem (smtpd_tls_chain_files)
 *   IMAP (dovecot, imap + imaps) tls/imap.crt + tls/imap.key
 *   POP  (dovecot, pop3 + pop3s) tls/pop.crt + tls/pop.key
 */

export interface ServiceFiles {
  certFile: string;
  keyFile: string;
  chainFile: string;
  fullchainFile: string;
}

export interface TestServers {
  readonly dir: string;
  readonly ports: { https: number; smtp: number; imap: number; imaps: number; pop3: number; pop3s: number };
  readonly files: Record<'IIS' | 'SMTP' | 'IMAP' | 'POP', ServiceFiles>;
  readonly reload: Record<'nginx' | 'postfix' | 'dovecot', string>;
  stop(): Promise<void>;
}

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });

/** Whether the three servers are installed (the tests say so clearly when they are not). */
export function serversInstalled(): string[] {
  const missing: string[] = [];
  for (const [cmd, pkg] of [['nginx', 'nginx-light'], ['postfix', 'postfix'], ['dovecot', 'dovecot-imapd dovecot-pop3d']]) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd} || test -x /usr/sbin/${cmd}`], { stdio: 'ignore' });
    } catch {
      missing.push(pkg);
    }
  }
  return missing;
}

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 30_000 });
/** Starts a daemon whose children keep stdout/stderr open: they go to a log file, not to our pipes. */
function daemon(cmd: string, args: string[], log: string): void {
  const fd = openSync(log, 'a');
  try {
    execFileSync(cmd, args, { stdio: ['ignore', fd, fd], timeout: 30_000 });
  } catch (e) {
    throw new Error(`${cmd} ${args.join(' ')} failed: ${readFileSync(log, 'utf8').slice(-2000)} (${(e as Error).message})`);
  } finally {
    closeSync(fd);
  }
}
/** postfix prints its errors only to a terminal: give it one. */
const postfixCmd = (dir: string, action: string) => run('script', ['-qec', `/usr/sbin/postfix -c ${dir} ${action}`, '/dev/null']);

/** A throwaway self-signed certificate, so that each server can start before certflow deploys. */
function bootstrapCertificate(dir: string, files: ServiceFiles): void {
  run('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', files.keyFile, '-out', files.certFile, '-subj', '/CN=bootstrap.invalid', '-days', '2']);
  chmodSync(files.keyFile, 0o600);
  writeFileSync(files.chainFile, '');
  writeFileSync(files.fullchainFile, readFileSync(files.certFile));
  void dir;
}

export async function startTestServers(label = 'servers'): Promise<TestServers> {
  const missing = serversInstalled();
  if (missing.length) throw new Error(`the enablement tests need real servers: apt-get install -y ${missing.join(' ')} (see .ci/run)`);
  const dir = mkdtempSync(join(tmpdir(), `certflow-${label}-`));
  chmodSync(dir, 0o755); // postfix and dovecot drop privileges and must be able to reach their files
  const tls = join(dir, 'tls');
  mkdirSync(tls, { mode: 0o755 });
  const filesOf = (name: string): ServiceFiles => ({
    certFile: join(tls, `${name}.crt`),
    keyFile: join(tls, `${name}.key`),
    chainFile: join(tls, `${name}.chain.pem`),
    fullchainFile: join(tls, `${name}.fullchain.pem`),
  });
  const files = { IIS: filesOf('iis'), SMTP: filesOf('smtp'), IMAP: filesOf('imap'), POP: filesOf('pop') };
  for (const f of Object.values(files)) bootstrapCertificate(dir, f);
  const ports = { https: await freePort(), smtp: await freePort(), imap: await freePort(), imaps: await freePort(), pop3: await freePort(), pop3s: await freePort() };
  const stops: (() => void)[] = [];
  const stopAll = async () => {
    for (const stop of stops.reverse()) {
      try {
        stop();
      } catch (e) {
        if (process.env.CERTFLOW_DEBUG_SERVERS) process.stderr.write(`stopping a test server: ${(e as Error).message}\n`);
      }
    }
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    // nginx -----------------------------------------------------------------------------------
    const ng = join(dir, 'nginx');
    mkdirSync(join(ng, 'logs'), { recursive: true });
    const ngConf = join(ng, 'nginx.conf');
    writeFileSync(
      ngConf,
      `daemon on;
pid ${ng}/nginx.pid;
error_log ${ng}/logs/error.log;
worker_processes 1;
events { worker_connections 64; }
http {
  access_log off;
  client_body_temp_path ${ng}/tmp;
  proxy_temp_path ${ng}/tmp;
  fastcgi_temp_path ${ng}/tmp;
  uwsgi_temp_path ${ng}/tmp;
  scgi_temp_path ${ng}/tmp;
  server {
    listen 127.0.0.1:${ports.https} ssl;
    server_name www.contoso.test;
    ssl_certificate ${files.IIS.fullchainFile};
    ssl_certificate_key ${files.IIS.keyFile};
    location / { return 200 "certflow test\\n"; }
  }
}
`,
    );
    const nginxReload = `nginx -c ${ngConf} -p ${ng}/ -s reload`;
    daemon('nginx', ['-c', ngConf, '-p', `${ng}/`], join(dir, 'nginx-start.log'));
    stops.push(() => run('nginx', ['-c', ngConf, '-p', `${ng}/`, '-s', 'stop']));

    // postfix ---------------------------------------------------------------------------------
    const pf = join(dir, 'postfix');
    cpSync('/etc/postfix', pf, { recursive: true, dereference: false });
    for (const d of ['queue', 'data']) mkdirSync(join(dir, `postfix-${d}`), { mode: 0o755 });
    run('chown', ['postfix', join(dir, 'postfix-data')]);
    // Only smtpd on a loopback port; every service unchrooted (the chroot would need a copy of /etc).
    const master = readFileSync(join(pf, 'master.cf'), 'utf8')
      .split('\n')
      .map((l) => {
        if (/^smtp\s+inet\s/.test(l)) return `127.0.0.1:${ports.smtp} inet n - n - - smtpd`;
        const f = l.split(/\s+/);
        if (/^[a-z0-9]/.test(l) && f.length >= 8 && f[4] === 'y') f[4] = 'n';
        return /^[a-z0-9]/.test(l) && f.length >= 8 ? f.join(' ') : l;
      })
      .join('\n');
    writeFileSync(join(pf, 'master.cf'), master);
    writeFileSync(
      join(pf, 'main.cf'),
      `compatibility_level = 3.6
queue_directory = ${dir}/postfix-queue
data_directory = ${dir}/postfix-data
inet_interfaces = loopback-only
inet_protocols = ipv4
mydestination =
myhostname = mail.contoso.test
smtpd_peername_lookup = no
smtputf8_enable = no
smtpd_tls_security_level = may
smtpd_tls_chain_files = ${files.SMTP.keyFile}, ${files.SMTP.fullchainFile}
`,
    );
    daemon('script', ['-qec', `/usr/sbin/postfix -c ${pf} start`, '/dev/null'], join(dir, 'postfix-start.log'));
    stops.push(() => postfixCmd(pf, 'stop'));
    const postfixReload = `/usr/sbin/postfix -c ${pf} reload`;

    // dovecot ---------------------------------------------------------------------------------
    const dv = join(dir, 'dovecot');
    mkdirSync(join(dv, 'base'), { recursive: true });
    const dvConf = join(dv, 'dovecot.conf');
    writeFileSync(
      dvConf,
      `protocols = imap pop3
listen = 127.0.0.1
base_dir = ${dv}/base
state_dir = ${dv}/state
instance_name = certflow-${label}-${ports.imap}
log_path = ${dv}/dovecot.log
ssl = yes
ssl_cert = <${files.IMAP.certFile}
ssl_key = <${files.IMAP.keyFile}
protocol imap {
  ssl_cert = <${files.IMAP.certFile}
  ssl_key = <${files.IMAP.keyFile}
}
protocol pop3 {
  ssl_cert = <${files.POP.certFile}
  ssl_key = <${files.POP.keyFile}
}
mail_location = maildir:${dv}/mail/%u
passdb {
  driver = static
  args = password=unused-${ports.imap}
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=${dv}/mail/%u
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = ${ports.imap}
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = ${ports.imaps}
  }
}
service pop3-login {
  inet_listener pop3 {
    address = 127.0.0.1
    port = ${ports.pop3}
  }
  inet_listener pop3s {
    address = 127.0.0.1
    port = ${ports.pop3s}
  }
}
service stats {
  unix_listener stats-reader {
    mode = 0600
  }
  unix_listener stats-writer {
    mode = 0600
  }
}
`,
    );
    daemon('dovecot', ['-c', dvConf], join(dir, 'dovecot-start.log'));
    stops.push(() => {
      const pid = Number(readFileSync(join(dv, 'base', 'master.pid'), 'utf8'));
      try {
        run('dovecot', ['-c', dvConf, 'stop']);
      } finally {
        try {
          process.kill(pid, 'SIGTERM'); // in case `dovecot stop` raced its start
        } catch {
          // stopped
        }
      }
    });
    const dovecotReload = `dovecot -c ${dvConf} reload`;

    const servers: TestServers = { dir, ports, files, reload: { nginx: nginxReload, postfix: postfixReload, dovecot: dovecotReload }, stop: stopAll };
    await waitForPorts(Object.values(ports));
    return servers;
  } catch (e) {
    await stopAll();
    throw e;
  }
}

async function waitForPorts(ports: number[]): Promise<void> {
  const { connect } = await import('node:net');
  const until = Date.now() + 15_000;
  for (const port of ports) {
    for (;;) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect({ host: '127.0.0.1', port }, () => {
          s.destroy();
          resolve(true);
        });
        s.on('error', () => resolve(false));
      });
      if (ok) break;
      if (Date.now() > until) throw new Error(`no server listens on 127.0.0.1:${port}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

/** The SHA-1 thumbprint (Exchange style) of the certificate a server presents, read with `openssl s_client`. */
export function servedThumbprint(port: number, starttls: 'smtp' | 'imap' | 'pop3' | null, serverName = 'mail.contoso.test'): string {
  const args = ['s_client', '-connect', `127.0.0.1:${port}`, '-servername', serverName, ...(starttls ? ['-starttls', starttls] : [])];
  const out = execFileSync('openssl', args, { input: '', encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], timeout: 15_000 });
  const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(out)?.[0];
  if (!pem) throw new Error(`openssl s_client ${args.join(' ')} showed no certificate`);
  return fileThumbprint(pem);
}

/** The thumbprint of a PEM certificate (text or file), as `openssl x509 -fingerprint -sha1` prints it, without colons. */
export function fileThumbprint(pemOrPath: string): string {
  const input = pemOrPath.includes('BEGIN CERTIFICATE') ? pemOrPath : readFileSync(pemOrPath, 'utf8');
  const out = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha1'], { input, encoding: 'utf8' });
  return out.trim().split('=')[1].replace(/:/g, '').toUpperCase();
}
