// Runs the checks of each stage concurrently, each under a time limit, and scores what they found.
// A check that throws or runs out of time becomes `<FAMILY>_ERROR` and a warn line, never a crash.
import { simpleParser } from 'mailparser';
import type { Logger } from 'pino';
import type { Check, Envelope, MessageContent, ScanContext, Stage, SymbolHit, Verdict } from './types.ts';
import { score, type ScoringPolicy } from './scorer.ts';
import { errorSymbol } from './symbols.ts';

export interface PipelineOptions {
  checks: readonly Check[];
  policy: ScoringPolicy;
  /** Default per-check time limit. */
  timeoutMs: number;
  log: Logger;
}

export class Pipeline {
  readonly options: PipelineOptions;

  constructor(options: PipelineOptions) {
    this.options = options;
  }

  /** Starts the scan of one transaction; stages are run as the SMTP dialogue reaches them. */
  begin(tid: string, envelope: Envelope, log: Logger = this.options.log): ScanSession {
    return new ScanSession(this, tid, envelope, log);
  }

  /** The whole pipeline on one message without sockets: the tests' and `sluice check`'s entry point. */
  async scan(envelope: Envelope, raw: Buffer, tid = 'scan'): Promise<ScanResult> {
    const session = this.begin(tid, envelope);
    session.runStage('connect');
    session.runStage('mail');
    return session.finish(raw);
  }

  checksFor(stage: Stage): Check[] {
    return this.options.checks.filter((c) => c.stage === stage);
  }
}

export interface ScanResult {
  verdict: Verdict;
  /** Method results for our Authentication-Results header. */
  authResults: string[];
  message: MessageContent;
}

export class ScanSession {
  readonly tid: string;
  readonly envelope: Envelope;
  readonly hits: SymbolHit[] = [];
  readonly authResults: string[] = [];
  private readonly pipeline: Pipeline;
  private readonly log: Logger;
  private readonly controller = new AbortController();
  private readonly pending: Promise<void>[] = [];

  constructor(pipeline: Pipeline, tid: string, envelope: Envelope, log: Logger) {
    this.pipeline = pipeline;
    this.tid = tid;
    this.envelope = envelope;
    this.log = log;
  }

  /** Starts the checks of a stage; their results are awaited by `preDataVerdict` or `finish`. */
  runStage(stage: Exclude<Stage, 'data'>): void {
    this.pending.push(this.runChecks(stage));
  }

  /** The verdict on what is known before the body: connect and mail stage checks. */
  async preDataVerdict(): Promise<Verdict> {
    await Promise.all(this.pending);
    return score(this.hits, this.pipeline.options.policy);
  }

  async finish(raw: Buffer): Promise<ScanResult> {
    const message = await parseMessage(raw);
    if (message.parseError) this.log.warn({ tid: this.tid, err: message.parseError }, 'message could not be parsed');
    await Promise.all([...this.pending, this.runChecks('data', message)]);
    return {
      verdict: score(this.hits, this.pipeline.options.policy),
      authResults: this.authResults,
      message,
    };
  }

  /** The client went away: stop whatever is still running. */
  abort(): void {
    this.controller.abort();
  }

  private async runChecks(stage: Stage, message?: MessageContent): Promise<void> {
    const checks = this.pipeline.checksFor(stage);
    await Promise.all(checks.map((check) => this.runOne(check, message)));
  }

  private async runOne(check: Check, message: MessageContent | undefined): Promise<void> {
    const limit = check.timeoutMs ?? this.pipeline.options.timeoutMs;
    const timeout = new AbortController();
    const signal = AbortSignal.any([this.controller.signal, timeout.signal]);
    const ctx: ScanContext = {
      tid: this.tid,
      envelope: this.envelope,
      message,
      signal,
      log: this.log,
      authResults: this.authResults,
    };
    let timer: NodeJS.Timeout | undefined;
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timeout.abort();
        reject(new Error(`timed out after ${limit} ms`));
      }, limit);
    });
    try {
      const hits = await Promise.race([check.run(ctx), expired]);
      this.hits.push(...hits);
    } catch (err) {
      this.log.warn({ tid: this.tid, check: check.name, err: (err as Error).message }, 'check failed');
      this.hits.push({ name: errorSymbol(check.family), detail: check.name });
    } finally {
      clearTimeout(timer);
    }
  }
}

export async function parseMessage(raw: Buffer): Promise<MessageContent> {
  try {
    const parsed = await simpleParser(raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true });
    return { raw, parsed };
  } catch (err) {
    return { raw, parsed: null, parseError: (err as Error).message };
  }
}
