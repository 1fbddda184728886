// The configured blocklist zones of both kinds, with their RFC 5782 health, as one object the
// gateway starts and stops. Checks ask it which zones are currently trusted.
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { DnsLayer, DnsResolver } from '../../dns/types.ts';
import { messageResolver } from '../../dns/budget.ts';
import type { Envelope, ScanContext, SymbolHit } from '../../scan/types.ts';
import { builtinSymbols } from '../../scan/symbols.ts';
import { ZoneHealth, type SelfTestOutcome } from './health.ts';
import { WarnLimiter, lookupAll, prefetch, type LookupItem } from './lookup.ts';
import { BlocklistZone } from './zone.ts';

export interface BlocklistsDeps {
  config: Readonly<Config>;
  /** The gateway's DNS layer; lookups for a message count against its per-message budget. */
  dns: DnsLayer;
  log: Logger;
}

/** A list refusing us (127.255.255.x) or answering nonsense is logged at most this often per list. */
const WARN_INTERVAL_MS = 10 * 60_000;

export class Blocklists {
  /** Client IP lists (`dnsbl.zones`); empty when `checks.dnsbl` is off. */
  readonly ipZones: readonly BlocklistZone[];
  /** Domain lists (`uribl.zones`); empty when `checks.uribl` is off. */
  readonly domainZones: readonly BlocklistZone[];
  private readonly dns: DnsLayer;
  private readonly maxQueriesPerMessage: number;
  private readonly warnings = new WarnLimiter(WARN_INTERVAL_MS);
  /** How long the lookups of one check may take before the unanswered ones count as errors. */
  readonly deadlineMs: number;
  private readonly ipHealth: ZoneHealth;
  private readonly domainHealth: ZoneHealth;

  constructor(deps: BlocklistsDeps) {
    const { config, dns, log } = deps;
    this.dns = dns;
    this.maxQueriesPerMessage = config.dns.maxQueriesPerMessage;
    this.ipZones = config.checks.dnsbl ? config.dnsbl.zones.map((z) => new BlocklistZone('ip', 'DNSBL', z)) : [];
    this.domainZones = config.checks.uribl ? config.uribl.zones.map((z) => new BlocklistZone('domain', 'URIBL', z)) : [];
    // Finish a little before the DNS layer's own time-out would, and well inside the check's time limit.
    this.deadlineMs = Math.max(100, Math.min(config.dns.timeoutMs + 250, config.checks.timeoutMs - 250));
    const healthLog = log.child({ component: 'blocklists' });
    this.ipHealth = new ZoneHealth({
      zones: this.ipZones, resolver: dns, log: healthLog, intervalMs: config.dnsbl.selfTestIntervalMs, timeoutMs: this.deadlineMs,
    });
    this.domainHealth = new ZoneHealth({
      zones: this.domainZones, resolver: dns, log: healthLog, intervalMs: config.uribl.selfTestIntervalMs, timeoutMs: this.deadlineMs,
    });
  }

  /** Self-tests every zone (bounded by the DNS time-out), then keeps testing them periodically. */
  async start(): Promise<void> {
    await Promise.all([this.ipHealth.start(), this.domainHealth.start()]);
  }

  async stop(): Promise<void> {
    await Promise.all([this.ipHealth.stop(), this.domainHealth.stop()]);
  }

  /** Runs one self-test round now (tests, and an operator's reload). */
  async selfTest(): Promise<void> {
    await Promise.all([this.ipHealth.testAll(), this.domainHealth.testAll()]);
  }

  /** The self-test outcome of every zone, asked now, switching none off (`sluice doctor`). */
  async testEach(): Promise<{ zone: BlocklistZone; outcome: SelfTestOutcome }[]> {
    const test = (health: ZoneHealth, zones: readonly BlocklistZone[]) => zones.map(async (zone) => ({ zone, outcome: await health.test(zone) }));
    return Promise.all([...test(this.ipHealth, this.ipZones), ...test(this.domainHealth, this.domainZones)]);
  }

  /** Zones switched off by their self-test, of both kinds. */
  disabledZones(): string[] {
    return [...this.ipHealth.disabledZones(), ...this.domainHealth.disabledZones()];
  }

  /** Mirrors the self-test findings of the gateway's own instance (in a scan worker thread). */
  adoptDisabled(zones: readonly string[]): void {
    this.ipHealth.adoptDisabled(zones);
    this.domainHealth.adoptDisabled(zones);
  }

  /** Client addresses in the IP lists that currently pass their self-test. */
  lookupIps(items: readonly LookupItem[], ctx: ScanContext): Promise<SymbolHit[]> {
    return this.lookup(items, this.enabledIpZones(), 'DNSBL', ctx);
  }

  /** Domains in the domain lists that currently pass their self-test. */
  lookupDomains(items: readonly LookupItem[], ctx: ScanContext): Promise<SymbolHit[]> {
    return this.lookup(items, this.enabledDomainZones(), 'URIBL', ctx);
  }

  /** Asks the IP lists without reporting: the answers wait in the DNS cache for `lookupIps`. */
  prefetchIps(items: readonly LookupItem[], ctx: ScanContext): Promise<void> {
    return prefetch(items, this.resolverFor(ctx.envelope), this.enabledIpZones(), ctx.signal, this.deadlineMs);
  }

  private lookup(items: readonly LookupItem[], zones: BlocklistZone[], family: string, ctx: ScanContext): Promise<SymbolHit[]> {
    return lookupAll(items, {
      resolver: this.resolverFor(ctx.envelope),
      zones,
      family,
      log: ctx.log,
      warnings: this.warnings,
      signal: ctx.signal,
      deadlineMs: this.deadlineMs,
    });
  }

  /** The resolver for lookups on behalf of one transaction: the shared per-message DNS budget applies. */
  resolverFor(envelope: Envelope): DnsResolver {
    return messageResolver(this.dns, envelope, this.maxQueriesPerMessage);
  }

  /**
   * Listing symbols with no weight in `scores` or the built-in table: they score nothing, which is
   * almost certainly a forgotten `scores` entry.
   */
  unweightedSymbols(scores: Readonly<Record<string, number>>): string[] {
    const table = builtinSymbols();
    const symbols = [...this.ipZones, ...this.domainZones].flatMap((z) => z.symbols());
    return [...new Set(symbols.filter((s) => scores[s] === undefined && table[s] === undefined))];
  }

  enabledIpZones(): BlocklistZone[] {
    return this.ipHealth.enabled(this.ipZones);
  }

  enabledDomainZones(): BlocklistZone[] {
    return this.domainHealth.enabled(this.domainZones);
  }
}
