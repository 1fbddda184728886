// Rate limits before DATA: messages per client address, client network, envelope sender, sender domain,
// recipient, and bounces (null sender) per recipient, each over a sliding window with a burst (GCRA in
// the store, atomic across every gateway sharing it). Limits on the client and the sender count each
// transaction once, at its first recipient; limits on the recipient count each recipient.
import { isIP } from 'node:net';
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
    // Counted only for recipients the other checks let through: a deferred message retried is one message.
    late: true,
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

const KEYS: readonly RateKey[] = ['ip', 'network', 'sender', 'senderDomain', 'recipient', 'bounce'];

export interface RateLimitStatus {
  bucket: string;
  rate: string;
  burst: number;
  /** Messages the bucket takes at once now. */
  available: number;
  /** When it is full again (ms from now). */
  fullInMs: number;
}

/**
 * `KIND:VALUE` as the operator names a bucket (`sender:alice@example.org`, `ip:192.0.2.7`, `network:192.0.2.7`)
 * → the limits of that kind with the value as they count it. Throws a clear error for an unknown kind, a
 * kind no limit uses, or a missing value.
 */
export function parseRateKey(text: string, config: Readonly<Config>): { limits: Limit[]; value: string } {
  const colon = text.indexOf(':');
  const kind = text.slice(0, colon) as RateKey;
  const raw = text.slice(colon + 1).trim();
  if (colon < 0 || !KEYS.includes(kind) || !raw) throw new Error(`'${text}' is not a rate-limit key: give KIND:VALUE, KIND one of ${KEYS.join(', ')}`);
  const limits = config.ratelimit.limits.filter((l) => l.key === kind);
  if (!limits.length) throw new Error(`no limit on ${kind} in ratelimit.limits`);
  // A domain alone names the senderDomain bucket too.
  const mailFrom = kind === 'bounce' ? '' : kind === 'senderDomain' && !raw.includes('@') ? `@${raw}` : raw;
  const envelope: Envelope = { clientIp: raw, helo: '', mailFrom, rcptTo: [] };
  if ((kind === 'ip' || kind === 'network') && !isIP(raw.split('/')[0])) throw new Error(`'${raw}' is not an address`);
  const value = kind === 'network' && raw.includes('/') ? raw : rateValue(kind, envelope, raw, config.ratelimit)!;
  return { limits, value };
}

/** How much of each limit a key has left, without counting. */
export async function rateLimitStatus(store: RateLimitStore, config: Readonly<Config>, key: string, now: number): Promise<RateLimitStatus[]> {
  const { limits, value } = parseRateKey(key, config);
  return Promise.all(limits.map(async (limit) => {
    const rule = ruleOf(limit);
    const used = await store.peek(bucketOf(limit, value), now);
    return {
      bucket: bucketOf(limit, value), rate: limit.rate.text, burst: rule.burst,
      available: Math.max(0, Math.floor((rule.burst * rule.intervalMs - used) / rule.intervalMs)), fullInMs: used,
    };
  }));
}

/** Empties every bucket of a key; returns how many held something. */
export async function resetRateLimit(store: RateLimitStore, config: Readonly<Config>, key: string): Promise<number> {
  const { limits, value } = parseRateKey(key, config);
  const reset = await Promise.all(limits.map((limit) => store.reset(bucketOf(limit, value))));
  return reset.filter(Boolean).length;
}
