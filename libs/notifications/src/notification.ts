/**
 * A notification: something an administrator should know or do, sent through every channel
 * its route names. Carries ids and public facts only — never key material.
 */
export interface Notification {
  /** Stable kind, e.g. `expiry-reminder`, `approval-requested`, `renewal-failed`. */
  readonly kind: string;
  readonly certificateId: string | null;
  /** One line for people, e.g. "mail.contoso.com expires in 14 days". */
  readonly subject: string;
  /** The details, in plain text. */
  readonly text: string;
  readonly data: Record<string, unknown>;
  /** Idempotency: the same id is delivered once per channel. */
  readonly id: string;
}

/** The result of one delivery attempt, recorded by the caller as an event. */
export interface Delivery {
  readonly channel: string;
  readonly ok: boolean;
  readonly attempts: number;
  readonly detail: string;
}

export interface NotificationChannel {
  readonly name: string;
  send(n: Notification): Promise<Delivery>;
}
