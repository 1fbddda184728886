// Runs the checks of each stage concurrently, each under a time limit, and scores what they found.
// A check that throws or runs out of time becomes `<FAMILY>_ERROR` and a warn line, never a crash.
import type { Logger } from 'pino';
import type { Check, Envelope, MessageContent, ScanContext, Stage, SymbolHit, Verdict } from './types.ts';
import { score, type ScoringPolicy } from './scorer.ts';
import { errorSymbol } from './symbols.ts';
import type { RemoteDataStage } from './worker-pool.ts';
import { deadline, type Deadline } from '../util/deadline.ts';
import { readMail } from '../mail/mime.ts';

export interface PipelineOptions {
  checks: readonly Check[];
  policy: ScoringPolicy;
  /** Default per-check time limit. */
  timeoutMs: number;
  log: Logger;
  /** Observes how long each check took (the admin metrics); optional. */
  metrics?: { check(name: string, seconds: number, ok: boolean): void };
  /** `checks.maxScanSize`: the content checks parse at most this many bytes of a message. */
  maxScanSize?: number;
}

/** What the checks of one stage found. */
export interface StageOutcome {
  hits: SymbolHit[];
  authResults: string[];
}

export interface ScanResult {
  verdict: Verdict;
  /** Method results for our Authentication-Results header. */
  authResults: string[];
  raw: Buffer;
  /** The parsed message; absent when the data stage ran on a worker thread. */
  message?: MessageContent;
}

export class Pipeline {
  readonly options: PipelineOptions;
  /** Set by the gateway when `checks.workers` > 0: the data stage then runs on worker threads. */
  remote?: RemoteDataStage;
  /** The checks of each stage, all and split by `late`, in config order: chosen once, not per message. */
  private readonly byStage = new Map<string, readonly Check[]>();

  constructor(options: PipelineOptions) {
    this.options = options;
  }

  /** The checks of `stage` (with `late`: only the late ones, or only the others). */
  private checksOf(stage: Stage, late?: boolean): readonly Check[] {
    const key = late === undefined ? stage : `${stage} ${late}`;
    let checks = this.byStage.get(key);
    if (!checks) {
      checks = this.options.checks.filter((c) => c.stage === stage && (late === undefined || Boolean(c.late) === late));
      this.byStage.set(key, checks);
    }
    return checks;
  }

  /** The data stage on a worker thread; if the worker fails, every data-stage family reports `<FAMILY>_ERROR`. */
  async runRemoteData(remote: RemoteDataStage, tid: string, envelope: Envelope, raw: Buffer, log: Logger, signal: AbortSignal): Promise<StageOutcome> {
    try {
      const reply = await remote.run(tid, envelope, raw, signal);
      return { hits: reply.hits, authResults: reply.authResults };
    } catch (err) {
      log.warn({ err: (err as Error).message }, 'data stage failed on its worker thread');
      const families = new Set(this.checksOf('data').map((c) => c.family));
      return { hits: [...families].map((family) => ({ name: errorSymbol(family), detail: 'scan worker' })), authResults: [] };
    }
  }

  /**
   * Runs the checks of one stage. The envelope is read when each check starts, so the SMTP layer
   * may fill it in as the dialogue goes on.
   */
  async runStage(stage: Stage, tid: string, envelope: Envelope, log: Logger, signal: AbortSignal, message?: MessageContent, rcpt?: string, late?: boolean): Promise<StageOutcome> {
    const outcome: StageOutcome = { hits: [], authResults: [] };
    const checks = this.checksOf(stage, late);
    // One time limit per distinct limit of the stage, not one per check: its checks all start now.
    const limits = new Map<number, StageLimit>();
    const ctx: ScanContext = { tid, envelope, message, rcpt, signal, log, authResults: outcome.authResults };
    // Each limit counts all its checks before any starts: one that fails at once must not let go of the others' timer.
    const runs = checks.map((check) => {
      const ms = check.timeoutMs ?? this.options.timeoutMs;
      let limit = limits.get(ms);
      if (!limit) limits.set(ms, (limit = new StageLimit(signal, ms)));
      limit.running++;
      return { check, limit };
    });
    await Promise.all(runs.map(({ check, limit }) => this.runCheck(check, ctx, limit, outcome.hits)));
    return outcome;
  }

  hasStage(stage: Stage): boolean {
    return this.checksOf(stage).length > 0;
  }

  /**
   * Starts the scan of one transaction. `log` must already carry the transaction id (`tid`); checks log through it.
   * `connect` is the connection's connect-stage outcome, shared by its transactions.
   */
  begin(tid: string, envelope: Envelope, log: Logger = this.options.log, connect?: Promise<StageOutcome>): ScanSession {
    return new ScanSession(this, tid, envelope, log, connect);
  }

  /** The whole pipeline on one message without sockets: the tests' and `sluice check`'s entry point. */
  async scan(envelope: Envelope, raw: Buffer, tid = 'scan'): Promise<ScanResult> {
    const session = this.begin(tid, envelope, this.options.log.child({ tid }));
    session.start('connect');
    session.start('mail');
    return session.finish(raw);
  }

  private async runCheck(check: Check, ctx: ScanContext, limit: StageLimit, into: SymbolHit[]): Promise<void> {
    const checkCtx: ScanContext = { ...ctx, signal: limit.signal };
    const started = performance.now();
    let ok = false;
    try {
      into.push(...(await Promise.race([check.run(checkCtx), limit.expired])));
      ok = true;
    } catch (err) {
      ctx.log.warn({ check: check.name, err: (err as Error).message }, 'check failed');
      into.push({ name: errorSymbol(check.family), detail: check.name });
    } finally {
      limit.release();
      this.options.metrics?.check(check.name, (performance.now() - started) / 1000, ok);
    }
  }
}

/**
 * The time limit of the checks of one stage run that share a limit: one timer and one signal for them
 * all, let go of once the last of them has settled.
 */
class StageLimit {
  readonly signal: AbortSignal;
  /** Rejects when the time is up, before the signal aborts. */
  readonly expired: Promise<never>;
  /** Checks under this limit that have not settled yet. */
  running = 0;
  private readonly time: Deadline;

  constructor(parent: AbortSignal, ms: number) {
    let expire: (reason: Error) => void = () => {};
    this.expired = new Promise<never>((_, reject) => { expire = reject; });
    // The race is lost first, then the checks are told: one that settles on abort must not win with a partial answer.
    this.time = deadline(parent, ms, () => new Error(`timed out after ${ms} ms`), (reason) => expire(reason));
    this.signal = this.time.signal;
  }

  release(): void {
    if (--this.running === 0) this.time.done();
  }
}

/** One transaction's scan: stages are started as the SMTP dialogue reaches them. */
export class ScanSession {
  readonly tid: string;
  readonly envelope: Envelope;
  private readonly pipeline: Pipeline;
  private readonly log: Logger;
  private readonly controller = new AbortController();
  private readonly stages: Promise<StageOutcome>[] = [];

  constructor(pipeline: Pipeline, tid: string, envelope: Envelope, log: Logger, connect?: Promise<StageOutcome>) {
    this.pipeline = pipeline;
    this.tid = tid;
    this.envelope = envelope;
    this.log = log;
    if (connect) this.stages.push(connect);
  }

  start(stage: 'connect' | 'mail'): void {
    this.stages.push(this.pipeline.runStage(stage, this.tid, this.envelope, this.log, this.controller.signal));
  }

  /** The verdict on what is known before the body: the connect and mail stages. */
  async preDataVerdict(): Promise<Verdict> {
    return score(await this.knownHits(), this.pipeline.options.policy);
  }

  private async knownHits(): Promise<SymbolHit[]> {
    return (await Promise.all(this.stages)).flatMap((o) => o.hits);
  }

  /**
   * The pre-DATA verdict with one more recipient: what is known so far, then this recipient's own checks
   * (greylisting, rate limits). `own`: the refusal, if any, is this recipient's alone, and the others keep
   * their chance; an accepted recipient's findings join the message's.
   */
  async recipientVerdict(rcpt: string): Promise<{ verdict: Verdict; own: boolean }> {
    const hits = await this.knownHits();
    const known = score(hits, this.pipeline.options.policy);
    if (refuses(known) || !this.pipeline.hasStage('rcpt')) return { verdict: known, own: false };
    const own: StageOutcome = { hits: [], authResults: [] };
    let verdict = known;
    for (const late of [false, true]) {
      const outcome = await this.pipeline.runStage('rcpt', this.tid, this.envelope, this.log, this.controller.signal, undefined, rcpt, late);
      own.hits.push(...outcome.hits);
      own.authResults.push(...outcome.authResults);
      verdict = score([...hits, ...own.hits], this.pipeline.options.policy);
      if (refuses(verdict)) return { verdict, own: true };
    }
    this.stages.push(Promise.resolve(own));
    return { verdict, own: false };
  }

  async finish(raw: Buffer): Promise<ScanResult> {
    const { remote } = this.pipeline;
    let message: MessageContent | undefined;
    let data: Promise<StageOutcome>;
    if (remote) {
      data = this.pipeline.runRemoteData(remote, this.tid, this.envelope, raw, this.log, this.controller.signal);
    } else {
      message = parseMessage(raw, this.pipeline.options.maxScanSize);
      logParse(message, this.log);
      data = this.pipeline.runStage('data', this.tid, this.envelope, this.log, this.controller.signal, message);
    }
    const outcomes = await Promise.all([...this.stages, data]);
    return {
      verdict: score(outcomes.flatMap((o) => o.hits), this.pipeline.options.policy),
      authResults: outcomes.flatMap((o) => o.authResults),
      raw,
      message,
    };
  }

  /** The client went away: stop whatever is still running. */
  abort(): void {
    this.controller.abort();
  }
}

function refuses(verdict: Verdict): boolean {
  return verdict.action === 'reject' || verdict.action === 'tempfail';
}

/** What a parse leaves for the operator: that it failed, or that only the message's beginning was read. */
export function logParse(message: MessageContent, log: Logger): void {
  if (message.parseError) log.warn({ err: message.parseError }, 'message could not be parsed');
  if (message.parsedBytes) log.debug({ size: message.raw.length, parsedBytes: message.parsedBytes }, 'large message: content checks read its beginning');
}

/**
 * Parses once for every check, synchronously (src/mail/mime.ts). `text` is only what the message
 * itself carries: the checks read the HTML themselves (Bayes with its own light rendering, the URI
 * lists and GTUBE from the markup).
 */
export function parseMessage(raw: Buffer, maxBytes?: number): MessageContent {
  // A larger message is parsed up to the last line end within the limit: its text parts come first.
  let scanned = raw;
  if (maxBytes !== undefined && raw.length > maxBytes) {
    const lineEnd = raw.lastIndexOf(0x0a, maxBytes - 1);
    scanned = raw.subarray(0, lineEnd > 0 ? lineEnd + 1 : maxBytes);
  }
  const cut = scanned.length < raw.length ? { parsedBytes: scanned.length } : {};
  try {
    return { raw, parsed: readMail(scanned), ...cut };
  } catch (err) {
    return { raw, parsed: null, parseError: (err as Error).message, ...cut };
  }
}
