import { execFile } from 'node:child_process';
import { Pool } from 'pg';

export type AcmeChallengeType = 'http-01' | 'dns-01';

export interface AcmeChallengeSettings {
  challenge: AcmeChallengeType;
  /** dns-01: a shell command, run with the CERTFLOW_ACME_* variables (see `dnsHookEnv`). */
  dnsHookCommand: string | null;
  /** dns-01: or a URL that receives the same values as JSON (POST). */
  dnsWebhookUrl: string | null;
}

/** The TXT record a dns-01 challenge needs (RFC 8555 §8.4). */
export interface DnsTxtRecord {
  /** The identifier, without a wildcard label (`*.contoso.com` → `contoso.com`). */
  domain: string;
  /** `_acme-challenge.<domain>` */
  txtName: string;
  /** base64url(SHA-256(key authorization)) */
  txtValue: string;
}

/** How long a DNS hook or webhook may take (it should return once the record is published). */
export const DNS_HOOK_TIMEOUT_MS = 120_000;

/** Environment variables that must never reach a hook command: certflow's own secrets. */
const WITHHELD_FROM_HOOKS = /^(CERTFLOW_(?!ACME_)|DATABASE_URL$|REDIS_URL$|PG(PASSWORD|PASSFILE)$)/;

/** The hook's environment: certflow's, minus its secrets, plus the record to publish or remove. */
export function dnsHookEnv(action: 'present' | 'cleanup', record: DnsTxtRecord, base: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(base)) if (!WITHHELD_FROM_HOOKS.test(k)) env[k] = v;
  return {
    ...env,
    CERTFLOW_ACME_ACTION: action,
    CERTFLOW_ACME_DOMAIN: record.domain,
    CERTFLOW_ACME_TXT_NAME: record.txtName,
    CERTFLOW_ACME_TXT_VALUE: record.txtValue,
  };
}

/** A hook or webhook that failed: retried later, like any transient failure. */
export class AcmeChallengeSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'AcmeChallengeSetupError';
  }
}

/**
 * Publishes what the CA checks. http-01: the key authorization in `acme_challenges`, which the
 * API serves at `/.well-known/acme-challenge/<token>` (operational data, not events: it is
 * worthless once the order is done, and is deleted then). dns-01: the TXT record, through the
 * configured hook command or webhook. Every call may be repeated: a second `present` for the same
 * token or record must change nothing (hooks must be written that way too).
 */
export class AcmeChallengesAdapter {
  constructor(
    private readonly pool: Pool,
    readonly settings: AcmeChallengeSettings,
  ) {}

  async presentHttp(certificateId: string, token: string, keyAuthorization: string): Promise<void> {
    await this.pool.query(
      `INSERT INTO acme_challenges (token, key_authorization, certificate_id) VALUES ($1, $2, $3)
       ON CONFLICT (token) DO NOTHING`,
      [token, keyAuthorization, certificateId],
    );
  }

  /** Removes every HTTP-01 response of the certificate (its order is valid or invalid). */
  async cleanupHttp(certificateId: string): Promise<void> {
    await this.pool.query('DELETE FROM acme_challenges WHERE certificate_id = $1', [certificateId]);
  }

  async presentDns(record: DnsTxtRecord): Promise<void> {
    await this.runDnsHook('present', record);
  }

  async cleanupDns(record: DnsTxtRecord): Promise<void> {
    await this.runDnsHook('cleanup', record);
  }

  private async runDnsHook(action: 'present' | 'cleanup', record: DnsTxtRecord): Promise<void> {
    const { dnsHookCommand, dnsWebhookUrl } = this.settings;
    if (!dnsHookCommand && !dnsWebhookUrl) {
      throw new AcmeChallengeSetupError('dns-01 needs ACME_DNS_HOOK (a command) or ACME_DNS_WEBHOOK (a URL) to publish the TXT record');
    }
    if (dnsHookCommand) {
      await new Promise<void>((resolve, reject) => {
        execFile('/bin/sh', ['-c', dnsHookCommand], { env: dnsHookEnv(action, record), timeout: DNS_HOOK_TIMEOUT_MS, maxBuffer: 1 << 20 }, (error, _stdout, stderr) => {
          if (!error) return resolve();
          const how = error.killed ? `was stopped after ${DNS_HOOK_TIMEOUT_MS / 1000} s` : `exited with ${error.code ?? error.signal}`;
          reject(new AcmeChallengeSetupError(`the DNS hook (${action} ${record.txtName}) ${how}${stderr ? `: ${String(stderr).trim().slice(-300)}` : ''}`));
        });
      });
    }
    if (dnsWebhookUrl) {
      let status: number;
      try {
        const res = await fetch(dnsWebhookUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ action, ...record }),
          signal: AbortSignal.timeout(DNS_HOOK_TIMEOUT_MS),
        });
        status = res.status;
        await res.body?.cancel();
      } catch (e) {
        throw new AcmeChallengeSetupError(`the DNS webhook (${action} ${record.txtName}) could not be reached: ${(e as Error).message}`);
      }
      if (status < 200 || status > 299) throw new AcmeChallengeSetupError(`the DNS webhook (${action} ${record.txtName}) answered ${status}`);
    }
  }
}

/** The key authorization to answer for an HTTP-01 token, or null when certflow has none. */
export async function findHttpChallengeResponse(pool: Pool, token: string): Promise<string | null> {
  if (!/^[A-Za-z0-9_-]{1,256}$/.test(token)) return null;
  const { rows } = await pool.query<{ key_authorization: string }>('SELECT key_authorization FROM acme_challenges WHERE token = $1', [token]);
  return rows[0]?.key_authorization ?? null;
}
