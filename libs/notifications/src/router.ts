import { LoggerService } from '@nestjs/common';
import { EmailChannel } from './email/email.channel';
import { LogChannel } from './log/log.channel';
import { Delivery, Notification, NotificationChannel } from './notification';
import { WebhookChannel } from './webhook/webhook.channel';

/** The channels of an installation (from the CERTFLOW_NOTIFY_* environment, see libs/config). */
export interface NotifyConfig {
  webhookUrl: string | null;
  webhookSecret: string | null;
  webhookTemplate: string | null;
  smtpUrl: string | null;
  emailFrom: string | null;
  emailTo: string[];
  /** Provider → channel kinds (`webhook`, `email`); `default` for the others. Log is always on. */
  routes: Record<string, string[]>;
}

export type ChannelKind = 'webhook' | 'email' | 'log';

/**
 * Routes a notification: the certificate's provider picks the channel kinds (falling back to
 * `default`, and to every configured channel without routes); the log channel always gets it; a
 * certificate's `contact` is added to the e-mail recipients. Deliveries never throw: each
 * channel's outcome is returned for the caller to record.
 */
export class NotificationRouter {
  private readonly log: LogChannel;
  private readonly webhook: WebhookChannel | null;
  private readonly emails = new Map<string, EmailChannel>();

  constructor(
    private readonly config: NotifyConfig,
    logger: LoggerService,
  ) {
    this.log = new LogChannel(logger);
    this.webhook =
      config.webhookUrl && config.webhookSecret ? new WebhookChannel({ url: config.webhookUrl, secret: config.webhookSecret, template: config.webhookTemplate }) : null;
  }

  /** The channel kinds a provider's notifications go to (log always included). */
  kindsFor(provider: string | null): ChannelKind[] {
    const routes = this.config.routes;
    const named = (provider && routes[provider]) || routes.default || ['webhook', 'email'];
    return ['log', ...named.filter((k): k is ChannelKind => k === 'webhook' || k === 'email')];
  }

  private email(contact: string | null): EmailChannel | null {
    if (!this.config.smtpUrl || !this.config.emailFrom) return null;
    const to = [...new Set([...this.config.emailTo, ...(contact ? [contact] : [])])];
    if (to.length === 0) return null;
    const key = to.join(',');
    let channel = this.emails.get(key);
    if (!channel) {
      channel = new EmailChannel({ smtpUrl: this.config.smtpUrl, from: this.config.emailFrom, to });
      this.emails.set(key, channel);
    }
    return channel;
  }

  async send(n: Notification, route: { provider: string | null; contact: string | null }): Promise<{ channels: string[]; deliveries: Delivery[] }> {
    const channels: NotificationChannel[] = [];
    for (const kind of this.kindsFor(route.provider)) {
      const c = kind === 'log' ? this.log : kind === 'webhook' ? this.webhook : this.email(route.contact);
      if (c) channels.push(c);
    }
    const deliveries = await Promise.all(
      channels.map((c) => c.send(n).catch((e: unknown): Delivery => ({ channel: c.name, ok: false, attempts: 1, detail: (e as Error).message }))),
    );
    return { channels: channels.map((c) => c.name), deliveries };
  }

  close(): void {
    for (const c of this.emails.values()) c.close();
  }
}

/** Parses CERTFLOW_NOTIFY_ROUTES (JSON: provider → ["webhook","email"]); a clear error on bad input. */
export function parseRoutes(json: string | undefined): Record<string, string[]> {
  if (!json) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(json);
  } catch {
    throw new Error('CERTFLOW_NOTIFY_ROUTES must be JSON like {"acme":["webhook"],"default":["webhook","email"]}');
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('CERTFLOW_NOTIFY_ROUTES must be a JSON object');
  const out: Record<string, string[]> = {};
  for (const [k, v] of Object.entries(parsed as Record<string, unknown>)) {
    if (!Array.isArray(v) || v.some((x) => x !== 'webhook' && x !== 'email' && x !== 'log')) {
      throw new Error(`CERTFLOW_NOTIFY_ROUTES.${k} must be a list of "webhook", "email" or "log"`);
    }
    out[k] = v as string[];
  }
  return out;
}
