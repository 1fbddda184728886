// What the downstream MTA announces in EHLO, asked now and then in the background. The gateway offers
// DSN to its clients only while the downstream does: DSN parameters it took would otherwise be lost
// on the way, and the sender's MTA, seeing no DSN here, reports "relayed" itself as RFC 3461 wants.
import net from 'node:net';
import tls from 'node:tls';
import type { Logger } from 'pino';

export interface DownstreamAddress {
  host: string;
  port: number;
  /** Implicit TLS (port 465). */
  secure: boolean;
  timeoutMs: number;
  /** Our name in EHLO. */
  hostname: string;
}

/** Connects, reads the greeting, sends EHLO and returns the extension keywords (`DSN`, `SIZE`, …), then QUIT. */
export function ehloExtensions(to: DownstreamAddress): Promise<string[]> {
  return new Promise((resolve, reject) => {
    const socket = to.secure
      ? tls.connect({ host: to.host, port: to.port, rejectUnauthorized: false })
      : net.connect({ host: to.host, port: to.port });
    // Never what keeps the process alive on its way out.
    socket.unref();
    let buffer = '';
    let step: 'greeting' | 'ehlo' | 'quit' = 'greeting';
    const fail = (err: Error) => {
      socket.destroy();
      reject(err);
    };
    socket.setTimeout(to.timeoutMs, () => fail(new Error('downstream probe timed out')));
    socket.on('error', fail);
    socket.on('data', (chunk: Buffer) => {
      buffer += chunk.toString('latin1');
      // A reply is complete at a line whose code is followed by a space.
      const last = /^(\d{3}) .*\r?\n/m.exec(buffer);
      if (!last) return;
      const reply = buffer.slice(0, last.index + last[0].length);
      buffer = '';
      if (step === 'quit') return void socket.destroy();
      if (step === 'greeting') {
        if (last[1] !== '220') return fail(new Error(`downstream greeted with ${last[1]}`));
        step = 'ehlo';
        socket.write(`EHLO ${to.hostname}\r\n`);
        return;
      }
      if (last[1] !== '250') return fail(new Error(`downstream answered EHLO with ${last[1]}`));
      const keywords = reply.split(/\r?\n/).slice(1).filter(Boolean).map((line) => line.slice(4).split(' ')[0].toUpperCase());
      step = 'quit';
      socket.end('QUIT\r\n');
      resolve(keywords);
    });
  });
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
