import { createHmac, randomUUID } from 'node:crypto';
import { DeployResult, DeploymentMaterial } from '../../../application/src';
import { WebhookTarget } from '../../../config/src';
import { redactKeyMaterial } from '../redact';

/** `sha256=<hex>`: HMAC-SHA256 of the exact body bytes, as the receiver recomputes it. */
export const webhookSignature = (secret: string, body: string): string => `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;

/**
 * POSTs the certificate as JSON to a receiver that installs it itself, signed with HMAC-SHA256 in
 * `X-Certflow-Signature`. The private key is sent only when the target says `includeKey: true`.
 * Network errors, 5xx and 429 are retried with backoff; another 4xx is a refusal and final.
 * A 2xx answer means the receiver has the certificate.
 */
export class WebhookDeployer {
  constructor(
    private readonly target: WebhookTarget,
    private readonly backoffMs = 500,
  ) {}

  body(m: DeploymentMaterial, deliveryId: string): string {
    return JSON.stringify({
      deliveryId,
      event: 'certificate.enable',
      service: m.service,
      certificateId: m.certificateId,
      thumbprint: m.thumbprint,
      notAfter: m.notAfter,
      certificatePem: m.certificatePem,
      chainPem: m.chainPem,
      fullchainPem: [m.certificatePem, ...m.chainPem].map((p) => p.trim() + '\n').join(''),
      ...(this.target.includeKey ? { privateKeyPem: m.privateKeyPem } : {}),
    });
  }

  async deploy(m: DeploymentMaterial): Promise<DeployResult> {
    const deliveryId = randomUUID();
    const body = this.body(m, deliveryId);
    const attempts = this.target.retries + 1;
    let detail = '';
    for (let attempt = 1; attempt <= attempts; attempt++) {
      try {
        const res = await fetch(this.target.url, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'x-certflow-signature': webhookSignature(this.target.secret, body),
            'x-certflow-delivery': deliveryId,
            'x-certflow-event': 'certificate.enable',
          },
          body,
          signal: AbortSignal.timeout(this.target.timeoutMs),
        });
        const text = await res.text().catch(() => '');
        if (res.ok) return { outcome: 'deployed', detail: `HTTP ${res.status} from ${new URL(this.target.url).host} after ${attempt} attempt(s)` };
        detail = `HTTP ${res.status}${text ? `: ${redactKeyMaterial(text, [m.privateKeyPem], 500)}` : ''}`;
        if (res.status < 500 && res.status !== 429) break;
      } catch (e) {
        detail = redactKeyMaterial((e as Error).message, [m.privateKeyPem], 500);
      }
      if (attempt < attempts) await new Promise((r) => setTimeout(r, this.backoffMs * 2 ** (attempt - 1)));
    }
    return { outcome: 'failed', code: 'WebhookFailed', reason: `The webhook ${new URL(this.target.url).host} did not accept the certificate: ${detail}.`, stderr: null };
  }
}
