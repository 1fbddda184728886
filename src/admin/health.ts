// Readiness: the store answers now, and the downstream answered a probe within the last interval.
// The downstream is probed in the background, so /readyz itself stays fast and never opens SMTP sessions.
// On Redis the report shows the servers behind the store too; they do not change whether it is ready.
import type { Logger } from 'pino';
import type { Store, StoreTopology } from '../store/types.ts';

export interface ReadinessReport {
  ready: boolean;
  store: { ok: boolean; error?: string; topology?: StoreTopology | { error: string } };
  downstream: { ok: boolean; checkedAt?: string; ageMs?: number };
}

const STORE_PING_LIMIT_MS = 2000;

export class Readiness {
  private readonly store: Store;
  private readonly verify: () => Promise<boolean>;
  private readonly intervalMs: number;
  private readonly log: Logger;
  private timer?: NodeJS.Timeout;
  private lastOk?: number;
  private lastResult?: boolean;

  constructor(options: { store: Store; verifyDownstream: () => Promise<boolean>; intervalMs: number; log: Logger }) {
    this.store = options.store;
    this.verify = options.verifyDownstream;
    this.intervalMs = options.intervalMs;
    this.log = options.log;
  }

  start(): void {
    void this.probe();
    this.timer = setInterval(() => void this.probe(), this.intervalMs).unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  async probe(): Promise<boolean> {
    const ok = await this.verify().catch(() => false);
    if (ok) this.lastOk = Date.now();
    // Log changes only: a probe every interval would otherwise fill the log.
    if (ok !== this.lastResult) {
      if (ok) this.log.info('downstream reachable');
      else this.log.warn('downstream not reachable');
    }
    this.lastResult = ok;
    return ok;
  }

  async report(): Promise<ReadinessReport> {
    const [ping, topology] = await Promise.all([
      withinLimit(this.store.ping()),
      this.store.topology ? withinLimit(this.store.topology(STORE_PING_LIMIT_MS)) : undefined,
    ]);
    const store: ReadinessReport['store'] = ping.ok ? { ok: true } : { ok: false, error: ping.error };
    if (topology) store.topology = topology.ok ? topology.value : { error: topology.error };
    const age = this.lastOk === undefined ? undefined : Date.now() - this.lastOk;
    // A probe may be in flight when the interval ends: allow one more interval before calling it stale.
    const downstream: ReadinessReport['downstream'] = { ok: age !== undefined && age <= 2 * this.intervalMs && this.lastResult === true };
    if (this.lastOk !== undefined) {
      downstream.checkedAt = new Date(this.lastOk).toISOString();
      downstream.ageMs = age;
    }
    return { ready: store.ok && downstream.ok, store, downstream };
  }
}

/** Settles within STORE_PING_LIMIT_MS: with the value, or with why not. */
async function withinLimit<T>(work: Promise<T>): Promise<{ ok: true; value: T } | { ok: false; error: string }> {
  let timer: NodeJS.Timeout | undefined;
  try {
    const value = await Promise.race([
      work,
      new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${STORE_PING_LIMIT_MS} ms`)), STORE_PING_LIMIT_MS); }),
    ]);
    return { ok: true, value };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  } finally {
    clearTimeout(timer);
  }
}
