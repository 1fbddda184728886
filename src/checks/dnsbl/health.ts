// RFC 5782 §5 self-test of every blocklist zone: the test entry must be listed and the
// "unlisted" entry must not be. A zone that fails (gone, wildcarded, refusing us) is switched
// off with an error log until a later test passes, so a dead list can never list the world.
import type { Logger } from 'pino';
import { isNegativeDnsError, type DnsResolver } from '../../dns/types.ts';
import { blockedMeaning, resolveA } from './lookup.ts';
import type { BlocklistZone } from './zone.ts';

export type SelfTestOutcome =
  | { result: 'pass' }
  /** The zone answers wrongly: it is switched off. `blockedCode`: the list refuses our queries with this code. */
  | { result: 'fail'; reason: string; blockedCode?: string }
  /** DNS trouble: nothing learnt, the zone keeps its state. */
  | { result: 'unknown'; reason: string };

export interface ZoneHealthOptions {
  zones: readonly BlocklistZone[];
  resolver: DnsResolver;
  log: Logger;
  /** Time between two test rounds. */
  intervalMs: number;
  /** Time limit of one test query. */
  timeoutMs: number;
}

export class ZoneHealth {
  private readonly options: ZoneHealthOptions;
  private readonly disabled = new Set<BlocklistZone>();
  private timer: NodeJS.Timeout | undefined;
  private round: Promise<void> | undefined;
  private readonly stopping = new AbortController();

  constructor(options: ZoneHealthOptions) {
    this.options = options;
  }

  /** Tests every zone once (bounded by the query time limit), then again every interval. */
  async start(): Promise<void> {
    await this.testAll();
    this.schedule();
  }

  /** Stops the periodic tests and abandons a round in flight. */
  async stop(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.stopping.abort();
    await this.round;
  }

  isEnabled(zone: BlocklistZone): boolean {
    return !this.disabled.has(zone);
  }

  /** The zones that are currently trusted. */
  enabled(zones: readonly BlocklistZone[]): BlocklistZone[] {
    return zones.filter((z) => !this.disabled.has(z));
  }

  /** Zones (by zone name) that failed their last self-test: what a scan worker thread must also skip. */
  disabledZones(): string[] {
    return [...this.disabled].map((z) => z.zone);
  }

  /** Takes over another instance's findings (a scan worker thread runs no self-tests of its own). */
  adoptDisabled(zones: readonly string[]): void {
    this.disabled.clear();
    for (const zone of this.options.zones) if (zones.includes(zone.zone)) this.disabled.add(zone);
  }

  /** One test round over all zones, concurrently; exposed so tests need not wait for the timer. */
  testAll(): Promise<void> {
    this.round ??= Promise.all(this.options.zones.map((z) => this.testAndApply(z))).then(() => {
      this.round = undefined;
    });
    return this.round;
  }

  async test(zone: BlocklistZone): Promise<SelfTestOutcome> {
    const entries = zone.selfTest;
    if (!entries) return { result: 'pass' };
    const signal = AbortSignal.any([this.stopping.signal, AbortSignal.timeout(this.options.timeoutMs)]);
    let listed: string[];
    let unlisted: string[];
    try {
      [listed, unlisted] = await Promise.all([this.ask(zone, entries.listed, signal), this.ask(zone, entries.unlisted, signal)]);
    } catch (err) {
      return { result: 'unknown', reason: (err as { code?: string }).code ?? (err as Error).message };
    }
    const listedAnswer = zone.interpret(listed);
    if (listedAnswer.blockedCode) {
      return {
        result: 'fail',
        reason: `answers ${listedAnswer.blockedCode}: ${blockedMeaning(listedAnswer.blockedCode)}`,
        blockedCode: listedAnswer.blockedCode,
      };
    }
    if (unlisted.length > 0 && !zone.interpret(unlisted).blockedCode) {
      return { result: 'fail', reason: `lists ${entries.unlisted}, which must not be listed (the zone answers for everything)` };
    }
    if (listedAnswer.listings.length === 0) {
      return {
        result: 'fail',
        reason: listed.length ? `test entry ${entries.listed} answers ${listed.join(',')}, no listing code` : `test entry ${entries.listed} is not listed`,
      };
    }
    return { result: 'pass' };
  }

  private async testAndApply(zone: BlocklistZone): Promise<void> {
    const outcome = await this.test(zone);
    const { log } = this.options;
    if (outcome.result === 'fail') {
      if (!this.disabled.has(zone)) {
        this.disabled.add(zone);
        log.error({ list: zone.name, reason: outcome.reason }, 'blocklist failed its self-test and is switched off');
      }
    } else if (outcome.result === 'pass') {
      if (this.disabled.delete(zone)) log.info({ list: zone.name }, 'blocklist passes its self-test again and is switched back on');
    } else if (!this.stopping.signal.aborted) {
      log.warn({ list: zone.name, reason: outcome.reason }, 'blocklist self-test could not run; the list keeps its state');
    }
  }

  /** The A records of `entry` in the zone; [] when it is not listed; throws on DNS trouble. */
  private async ask(zone: BlocklistZone, entry: string, signal: AbortSignal): Promise<string[]> {
    try {
      return await resolveA(this.options.resolver, zone.queryName(entry), signal);
    } catch (err) {
      if (isNegativeDnsError(err)) return [];
      throw err;
    }
  }

  private schedule(): void {
    if (this.stopping.signal.aborted || !this.options.zones.some((z) => z.selfTest)) return;
    this.timer = setTimeout(() => {
      void this.testAll().finally(() => this.schedule());
    }, this.options.intervalMs);
    // The self-test alone must not keep the process alive.
    this.timer.unref();
  }
}
