// Operator allowlists: client networks and envelope-sender domains that are never looked up in
// blocklists, and, with `allowlist.bypassScoring`, are accepted whatever their score.
import { BlockList, isIP } from 'node:net';
import type { Config } from '../../config/schema.ts';
import type { Action, Check } from '../../scan/types.ts';
import { defineSymbols } from '../../scan/symbols.ts';
import { ipv4Of } from '../../util/ip.ts';

export const ALLOWLIST_CLIENT = 'ALLOWLIST_CLIENT';
export const ALLOWLIST_SENDER = 'ALLOWLIST_SENDER';

defineSymbols({
  [ALLOWLIST_CLIENT]: { weight: 0, description: 'The client is in an allowlisted network (allowlist.networks)' },
  [ALLOWLIST_SENDER]: { weight: 0, description: 'The envelope sender is in an allowlisted domain (allowlist.senderDomains)' },
});

export class Allowlist {
  private readonly networks = new BlockList();
  private readonly senderDomains: ReadonlySet<string>;
  private readonly empty: boolean;

  constructor(config: Readonly<Config['allowlist']>) {
    for (const entry of config.networks) {
      const [address, bits] = entry.split('/');
      const family = isIP(address) === 6 ? 'ipv6' : 'ipv4';
      if (bits === undefined) this.networks.addAddress(address, family);
      else this.networks.addSubnet(address, Number(bits), family);
    }
    this.senderDomains = new Set(config.senderDomains);
    this.empty = config.networks.length === 0 && config.senderDomains.length === 0;
  }

  hasClient(ip: string): boolean {
    if (this.empty || !ip) return false;
    const v4 = ipv4Of(ip);
    if (v4) return this.networks.check(v4, 'ipv4');
    return isIP(ip) === 6 && this.networks.check(ip, 'ipv6');
  }

  /** True for an address in an allowlisted domain or one of its subdomains. */
  hasSender(address: string): boolean {
    if (this.senderDomains.size === 0) return false;
    let domain = domainOf(address);
    while (domain) {
      if (this.senderDomains.has(domain)) return true;
      const dot = domain.indexOf('.');
      domain = dot < 0 ? '' : domain.slice(dot + 1);
    }
    return false;
  }

  /** Whether blocklists are skipped for this client and envelope sender. */
  skipsBlocklists(clientIp: string, mailFrom: string): boolean {
    return this.hasClient(clientIp) || this.hasSender(mailFrom);
  }
}

/** The domain of an address (`user@Example.COM` → `example.com`); '' for the null sender. */
export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase().replace(/^\[|\]$/g, '').replace(/\.$/, '');
}

/** Reports allowlisted clients and senders, so the verdict shows why blocklists were skipped. */
export function allowlistChecks(allowlist: Allowlist): Check[] {
  return [
    {
      name: 'allowlist-client',
      family: 'ALLOWLIST',
      stage: 'connect',
      async run(ctx) {
        return allowlist.hasClient(ctx.envelope.clientIp) ? [{ name: ALLOWLIST_CLIENT, detail: ctx.envelope.clientIp }] : [];
      },
    },
    {
      name: 'allowlist-sender',
      family: 'ALLOWLIST',
      stage: 'mail',
      async run(ctx) {
        const from = ctx.envelope.mailFrom;
        return allowlist.hasSender(from) ? [{ name: ALLOWLIST_SENDER, detail: domainOf(from) }] : [];
      },
    },
  ];
}

/**
 * Force rules to merge into the scoring policy: with `bypassScoring`, allowlisted mail is accepted
 * whatever its score (a harsher force rule, such as a DMARC reject, still wins).
 */
export function allowlistForceRules(config: Readonly<Config>): Record<string, Action> {
  return config.allowlist.bypassScoring ? { [ALLOWLIST_CLIENT]: 'accept', [ALLOWLIST_SENDER]: 'accept' } : {};
}
