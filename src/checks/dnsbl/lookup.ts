// Asks blocklist zones about items (IP addresses or domains), all queries at once, within a deadline,
// and turns the answers into symbol hits. A lookup failure is an `_ERROR` hit, never a listing.
import type { Logger } from 'pino';
import type { SymbolHit } from '../../scan/types.ts';
import { isNegativeDnsError, type DnsResolver } from '../../dns/types.ts';
import type { BlocklistZone } from './zone.ts';
import { deadline } from '../../util/deadline.ts';

export interface LookupItem {
  /** What is looked up: an IP address or a domain. */
  value: string;
  /** Where it came from, for the symbol detail (`link`, `mail from`); omitted for the client IP. */
  source?: string;
}

export interface LookupOptions {
  resolver: DnsResolver;
  zones: readonly BlocklistZone[];
  /** `DNSBL` or `URIBL`: the family of the error symbol. */
  family: string;
  log: Logger;
  warnings: WarnLimiter;
  signal: AbortSignal;
  /** The lookups of one check end after this long; unanswered ones count as errors. */
  deadlineMs: number;
}

/** Symbol detail of a listing: `<list name>: <item> <code>`, read back by the SMTP reply text. */
export function listingDetail(zone: BlocklistZone, item: LookupItem, code: string): string {
  return `${zone.name}: ${item.value} ${code}${item.source ? ` (${item.source})` : ''}`;
}

export function parseListingDetail(detail: string): { list: string; item: string } | undefined {
  const m = /^(\S+): (\S+) /.exec(detail);
  return m ? { list: m[1], item: m[2] } : undefined;
}

export async function lookupAll(items: readonly LookupItem[], options: LookupOptions): Promise<SymbolHit[]> {
  const { zones, family, log, warnings } = options;
  if (items.length === 0 || zones.length === 0) return [];
  const time = deadline(options.signal, options.deadlineMs, timeoutError);
  const failures: string[] = [];

  const perQuery = items.flatMap((item) => zones.map(async (zone): Promise<SymbolHit[]> => {
    let addresses: string[];
    try {
      addresses = await resolveA(options.resolver, zone.queryName(item.value), time.signal);
    } catch (err) {
      if (isNegativeDnsError(err)) return [];
      failures.push(`${zone.name}: ${errorCode(err)}`);
      return [];
    }
    const answer = zone.interpret(addresses);
    const hits: SymbolHit[] = answer.listings.map((l) => ({ name: l.symbol, detail: listingDetail(zone, item, l.code) }));
    if (answer.blockedCode) {
      hits.push({ name: zone.blockedSymbol, detail: `${zone.name}: ${answer.blockedCode}` });
      if (warnings.allow(`blocked:${zone.zone}`)) {
        log.warn({ list: zone.name, code: answer.blockedCode, meaning: blockedMeaning(answer.blockedCode) },
          'blocklist refuses our queries; its answers are ignored');
      }
    }
    if (answer.unknownCodes.length > 0 && warnings.allow(`unknown:${zone.zone}`)) {
      log.warn({ list: zone.name, codes: answer.unknownCodes }, 'blocklist answered codes that map to no symbol');
    }
    return hits;
  }));

  const hits = (await Promise.all(perQuery)).flat();
  time.done();
  if (failures.length > 0) {
    const distinct = [...new Set(failures)];
    hits.push({ name: `${family}_ERROR`, detail: distinct.join(', ') });
    if (warnings.allow(`error:${family}:${distinct.join(',')}`)) log.warn({ failures: distinct }, `${family} lookups failed`);
  }
  return hits;
}

/** Asks every zone about every item and forgets the answers: they wait in the DNS cache for `lookupAll`. */
export async function prefetch(
  items: readonly LookupItem[], resolver: DnsResolver, zones: readonly BlocklistZone[], signal: AbortSignal, deadlineMs: number,
): Promise<void> {
  const time = deadline(signal, deadlineMs, timeoutError);
  await Promise.allSettled(items.flatMap((item) => zones.map((zone) => resolveA(resolver, zone.queryName(item.value), time.signal))));
  time.done();
}

/** An A query that gives up when `signal` aborts, even if the resolver does not honour the signal. */
export function resolveA(resolver: DnsResolver, name: string, signal: AbortSignal): Promise<string[]> {
  if (signal.aborted) return Promise.reject(timeoutError());
  return new Promise<string[]>((resolve, reject) => {
    const onAbort = () => reject(timeoutError());
    signal.addEventListener('abort', onAbort, { once: true });
    resolver.resolve(name, 'A', { signal }).then(
      (answer) => resolve(answer as string[]),
      (err: unknown) => reject(err),
    ).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

function timeoutError(): Error {
  return Object.assign(new Error('blocklist lookup deadline passed'), { code: 'ETIMEOUT' });
}

function errorCode(err: unknown): string {
  return (err as { code?: string } | null)?.code ?? (err as Error)?.message ?? String(err);
}

/**
 * What Spamhaus' 127.255.255.x answers mean; other lists use the range the same way. The codes are
 * Spamhaus': "Spamhaus DNSBL return codes: technical update" (https://www.spamhaus.org/news/article/788/,
 * 2019-09-30) gives 127.255.255.254 "Query via public/open resolver" and 127.255.255.255 "Excessive number
 * of queries"; its DNSBL Usage FAQ ("What do the 127.*.*.* Return Codes mean?") 127.255.255.252 "Typing
 * error in DNSBL name".
 */
export function blockedMeaning(code: string): string {
  switch (code) {
    case '127.255.255.252': return 'typing error in the zone name';
    case '127.255.255.254': return 'queries through a public or open resolver are refused: use your own recursive resolver, or a keyed (DQS) zone';
    case '127.255.255.255': return 'too many queries: rate limited';
    default: return 'the list refused the query';
  }
}

/** Lets a recurring warning through once per interval per key, so a broken list cannot flood the log. */
export class WarnLimiter {
  private readonly intervalMs: number;
  private readonly lastAt = new Map<string, number>();

  constructor(intervalMs: number) {
    this.intervalMs = intervalMs;
  }

  allow(key: string, now = Date.now()): boolean {
    const last = this.lastAt.get(key);
    if (last !== undefined && now - last < this.intervalMs) return false;
    if (this.lastAt.size > 1000) this.lastAt.clear();
    this.lastAt.set(key, now);
    return true;
  }
}
