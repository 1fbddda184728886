// Runs the data stage (MIME parsing and the body checks: DKIM/ARC/DMARC, URI lists, Bayes) on worker
// threads, so scanning uses more than one core while the main thread keeps to SMTP and delivery.
// A worker that dies or hangs is replaced; the scans it held end as `<FAMILY>_ERROR`, like a check
// that timed out, so their messages still get a verdict.
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { writeLogLine } from '../log.ts';
import type { DnsStats } from '../dns/resolver.ts';
import type { Envelope, SymbolHit } from './types.ts';
import type { StageOutcome } from './pipeline.ts';
import type { SpfOutcome } from '../checks/auth/spf.ts';

/** What the main thread knows that a worker must also honour. */
export interface ScanContextForWorker {
  /** DNS lookups the transaction already made, so the per-message budget spans both threads. */
  dnsUsed: number;
  /** Blocklist zones the gateway's self-test switched off. */
  disabledZones: string[];
  /** SPF as evaluated at MAIL FROM, for DMARC: evaluating it again would cost lookups and could differ. */
  spf?: SpfOutcome;
}

export interface DataStageRequest extends ScanContextForWorker {
  tid: string;
  envelope: Envelope;
  /** The received message, its bytes alone in their buffer. */
  raw: Uint8Array;
}

export interface DataStageReply extends StageOutcome {
  parseError?: string;
}

/** Per-check timings since the last reply: `[check name, seconds, ok]`. */
export type CheckTiming = [string, number, boolean];

export type ToWorker =
  | { type: 'scan'; id: number; request: DataStageRequest }
  | { type: 'abort'; id: number }
  | { type: 'close' };

export type FromWorker =
  | { type: 'ready' }
  | { type: 'failed-to-start'; error: string }
  | { type: 'log'; line: string }
  | { type: 'result'; id: number; reply: DataStageReply; timings: CheckTiming[]; dns: DnsStats }
  | { type: 'error'; id: number; error: string; timings: CheckTiming[]; dns: DnsStats };

/** Where the data stage runs when it does not run on the main thread. */
export interface RemoteDataStage {
  run(tid: string, envelope: Envelope, raw: Buffer, signal: AbortSignal): Promise<DataStageReply>;
}

export interface WorkerPoolOptions {
  config: Readonly<Config>;
  size: number;
  log: Logger;
  /** Longest a scan may take before its worker is presumed stuck and replaced. */
  stuckAfterMs: number;
  /** The main thread's side of a transaction's scan: its DNS budget spent so far, the blocklist health. */
  context: (envelope: Envelope) => Promise<ScanContextForWorker>;
  /** Records per-check timings reported by the workers (the admin metrics). */
  onCheckTiming?: (name: string, seconds: number, ok: boolean) => void;
}

interface Pending {
  resolve(reply: DataStageReply): void;
  reject(err: Error): void;
  timer: NodeJS.Timeout;
}

interface Slot {
  worker: Worker;
  pending: Map<number, Pending>;
  dns: DnsStats;
}

// The same extension as this module: .ts when run from the sources, .js from the build in dist/.
const WORKER_URL = new URL(`./scan-worker${import.meta.url.slice(import.meta.url.lastIndexOf('.'))}`, import.meta.url);
const CLOSE_GRACE_MS = 5000;
const ZERO_DNS: DnsStats = { lookups: 0, cacheHits: 0, coalesced: 0, queries: 0, failures: 0 };

export class ScanWorkerPool implements RemoteDataStage {
  private readonly options: WorkerPoolOptions;
  private readonly slots: Slot[] = [];
  private nextId = 1;
  private closing = false;
  /** DNS counters of workers that were replaced, so the totals never go backwards. */
  private retiredDns: DnsStats = { ...ZERO_DNS };

  private constructor(options: WorkerPoolOptions) {
    this.options = options;
  }

  /** Starts `size` workers and waits until each has opened its store and built its checks. */
  static async start(options: WorkerPoolOptions): Promise<ScanWorkerPool> {
    const pool = new ScanWorkerPool(options);
    try {
      for (let i = 0; i < options.size; i++) pool.slots.push(await pool.spawn());
    } catch (err) {
      await pool.close();
      throw err;
    }
    return pool;
  }

  get size(): number {
    return this.slots.length;
  }

  /** DNS counters summed over the workers (a source for the admin metrics). */
  get stats(): DnsStats {
    const total = { ...this.retiredDns };
    for (const slot of this.slots) addStats(total, slot.dns);
    return total;
  }

  async run(tid: string, envelope: Envelope, raw: Buffer, signal: AbortSignal): Promise<DataStageReply> {
    const context = await this.options.context(envelope);
    if (this.closing) throw new Error('scan workers are closing');
    if (this.slots.length === 0) throw new Error('no scan worker is running');
    // The least busy worker: messages differ in cost, so round robin would queue behind a slow one.
    let slot = this.slots[0];
    for (const s of this.slots) if (s.pending.size < slot.pending.size) slot = s;
    const id = this.nextId++;
    const onAbort = () => slot.worker.postMessage({ type: 'abort', id } satisfies ToWorker);
    signal.addEventListener('abort', onAbort, { once: true });
    try {
      return await new Promise<DataStageReply>((resolve, reject) => {
        const timer = setTimeout(() => this.replace(slot), this.options.stuckAfterMs);
        slot.pending.set(id, { resolve, reject, timer });
        // The message's bytes in a buffer of their own, moved to the worker rather than cloned: most
        // messages are views into Node's shared 64 KB buffer pool, which cloning would copy whole.
        const bytes = new Uint8Array(raw);
        const request: DataStageRequest = { tid, envelope, raw: bytes, ...context };
        slot.worker.postMessage({ type: 'scan', id, request } satisfies ToWorker, [bytes.buffer]);
      });
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
  }

  /** Lets scans in flight finish (bounded), then stops every worker. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.slots.map(async (slot) => {
      const exited = new Promise((resolve) => slot.worker.once('exit', resolve));
      slot.worker.postMessage({ type: 'close' } satisfies ToWorker);
      const grace = setTimeout(() => void slot.worker.terminate(), CLOSE_GRACE_MS);
      await exited;
      clearTimeout(grace);
    }));
  }

  private spawn(): Promise<Slot> {
    const worker = new Worker(WORKER_URL, { workerData: { config: this.options.config } });
    const slot: Slot = { worker, pending: new Map(), dns: { ...ZERO_DNS } };
    return new Promise((resolve, reject) => {
      const failedToStart = (err: Error) => reject(new Error(`scan worker failed to start: ${err.message}`));
      worker.once('error', failedToStart);
      worker.once('exit', (code) => failedToStart(new Error(`exited with code ${code}`)));
      worker.on('message', (message: FromWorker) => {
        if (message.type === 'ready') {
          worker.removeAllListeners('error').removeAllListeners('exit');
          worker.on('error', (err) => this.options.log.error({ err: err.message }, 'scan worker failed'));
          worker.once('exit', (code) => this.exited(slot, code));
          resolve(slot);
        } else if (message.type === 'failed-to-start') {
          failedToStart(new Error(message.error));
        } else if (message.type === 'log') {
          writeLogLine(this.options.log, message.line);
        } else {
          this.settle(slot, message);
        }
      });
    });
  }

  private settle(slot: Slot, message: Extract<FromWorker, { type: 'result' | 'error' }>): void {
    slot.dns = message.dns;
    for (const [name, seconds, ok] of message.timings) this.options.onCheckTiming?.(name, seconds, ok);
    const pending = slot.pending.get(message.id);
    if (!pending) return;
    slot.pending.delete(message.id);
    clearTimeout(pending.timer);
    if (message.type === 'result') pending.resolve(message.reply);
    else pending.reject(new Error(message.error));
  }

  /** A scan that never ends means a stuck worker (a parser in a loop): it is stopped and replaced. */
  private replace(slot: Slot): void {
    const limit = this.options.stuckAfterMs;
    this.options.log.error({ limitMs: limit, inFlight: slot.pending.size }, 'scan worker stuck: replacing it');
    this.fail(slot, `a scan took longer than ${limit} ms`);
    void slot.worker.terminate();
  }

  private exited(slot: Slot, code: number): void {
    this.fail(slot, `scan worker exited (code ${code})`);
    if (this.closing) return;
    this.options.log.error({ code }, 'scan worker exited: starting a new one');
    this.spawn().then(
      (fresh) => {
        if (this.closing) void fresh.worker.terminate();
        else this.slots.push(fresh);
      },
      (err: Error) => this.options.log.error({ err: err.message }, 'scan worker could not be restarted'),
    );
  }

  /** Takes a worker out of service: its scans fail (and end as `<FAMILY>_ERROR`), its counters are kept. */
  private fail(slot: Slot, reason: string): void {
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    for (const pending of slot.pending.values()) {
      clearTimeout(pending.timer);
      pending.reject(new Error(reason));
    }
    slot.pending.clear();
    addStats(this.retiredDns, slot.dns);
    slot.dns = { ...ZERO_DNS };
  }
}

function addStats(into: DnsStats, from: DnsStats): void {
  into.lookups += from.lookups;
  into.cacheHits += from.cacheHits;
  into.coalesced += from.coalesced;
  into.queries += from.queries;
  into.failures += from.failures;
}
