// Rate limits before DATA: messages per client address, client network, envelope sender, sender domain,
// recipient, and bounces (null sender) per recipient, each over a sliding window with a burst (GCRA in
// the store, atomic across every gateway sharing it). Limits on the client and the sender count each
// transaction once, at its first recipient; limits on the recipient count each recipient.
import type { Config } from '../../config/schema.ts';
import { rateLimitSymbol } from '../../config/schema.ts';
import type { Action, Check, Envelope, SymbolHit, Verdict } from '../../scan/types.ts';
import { defineSymbols } from '../../scan/symbols.ts';
import type { RateLimitRule, RateLimitStore } from '../../store/types.ts';
import { ipv4Of, networkOf } from '../../util/ip.ts';
import { Allowlist, domainOf } from '../client/allowlist.ts';

type Limit = Config['ratelimit']['limits'][number];
export type RateKey = Limit['key'];

defineSymbols({
  RATELIMIT_IP: { weight: 0, description: 'Rate limit: too much mail from this client address' },
  RATELIMIT_NETWORK: { weight: 0, description: 'Rate limit: too much mail from this client network' },
  RATELIMIT_SENDER: { weight: 0, description: 'Rate limit: too much mail from this envelope sender' },
  RATELIMIT_SENDER_DOMAIN: { weight: 0, description: 'Rate limit: too much mail from this envelope sender domain' },
  RATELIMIT_RECIPIENT: { weight: 0, description: 'Rate limit: too much mail for this recipient' },
  RATELIMIT_BOUNCE: { weight: 0, description: 'Rate limit: too many bounces (null sender) for this recipient' },
  RATELIMIT_ERROR: { weight: 0, description: 'Rate limit: the store could not be asked; the mail is not limited (fails open)' },
});

/** Keys counted once per transaction; the others once per recipient. */
const PER_TRANSACTION: ReadonlySet<RateKey> = new Set(['ip', 'network', 'sender', 'senderDomain']);

/** What a refused sender reads, by key. */
const TOO_MUCH: Record<RateKey, string> = {
  ip: 'Too much mail from your address',
  network: 'Too much mail from your network',
  sender: 'Too much mail from this sender',
  senderDomain: 'Too much mail from this sender domain',
  recipient: 'Too much mail for this recipient',
  bounce: 'Too many bounces for this recipient',
};

export function symbolOf(limit: Limit): string {
  return limit.symbol ?? rateLimitSymbol(limit.key);
}

export function ruleOf(limit: Limit): RateLimitRule {
  return { intervalMs: limit.rate.periodMs / limit.rate.count, burst: limit.burst ?? limit.rate.count };
}

/** The store bucket of a limit for one value (`sender:alice@example.org 100/1h`). */
export function bucketOf(limit: Limit, value: string): string {
  return `${limit.key}:${value} ${limit.rate.text}`;
}

/** What a limit counts for this transaction (and recipient); undefined: the limit does not apply. */
export function rateValue(key: RateKey, envelope: Envelope, rcpt: string | undefined, config: Config['ratelimit']): string | undefined {
  const from = envelope.mailFrom;
  switch (key) {
    case 'ip': return ipv4Of(envelope.clientIp) ?? envelope.clientIp;
    case 'network': return networkOf(envelope.clientIp, config.ipv4Prefix, config.ipv6Prefix);
    case 'sender': return from ? from.toLowerCase() : undefined;
    case 'senderDomain': return from ? domainOf(from) : undefined;
    case 'recipient': return rcpt?.toLowerCase();
    case 'bounce': return from === '' ? rcpt?.toLowerCase() : undefined;
  }
}

export interface RateLimitDeps {
  config: Readonly<Config>;
  store: RateLimitStore;
  now: () => number;
}

export function rateLimitCheck(deps: RateLimitDeps): Check {
  const { limits } = deps.config.ratelimit;
  const perTransaction = limits.filter((l) => PER_TRANSACTION.has(l.key));
  const perRecipient = limits.filter((l) => !PER_TRANSACTION.has(l.key));
  // Your own servers are not limited; sender domains are forgeable, so only networks count here.
  const allowlist = new Allowlist({ ...deps.config.allowlist, senderDomains: [] });
  const counted = new WeakMap<Envelope, Promise<SymbolHit[]>>();
  const take = async (list: readonly Limit[], envelope: Envelope, rcpt?: string): Promise<SymbolHit[]> => {
    const hits: SymbolHit[] = [];
    for (const limit of list) {
      const value = rateValue(limit.key, envelope, rcpt, deps.config.ratelimit);
      if (value === undefined) continue;
      const outcome = await deps.store.take(bucketOf(limit, value), deps.now(), ruleOf(limit));
      if (!outcome.allowed) hits.push({ name: symbolOf(limit), detail: `${limit.key}:${value} ${limit.rate.text}, retry in ${Math.ceil(outcome.retryAfterMs / 1000)} s` });
    }
    return hits;
  };
  return {
    name: 'ratelimit',
    family: 'RATELIMIT',
    stage: 'rcpt',
    async run(ctx) {
      const { envelope } = ctx;
      if (allowlist.hasClient(envelope.clientIp)) return [];
      let once = counted.get(envelope);
      if (!once) {
        once = take(perTransaction, envelope);
        counted.set(envelope, once);
      }
      return [...(await once), ...(await take(perRecipient, envelope, ctx.rcpt))];
    },
  };
}

export function rateLimitForceRules(config: Readonly<Config>): Record<string, Action> {
  return Object.fromEntries(config.ratelimit.limits.map((l) => [symbolOf(l), l.action]));
}

/** The text of a refusal by a rate limit: what was too much, and for a deferral when to retry. */
export function rateLimitText(config: Readonly<Config>): (verdict: Verdict) => string | undefined {
  const keyOf = new Map(config.ratelimit.limits.map((l) => [symbolOf(l), l.key]));
  return (verdict) => {
    const key = verdict.forcedBy ? keyOf.get(verdict.forcedBy) : undefined;
    if (!key) return undefined;
    const wait = /retry in (\d+) s/.exec(verdict.symbols.find((s) => s.name === verdict.forcedBy)?.detail ?? '')?.[1];
    return verdict.action === 'tempfail' && wait ? `${TOO_MUCH[key]}, please try again in ${wait} seconds` : TOO_MUCH[key];
  };
}
