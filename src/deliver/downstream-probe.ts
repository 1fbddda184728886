// What the downstream MTA announces in EHLO, asked now and then in the background. The gateway offers
// DSN to its clients only while the downstream does: DSN parameters it took would otherwise be lost
// on the way, and the sender's MTA, seeing no DSN here, reports "relayed" itself as RFC 3461 wants.
// `sluice doctor` holds a longer conversation through the same session (MAIL and RCPT, never DATA).
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';

export interface DownstreamAddress {
  host: string;
  port: number;
  /** Implicit TLS (port 465). */
  secure: boolean;
  /** Connect, greeting and each reply. */
  timeoutMs: number;
  /** Our name in EHLO. */
  hostname: string;
}

export interface SmtpReply {
  code: number;
  /** The text of each line, without the code. */
  lines: string[];
}

/** `250 2.1.5 Ok`: the reply as a peer wrote it, lines joined, for messages and reports. */
export function replyText(reply: SmtpReply): string {
  return `${reply.code} ${reply.lines.join(' ')}`.trim();
}

/** One SMTP conversation with the downstream: a command, then its reply, one at a time. */
export class DownstreamSession {
  private socket: net.Socket;
  private readonly timeoutMs: number;
  private buffer = '';
  private waiting: { resolve: (reply: SmtpReply) => void; reject: (err: Error) => void } | undefined;
  private failure: Error | undefined;

  private constructor(socket: net.Socket, timeoutMs: number) {
    this.socket = socket;
    this.timeoutMs = timeoutMs;
    this.follow(socket);
  }

  private follow(socket: net.Socket): void {
    // Never what keeps the process alive on its way out.
    socket.unref();
    socket.setTimeout(this.timeoutMs, () => this.fail(new Error('downstream probe timed out')));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('downstream closed the connection')));
    socket.on('data', (chunk: Buffer) => this.read(chunk));
  }

  /** Connects and reads the greeting. */
  static async open(to: DownstreamAddress): Promise<{ session: DownstreamSession; greeting: SmtpReply }> {
    const socket = to.secure
      ? tls.connect({ host: to.host, port: to.port, rejectUnauthorized: false })
      : net.connect({ host: to.host, port: to.port });
    const session = new DownstreamSession(socket, to.timeoutMs);
    return { session, greeting: await session.next() };
  }

  /** Sends one command line and returns its reply. */
  command(line: string): Promise<SmtpReply> {
    const reply = this.next();
    if (!this.failure) this.socket.write(`${line}\r\n`);
    return reply;
  }

  /**
   * STARTTLS, then the rest of the session encrypted (RFC 3207); the certificate is not verified, as the
   * relay does not verify it. Returns the TLS version agreed.
   */
  async startTls(): Promise<string> {
    const reply = await this.command('STARTTLS');
    if (reply.code !== 220) throw new Error(`downstream answered STARTTLS with ${replyText(reply)}`);
    const plain = this.socket;
    for (const event of ['data', 'error', 'close', 'timeout']) plain.removeAllListeners(event);
    const secured = tls.connect({ socket: plain, rejectUnauthorized: false });
    this.socket = secured;
    this.buffer = '';
    this.follow(secured);
    // A failed handshake, or none within the time limit, ends in `fail`, which closes the socket.
    await new Promise<void>((resolve, reject) => {
      secured.once('secureConnect', resolve);
      secured.once('close', () => reject(this.failure ?? new Error('downstream closed the connection')));
    });
    return secured.getProtocol() ?? 'TLS';
  }

  /** Says QUIT and closes without waiting for the answer. */
  quit(): void {
    this.failure ??= new Error('session closed');
    if (!this.socket.destroyed) this.socket.end('QUIT\r\n');
    // The peer's 221 is not needed; a peer that never closes must not hold the socket open.
    setTimeout(() => this.socket.destroy(), 1000).unref();
  }

  private next(): Promise<SmtpReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waiting = { resolve, reject };
      this.read(Buffer.alloc(0));
    });
  }

  private read(chunk: Buffer): void {
    this.buffer += chunk.toString('latin1');
    if (!this.waiting) return;
    // A reply is complete at a line whose code is followed by a space (or ends the line).
    const last = /^(\d{3})(?: .*)?\r?\n/m.exec(this.buffer);
    if (!last) return;
    const text = this.buffer.slice(0, last.index + last[0].length);
    this.buffer = this.buffer.slice(last.index + last[0].length);
    const lines = text.split(/\r?\n/).filter(Boolean).map((line) => line.slice(4));
    const { resolve } = this.waiting;
    this.waiting = undefined;
    resolve({ code: Number(last[1]), lines });
  }

  private fail(err: Error): void {
    this.socket.destroy();
    if (this.failure) return;
    this.failure = err;
    const waiting = this.waiting;
    this.waiting = undefined;
    waiting?.reject(err);
  }
}

/** The extension keywords of an EHLO reply (`DSN`, `SIZE`, `STARTTLS`, …). */
export function extensionsOf(ehlo: SmtpReply): string[] {
  return ehlo.lines.slice(1).map((line) => line.split(' ')[0].toUpperCase()).filter(Boolean);
}

/** Connects, reads the greeting, sends EHLO and returns the extension keywords (`DSN`, `SIZE`, …), then QUIT. */
export async function ehloExtensions(to: DownstreamAddress): Promise<string[]> {
  const { session, greeting } = await DownstreamSession.open(to);
  try {
    if (greeting.code !== 220) throw new Error(`downstream greeted with ${greeting.code}`);
    const ehlo = await session.command(`EHLO ${to.hostname}`);
    if (ehlo.code !== 250) throw new Error(`downstream answered EHLO with ${ehlo.code}`);
    return extensionsOf(ehlo);
  } finally {
    session.quit();
  }
}

/** How often the downstream's extensions are asked again: they change only when it is reconfigured. */
const PROBE_INTERVAL_MS = 10 * 60_000;

/** Keeps asking whether the downstream offers DSN and reports each change (first: unknown, taken as no). */
export class DownstreamDsnProbe {
  private readonly address: DownstreamAddress;
  private readonly onChange: (offered: boolean) => void;
  private readonly log: Logger;
  private offered = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(address: DownstreamAddress, onChange: (offered: boolean) => void, log: Logger) {
    this.address = address;
    this.onChange = onChange;
    this.log = log;
  }

  start(): void {
    void this.probe();
    this.timer = setInterval(() => void this.probe(), PROBE_INTERVAL_MS).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** One probe; an unreachable downstream leaves the last answer standing. */
  async probe(): Promise<void> {
    let offered: boolean;
    try {
      // The greeting's 220 may take a moment on a loaded MTA: the relay's own time limit applies.
      offered = (await ehloExtensions(this.address)).includes('DSN');
    } catch (err) {
      this.log.debug({ err: (err as Error).message }, 'downstream EHLO probe failed');
      return;
    }
    if (offered === this.offered) return;
    this.offered = offered;
    this.log.info({ dsn: offered }, offered ? 'downstream offers DSN: passing DSN requests on' : 'downstream does not offer DSN: not offering it either');
    this.onChange(offered);
  }
}
