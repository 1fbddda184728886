// Which checks run, chosen from config. Each family adds its checks here; `checks.<family>: false` switches it off.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import type { Store } from '../store/types.ts';
import type { Check } from '../scan/types.ts';
import { gtubeCheck } from './gtube.ts';
import { mimeCheck } from './mime.ts';
import { bayesCheck } from './bayes.ts';
import { bayesSettings } from '../bayes/index.ts';
import type { DnsLayer } from '../dns/types.ts';
import { createResolver } from '../dns/resolver.ts';
import { authChecks, authDeps } from './auth/index.ts';
import { blocklistChecks, type Blocklists } from './dnsbl/index.ts';
import { greylistCheck } from './greylist/index.ts';
import { rateLimitCheck } from './ratelimit/index.ts';

export interface CheckDeps {
  config: Readonly<Config>;
  store: Store;
  log: Logger;
  /** The gateway's one DNS layer (`createResolver(config.dns)`), shared by every family; built from config when absent. */
  dns?: DnsLayer;
  /** Blocklist zones with their RFC 5782 self-test, started and stopped with the gateway; built (never self-tested) when absent. */
  blocklists?: Blocklists;
  /** Greylisting and rate limits, which count in the store: a gateway's checks, never a one-shot command's. */
  traffic?: boolean;
  /** The clock of greylisting and rate limits (tests move it forward); Date.now when absent. */
  now?: () => number;
}

export function buildChecks(deps: CheckDeps): Check[] {
  const checks: Check[] = [gtubeCheck({ testPatterns: deps.config.checks.testPatterns }), mimeCheck];
  const dns = deps.dns ?? createResolver(deps.config.dns);
  if (deps.config.checks.auth) checks.push(...authChecks(authDeps(deps.config, dns)));
  // Allowlist markers, client signals (`checks.client`), DNSBL (`checks.dnsbl`) and URI lists (`checks.uribl`).
  checks.push(...blocklistChecks({ config: deps.config, dns, log: deps.log, blocklists: deps.blocklists }));
  if (deps.config.checks.bayes) checks.push(bayesCheck(deps.store.bayes, bayesSettings(deps.config)));
  if (deps.traffic) {
    const now = deps.now ?? Date.now;
    if (deps.config.greylist.enabled) checks.push(greylistCheck({ config: deps.config, store: deps.store.greylist, dns, now }));
    if (deps.config.ratelimit.limits.length > 0) checks.push(rateLimitCheck({ config: deps.config, store: deps.store.ratelimit, now }));
  }
  return checks;
}
