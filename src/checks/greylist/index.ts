// Greylisting (RFC 6647): the first attempt of a triplet (client network, envelope sender, recipient)
// is deferred; a real MTA retries after a while, most spam software does not. A retry after
// `greylist.delay` and within `greylist.window` passes, and the triplet is remembered for
// `greylist.expiry`. Clients whose triplets passed `greylist.autoWhitelist` times are not greylisted
// any more (postgrey's auto-whitelist). The state is the store's, shared by every gateway on it.
import { isIP } from 'node:net';
import type { Config } from '../../config/schema.ts';
import type { DnsResolver } from '../../dns/types.ts';
import type { Action, Check, Envelope, SymbolHit, Verdict } from '../../scan/types.ts';
import { defineSymbols } from '../../scan/symbols.ts';
import type { GreylistPolicy, GreylistSighting, GreylistStore } from '../../store/types.ts';
import { networkOf, ipv4Of } from '../../util/ip.ts';
import { ipv6ToBytes } from '../../dns/wire.ts';
import { Allowlist } from '../client/allowlist.ts';
import { spfOutcomeOf } from '../auth/spf.ts';
import { normaliseSender } from './sender.ts';

export const GREYLIST_NEW = 'GREYLIST_NEW';
export const GREYLIST_EARLY = 'GREYLIST_EARLY';
export const GREYLIST_PASSED = 'GREYLIST_PASSED';
export const GREYLIST_AUTOWHITELIST = 'GREYLIST_AUTOWHITELIST';

defineSymbols({
  [GREYLIST_NEW]: { weight: 0, description: 'Greylisting: first attempt of this client network, sender and recipient; deferred with 451 4.7.1' },
  [GREYLIST_EARLY]: { weight: 0, description: 'Greylisting: retried before greylist.delay; deferred again' },
  [GREYLIST_PASSED]: { weight: 0, description: 'Greylisting: retried within the window; accepted, and the triplet is remembered' },
  GREYLIST_KNOWN: { weight: 0, description: 'Greylisting: a triplet that passed before' },
  GREYLIST_WHITELISTED: { weight: 0, description: 'Greylisting: the client is whitelisted (auto-whitelisted after greylist.autoWhitelist passes, or by the operator)' },
  [GREYLIST_AUTOWHITELIST]: { weight: 0, description: 'Greylisting: this pass auto-whitelisted the client' },
  GREYLIST_SKIPPED: { weight: 0, description: 'Greylisting: not applied (allowlisted client or sender, or a client in greylist.skipDomains)' },
  GREYLIST_ERROR: { weight: 0, description: 'Greylisting: the store could not be asked; the mail is not greylisted (fails open)' },
});

const SYMBOL_OF: Record<GreylistSighting['state'], string> = {
  new: GREYLIST_NEW, early: GREYLIST_EARLY, passed: GREYLIST_PASSED, known: 'GREYLIST_KNOWN', whitelisted: 'GREYLIST_WHITELISTED',
};

export interface GreylistDeps {
  config: Readonly<Config>;
  store: GreylistStore;
  dns: DnsResolver;
  now: () => number;
}

export function greylistPolicy(g: Config['greylist']): GreylistPolicy {
  return { delayMs: g.delay, windowMs: g.window, expiryMs: g.expiry, autoWhitelistAfter: g.autoWhitelist };
}

/** The client part of a triplet: the sender's domain when SPF passed for it and `skipSpf` is on, else the client network. */
export async function greylistClient(envelope: Envelope, g: Config['greylist']): Promise<string> {
  if (g.skipSpf && envelope.mailFrom) {
    const spf = await spfOutcomeOf(envelope)?.catch(() => undefined);
    if (spf?.result === 'pass' && spf.domain) return `spf:${spf.domain.toLowerCase()}`;
  }
  return networkOf(envelope.clientIp, g.ipv4Prefix, g.ipv6Prefix);
}

export function greylistCheck(deps: GreylistDeps): Check {
  const g = deps.config.greylist;
  const policy = greylistPolicy(g);
  const skip = new Allowlist({
    networks: [...deps.config.allowlist.networks, ...g.skipNetworks],
    senderDomains: [...deps.config.allowlist.senderDomains, ...g.skipSenders],
    bypassScoring: false,
  });
  return {
    name: 'greylist',
    family: 'GREYLIST',
    stage: g.stage,
    async run(ctx) {
      const { envelope } = ctx;
      if (skip.hasClient(envelope.clientIp) || skip.hasSender(envelope.mailFrom)) return [{ name: 'GREYLIST_SKIPPED', detail: 'allowlisted' }];
      const big = await confirmedSkipDomain(envelope, g.skipDomains, deps.dns, ctx.signal);
      if (big) return [{ name: 'GREYLIST_SKIPPED', detail: big }];
      const client = await greylistClient(envelope, g);
      const sender = normaliseSender(envelope.mailFrom);
      const recipients = ctx.rcpt !== undefined ? [ctx.rcpt] : envelope.rcptTo;
      const hits: SymbolHit[] = [];
      for (const recipient of recipients) {
        const now = deps.now();
        const seen = await deps.store.sight({ client, sender, recipient: recipient.toLowerCase() }, now, policy);
        if (seen.state === 'new' || seen.state === 'early') {
          const wait = Math.max(1, Math.ceil((seen.firstSeen + policy.delayMs - now) / 1000));
          hits.push({ name: SYMBOL_OF[seen.state], detail: `${client}, retry in ${wait} s` });
        } else {
          hits.push({ name: SYMBOL_OF[seen.state], detail: client });
        }
        if (seen.autoWhitelisted) {
          ctx.log.info({ client }, 'greylisting: client auto-whitelisted');
          hits.push({ name: GREYLIST_AUTOWHITELIST, detail: client });
        }
      }
      return hits;
    },
  };
}

/** The skip domain of a client whose reverse name is in one and resolves back to it (forward-confirmed), if any. */
async function confirmedSkipDomain(envelope: Envelope, domains: readonly string[], dns: DnsResolver, signal: AbortSignal): Promise<string | undefined> {
  const name = envelope.clientHostname?.toLowerCase().replace(/\.$/, '');
  if (!name || domains.length === 0) return undefined;
  const domain = domains.find((d) => name === d || name.endsWith(`.${d}`));
  if (!domain) return undefined;
  const v4 = ipv4Of(envelope.clientIp);
  try {
    const addresses = (await dns.resolve(name, v4 ? 'A' : 'AAAA', { signal })) as string[];
    const wanted = v4 ?? envelope.clientIp;
    return addresses.some((a) => (v4 ? a === wanted : isIP(a) === 6 && ipv6ToBytes(a).equals(ipv6ToBytes(wanted)))) ? domain : undefined;
  } catch {
    return undefined; // not confirmed: greylisted like anyone else
  }
}

/**
 * Deferrals as force rules. At the data stage (greylisting on score, as Rspamd does) they apply only to
 * mail scoring at least `greylist.minScore`.
 */
export function greylistForceRules(config: Readonly<Config>): { force: Record<string, Action>; forceFrom: Record<string, number> } {
  if (!config.greylist.enabled) return { force: {}, forceFrom: {} };
  const force: Record<string, Action> = { [GREYLIST_NEW]: 'tempfail', [GREYLIST_EARLY]: 'tempfail' };
  if (config.greylist.stage !== 'data') return { force, forceFrom: {} };
  return { force, forceFrom: { [GREYLIST_NEW]: config.greylist.minScore, [GREYLIST_EARLY]: config.greylist.minScore } };
}

/** The text of a greylisting deferral: when to retry. */
export function greylistTempfailText(verdict: Verdict): string | undefined {
  if (verdict.forcedBy !== GREYLIST_NEW && verdict.forcedBy !== GREYLIST_EARLY) return undefined;
  const wait = /retry in (\d+) s/.exec(verdict.symbols.find((s) => s.name === verdict.forcedBy)?.detail ?? '')?.[1];
  return wait ? `Greylisted, please try again in ${wait} seconds` : 'Greylisted, please try again later';
}

/**
 * A client as the operator names it (`sluice greylist allow|drop`, the admin API): an address (taken as its
 * network), a network, or `spf:<domain>`; canonical as the triplets store it. Throws a clear error otherwise.
 */
export function parseGreylistClient(text: string, g: Config['greylist']): string {
  const value = text.trim();
  if (/^spf:[a-z0-9.-]+$/i.test(value)) return value.toLowerCase();
  const [address, bits, extra] = value.split('/');
  const family = isIP(address);
  const max = family === 4 ? 32 : 128;
  if (family && extra === undefined && bits === undefined) return networkOf(address, g.ipv4Prefix, g.ipv6Prefix);
  if (family && extra === undefined && /^\d+$/.test(bits) && Number(bits) <= max) {
    return family === 4 ? networkOf(address, Number(bits), 128) : networkOf(address, 32, Number(bits));
  }
  throw new Error(`'${text}' is not a client: give an address, a network such as 192.0.2.0/24, or spf:<domain>`);
}
