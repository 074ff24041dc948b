import { DEFAULT_DATABASE_URL } from '../../event-store/src/database';
import { parseRoutes } from '../../notifications/src/router';

/** Everything certflow reads from its environment, with the defaults of a fresh machine. */
export interface CertflowConfig {
  databaseUrl: string;
  redisUrl: string;
  /** Prefix of every BullMQ key, so that several installations can share a Redis. */
  queuePrefix: string;
  port: number;
  host: string;
  adminToken: string | null;
  workerConcurrency: number;
  /** How often the reconciler re-enqueues the outstanding work of in-flight certificates. */
  reconcileIntervalMs: number;
  /** Fallback poll of the event log when no NOTIFY arrives. */
  dispatcherPollMs: number;
  /** BullMQ lock: a job whose worker died is taken over after this long. */
  jobLockMs: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** CERTFLOW_TEST_CLOCK=1: a clock that tests move forward with POST /test/clock/advance. Never in production. */
  testClock: boolean;
  /** The base URL relying parties reach certflow at (CRL and CA certificate URLs in issued certificates). */
  publicUrl: string;
  approval: { timeoutDays: number; remindEveryHours: number };
  internalCa: {
    name: string;
    allowedDomains: string[];
    allowedKeyAlgorithms: ('RSA' | 'ECDSA')[];
    maxValidityDays: number;
    approvalsRequired: number;
    importCertFile: string | null;
    importKeyFile: string | null;
  };
  /** How often due durable timers are moved into the queues. */
  timerPollMs: number;
  /** ACME (RFC 8555), e.g. Let's Encrypt; the provider is available when directoryUrl is set. */
  acme: {
    directoryUrl: string | null;
    email: string | null;
    /** http-01: certflow answers at /.well-known/acme-challenge/<token>; dns-01: a hook publishes the TXT record. */
    challenge: 'http-01' | 'dns-01';
    /** dns-01: a command run with CERTFLOW_ACME_ACTION=present|cleanup, CERTFLOW_ACME_DOMAIN, CERTFLOW_ACME_TXT_NAME, CERTFLOW_ACME_TXT_VALUE. */
    dnsHookCommand: string | null;
    /** dns-01: or a URL that receives the same as JSON (POST). */
    dnsWebhookUrl: string | null;
    /** How soon to look at a progressing order again. */
    pollIntervalMs: number;
  };
  /**
   * Notification channels (issue 6) for expiry reminders and approval notices. The log channel is
   * always on; a webhook needs URL and secret; e-mail needs SMTP URL, From and at least one To (or
   * a certificate's contact). `routes`: provider → channel kinds, `default` for the rest.
   */
  notify: {
    webhookUrl: string | null;
    webhookSecret: string | null;
    webhookTemplate: string | null;
    smtpUrl: string | null;
    emailFrom: string | null;
    emailTo: string[];
    routes: Record<string, string[]>;
  };
  /**
   * Fleet-wide renewal defaults set in the environment (only the variables that are set). The
   * api records them at start as RenewalDefaultsChanged (actor `config`) when they differ from
   * the recorded ones; the rest can be changed with PUT /settings/renewal.
   */
  renewalDefaults: { reminderThresholds?: number[]; renewBefore?: string; renewBeforePercentage?: number; importReminderHours?: number };
}

const int = (value: string | undefined, fallback: number, name: string): number => {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got "${value}"`);
  return n;
};

const list = (value: string | undefined, fallback: string[]): string[] =>
  value ? value.split(',').map((v) => v.trim()).filter(Boolean) : fallback;

export function loadConfig(env: NodeJS.ProcessEnv = process.env): CertflowConfig {
  const level = (env.LOG_LEVEL ?? 'info') as CertflowConfig['logLevel'];
  return {
    databaseUrl: env.DATABASE_URL || DEFAULT_DATABASE_URL,
    redisUrl: env.REDIS_URL || 'redis://127.0.0.1:6379',
    queuePrefix: env.CERTFLOW_QUEUE_PREFIX || 'certflow',
    port: int(env.PORT, 3000, 'PORT'),
    host: env.HOST || '127.0.0.1',
    adminToken: env.CERTFLOW_ADMIN_TOKEN || null,
    workerConcurrency: int(env.CERTFLOW_WORKER_CONCURRENCY, 16, 'CERTFLOW_WORKER_CONCURRENCY'),
    reconcileIntervalMs: int(env.CERTFLOW_RECONCILE_INTERVAL_MS, 30_000, 'CERTFLOW_RECONCILE_INTERVAL_MS'),
    dispatcherPollMs: int(env.CERTFLOW_DISPATCHER_POLL_MS, 1_000, 'CERTFLOW_DISPATCHER_POLL_MS'),
    jobLockMs: int(env.CERTFLOW_JOB_LOCK_MS, 30_000, 'CERTFLOW_JOB_LOCK_MS'),
    logLevel: ['debug', 'info', 'warn', 'error'].includes(level) ? level : 'info',
    testClock: env.CERTFLOW_TEST_CLOCK === '1',
    publicUrl: (env.CERTFLOW_PUBLIC_URL || `http://${env.HOST || '127.0.0.1'}:${env.PORT || 3000}`).replace(/\/$/, ''),
    approval: {
      timeoutDays: int(env.CERTFLOW_APPROVAL_TIMEOUT_DAYS, 14, 'CERTFLOW_APPROVAL_TIMEOUT_DAYS'),
      remindEveryHours: int(env.CERTFLOW_APPROVAL_REMINDER_HOURS, 24, 'CERTFLOW_APPROVAL_REMINDER_HOURS'),
    },
    internalCa: {
      name: env.CERTFLOW_INTERNAL_CA_NAME || 'certflow Internal',
      allowedDomains: list(env.CERTFLOW_INTERNAL_CA_ALLOWED_DOMAINS, ['*']),
      allowedKeyAlgorithms: list(env.CERTFLOW_INTERNAL_CA_KEY_ALGORITHMS, ['RSA', 'ECDSA']).map((a) => a.toUpperCase()) as ('RSA' | 'ECDSA')[],
      maxValidityDays: int(env.CERTFLOW_INTERNAL_CA_MAX_DAYS, 397, 'CERTFLOW_INTERNAL_CA_MAX_DAYS'),
      approvalsRequired: int(env.CERTFLOW_INTERNAL_CA_APPROVALS, 1, 'CERTFLOW_INTERNAL_CA_APPROVALS'),
      importCertFile: env.CERTFLOW_INTERNAL_CA_CERT_FILE || null,
      importKeyFile: env.CERTFLOW_INTERNAL_CA_KEY_FILE || null,
    },
    timerPollMs: int(env.CERTFLOW_TIMER_POLL_MS, 1_000, 'CERTFLOW_TIMER_POLL_MS'),
    acme: {
      directoryUrl: env.ACME_DIRECTORY_URL || null,
      email: env.ACME_EMAIL || null,
      challenge: env.ACME_CHALLENGE === 'dns-01' ? 'dns-01' : 'http-01',
      dnsHookCommand: env.ACME_DNS_HOOK || null,
      dnsWebhookUrl: env.ACME_DNS_WEBHOOK || null,
      pollIntervalMs: int(env.ACME_POLL_INTERVAL_MS, 3_000, 'ACME_POLL_INTERVAL_MS'),
    },
    notify: {
      webhookUrl: env.CERTFLOW_NOTIFY_WEBHOOK_URL || null,
      webhookSecret: env.CERTFLOW_NOTIFY_WEBHOOK_SECRET || null,
      webhookTemplate: env.CERTFLOW_NOTIFY_WEBHOOK_TEMPLATE || null,
      smtpUrl: env.CERTFLOW_NOTIFY_SMTP_URL || null,
      emailFrom: env.CERTFLOW_NOTIFY_EMAIL_FROM || null,
      emailTo: list(env.CERTFLOW_NOTIFY_EMAIL_TO, []),
      routes: parseRoutes(env.CERTFLOW_NOTIFY_ROUTES),
    },
    renewalDefaults: {
      ...(env.CERTFLOW_REMINDER_DAYS ? { reminderThresholds: list(env.CERTFLOW_REMINDER_DAYS, []).map((d) => wholeNumber(d, 'CERTFLOW_REMINDER_DAYS')) } : {}),
      ...(env.CERTFLOW_RENEW_BEFORE ? { renewBefore: env.CERTFLOW_RENEW_BEFORE } : {}),
      ...(env.CERTFLOW_RENEW_BEFORE_PERCENTAGE ? { renewBeforePercentage: Number(env.CERTFLOW_RENEW_BEFORE_PERCENTAGE) } : {}),
      ...(env.CERTFLOW_IMPORT_REMINDER_HOURS ? { importReminderHours: int(env.CERTFLOW_IMPORT_REMINDER_HOURS, 72, 'CERTFLOW_IMPORT_REMINDER_HOURS') } : {}),
    },
  };
}

const wholeNumber = (value: string, name: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new Error(`${name} must be a comma-separated list of whole numbers of days, got "${value}"`);
  return n;
};
