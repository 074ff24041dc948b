import { LoggerService } from '@nestjs/common';
import { Delivery, Notification, NotificationChannel } from '../notification';

/** Always on: every notification is also a structured log line. */
export class LogChannel implements NotificationChannel {
  readonly name = 'log';

  constructor(private readonly log: LoggerService) {}

  async send(n: Notification): Promise<Delivery> {
    this.log.log({ msg: n.subject, kind: n.kind, certificateId: n.certificateId, notificationId: n.id, ...n.data }, 'Notify');
    return { channel: this.name, ok: true, attempts: 1, detail: 'logged' };
  }
}
