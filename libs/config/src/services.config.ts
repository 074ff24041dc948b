import { readFileSync } from 'node:fs';
import { isAbsolute } from 'node:path';
import { parse } from 'yaml';

/**
 * The services certificates can be enabled for, and where each one's certificate goes. Read from
 * the YAML file named by `CERTFLOW_CONFIG`, never from the API: a reload command is code that the
 * worker runs. Without `CERTFLOW_CONFIG`, no service is configured.
 *
 * ```yaml
 * services:
 *   SMTP:
 *     preset: postfix                 # reload + verify defaults (nginx, postfix, dovecot-imap, dovecot-pop3)
 *     hostNames: [mail.contoso.com]
 *     certFile: /etc/postfix/certflow/smtp.crt
 *     keyFile: /etc/postfix/certflow/smtp.key
 *     fullchainFile: /etc/postfix/certflow/smtp.fullchain.pem
 *     reload: postfix reload
 *     verify: { host: 127.0.0.1, port: 25, starttls: smtp }
 *   PORTAL:
 *     deployer: webhook
 *     hostNames: [portal.contoso.com]
 *     url: https://deploy.contoso.com/hooks/certificates
 *     secretEnv: PORTAL_HOOK_SECRET   # HMAC-SHA256 key, from the environment
 * ```
 */

/** How certflow talks to a server after a deployment: plain TLS (`none`) or the protocol's STARTTLS. */
export type StartTls = 'none' | 'smtp' | 'imap' | 'pop3';
export const STARTTLS_MODES: readonly StartTls[] = ['none', 'smtp', 'imap', 'pop3'];

export interface VerifyTarget {
  readonly host: string;
  readonly port: number;
  readonly starttls: StartTls;
  /** SNI name to send; defaults to the service's first host name. */
  readonly serverName: string | null;
  /** How long to keep checking until the server presents the new certificate (reloads are asynchronous). */
  readonly timeoutMs: number;
}

export interface FileTarget {
  readonly deployer: 'file';
  readonly certFile: string;
  readonly keyFile: string;
  readonly chainFile: string | null;
  readonly fullchainFile: string | null;
  /** Run with /bin/sh after the files are in place; a non-zero exit restores the previous files. */
  readonly reload: string | null;
  readonly reloadTimeoutMs: number;
}

export interface WebhookTarget {
  readonly deployer: 'webhook';
  readonly url: string;
  /** HMAC-SHA256 key for the `X-Certflow-Signature` header. */
  readonly secret: string;
  /** Send the private key too (only for receivers that install it themselves). */
  readonly includeKey: boolean;
  readonly retries: number;
  readonly timeoutMs: number;
}

export interface ServiceTarget {
  readonly name: string;
  readonly hostNames: readonly string[];
  readonly target: FileTarget | WebhookTarget;
  readonly verify: VerifyTarget | null;
}

export interface ServicesConfig {
  /** The file it was read from, or null when CERTFLOW_CONFIG is not set. */
  readonly source: string | null;
  readonly services: ReadonlyMap<string, ServiceTarget>;
}

/** Defaults for common servers; anything set in the file wins. */
export const SERVICE_PRESETS: Readonly<Record<string, { reload: string; verify: { port: number; starttls: StartTls } }>> = {
  nginx: { reload: 'nginx -s reload', verify: { port: 443, starttls: 'none' } },
  postfix: { reload: 'postfix reload', verify: { port: 25, starttls: 'smtp' } },
  'dovecot-imap': { reload: 'doveadm reload', verify: { port: 143, starttls: 'imap' } },
  'dovecot-pop3': { reload: 'doveadm reload', verify: { port: 110, starttls: 'pop3' } },
};

/** A configuration file that cannot be used; the message names the file and the setting. */
export class ServicesConfigError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ServicesConfigError';
  }
}

const SERVICE_NAME = /^[A-Z0-9][A-Z0-9_-]{0,31}$/;
const HOST_NAME = /^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/;
const FILE_KEYS = ['certFile', 'keyFile', 'chainFile', 'fullchainFile', 'reload', 'reloadTimeoutMs'];
const WEBHOOK_KEYS = ['url', 'secret', 'secretEnv', 'includeKey', 'retries', 'timeoutMs'];
const COMMON_KEYS = ['preset', 'deployer', 'hostNames', 'verify'];

export function loadServicesConfig(env: NodeJS.ProcessEnv = process.env): ServicesConfig {
  const file = env.CERTFLOW_CONFIG?.trim();
  if (!file) return { source: null, services: new Map() };
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    throw new ServicesConfigError(`CERTFLOW_CONFIG names ${file}, which cannot be read: ${(e as Error).message}`);
  }
  return parseServicesConfig(text, file, env);
}

export function parseServicesConfig(text: string, source: string, env: NodeJS.ProcessEnv = process.env): ServicesConfig {
  let doc: unknown;
  try {
    doc = parse(text);
  } catch (e) {
    throw new ServicesConfigError(`${source} is not valid YAML: ${(e as Error).message}`);
  }
  const fail = (where: string, what: string): never => {
    throw new ServicesConfigError(`${source}: ${where} ${what}`);
  };
  if (doc === null || doc === undefined) return { source, services: new Map() };
  if (!isObject(doc)) fail('the file', 'must be a mapping with a "services" key');
  const root = doc as Record<string, unknown>;
  for (const k of Object.keys(root)) if (k !== 'services') fail(`"${k}"`, 'is not a known top-level key (only "services")');
  const services = new Map<string, ServiceTarget>();
  if (root.services === null || root.services === undefined) return { source, services };
  if (!isObject(root.services)) fail('services', 'must be a mapping of service name to settings');
  for (const [name, raw] of Object.entries(root.services as Record<string, unknown>)) {
    const at = `services.${name}`;
    if (!SERVICE_NAME.test(name)) fail(at, 'is not a service name: use upper-case letters, digits, "_" or "-" (SMTP, IMAP, POP, IIS)');
    if (!isObject(raw)) fail(at, 'must be a mapping');
    const s = raw as Record<string, unknown>;
    const presetName = s.preset === undefined ? null : str(s.preset, `${at}.preset`, fail);
    const preset = presetName ? SERVICE_PRESETS[presetName] : null;
    if (presetName && !preset) fail(`${at}.preset`, `"${presetName}" is unknown; presets: ${Object.keys(SERVICE_PRESETS).join(', ')}`);
    const deployer = s.deployer === undefined ? 'file' : s.deployer;
    if (deployer !== 'file' && deployer !== 'webhook') fail(`${at}.deployer`, `must be "file" or "webhook", not "${String(deployer)}"`);
    const allowed = [...COMMON_KEYS, ...(deployer === 'file' ? FILE_KEYS : WEBHOOK_KEYS)];
    for (const k of Object.keys(s)) if (!allowed.includes(k)) fail(`${at}.${k}`, `is not a setting of a ${deployer} service (settings: ${allowed.join(', ')})`);
    if (!Array.isArray(s.hostNames) || s.hostNames.length === 0) fail(`${at}.hostNames`, 'must list at least one host name the service answers to');
    const hostNames = (s.hostNames as unknown[]).map((h, i) => {
      const v = str(h, `${at}.hostNames[${i}]`, fail).toLowerCase();
      if (!HOST_NAME.test(v)) fail(`${at}.hostNames[${i}]`, `"${v}" is not a DNS name`);
      return v;
    });
    let target: FileTarget | WebhookTarget;
    if (deployer === 'file') {
      const path = (k: string, required: boolean): string | null => {
        if (s[k] === undefined || s[k] === null) return required ? fail(`${at}.${k}`, 'is required (an absolute path)') : null;
        const p = str(s[k], `${at}.${k}`, fail);
        if (!isAbsolute(p)) fail(`${at}.${k}`, `must be an absolute path, not "${p}"`);
        return p;
      };
      const certFile = path('certFile', true)!;
      const keyFile = path('keyFile', true)!;
      const chainFile = path('chainFile', false);
      const fullchainFile = path('fullchainFile', false);
      const files = [certFile, keyFile, chainFile, fullchainFile].filter((f): f is string => f !== null);
      if (new Set(files).size !== files.length) fail(at, 'uses the same path for two of certFile, keyFile, chainFile, fullchainFile');
      target = {
        deployer: 'file',
        certFile,
        keyFile,
        chainFile,
        fullchainFile,
        reload: s.reload === undefined ? (preset?.reload ?? null) : s.reload === null ? null : str(s.reload, `${at}.reload`, fail),
        reloadTimeoutMs: s.reloadTimeoutMs === undefined ? 30_000 : int(s.reloadTimeoutMs, `${at}.reloadTimeoutMs`, 100, 600_000, fail),
      };
    } else {
      const url = str(s.url, `${at}.url`, fail);
      if (!/^https?:\/\//.test(url)) fail(`${at}.url`, `must be an http(s) URL, not "${url}"`);
      let secret: string;
      if (s.secretEnv !== undefined) {
        const name = str(s.secretEnv, `${at}.secretEnv`, fail);
        secret = env[name] ?? fail(`${at}.secretEnv`, `names ${name}, which is not set in the environment`);
      } else secret = str(s.secret, `${at}.secret (or secretEnv)`, fail);
      if (secret.length < 16) fail(`${at}.secret`, 'must be at least 16 characters');
      target = {
        deployer: 'webhook',
        url,
        secret,
        includeKey: s.includeKey === undefined ? false : bool(s.includeKey, `${at}.includeKey`, fail),
        retries: s.retries === undefined ? 3 : int(s.retries, `${at}.retries`, 0, 10, fail),
        timeoutMs: s.timeoutMs === undefined ? 10_000 : int(s.timeoutMs, `${at}.timeoutMs`, 100, 120_000, fail),
      };
    }
    let verify: VerifyTarget | null = null;
    if (s.verify !== undefined && s.verify !== null) {
      if (!isObject(s.verify)) fail(`${at}.verify`, 'must be a mapping {host, port, starttls}');
      const v = s.verify as Record<string, unknown>;
      for (const k of Object.keys(v)) if (!['host', 'port', 'starttls', 'serverName', 'timeoutMs'].includes(k)) fail(`${at}.verify.${k}`, 'is not a verify setting (host, port, starttls, serverName, timeoutMs)');
      const starttls = v.starttls === undefined ? (preset?.verify.starttls ?? 'none') : v.starttls;
      if (!STARTTLS_MODES.includes(starttls as StartTls)) fail(`${at}.verify.starttls`, `must be one of ${STARTTLS_MODES.join(', ')}, not "${String(starttls)}"`);
      verify = {
        host: v.host === undefined ? '127.0.0.1' : str(v.host, `${at}.verify.host`, fail),
        port: v.port === undefined && preset ? preset.verify.port : int(v.port, `${at}.verify.port`, 1, 65_535, fail),
        starttls: starttls as StartTls,
        serverName: v.serverName === undefined ? hostNames[0] : str(v.serverName, `${at}.verify.serverName`, fail),
        timeoutMs: v.timeoutMs === undefined ? 15_000 : int(v.timeoutMs, `${at}.verify.timeoutMs`, 100, 300_000, fail),
      };
    }
    services.set(name, { name, hostNames, target, verify });
  }
  return { source, services };
}

const isObject = (v: unknown): boolean => typeof v === 'object' && v !== null && !Array.isArray(v);
function str(v: unknown, where: string, fail: (w: string, m: string) => never): string {
  if (typeof v !== 'string' || v.trim() === '') return fail(where, 'must be a non-empty string');
  return v;
}
function int(v: unknown, where: string, min: number, max: number, fail: (w: string, m: string) => never): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < min || v > max) return fail(where, `must be a whole number from ${min} to ${max}`);
  return v;
}
function bool(v: unknown, where: string, fail: (w: string, m: string) => never): boolean {
  if (typeof v !== 'boolean') return fail(where, 'must be true or false');
  return v;
}
