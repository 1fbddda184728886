// Hands messages to the downstream MTA over a pooled SMTP connection and translates its replies into ours.
import { Readable } from 'node:stream';
import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import MimeNode from 'nodemailer/lib/mime-node';
import SMTPPool from 'nodemailer/lib/smtp-pool';
import type MailMessage from 'nodemailer/lib/mailer/mail-message';
import type { Logger } from 'pino';
import { SmtpError, replies } from '../smtp/replies.ts';
import type { RelayDsn } from './dsn.ts';

export interface RelayOptions {
  host: string;
  port: number;
  secure: boolean;
  timeoutMs: number;
  maxConnections: number;
  /** Our name in EHLO to the downstream. */
  hostname: string;
  /** Observes relay latency and failures (the admin metrics); optional. */
  metrics?: { relay(seconds: number, failure?: 'refused' | 'deferred' | 'timeout' | 'unavailable'): void };
}

export interface RecipientRefusal {
  recipient: string;
  responseCode: number;
  response: string;
}

export interface RelayResult {
  /** The downstream's final reply, e.g. `250 2.0.0 Ok: queued as 4Xy`. */
  response: string;
  /** The downstream's queue id, when its reply names one. */
  queueId?: string;
  accepted: string[];
  /** Recipients the downstream refused while it accepted others. */
  refused: RecipientRefusal[];
}

interface SendError extends Error {
  code?: string;
  responseCode?: number;
  response?: string;
  rejectedErrors?: SendError[];
  recipient?: string;
}

export class Relay {
  private readonly transport: SMTPPool;
  private readonly log: Logger;
  private readonly metrics: RelayOptions['metrics'];

  constructor(options: RelayOptions, log: Logger) {
    this.log = log;
    this.metrics = options.metrics;
    // nodemailer's pool without its mailer: the mailer composes every message anew (a MIME tree, a
    // Message-ID, random boundaries, a stream pipeline) only to stream our raw bytes back out.
    this.transport = new SMTPPool({
      host: options.host,
      port: options.port,
      secure: options.secure,
      pool: true,
      maxConnections: options.maxConnections,
      maxMessages: 1000,
      name: options.hostname,
      connectionTimeout: options.timeoutMs,
      greetingTimeout: options.timeoutMs,
      socketTimeout: options.timeoutMs,
      // The downstream is the operator's own MTA: use STARTTLS when offered, without demanding a public certificate.
      tls: { rejectUnauthorized: false },
      // No DNS or logging inside nodemailer: the downstream is an address from config.
      logger: false,
    });
  }

  /**
   * Sends the message; resolves once the downstream accepted it for at least one recipient. `dsn`
   * goes out with MAIL FROM and RCPT TO when the downstream offers DSN.
   * Throws an SmtpError fit to give our client: 451 4.4.x when the downstream is away or defers, its own 5xx when it refuses.
   */
  async send(from: string, to: readonly string[], raw: Buffer, ref: string, dsn?: RelayDsn): Promise<RelayResult> {
    const started = performance.now();
    try {
      // nodemailer's type spells RET "Full"; it upper-cases whatever it is given.
      const info = await this.sendRaw({ from, to: [...to] }, raw, dsn);
      this.metrics?.relay((performance.now() - started) / 1000);
      const refused = ((info as { rejectedErrors?: SendError[] }).rejectedErrors ?? []).map((e) => ({
        recipient: e.recipient ?? '',
        responseCode: e.responseCode ?? 550,
        response: e.response ?? e.message,
      }));
      const response = String(info.response ?? '');
      return {
        response,
        queueId: /queued as\s+([^\s;]+)/i.exec(response)?.[1] ?? /\bid[= ]([A-Za-z0-9.\-_]+)/.exec(response)?.[1],
        accepted: (info.accepted as string[]).map(String),
        refused,
      };
    } catch (err) {
      const reply = this.translate(err as SendError, ref);
      this.metrics?.relay((performance.now() - started) / 1000, failureKind(err as SendError));
      throw reply;
    }
  }

  private sendRaw(envelope: { from: string; to: string[] }, raw: Buffer, dsn?: RelayDsn): Promise<SMTPPool.SentMessageInfo> {
    const mail = rawMail(envelope, raw, dsn);
    return new Promise((resolve, reject) => this.transport.send(mail, (err, info) => (info && !err ? resolve(info) : reject(err ?? new Error('the pool gave neither a result nor an error')))));
  }

  /** Checks that the downstream answers (for readiness probes). */
  async verify(): Promise<boolean> {
    try {
      return await this.transport.verify();
    } catch {
      return false;
    }
  }

  close(): void {
    this.transport.close();
  }

  private translate(err: SendError, ref: string): SmtpError {
    const code = err.responseCode;
    this.log.warn({ ref, code, err: err.message, response: err.response }, 'downstream did not accept the message');
    if (code && code >= 500) return replies.downstreamRefused(code, err.response ?? err.message, ref);
    if (code && code >= 400) return replies.downstreamDeferred(err.response ?? err.message, ref);
    if (err.code === 'ETIMEDOUT') return replies.downstreamTimeout(ref);
    return replies.downstreamUnavailable(ref);
  }
}

/**
 * The part of a composed mail that the pool reads: the envelope, the DSN parameters, and a fresh stream
 * of the bytes for each attempt (the pool sends again over another connection when a reused one turns
 * out closed before any byte was read).
 */
function rawMail(envelope: { from: string; to: string[] }, raw: Buffer, dsn?: RelayDsn): MailMessage<SMTPPool.SentMessageInfo> {
  // nodemailer's own address handling, as its mailer would apply it: A-label domains, quoted local parts.
  // (A fixed base boundary spares the random one of a node whose body is never written.)
  const normalized = new MimeNode(undefined, { baseBoundary: 'envelope' }).setEnvelope(envelope).getEnvelope();
  const message = {
    getEnvelope: () => ({ from: normalized.from, to: [...normalized.to] }),
    messageId: () => '',
    getHeader: () => '',
    createReadStream: () =>
      new Readable({
        read() {
          this.push(raw);
          this.push(null);
        },
      }),
  };
  return { data: dsn ? { dsn: dsn as SMTPConnection.DSNOptions } : {}, message } as unknown as MailMessage<SMTPPool.SentMessageInfo>;
}

function failureKind(err: SendError): 'refused' | 'deferred' | 'timeout' | 'unavailable' {
  const code = err.responseCode;
  if (code && code >= 500) return 'refused';
  if (code && code >= 400) return 'deferred';
  return err.code === 'ETIMEDOUT' ? 'timeout' : 'unavailable';
}
