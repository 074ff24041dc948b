import { Socket, connect as netConnect } from 'node:net';
import { TLSSocket, connect as tlsConnect } from 'node:tls';
import { StartTls } from '../../../config/src';

export interface ProbeTarget {
  readonly host: string;
  readonly port: number;
  readonly starttls: StartTls;
  /** SNI; null sends none. */
  readonly serverName: string | null;
}

/** What a server presented: the leaf's SHA-1 thumbprint (upper-case hex, no colons, as Exchange shows it). */
export interface ServedLeaf {
  readonly thumbprint: string;
  readonly subject: string;
}

/**
 * Connects as a client would and reads the certificate the server presents: TLS at once
 * (`none`, e.g. HTTPS or IMAPS), or after the protocol's STARTTLS (SMTP RFC 3207, IMAP RFC 2595
 * `STARTTLS`, POP3 RFC 2595 `STLS`). The certificate is not validated — the point is to see
 * which one is served, trusted or not.
 */
export async function probeServedCertificate(t: ProbeTarget, timeoutMs = 5_000): Promise<ServedLeaf> {
  const deadline = AbortSignal.timeout(timeoutMs);
  const socket = await open(t.host, t.port, deadline);
  try {
    if (t.starttls !== 'none') await startTls(socket, t.starttls, deadline);
    const tls = await handshake(socket, t, deadline);
    const leaf = tls.getPeerCertificate();
    tls.destroy();
    if (!leaf || !leaf.fingerprint) throw new Error('the server presented no certificate');
    return { thumbprint: leaf.fingerprint.replace(/:/g, '').toUpperCase(), subject: Object.entries(leaf.subject ?? {}).map(([k, v]) => `${k}=${v}`).join(', ') };
  } finally {
    socket.destroy();
  }
}

function open(host: string, port: number, signal: AbortSignal): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = netConnect({ host, port });
    const fail = (e: Error) => {
      s.destroy();
      reject(new Error(`cannot connect to ${host}:${port}: ${e.message}`));
    };
    s.once('error', fail);
    signal.addEventListener('abort', () => fail(new Error('timed out')), { once: true });
    s.once('connect', () => {
      s.off('error', fail);
      resolve(s);
    });
  });
}

function handshake(socket: Socket, t: ProbeTarget, signal: AbortSignal): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const tls = tlsConnect({ socket, servername: t.serverName ?? undefined, rejectUnauthorized: false });
    const fail = (e: Error) => {
      tls.destroy();
      reject(new Error(`TLS handshake with ${t.host}:${t.port} failed: ${e.message}`));
    };
    tls.once('error', fail);
    signal.addEventListener('abort', () => fail(new Error('timed out')), { once: true });
    tls.once('secureConnect', () => {
      tls.off('error', fail);
      resolve(tls);
    });
  });
}

/** The protocol dialogue up to the point where the server expects the TLS handshake. */
async function startTls(socket: Socket, mode: Exclude<StartTls, 'none'>, signal: AbortSignal): Promise<void> {
  const reader = new LineReader(socket, signal);
  try {
    switch (mode) {
      case 'smtp': {
        await reader.smtpReply('220', 'greeting');
        socket.write('EHLO certflow.verify\r\n');
        const ehlo = await reader.smtpReply('250', 'EHLO');
        if (!/^250[ -]STARTTLS\b/im.test(ehlo)) throw new Error('the SMTP server does not offer STARTTLS');
        socket.write('STARTTLS\r\n');
        await reader.smtpReply('220', 'STARTTLS');
        break;
      }
      case 'imap': {
        const greeting = await reader.line();
        if (!/^\* (OK|PREAUTH)/i.test(greeting)) throw new Error(`unexpected IMAP greeting: ${greeting.slice(0, 100)}`);
        socket.write('cf1 STARTTLS\r\n');
        for (;;) {
          const l = await reader.line();
          if (/^cf1 OK/i.test(l)) break;
          if (/^cf1 /i.test(l)) throw new Error(`IMAP STARTTLS refused: ${l.slice(0, 100)}`);
        }
        break;
      }
      case 'pop3': {
        const greeting = await reader.line();
        if (!greeting.startsWith('+OK')) throw new Error(`unexpected POP3 greeting: ${greeting.slice(0, 100)}`);
        socket.write('STLS\r\n');
        const l = await reader.line();
        if (!l.startsWith('+OK')) throw new Error(`POP3 STLS refused: ${l.slice(0, 100)}`);
        break;
      }
    }
  } finally {
    reader.detach();
  }
}

/** Reads CRLF-terminated lines from a plain socket (until TLS takes the socket over). */
class LineReader {
  private buffer = '';
  private waiting: (() => void) | null = null;
  private error: Error | null = null;
  private readonly onData = (b: Buffer) => {
    this.buffer += b.toString('latin1');
    this.waiting?.();
  };
  private readonly onEnd = () => this.fail(new Error('the server closed the connection'));
  private readonly onError = (e: Error) => this.fail(e);

  constructor(
    private readonly socket: Socket,
    signal: AbortSignal,
  ) {
    socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    signal.addEventListener('abort', () => this.fail(new Error('timed out waiting for the server')), { once: true });
  }

  private fail(e: Error): void {
    this.error ??= e;
    this.waiting?.();
  }

  async line(): Promise<string> {
    for (;;) {
      const i = this.buffer.indexOf('\n');
      if (i >= 0) {
        const l = this.buffer.slice(0, i).replace(/\r$/, '');
        this.buffer = this.buffer.slice(i + 1);
        return l;
      }
      if (this.error) throw this.error;
      if (this.buffer.length > 65_536) throw new Error('the server sent an over-long line');
      await new Promise<void>((r) => (this.waiting = r));
      this.waiting = null;
    }
  }

  /** An SMTP reply (multi-line `250-...` up to `250 ...`); refuses any other code. */
  async smtpReply(code: string, what: string): Promise<string> {
    const lines: string[] = [];
    for (;;) {
      const l = await this.line();
      lines.push(l);
      if (!l.startsWith(code)) throw new Error(`SMTP ${what}: expected ${code}, got ${l.slice(0, 100)}`);
      if (l.charAt(3) !== '-') return lines.join('\n');
    }
  }

  detach(): void {
    this.socket.off('data', this.onData);
    this.socket.off('end', this.onEnd);
    this.socket.off('error', this.onError);
  }
}
