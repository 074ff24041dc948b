import nodemailer, { Transporter } from 'nodemailer';
import { Delivery, Notification, NotificationChannel } from '../notification';

export interface EmailOptions {
  /** SMTP URL, e.g. smtp://relay.contoso.com:25 or smtps://user:pass@smtp.example.com:465. */
  smtpUrl: string;
  from: string;
  to: readonly string[];
}

/** Sends the notification as a plain-text e-mail through an SMTP server (nodemailer). */
export class EmailChannel implements NotificationChannel {
  readonly name: string;
  private readonly transport: Transporter;

  constructor(private readonly options: EmailOptions) {
    this.name = `email:${options.to.join(',')}`;
    this.transport = nodemailer.createTransport(options.smtpUrl);
  }

  async send(n: Notification): Promise<Delivery> {
    try {
      const info = await this.transport.sendMail({
        from: this.options.from,
        to: [...this.options.to],
        subject: `[certflow] ${n.subject}`,
        text: `${n.text}\n\n-- \ncertflow · ${n.kind}${n.certificateId ? ` · certificate ${n.certificateId}` : ''}\n`,
        messageId: `<${n.id}@certflow>`,
        headers: { 'X-Certflow-Event': n.kind },
      });
      return { channel: this.name, ok: true, attempts: 1, detail: String(info.response ?? 'sent') };
    } catch (e) {
      return { channel: this.name, ok: false, attempts: 1, detail: (e as Error).message };
    }
  }

  close(): void {
    this.transport.close();
  }
}
