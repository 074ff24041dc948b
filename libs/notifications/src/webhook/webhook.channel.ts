import { createHmac } from 'node:crypto';
import { Delivery, Notification, NotificationChannel } from '../notification';

export interface WebhookOptions {
  url: string;
  /** HMAC-SHA256 key; the signature goes in `X-Certflow-Signature: sha256=<hex>` over the raw body. */
  secret: string;
  /**
   * Optional body template for Slack/Teams incoming webhooks: `{{subject}}`, `{{text}}`, `{{kind}}`,
   * `{{certificateId}}` are replaced (JSON-escaped). Without one, the notification is sent as JSON.
   */
  template?: string | null;
  attempts?: number;
  /** First backoff; doubles per attempt. */
  backoffMs?: number;
  timeoutMs?: number;
}

const escapeJson = (s: string): string => JSON.stringify(s).slice(1, -1);

/** Signs the body as receivers verify it: hex HMAC-SHA256 of the exact bytes sent. */
export const signature = (secret: string, body: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/** POSTs the notification as JSON, signed, with retries and backoff on network errors and 5xx/429. */
export class WebhookChannel implements NotificationChannel {
  readonly name: string;

  constructor(private readonly options: WebhookOptions) {
    this.name = `webhook:${new URL(options.url).host}`;
  }

  body(n: Notification): string {
    if (this.options.template) {
      const values: Record<string, string> = { subject: n.subject, text: n.text, kind: n.kind, certificateId: n.certificateId ?? '' };
      return this.options.template.replace(/\{\{(\w+)\}\}/g, (_, k: string) => escapeJson(values[k] ?? ''));
    }
    return JSON.stringify({ id: n.id, kind: n.kind, certificateId: n.certificateId, subject: n.subject, text: n.text, data: n.data });
  }

  async send(n: Notification): Promise<Delivery> {
    const attempts = this.options.attempts ?? 4;
    const body = this.body(n);
    let detail = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const res = await fetch(this.options.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-certflow-signature': signature(this.options.secret, body),
            'x-certflow-delivery': n.id,
            'x-certflow-event': n.kind,
          },
          body,
          signal: AbortSignal.timeout(this.options.timeoutMs ?? 10_000),
        });
        await res.arrayBuffer().catch(() => undefined);
        if (res.ok) return { channel: this.name, ok: true, attempts: attempt, detail: `HTTP ${res.status}` };
        detail = `HTTP ${res.status}`;
        if (res.status < 500 && res.status !== 429) return { channel: this.name, ok: false, attempts: attempt, detail };
      } catch (e) {
        detail = (e as Error).message;
      }
      if (attempt < attempts) await new Promise((r) => setTimeout(r, (this.options.backoffMs ?? 1_000) * 2 ** (attempt - 1)));
    }
    return { channel: this.name, ok: false, attempts, detail };
  }
}
