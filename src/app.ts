// The composition root: every component is built and wired here, and nowhere else.
import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import { buildChecks } from './checks/index.ts';
import { Pipeline, parseMessage, type ScanResult } from './scan/pipeline.ts';
import type { ScoringPolicy } from './scan/scorer.ts';
import { openStore } from './store/index.ts';
import type { Store } from './store/types.ts';
import { Quarantine } from './quarantine/quarantine.ts';
import { Relay } from './deliver/relay.ts';
import { DownstreamDsnProbe } from './deliver/downstream-probe.ts';
import { Delivery } from './deliver/delivery.ts';
import { SmtpGateway } from './smtp/server.ts';
import { createResolver } from './dns/resolver.ts';
import type { DnsLayer } from './dns/types.ts';
import { reverseLookup } from './dns/reverse.ts';
import { gtubeForceRules } from './checks/gtube.ts';
import { authForceRules, rejectTextFor as authRejectText } from './checks/auth/index.ts';
import { Blocklists, allowlistForceRules, blocklistRejectText } from './checks/dnsbl/index.ts';
import { bayesSettings } from './bayes/index.ts';
import { autolearnClass, bayesTrainer, type BayesTrainer } from './bayes/learner.ts';
import { ScanWorkerPool } from './scan/worker-pool.ts';
import { messageResolver } from './dns/budget.ts';
import { spfOutcomeOf } from './checks/auth/spf.ts';
import { greylistForceRules, greylistTempfailText } from './checks/greylist/index.ts';
import { rateLimitForceRules, rateLimitText } from './checks/ratelimit/index.ts';
import type { TrafficCause } from './admin/metrics.ts';
// Loaded only by `serve`, so one-shot commands (check, quarantine) start faster.
import type { Metrics } from './admin/metrics.ts';
import type { AdminServer } from './admin/server.ts';

/** Everything but the SMTP listener: what `check` and `quarantine` need too. */
export interface Core {
  config: Readonly<Config>;
  log: Logger;
  store: Store;
  pipeline: Pipeline;
  quarantine: Quarantine;
  relay: Relay;
  delivery: Delivery;
  /** The one DNS layer every check and the SMTP listener's reverse lookups go through. */
  dns: DnsLayer;
  /** Blocklist zones with their RFC 5782 self-test; started by the gateway, not by one-shot commands. */
  blocklists: Blocklists;
  /** What the gateway counts (absent in one-shot commands). */
  metrics?: Metrics;
  /**
   * Bayes training from the quarantine (admin API and page): learn a held message as ham (on release) or
   * as spam. Set by the Bayes wiring; absent, those actions answer 501.
   */
  learnHam?: (raw: Buffer) => Promise<unknown>;
  learnSpam?: (raw: Buffer) => Promise<unknown>;
  /** Bayes training after verdicts (autolearn) and from the quarantine; absent when `checks.bayes` is off. */
  trainer?: BayesTrainer;
  close(): Promise<void>;
}

export function scoringPolicy(config: Readonly<Config>): ScoringPolicy {
  // Rules from config come last: the operator has the final word on each symbol.
  const greylist = greylistForceRules(config);
  const force = { ...gtubeForceRules(config), ...authForceRules(config), ...allowlistForceRules(config), ...greylist.force, ...rateLimitForceRules(config), ...config.force };
  return { scores: config.scores, groupCaps: config.groupCaps, force, forceFrom: greylist.forceFrom, actions: config.actions };
}

export interface CoreOptions {
  metrics?: Metrics;
  /** Greylisting and rate limits (a gateway's, not a one-shot command's). */
  traffic?: boolean;
  /** Their clock; tests move it forward. */
  now?: () => number;
}

/** The force rules of greylisting and rate limits, for their own counters. */
function trafficCauses(config: Readonly<Config>): Record<string, TrafficCause> {
  const causes: Record<string, TrafficCause> = {};
  for (const symbol of Object.keys(greylistForceRules(config).force)) causes[symbol] = 'greylist';
  for (const symbol of Object.keys(rateLimitForceRules(config))) causes[symbol] = 'ratelimit';
  return causes;
}

export async function buildCore(config: Readonly<Config>, log: Logger, options: CoreOptions = {}): Promise<Core> {
  const { metrics } = options;
  const opened = await openStore(config.store, {
    tokenTtlDays: config.bayes.tokenTtlDays,
    quarantineReplicas: { replicas: config.quarantine.replicas, timeoutMs: config.quarantine.replicaTimeoutMs },
  });
  const store = metrics ? metrics.instrumentStore(opened) : opened;
  const dns = createResolver(config.dns);
  metrics?.trackDns(dns);
  const blocklists = new Blocklists({ config, dns, log });
  // Said once here, not again by each scan worker's own copy of the lists.
  const unweighted = blocklists.unweightedSymbols(config.scores);
  if (unweighted.length) log.warn({ symbols: unweighted }, 'blocklist symbols without a weight in `scores` score 0');
  const checks = buildChecks({ config, store, log, dns, blocklists, traffic: options.traffic, now: options.now });
  const pipeline = new Pipeline({ checks, policy: scoringPolicy(config), timeoutMs: config.checks.timeoutMs, log, metrics, maxScanSize: config.checks.maxScanSize });
  const quarantine = new Quarantine(config.quarantine.dir, config.quarantine.retentionDays, store.quarantine, log, store.quarantineMessages);
  metrics?.trackQuarantine(async () => (await quarantine.list({ limit: 0 })).total);
  const relay = new Relay({ ...config.relay, hostname: config.smtp.hostname, metrics }, log);
  const delivery = new Delivery({
    hostname: config.smtp.hostname, relay, quarantine, log,
    rejectReasons: [authRejectText, (verdict) => blocklistRejectText(verdict, config), rateLimitText(config)],
    tempfailReasons: [greylistTempfailText, rateLimitText(config)],
  });
  const trainer = config.checks.bayes
    ? bayesTrainer(store.bayes, config, bayesSettings(config), (err) => log.warn({ err: err.message }, 'autolearn failed'))
    : undefined;
  return {
    config, log, store, pipeline, quarantine, relay, delivery, dns, blocklists, metrics,
    trainer, learnHam: trainer?.learnHam, learnSpam: trainer?.learnSpam,
    async close() {
      await blocklists.stop();
      await trainer?.flush();
      relay.close();
      await store.close();
    },
  };
}

export interface Gateway {
  core: Core;
  smtp: SmtpGateway;
  /** The SMTP port actually bound (config port 0 picks a free one). */
  port: number;
  /** The operator's HTTP listener, when `admin.enabled`; `adminPort` is the port it bound. */
  admin?: AdminServer;
  adminPort?: number;
  stop(): Promise<void>;
}

const PURGE_INTERVAL_MS = 3_600_000;

export async function startGateway(config: Readonly<Config>, log: Logger, options: { now?: () => number } = {}): Promise<Gateway> {
  const { Metrics } = await import('./admin/metrics.ts');
  const metrics = new Metrics();
  metrics.trafficCauses(trafficCauses(config));
  const core = await buildCore(config, log, { metrics, traffic: true, now: options.now });
  const trainer = config.bayes.autolearn ? core.trainer : undefined;
  const smtp = new SmtpGateway({ config, pipeline: core.pipeline, delivery: core.delivery, log, metrics, reverse: reverseLookup(core.dns),
    onVerdict: trainer ? (result) => void autolearnFrom(result, trainer, config) : undefined,
  });
  let address;
  let workers: ScanWorkerPool | undefined;
  try {
    await core.blocklists.start(); // the first self-test of each zone, bounded by dns.timeoutMs
    if (config.checks.workers > 0) workers = await startWorkers(core, config, log, metrics);
    address = await smtp.listen();
  } catch (err) {
    await workers?.close();
    await core.close();
    throw err;
  }
  // The admin listener starts after SMTP and stops before it.
  let admin: AdminServer | undefined;
  let adminPort: number | undefined;
  if (config.admin.enabled) {
    try {
      const { AdminServer } = await import('./admin/server.ts');
      admin = new AdminServer({ config, core, metrics, log });
      adminPort = (await admin.listen()).port;
    } catch (err) {
      await smtp.close();
      await workers?.close();
      await core.close();
      throw err;
    }
  }
  // DSN is offered to clients only while the downstream offers it.
  const dsnProbe = new DownstreamDsnProbe({ ...config.relay, hostname: config.smtp.hostname }, (on) => smtp.offerDsn(on), log);
  dsnProbe.start();
  const purge = () => core.quarantine.purge().catch((err: Error) => log.error({ err: err.message }, 'quarantine purge failed'));
  void core.quarantine.recover().catch((err: Error) => log.error({ err: err.message }, 'quarantine recovery failed')).then(purge);
  const purgeTimer = setInterval(purge, PURGE_INTERVAL_MS).unref();
  let stopped: Promise<void> | undefined;
  return {
    core,
    smtp,
    port: address.port,
    admin,
    adminPort,
    stop() {
      stopped ??= (async () => {
        clearInterval(purgeTimer);
        dsnProbe.stop();
        await admin?.close();
        await smtp.close();
        await workers?.close();
        await core.close();
        log.info('stopped');
      })();
      return stopped;
    },
  };
}

async function startWorkers(core: Core, config: Readonly<Config>, log: Logger, metrics: Metrics): Promise<ScanWorkerPool> {
  const pool = await ScanWorkerPool.start({
    config,
    size: config.checks.workers,
    log,
    // Checks run concurrently under their own limits; only a thread stuck far beyond them is replaced.
    stuckAfterMs: 3 * config.checks.timeoutMs,
    context: async (envelope) => ({
      dnsUsed: messageResolver(core.dns, envelope, config.dns.maxQueriesPerMessage).used,
      disabledZones: core.blocklists.disabledZones(),
      spf: await spfOutcomeOf(envelope)?.catch(() => undefined),
    }),
    onCheckTiming: (name, seconds, ok) => metrics.check(name, seconds, ok),
  });
  core.pipeline.remote = pool;
  metrics.trackDns(pool);
  log.info({ workers: pool.size }, 'scan workers started');
  return pool;
}

/** Autolearn after a verdict; a message scanned on a worker thread is parsed again only when it is learned. */
async function autolearnFrom(result: ScanResult, trainer: BayesTrainer, config: Readonly<Config>): Promise<void> {
  if (!autolearnClass(result.verdict, config)) return;
  await trainer.autolearn(result.message ?? parseMessage(result.raw, config.checks.maxScanSize), result.verdict);
}
