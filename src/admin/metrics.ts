// What the gateway counts, in one object passed to the parts that observe it (no globals): the SMTP edge,
// the pipeline, the relay, the store. Exposed in Prometheus text format at /metrics; per-minute counts
// by action are also kept in memory for the quarantine page's overview chart.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { Action } from '../scan/types.ts';
import type { Store } from '../store/types.ts';
import { GREYLIST_AUTOWHITELIST, GREYLIST_PASSED } from '../checks/greylist/index.ts';

/** What stopped a message before its body: the traffic controls counted on their own. */
export type TrafficCause = 'greylist' | 'ratelimit';

export const ACTIONS: readonly Action[] = ['accept', 'tag', 'quarantine', 'reject', 'tempfail'];

/** What the DNS layer reports (CachingResolver's `stats`): cumulative counts since start. */
export interface DnsStatsSource {
  readonly stats: { lookups: number; cacheHits: number; queries: number; failures: number; coalesced?: number };
}

/** How a relay attempt ended, for the failure counter. */
export type RelayFailure = 'refused' | 'deferred' | 'timeout' | 'unavailable';

const MINUTE = 60_000;
/** The overview keeps one day of per-minute buckets. */
const MINUTES_KEPT = 24 * 60;

export interface OverviewSeries {
  /** Start of the first bucket (ms) and bucket width (ms). */
  start: number;
  step: number;
  counts: Record<Action, number[]>;
  totals: Record<Action, number>;
}

export class Metrics {
  readonly registry = new Registry();
  private readonly messages: Counter<'action'>;
  private readonly symbols: Counter<'symbol'>;
  private readonly replies: Counter<'code'>;
  private readonly refusedBeforeData: Counter;
  private readonly savedBytes: Counter;
  private readonly checkSeconds: Histogram<'check' | 'outcome'>;
  private readonly relaySeconds: Histogram<'outcome'>;
  private readonly relayFailures: Counter<'reason'>;
  private readonly storeErrors: Counter<'op'>;
  private readonly greylistDeferred: Counter;
  private readonly greylistPassed: Counter;
  private readonly greylistAutoWhitelisted: Counter;
  private readonly rateLimited: Counter<'symbol'>;
  private readonly bytesNotReceived: Counter<'cause'>;
  /** Force rules of greylisting and rate limits, by symbol (from the config). */
  private causes: Readonly<Record<string, TrafficCause>> = {};
  /** Messages received and their bytes: the mean stands in for a size a refused client did not announce. */
  private receivedCount = 0;
  private receivedBytes = 0;
  private readonly connections: Gauge;
  private readonly dnsSources: DnsStatsSource[] = [];
  private quarantineSource?: () => Promise<number>;
  /** Ring of per-minute counts by action: minute number (ms / 60000) → counts. */
  private readonly minutes = new Map<number, Record<Action, number>>();
  private readonly now: () => number;

  constructor(options: { now?: () => number; processMetrics?: boolean } = {}) {
    this.now = options.now ?? Date.now;
    const registers = [this.registry];
    // A registry per gateway: several gateways in one process (the tests) must not share counters.
    this.messages = new Counter({ name: 'sluice_messages_total', help: 'Messages judged, by action (refusals before DATA included)', labelNames: ['action'], registers });
    this.symbols = new Counter({ name: 'sluice_symbols_total', help: 'Symbols fired, by name', labelNames: ['symbol'], registers });
    this.replies = new Counter({ name: 'sluice_smtp_replies_total', help: 'SMTP replies sent to clients, by code', labelNames: ['code'], registers });
    this.refusedBeforeData = new Counter({ name: 'sluice_refused_before_data_total', help: 'Transactions refused before the body was sent', registers });
    this.savedBytes = new Counter({ name: 'sluice_refused_before_data_bytes_total', help: 'Bytes the refused clients announced with SIZE= and never sent', registers });
    this.checkSeconds = new Histogram({
      name: 'sluice_check_duration_seconds',
      help: 'Time each check took, by check and outcome (ok, error)',
      labelNames: ['check', 'outcome'],
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    });
    this.relaySeconds = new Histogram({
      name: 'sluice_relay_duration_seconds',
      help: 'Time the downstream took to accept or refuse a message, by outcome (ok, error)',
      labelNames: ['outcome'],
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
      registers,
    });
    this.relayFailures = new Counter({ name: 'sluice_relay_failures_total', help: 'Relay attempts the downstream did not accept, by reason', labelNames: ['reason'], registers });
    this.storeErrors = new Counter({ name: 'sluice_store_errors_total', help: 'Failed store operations, by operation', labelNames: ['op'], registers });
    this.greylistDeferred = new Counter({ name: 'sluice_greylist_deferred_total', help: 'Messages deferred by greylisting (first attempts and early retries)', registers });
    this.greylistPassed = new Counter({ name: 'sluice_greylist_passed_total', help: 'Messages accepted on a retry within the greylisting window', registers });
    this.greylistAutoWhitelisted = new Counter({ name: 'sluice_greylist_autowhitelisted_total', help: 'Client networks auto-whitelisted after their passes', registers });
    this.rateLimited = new Counter({ name: 'sluice_ratelimited_total', help: 'Messages deferred or refused by a rate limit, by symbol', labelNames: ['symbol'], registers });
    this.bytesNotReceived = new Counter({
      name: 'sluice_bytes_not_received_total',
      help: 'Bytes refused before DATA by greylisting or rate limits (announced SIZE, else the mean received size); part of sluice_refused_before_data_bytes_total',
      labelNames: ['cause'],
      registers,
    });
    this.connections = new Gauge({ name: 'sluice_smtp_connections_open', help: 'SMTP client connections open now', registers });
    const metrics = this;
    new Gauge({
      name: 'sluice_quarantine_messages',
      help: 'Messages held in the quarantine',
      registers,
      async collect() {
        if (!metrics.quarantineSource) return;
        try {
          this.set(await metrics.quarantineSource());
        } catch {
          metrics.storeError('quarantine.count');
        }
      },
    });
    // The DNS layer keeps its own cumulative counts; they are read at scrape time.
    const dnsCounter = (name: string, help: string, field: 'lookups' | 'cacheHits' | 'queries' | 'failures') =>
      new Counter({
        name, help, registers,
        collect() {
          this.reset();
          const total = metrics.dnsSources.reduce((sum, s) => sum + s.stats[field], 0);
          if (total) this.inc(total);
        },
      });
    dnsCounter('sluice_dns_lookups_total', 'Questions asked of the DNS layer', 'lookups');
    dnsCounter('sluice_dns_cache_hits_total', 'Questions answered from the DNS cache', 'cacheHits');
    dnsCounter('sluice_dns_queries_total', 'Questions sent to the network', 'queries');
    dnsCounter('sluice_dns_failures_total', 'Questions that failed (timeouts, SERVFAIL, refused)', 'failures');
    new Gauge({
      name: 'sluice_dns_cache_hit_ratio',
      help: 'Share of DNS questions answered from the cache since start',
      registers,
      collect() {
        const lookups = metrics.dnsSources.reduce((sum, s) => sum + s.stats.lookups, 0);
        const hits = metrics.dnsSources.reduce((sum, s) => sum + s.stats.cacheHits, 0);
        this.set(lookups ? hits / lookups : 0);
      },
    });
    // The event loop lag is sampled every 50 ms, not prom-client's 10: each sample wakes an idle loop,
    // and 100 wake-ups a second cost an idle gateway 13 ms of CPU a second (4.5 at 50 ms).
    if (options.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'sluice_', eventLoopMonitoringPrecision: 50 });
  }

  /**
   * One judged message: called once per transaction, where the `verdict` log line is written (and once per
   * recipient refused on its own). `refusedBeforeData.savedBytes`: the size the client announced; absent,
   * the mean size of the messages received stands in. `seen.size`: the bytes of a received message.
   */
  verdict(action: Action, symbols: readonly { name: string }[], refusedBeforeData?: { savedBytes?: number }, seen: { forcedBy?: string; size?: number } = {}): void {
    this.messages.inc({ action });
    for (const s of symbols) {
      this.symbols.inc({ symbol: s.name });
      if (s.name === GREYLIST_PASSED && action !== 'tempfail' && action !== 'reject') this.greylistPassed.inc();
      if (s.name === GREYLIST_AUTOWHITELIST) this.greylistAutoWhitelisted.inc();
    }
    if (seen.size) {
      this.receivedCount++;
      this.receivedBytes += seen.size;
    }
    const cause = seen.forcedBy !== undefined && (action === 'tempfail' || action === 'reject') ? this.causes[seen.forcedBy] : undefined;
    if (cause === 'greylist') this.greylistDeferred.inc();
    if (cause === 'ratelimit') this.rateLimited.inc({ symbol: seen.forcedBy! });
    if (refusedBeforeData) {
      this.refusedBeforeData.inc();
      const bytes = refusedBeforeData.savedBytes ?? (this.receivedCount ? Math.round(this.receivedBytes / this.receivedCount) : 0);
      if (bytes > 0) {
        this.savedBytes.inc(bytes);
        if (cause) this.bytesNotReceived.inc({ cause }, bytes);
      }
    }
    const minute = Math.floor(this.now() / MINUTE);
    let bucket = this.minutes.get(minute);
    if (!bucket) {
      bucket = { accept: 0, tag: 0, quarantine: 0, reject: 0, tempfail: 0 };
      this.minutes.set(minute, bucket);
      for (const m of this.minutes.keys()) if (m <= minute - MINUTES_KEPT) this.minutes.delete(m);
    }
    bucket[action]++;
  }

  /** Which force rules are greylisting's and which rate limits' (the gateway sets them from its config). */
  trafficCauses(causes: Readonly<Record<string, TrafficCause>>): void {
    this.causes = causes;
  }

  smtpReply(code: number): void {
    this.replies.inc({ code: String(code) });
  }

  connectionOpened(): void {
    this.connections.inc();
  }

  connectionClosed(): void {
    this.connections.dec();
  }

  check(name: string, seconds: number, ok: boolean): void {
    this.checkSeconds.observe({ check: name, outcome: ok ? 'ok' : 'error' }, seconds);
  }

  relay(seconds: number, failure?: RelayFailure): void {
    this.relaySeconds.observe({ outcome: failure ? 'error' : 'ok' }, seconds);
    if (failure) this.relayFailures.inc({ reason: failure });
  }

  storeError(op: string): void {
    this.storeErrors.inc({ op });
  }

  /** The DNS layer's counters are read at each scrape. */
  trackDns(source: DnsStatsSource): void {
    this.dnsSources.push(source);
  }

  /** The quarantine size is counted at each scrape. */
  trackQuarantine(count: () => Promise<number>): void {
    this.quarantineSource = count;
  }

  /**
   * Counts by action over the last `minutes`, in buckets of `step` minutes, oldest first. Kept in memory by
   * this process since it started (Prometheus keeps the long history): cheap, and it covers refusals,
   * which the store never sees.
   */
  overview(minutes = 60, step = 1): OverviewSeries {
    const span = Math.min(Math.max(1, Math.floor(minutes)), MINUTES_KEPT);
    const width = Math.min(Math.max(1, Math.floor(step)), span);
    const buckets = Math.ceil(span / width);
    const last = Math.floor(this.now() / MINUTE);
    const first = last - buckets * width + 1;
    const counts = Object.fromEntries(ACTIONS.map((a) => [a, new Array<number>(buckets).fill(0)])) as Record<Action, number[]>;
    const totals = Object.fromEntries(ACTIONS.map((a) => [a, 0])) as Record<Action, number>;
    for (const [minute, bucket] of this.minutes) {
      if (minute < first || minute > last) continue;
      const i = Math.floor((minute - first) / width);
      for (const a of ACTIONS) {
        counts[a][i] += bucket[a];
        totals[a] += bucket[a];
      }
    }
    return { start: first * MINUTE, step: width * MINUTE, counts, totals };
  }

  /** The store, with every failed operation counted. */
  instrumentStore(store: Store): Store {
    return instrumentStore(store, this);
  }

  text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}

/**
 * Wraps a store so that every failed operation is counted (`sluice_store_errors_total{op}`); the callers
 * still see the error. The wrapped object behaves exactly like the store.
 */
export function instrumentStore(store: Store, metrics: Metrics): Store {
  const wrap = <T extends object>(target: T, prefix: string): T =>
    new Proxy(target, {
      get(obj, key) {
        const value = Reflect.get(obj, key, obj);
        if (typeof value !== 'function' || typeof key !== 'string') return value;
        return (...args: unknown[]) => {
          let result: unknown;
          try {
            result = (value as (...a: unknown[]) => unknown).apply(obj, args);
          } catch (err) {
            metrics.storeError(prefix + key);
            throw err;
          }
          if (result instanceof Promise) result.catch(() => metrics.storeError(prefix + key));
          return result;
        };
      },
    });
  const quarantine = wrap(store.quarantine, 'quarantine.');
  const bayes = wrap(store.bayes, 'bayes.');
  const greylist = wrap(store.greylist, 'greylist.');
  const ratelimit = wrap(store.ratelimit, 'ratelimit.');
  const ping = wrap(store, '').ping;
  return new Proxy(store, {
    get(obj, key) {
      if (key === 'quarantine') return quarantine;
      if (key === 'bayes') return bayes;
      if (key === 'greylist') return greylist;
      if (key === 'ratelimit') return ratelimit;
      if (key === 'ping') return ping;
      const value = Reflect.get(obj, key, obj);
      return typeof value === 'function' ? value.bind(obj) : value;
    },
  });
}
