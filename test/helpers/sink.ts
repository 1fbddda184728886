// A downstream MTA for tests: a real smtp-server on a free loopback port that keeps what it receives,
// and can be told to refuse, defer or vanish.
import { readFileSync } from 'node:fs';
import { SMTPServer } from 'smtp-server';
import type { AddressInfo } from 'node:net';

export interface SinkMessage {
  from: string;
  to: string[];
  raw: Buffer;
  queueId: string;
  /** Whether MAIL FROM asked for SMTPUTF8: nodemailer does when an envelope address is not ASCII. */
  smtputf8: boolean;
  /** DSN parameters as they arrived (xtext decoded): RET and ENVID, and NOTIFY and ORCPT per recipient. */
  dsn: { ret: string | null; envid: string | null; recipients: Record<string, { notify?: string[]; orcpt?: string }> };
}

export interface Sink {
  port: number;
  messages: SinkMessage[];
  /** Reply for RCPT TO per recipient (e.g. `550 5.1.1 No such user`); absent: accept. */
  rcptReplies: Map<string, { code: number; text: string }>;
  /** A reply for every DATA instead of accepting (e.g. `{code: 451, text: '4.3.0 Try later'}`). */
  dataReply?: { code: number; text: string };
  /** Resolves when `n` messages have arrived. */
  waitFor(n: number, timeoutMs?: number): Promise<SinkMessage[]>;
  stop(): Promise<void>;
  /** Listens again on the same port after stop() (downstream back up). */
  restart(): Promise<void>;
}

export interface SinkOptions {
  /** Offer DSN in EHLO (smtp-server does not by default). */
  dsn?: boolean;
  /** Offer STARTTLS, with the certificate of test/fixtures/tls. */
  starttls?: boolean;
  /** Text after `220 <name> ESMTP` in the greeting (Exim puts the date there). */
  banner?: string;
}

export async function startSink(port = 0, options: SinkOptions = {}): Promise<Sink> {
  let counter = 0;
  const waiters: { n: number; resolve: () => void }[] = [];
  let server: SMTPServer;
  const sink: Sink = {
    port: 0,
    messages: [],
    rcptReplies: new Map(),
    async waitFor(n, timeoutMs = 5000) {
      if (sink.messages.length >= n) return sink.messages;
      await new Promise<void>((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`sink: ${sink.messages.length} of ${n} messages after ${timeoutMs} ms`)), timeoutMs);
        waiters.push({ n, resolve: () => { clearTimeout(t); resolve(); } });
      });
      return sink.messages;
    },
    async stop() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async restart() {
      await listen(sink.port);
    },
  };
  const listen = async (p: number) => {
    server = new SMTPServer({
      authOptional: true,
      disabledCommands: options.starttls ? ['AUTH'] : ['AUTH', 'STARTTLS'],
      ...(options.starttls ? { key: readFileSync('test/fixtures/tls/key.pem'), cert: readFileSync('test/fixtures/tls/cert.pem') } : {}),
      banner: options.banner,
      logger: false,
      closeTimeout: 100,
      hideDSN: !options.dsn,
      // As Postfix does: envelope senders like user.@example.com are taken.
      lenientAddressParsing: true,
      onRcptTo(address, _session, cb) {
        const reply = sink.rcptReplies.get(address.address);
        if (!reply) return cb();
        cb(Object.assign(new Error(reply.text), { responseCode: reply.code }));
      },
      onData(stream, session, cb) {
        const chunks: Buffer[] = [];
        stream.on('data', (c: Buffer) => chunks.push(c));
        stream.on('end', () => {
          if (sink.dataReply) return cb(Object.assign(new Error(sink.dataReply.text), { responseCode: sink.dataReply.code }));
          const queueId = `SINK${++counter}`;
          const mailArgs = (session.envelope.mailFrom ? session.envelope.mailFrom.args : false) as Record<string, unknown> | false;
          sink.messages.push({
            from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
            to: session.envelope.rcptTo.map((r) => r.address),
            smtputf8: Boolean(mailArgs && mailArgs.SMTPUTF8),
            raw: Buffer.concat(chunks),
            queueId,
            dsn: dsnOf(session.envelope),
          });
          for (const w of waiters.filter((w) => sink.messages.length >= w.n)) {
            waiters.splice(waiters.indexOf(w), 1);
            w.resolve();
          }
          cb(null, `2.0.0 Ok: queued as ${queueId}`);
        });
      },
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(p, '127.0.0.1', () => resolve());
    });
    sink.port = ((server as unknown as { server: { address(): AddressInfo } }).server.address()).port;
  };
  await listen(port);
  return sink;
}

/** smtp-server keeps DSN parameters on the envelope and its recipients; its type declarations do not say so. */
interface DsnEnvelope {
  dsn?: { ret: string | null; envid: string | null };
  rcptTo: { address: string; dsn?: { notify?: string[]; orcpt?: string } }[];
}

function dsnOf(envelope: unknown): SinkMessage['dsn'] {
  const e = envelope as DsnEnvelope;
  return {
    ret: e.dsn?.ret ?? null,
    envid: e.dsn?.envid ?? null,
    recipients: Object.fromEntries(e.rcptTo.filter((r) => r.dsn).map((r) => [r.address, r.dsn!])),
  };
}
