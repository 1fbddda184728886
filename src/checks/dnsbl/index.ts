// Blocklists: the client IP in DNSBLs, sender and linked domains in domain lists, cheap client
// signals, and the operator's allowlists. What the composition root and the SMTP edge need.
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.ts';
import type { DnsLayer } from '../../dns/types.ts';
import type { Check } from '../../scan/types.ts';
import { Allowlist, allowlistChecks } from '../client/allowlist.ts';
import { heloCheck } from '../client/helo.ts';
import { rdnsCheck } from '../client/rdns.ts';
import { uriblChecks } from '../uribl/check.ts';
import { Blocklists } from './blocklists.ts';
import { dnsblChecks } from './check.ts';

export { Blocklists } from './blocklists.ts';
export { blocklistRejectText } from './reply.ts';
export { Allowlist, allowlistForceRules } from '../client/allowlist.ts';

export interface BlocklistCheckDeps {
  config: Readonly<Config>;
  dns: DnsLayer;
  log: Logger;
  /** The gateway's instance, started and stopped with it; one is made (never self-tested) when absent. */
  blocklists?: Blocklists;
}

/** The checks of this area: allowlist markers, client signals (`checks.client`), DNSBL (`checks.dnsbl`), URI lists (`checks.uribl`). */
export function blocklistChecks(deps: BlocklistCheckDeps): Check[] {
  const { config, dns, log } = deps;
  const allowlist = new Allowlist(config.allowlist);
  const blocklists = deps.blocklists ?? new Blocklists({ config, dns, log });
  const checks: Check[] = [...allowlistChecks(allowlist)];
  if (config.checks.client) {
    checks.push(rdnsCheck((envelope) => blocklists.resolverFor(envelope)), heloCheck({ hostname: config.smtp.hostname, domains: config.domains, allowlist }));
  }
  if (blocklists.ipZones.length > 0) checks.push(...dnsblChecks(blocklists, allowlist));
  if (blocklists.domainZones.length > 0) {
    checks.push(...uriblChecks({ blocklists, allowlist, maxDomains: config.uribl.maxDomains }));
  }
  return checks;
}
