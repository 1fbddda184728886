// The composition root: every component is built and wired here, and nowhere else.
import type { Logger } from 'pino';
import type { Config } from './config/schema.ts';
import { buildChecks } from './checks/index.ts';
import { Pipeline } from './scan/pipeline.ts';
import type { ScoringPolicy } from './scan/scorer.ts';
import { openStore } from './store/index.ts';
import type { Store } from './store/types.ts';
import { Quarantine } from './quarantine/quarantine.ts';
import { Relay } from './deliver/relay.ts';
import { Delivery } from './deliver/delivery.ts';
import { SmtpGateway } from './smtp/server.ts';

/** Everything but the SMTP listener: what `check` and `quarantine` need too. */
export interface Core {
  config: Readonly<Config>;
  log: Logger;
  store: Store;
  pipeline: Pipeline;
  quarantine: Quarantine;
  relay: Relay;
  delivery: Delivery;
  close(): Promise<void>;
}

export function scoringPolicy(config: Readonly<Config>): ScoringPolicy {
  return { scores: config.scores, groupCaps: config.groupCaps, force: { ...config.force }, actions: config.actions };
}

export async function buildCore(config: Readonly<Config>, log: Logger): Promise<Core> {
  const store = await openStore(config.store);
  const checks = buildChecks({ config, store, log });
  const pipeline = new Pipeline({ checks, policy: scoringPolicy(config), timeoutMs: config.checks.timeoutMs, log });
  const quarantine = new Quarantine(config.quarantine.dir, config.quarantine.retentionDays, store.quarantine, log);
  const relay = new Relay({ ...config.relay, hostname: config.smtp.hostname }, log);
  const delivery = new Delivery({ hostname: config.smtp.hostname, relay, quarantine, log });
  return {
    config, log, store, pipeline, quarantine, relay, delivery,
    async close() {
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
  stop(): Promise<void>;
}

const PURGE_INTERVAL_MS = 3_600_000;

export async function startGateway(config: Readonly<Config>, log: Logger): Promise<Gateway> {
  const core = await buildCore(config, log);
  const smtp = new SmtpGateway({ config, pipeline: core.pipeline, delivery: core.delivery, log });
  let address;
  try {
    address = await smtp.listen();
  } catch (err) {
    await core.close();
    throw err;
  }
  const purge = () => core.quarantine.purge().catch((err: Error) => log.error({ err: err.message }, 'quarantine purge failed'));
  void purge();
  const purgeTimer = setInterval(purge, PURGE_INTERVAL_MS).unref();
  let stopped: Promise<void> | undefined;
  return {
    core,
    smtp,
    port: address.port,
    stop() {
      stopped ??= (async () => {
        clearInterval(purgeTimer);
        await smtp.close();
        await core.close();
        log.info('stopped');
      })();
      return stopped;
    },
  };
}
