// A lean SMTP client for load: one new connection per message, as MTAs deliver, at a fixed concurrency.
import { connect } from 'node:net';

export interface LoadMessage {
  from: string;
  to: string;
  raw: Buffer;
}

export interface LoadResult {
  messages: number;
  seconds: number;
  perSecond: number;
  p50ms: number;
  p99ms: number;
  /**
   * Final replies: over SMTP by first digit, how many were accepted (2), deferred (4), refused (5),
   * or failed to talk (0); over HTTP by status code.
   */
  replies: Record<string, number>;
}

/** The name the load's client gives in EHLO (and to a peer that is told the envelope). */
export const CLIENT_HELO = 'bench.client.example';

/** Sends every message once, `concurrency` at a time; replies are counted by their first digit. */
export function runLoad(port: number, messages: readonly LoadMessage[], concurrency: number): Promise<LoadResult> {
  return runConcurrent(messages, concurrency, (m) => deliver(port, m).then((code) => code[0], () => '0'));
}

/** Runs `send` once for every message, `concurrency` at a time, counting the replies it resolves with. */
export async function runConcurrent<M>(messages: readonly M[], concurrency: number, send: (m: M) => Promise<string>): Promise<LoadResult> {
  const latencies: number[] = [];
  const replies: Record<string, number> = {};
  let next = 0;
  const started = performance.now();
  const worker = async () => {
    while (next < messages.length) {
      const m = messages[next++];
      const t0 = performance.now();
      const reply = await send(m);
      latencies.push(performance.now() - t0);
      replies[reply] = (replies[reply] ?? 0) + 1;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, messages.length) }, worker));
  const seconds = (performance.now() - started) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))];
  return { messages: messages.length, seconds, perSecond: messages.length / seconds, p50ms: pct(0.5), p99ms: pct(0.99), replies };
}

/** Dot-stuffs and normalises line ends, as an MTA does before DATA. */
export function toDataBlock(raw: Buffer): Buffer {
  let text = raw.toString('latin1').replace(/\r?\n/g, '\r\n');
  if (!text.endsWith('\r\n')) text += '\r\n';
  text = text.replace(/^\./gm, '..');
  return Buffer.from(text + '.\r\n', 'latin1');
}

/** One SMTP transaction on a new connection; resolves with the final reply code of the message. */
function deliver(port: number, m: LoadMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect({ port, host: '127.0.0.1' });
    const steps: (() => void)[] = [
      () => socket.write(`EHLO ${CLIENT_HELO}\r\n`),
      () => socket.write(`MAIL FROM:<${m.from}>\r\n`),
      () => socket.write(`RCPT TO:<${m.to}>\r\n`),
      () => socket.write('DATA\r\n'),
      () => socket.write(toDataBlock(m.raw)),
    ];
    let step = 0;
    let buffer = '';
    let final = '';
    const timer = setTimeout(() => { socket.destroy(); reject(new Error('timeout')); }, 60_000);
    socket.on('error', (err) => { clearTimeout(timer); reject(err); });
    socket.on('close', () => { clearTimeout(timer); resolve(final || '0'); });
    socket.on('data', (chunk) => {
      buffer += chunk.toString('latin1');
      for (let m2 = /^(\d{3}) .*\r\n/m.exec(buffer); m2; m2 = /^(\d{3}) .*\r\n/m.exec(buffer)) {
        buffer = buffer.slice(m2.index + m2[0].length);
        const code = m2[1];
        if (final) continue;
        // A refusal at any step, or the reply to the message itself, ends the transaction.
        if (!/^[23]/.test(code) || step === steps.length) {
          final = code;
          clearTimeout(timer);
          resolve(code);
          socket.end('QUIT\r\n');
          continue;
        }
        steps[step++]();
      }
    });
  });
}
