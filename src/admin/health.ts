// Readiness: the store answers now, and the downstream answered a probe within the last interval.
// The downstream is probed in the background, so /readyz itself stays fast and never opens SMTP sessions.
import type { Logger } from 'pino';
import type { Store } from '../store/types.ts';

export interface ReadinessReport {
  ready: boolean;
  store: { ok: boolean; error?: string };
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
    const store: ReadinessReport['store'] = { ok: true };
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        this.store.ping(),
        new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`no answer within ${STORE_PING_LIMIT_MS} ms`)), STORE_PING_LIMIT_MS); }),
      ]);
    } catch (err) {
      store.ok = false;
      store.error = (err as Error).message;
    } finally {
      clearTimeout(timer);
    }
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
