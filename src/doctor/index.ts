// `sluice doctor`: a deployment checked as a mail operator would before pointing MX records at it.
// The checks run at once, each within a few seconds, and are reported in a fixed order.
import type { Config } from '../config/schema.ts';
import { createResolver } from '../dns/resolver.ts';
import { createLogger } from '../log.ts';
import { adminCheck } from './admin.ts';
import { clockCheck } from './clock.ts';
import { blocklistChecks, hostnameCheck, resolverCheck } from './dns.ts';
import { downstreamCheck, starttlsCheck, talkToDownstream } from './downstream.ts';
import { listenerCheck } from './listener.ts';
import { quarantineCheck } from './quarantine.ts';
import { NETWORK_LIMIT_MS, type CheckResult } from './result.ts';
import { storeChecks } from './store.ts';

export { configCheck } from './config.ts';
export { formatJson, formatText, type CheckResult } from './result.ts';

/** Every check after the config's, in the order they are reported. */
export async function runDoctor(config: Readonly<Config>): Promise<CheckResult[]> {
  const dns = createResolver({ ...config.dns, timeoutMs: Math.min(config.dns.timeoutMs, NETWORK_LIMIT_MS) });
  // What the blocklist self-test would log is what doctor reports.
  const log = createLogger('silent');
  const [store, quarantine, listener, resolver, hostname, blocklists, downstream] = await Promise.all([
    storeChecks(config),
    quarantineCheck(config),
    listenerCheck(config),
    resolverCheck(dns, config),
    hostnameCheck(dns, config.smtp.hostname),
    blocklistChecks(config, dns, log),
    talkToDownstream(config),
  ]);
  const starttls = starttlsCheck(downstream, config.relay.secure);
  return [
    ...store, quarantine, listener, adminCheck(config),
    resolver, hostname, ...blocklists,
    downstreamCheck(downstream), ...(starttls ? [starttls] : []), clockCheck(Date.now(), downstream),
  ];
}
