// A bare SMTP client for tests that must send what no well-behaved client would: junk, bare LF, odd sequences.
import { connect, type Socket } from 'node:net';

export interface RawSmtp {
  /** Sends bytes as they are (add CRLF yourself) and waits for the next complete reply. */
  command(data: string | Buffer, timeoutMs?: number): Promise<string>;
  /** The next complete reply without sending anything. */
  reply(timeoutMs?: number): Promise<string>;
  write(data: string | Buffer): void;
  closed: Promise<void>;
  close(): void;
}

export async function rawSmtp(port: number, localAddress?: string): Promise<RawSmtp> {
  const socket: Socket = connect({ port, host: '127.0.0.1', localAddress });
  let buffer = '';
  const pending: ((line: string) => void)[] = [];
  const replies: string[] = [];
  const closed = new Promise<void>((resolve) => socket.on('close', () => resolve()));
  socket.on('error', () => {});
  socket.on('data', (chunk) => {
    buffer += chunk.toString('latin1');
    // A reply is complete at a line whose code is followed by a space (multi-line replies use '-').
    for (let m = /^(\d{3}) .*\r\n/m.exec(buffer); m; m = /^(\d{3}) .*\r\n/m.exec(buffer)) {
      const end = m.index + m[0].length;
      const reply = buffer.slice(0, end).trimEnd();
      buffer = buffer.slice(end);
      const waiter = pending.shift();
      if (waiter) waiter(reply);
      else replies.push(reply);
    }
  });
  const reply = (timeoutMs = 5000) =>
    new Promise<string>((resolve, reject) => {
      const queued = replies.shift();
      if (queued !== undefined) return resolve(queued);
      const t = setTimeout(() => reject(new Error('no reply in time')), timeoutMs);
      pending.push((r) => { clearTimeout(t); resolve(r); });
      void closed.then(() => { clearTimeout(t); resolve('(closed)'); });
    });
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  return {
    reply,
    command(data, timeoutMs) {
      socket.write(data);
      return reply(timeoutMs);
    },
    write: (data) => void socket.write(data),
    closed,
    close: () => socket.destroy(),
  };
}
