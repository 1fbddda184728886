// The vocabulary of a scan: what checks see, what they say, and what the scorer decides.
import type { Logger } from 'pino';
import type { MailContent } from '../mail/mime.ts';

/** When a check can run: on connect, once MAIL FROM is known, for each RCPT TO, or once the body is in. */
export type Stage = 'connect' | 'mail' | 'rcpt' | 'data';
export const STAGES: readonly Stage[] = ['connect', 'mail', 'rcpt', 'data'];

export type Action = 'accept' | 'tag' | 'quarantine' | 'reject' | 'tempfail';

/** What a check observed. How bad it is comes from the scorer, never from the check. */
export interface SymbolHit {
  name: string;
  /** Multiplier of the symbol's weight (e.g. Bayes certainty); 1 when absent. */
  factor?: number;
  /** Short detail for logs and the quarantine (a listed zone, a matched domain). Never a body excerpt. */
  detail?: string;
}

export interface Envelope {
  clientIp: string;
  /** Reverse name of the client, when known. */
  clientHostname?: string;
  helo: string;
  /** Envelope sender; '' is the null sender of bounces. */
  mailFrom: string;
  rcptTo: string[];
  /** Bytes the client announced with MAIL FROM SIZE=, when given. */
  declaredSize?: number;
}

/** The message as the data-stage checks see it: raw bytes, parsed once. */
export interface MessageContent {
  raw: Buffer;
  /** null when the MIME structure could not be read (MIME_UNPARSABLE); content checks then report `<FAMILY>_ERROR`. */
  parsed: MailContent | null;
  parseError?: string;
  /** Set when only the first this many bytes were parsed (`checks.maxScanSize`); `raw` is still the whole message. */
  parsedBytes?: number;
}

export interface ScanContext {
  tid: string;
  envelope: Envelope;
  /** Present in the data stage only. */
  message?: MessageContent;
  /** In the rcpt stage: the recipient being checked (already in `envelope.rcptTo`). */
  rcpt?: string;
  /** Aborted when the check's time is up or the client went away. */
  signal: AbortSignal;
  /** Carries the transaction id (`tid`) and client; checks add only what they saw. */
  log: Logger;
  /** RFC 8601 method results (`spf=pass smtp.mailfrom=…`) that checks contribute for our Authentication-Results. */
  authResults: string[];
}

export interface Check {
  name: string;
  /** Symbol family: a throw or time-out of this check becomes `<FAMILY>_ERROR`. */
  family: string;
  stage: Stage;
  /** Per-check time limit; the pipeline default applies when absent. */
  timeoutMs?: number;
  /**
   * rcpt stage: runs after the stage's other checks, and only when they did not refuse. A check that counts
   * (rate limits) must not count a recipient that greylisting defers: its retry would count again.
   */
  late?: boolean;
  run(ctx: ScanContext): Promise<SymbolHit[]>;
}

export interface ScoredSymbol {
  name: string;
  score: number;
  detail?: string;
}

export interface Verdict {
  action: Action;
  score: number;
  /** The `tag` threshold, shown as `required=` in X-Spam-Status. */
  required: number;
  symbols: ScoredSymbol[];
  /** The rule that decided the action regardless of score, if any. */
  forcedBy?: string;
}
