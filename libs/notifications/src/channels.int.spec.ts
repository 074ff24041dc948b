import { createHmac } from 'node:crypto';
import { createServer, IncomingMessage, Server } from 'node:http';
import { AddressInfo } from 'node:net';
import { startSmtpSink } from '../../testing/src/smtp-sink';
import { EmailChannel } from './email/email.channel';
import { Notification } from './notification';
import { WebhookChannel } from './webhook/webhook.channel';

const n = (id: string): Notification => ({
  id,
  kind: 'expiry-reminder',
  certificateId: '8c4b7d6e-0000-4000-8000-000000000001',
  subject: 'mail.contoso.com expires in 14 days',
  text: 'The certificate for mail.contoso.com (SMTP, IMAP) expires on 2026-12-07.',
  data: { threshold: 14 },
});

describe('webhook channel (against a real HTTP receiver)', () => {
  let server: Server;
  let url: string;
  const received: { headers: IncomingMessage['headers']; body: string }[] = [];
  let failFirst = 0;

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c) => (body += c));
      req.on('end', () => {
        if (failFirst > 0) {
          failFirst--;
          res.statusCode = 503;
          res.end();
          return;
        }
        received.push({ headers: req.headers, body });
        res.statusCode = req.url === '/reject' ? 400 : 204;
        res.end();
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('posts JSON with an HMAC-SHA256 signature the receiver can verify', async () => {
    const d = await new WebhookChannel({ url: `${url}/hook`, secret: 's3cret' }).send(n('n-1'));
    expect(d).toMatchObject({ ok: true, attempts: 1 });
    const got = received[received.length - 1];
    const expected = `sha256=${createHmac('sha256', 's3cret').update(got.body).digest('hex')}`;
    expect(got.headers['x-certflow-signature']).toBe(expected);
    expect(got.headers['x-certflow-delivery']).toBe('n-1');
    expect(JSON.parse(got.body)).toMatchObject({ kind: 'expiry-reminder', subject: 'mail.contoso.com expires in 14 days', data: { threshold: 14 } });
  });

  it('retries with backoff on 5xx and gives up on 4xx', async () => {
    failFirst = 2;
    const retried = await new WebhookChannel({ url: `${url}/hook`, secret: 'k', backoffMs: 10 }).send(n('n-2'));
    expect(retried).toMatchObject({ ok: true, attempts: 3 });
    const refused = await new WebhookChannel({ url: `${url}/reject`, secret: 'k', backoffMs: 10 }).send(n('n-3'));
    expect(refused).toMatchObject({ ok: false, attempts: 1, detail: 'HTTP 400' });
    const unreachable = await new WebhookChannel({ url: 'http://127.0.0.1:1/x', secret: 'k', backoffMs: 10, attempts: 2 }).send(n('n-4'));
    expect(unreachable).toMatchObject({ ok: false, attempts: 2 });
  });

  it('fills a Slack/Teams template with JSON-escaped values', async () => {
    await new WebhookChannel({ url: `${url}/slack`, secret: 'k', template: '{"text":"{{subject}}: {{text}}"}' }).send({ ...n('n-5'), subject: 'a "quoted" name' });
    expect(JSON.parse(received[received.length - 1].body)).toEqual({ text: 'a "quoted" name: The certificate for mail.contoso.com (SMTP, IMAP) expires on 2026-12-07.' });
  });
});

describe('e-mail channel (against a real SMTP server on loopback)', () => {
  let sink: Awaited<ReturnType<typeof startSmtpSink>>;
  let port: number;
  let mails: string[];

  beforeAll(async () => {
    sink = await startSmtpSink();
    ({ port, mails } = sink);
  });
  afterAll(() => sink.close());

  it('delivers the reminder as a plain-text mail', async () => {
    const channel = new EmailChannel({ smtpUrl: `smtp://127.0.0.1:${port}?ignoreTLS=true`, from: 'certflow@contoso.test', to: ['pki-admins@contoso.test'] });
    const d = await channel.send(n('n-6'));
    channel.close();
    expect(d.ok).toBe(true);
    const mail = mails[mails.length - 1];
    expect(mail).toMatch(/Subject: \[certflow\] mail.contoso.com expires in 14 days/);
    expect(mail).toMatch(/To: pki-admins@contoso.test/);
    expect(mail).toMatch(/expires on 2026-12-07/);
  });

  it('reports a server that cannot be reached as a failed delivery', async () => {
    const channel = new EmailChannel({ smtpUrl: 'smtp://127.0.0.1:1', from: 'a@b.test', to: ['c@d.test'] });
    const d = await channel.send(n('n-7'));
    channel.close();
    expect(d.ok).toBe(false);
    expect(d.detail).toMatch(/ECONNREFUSED|connect/);
  });
});
