// One DNS blocklist zone, as configured, and what its answers mean.
// Shared by the IP lists (dnsbl) and the domain lists (uribl): both ask `<item>.<zone> A` and read 127.x.y.z codes.
import { isIPv4 } from 'node:net';
import { reversedAddress } from '../../dns/reverse.ts';

/** The config of one zone (`dnsbl.zones[]` / `uribl.zones[]`). */
export interface ZoneConfig {
  zone: string;
  name?: string;
  codes: Readonly<Record<string, string>>;
  mask: Readonly<Record<string, string>>;
  symbol?: string;
  blockedCodes: readonly string[];
  lookupUrl?: string;
  selfTest?: false | Readonly<{ listed: string; unlisted: string }>;
}

export type ZoneKind = 'ip' | 'domain';

/** What one answer (the A records of one query) says. */
export interface ZoneAnswer {
  /** Symbols the listing codes map to, with the code that gave each. */
  listings: { symbol: string; code: string }[];
  /** A code saying the list refused to answer us (rate limit, public resolver, bad key): never a listing. */
  blockedCode?: string;
  /** Codes that matched nothing (outside 127.0.0.0/8, or not configured). */
  unknownCodes: string[];
}

export class BlocklistZone {
  readonly kind: ZoneKind;
  /** The DNS suffix queried; may hold a secret key (Spamhaus DQS), so it is never logged or shown. */
  readonly zone: string;
  /** How the list is named in logs, symbol details and SMTP replies. */
  readonly name: string;
  /** Zero-weight symbol reported when the list refuses to answer (`<PREFIX>_BLOCKED`). */
  readonly blockedSymbol: string;
  readonly lookupUrl?: string;
  /** Names (below the zone) that RFC 5782 says must and must not be listed; undefined: no self-test. */
  readonly selfTest?: { listed: string; unlisted: string };
  private readonly codes: ReadonlyMap<string, string>;
  private readonly masks: readonly { bits: number; symbol: string }[];
  private readonly fallbackSymbol?: string;
  private readonly blockedCodes: ReadonlySet<string>;

  constructor(kind: ZoneKind, family: string, config: ZoneConfig) {
    this.kind = kind;
    this.zone = config.zone.toLowerCase().replace(/\.$/, '');
    this.name = config.name ?? publicZoneName(this.zone);
    this.lookupUrl = config.lookupUrl;
    this.codes = new Map(Object.entries(config.codes));
    this.masks = Object.entries(config.mask).map(([bits, symbol]) => ({ bits: Number(bits), symbol }));
    this.fallbackSymbol = config.symbol;
    this.blockedCodes = new Set(config.blockedCodes);
    this.blockedSymbol = `${symbolPrefix(family, this.symbols(), this.name)}_BLOCKED`;
    if (config.selfTest !== false) {
      this.selfTest = config.selfTest ?? (kind === 'ip'
        ? { listed: '127.0.0.2', unlisted: '127.0.0.1' }
        : { listed: 'test', unlisted: 'invalid' });
    }
  }

  /** Every symbol this zone can report as a listing. */
  symbols(): string[] {
    const all = [...this.codes.values(), ...this.masks.map((m) => m.symbol)];
    if (this.fallbackSymbol) all.push(this.fallbackSymbol);
    return [...new Set(all)];
  }

  /** The name to ask for `item` (an IP address for ip zones, a domain for domain zones). */
  queryName(item: string): string {
    // IPv4 octets or IPv6 nibbles reversed (RFC 5782 §2.1, §2.4).
    return `${this.kind === 'ip' ? reversedAddress(item) : item.toLowerCase()}.${this.zone}`;
  }

  interpret(addresses: readonly string[]): ZoneAnswer {
    const answer: ZoneAnswer = { listings: [], unknownCodes: [] };
    for (const code of addresses) {
      if (!isIPv4(code) || !code.startsWith('127.')) {
        // RFC 5782 answers live in 127.0.0.0/8; anything else is a hijacked or wildcarded zone, not a listing.
        answer.unknownCodes.push(code);
        continue;
      }
      if (code.startsWith('127.255.255.') || this.blockedCodes.has(code)) {
        answer.blockedCode = code;
        continue;
      }
      const before = answer.listings.length;
      const symbol = this.codes.get(code);
      if (symbol) answer.listings.push({ symbol, code });
      const lastOctet = Number(code.slice(code.lastIndexOf('.') + 1));
      for (const mask of this.masks) {
        if ((lastOctet & mask.bits) !== 0) answer.listings.push({ symbol: mask.symbol, code });
      }
      if (answer.listings.length === before) {
        if (this.fallbackSymbol) answer.listings.push({ symbol: this.fallbackSymbol, code });
        else answer.unknownCodes.push(code);
      }
    }
    return answer;
  }

  /** The operator's lookup page for `item`, when one is configured (`{item}`, `{ip}` and `{domain}` are replaced). */
  lookupPage(item: string): string | undefined {
    return this.lookupUrl?.replace(/\{(item|ip|domain)\}/g, encodeURIComponent(item));
  }
}

/**
 * The name of a zone as shown to people. A Spamhaus DQS zone carries the customer's key as its first
 * label (`KEY.zen.dq.spamhaus.net`); the key is dropped so that it never reaches a log or an SMTP reply.
 */
export function publicZoneName(zone: string): string {
  const dqs = /^[^.]+\.([^.]+)\.dq\.spamhaus\.net$/.exec(zone);
  return dqs ? `${dqs[1]}.spamhaus.org` : zone;
}

/**
 * The prefix the zone's symbols share (DNSBL_ZEN_SBL, DNSBL_ZEN_XBL → DNSBL_ZEN), so that the blocked
 * symbol sits next to them; `<FAMILY>_<first label>` when they share nothing beyond the family.
 */
function symbolPrefix(family: string, symbols: readonly string[], name: string): string {
  if (symbols.length > 0) {
    let common = symbols[0].split('_');
    for (const s of symbols.slice(1)) {
      const parts = s.split('_');
      let i = 0;
      while (i < common.length && i < parts.length && common[i] === parts[i]) i++;
      common = common.slice(0, i);
    }
    // A single symbol is its own prefix (DNSBL_SPAMCOP → DNSBL_SPAMCOP_BLOCKED).
    if (common.length > 1 && common[0] === family) return common.join('_');
  }
  const label = name.split('.')[0].toUpperCase().replace(/[^A-Z0-9]/g, '_');
  return `${family}_${label}`;
}
