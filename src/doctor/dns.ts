// DNS as the checks will use it: the resolver answers, our hostname is forward-confirmed, and every
// blocklist passes its RFC 5782 test entries through that resolver.
import type { Logger } from 'pino';
import type { Config } from '../config/schema.ts';
import { Blocklists } from '../checks/dnsbl/index.ts';
import type { SelfTestOutcome } from '../checks/dnsbl/health.ts';
import type { BlocklistZone } from '../checks/dnsbl/zone.ts';
import { systemServers } from '../dns/client.ts';
import { ptrName } from '../dns/reverse.ts';
import { isNegativeDnsError, type DnsLayer, type DnsResolver } from '../dns/types.ts';
import { normalizeName } from '../dns/zone.ts';
import { fail, ok, reasonOf, warn, type CheckResult } from './result.ts';

const RESOLVER_FIX = 'start the resolver or correct dns.servers; a recursive resolver of your own (unbound) on this machine is best';

/** Any answer, a negative one too, shows the resolver works; a time-out or SERVFAIL does not. */
export async function resolverCheck(dns: DnsResolver, config: Readonly<Config>): Promise<CheckResult> {
  const servers = config.dns.servers?.length
    ? config.dns.servers.join(', ')
    : `the system's ${systemServers().map((s) => `${s.host}:${s.port}`).join(', ')}`;
  const question = `A ${config.smtp.hostname}`;
  const started = Date.now();
  try {
    await dns.resolve(config.smtp.hostname, 'A');
  } catch (err) {
    if (!isNegativeDnsError(err)) return fail('resolver', `${servers}: no answer to ${question}: ${reasonOf(err)}`, RESOLVER_FIX);
  }
  return ok('resolver', `${servers} answered ${question} in ${Date.now() - started} ms`);
}

/**
 * The name in our greeting should resolve to addresses whose PTR names it again (forward-confirmed
 * reverse DNS): receivers judge a host by it, and our MX record points at it.
 */
export async function hostnameCheck(dns: DnsResolver, hostname: string): Promise<CheckResult> {
  const lookups = await Promise.all((['A', 'AAAA'] as const).map((type) => addressesOf(dns, hostname, type)));
  const addresses = lookups.flatMap((l) => l.addresses);
  const trouble = lookups.map((l) => l.trouble).filter(Boolean);
  if (addresses.length === 0) {
    return trouble.length
      ? fail('hostname', `${hostname} could not be resolved: ${trouble.join(', ')}`, 'make the resolver answer first (see resolver)')
      : fail('hostname', `${hostname} has no A or AAAA record`, 'publish an A (and AAAA) record for smtp.hostname, the name your MX record points at');
  }
  const wanted = normalizeName(hostname);
  const mismatches: string[] = [];
  for (const address of addresses) {
    let names: string[];
    try {
      names = (await dns.resolve(ptrName(address), 'PTR')) as string[];
    } catch (err) {
      if (!isNegativeDnsError(err)) return fail('hostname', `PTR of ${address} could not be looked up: ${reasonOf(err)}`, 'make the resolver answer first (see resolver)');
      names = [];
    }
    if (names.some((n) => normalizeName(n) === wanted)) continue;
    mismatches.push(names.length ? `${address} has PTR ${names.join(', ')}` : `${address} has no PTR`);
  }
  const resolved = `${hostname} → ${addresses.join(', ')}`;
  if (mismatches.length) {
    return warn('hostname', `${resolved}, but ${mismatches.join('; ')}`,
      `ask the owner of each address (your hosting provider or ISP) to set its PTR record to ${hostname}`);
  }
  return ok('hostname', `${resolved}, and the PTR of each names it again (forward-confirmed)`);
}

async function addressesOf(dns: DnsResolver, name: string, type: 'A' | 'AAAA'): Promise<{ addresses: string[]; trouble?: string }> {
  try {
    return { addresses: (await dns.resolve(name, type)) as string[] };
  } catch (err) {
    return isNegativeDnsError(err) ? { addresses: [] } : { addresses: [], trouble: `${type}: ${reasonOf(err)}` };
  }
}

/** Each configured list's RFC 5782 self-test, as the gateway runs it at start and every interval. */
export async function blocklistChecks(config: Readonly<Config>, dns: DnsLayer, log: Logger): Promise<CheckResult[]> {
  const tested = await new Blocklists({ config, dns, log }).testEach();
  return tested.map(({ zone, outcome }) => zoneResult(zone, outcome));
}

function zoneResult(zone: BlocklistZone, outcome: SelfTestOutcome): CheckResult {
  const name = `${zone.kind === 'ip' ? 'dnsbl' : 'uribl'}:${zone.name}`;
  if (!zone.selfTest) return ok(name, 'not tested (selfTest: false)');
  const { listed, unlisted } = zone.selfTest;
  if (outcome.result === 'pass') return ok(name, `test entry ${listed} listed, ${unlisted} not listed (RFC 5782 section 5)`);
  if (outcome.result === 'unknown') return fail(name, `could not be tested: ${outcome.reason}`, 'make the resolver answer first (see resolver)');
  if (outcome.blockedCode === '127.255.255.252') return fail(name, outcome.reason, 'correct the zone name');
  if (outcome.blockedCode) {
    return fail(name, outcome.reason, 'run a recursive resolver of your own (unbound) on this machine instead of a public one and point dns.servers at it');
  }
  return fail(name, `fails its self-test, so the gateway switches it off: ${outcome.reason}`, 'correct the zone name or remove the list: it does not answer as RFC 5782 requires');
}
