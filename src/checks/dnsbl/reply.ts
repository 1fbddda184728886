// The text of an early (RCPT-time) refusal caused by a blocklist: which list, and where the
// sender can look the listing up. Never the symbol list, never a DQS key.
import type { Config } from '../../config/schema.ts';
import type { Verdict } from '../../scan/types.ts';
import { parseListingDetail } from './lookup.ts';
import { BlocklistZone } from './zone.ts';

/**
 * "client 192.0.2.1 listed at zen.spamhaus.org; see https://…" for the strongest blocklist listing
 * in the verdict, or undefined when no blocklist contributed to the score.
 */
export function blocklistRejectText(verdict: Verdict, config: Readonly<Config>): string | undefined {
  const zones = [
    ...config.dnsbl.zones.map((z) => new BlocklistZone('ip', 'DNSBL', z)),
    ...config.uribl.zones.map((z) => new BlocklistZone('domain', 'URIBL', z)),
  ];
  // Symbols come sorted by score, strongest first.
  for (const symbol of verdict.symbols) {
    if (symbol.score <= 0 || !symbol.detail) continue;
    const listing = parseListingDetail(symbol.detail);
    if (!listing) continue;
    const zone = zones.find((z) => z.name === listing.list && z.symbols().includes(symbol.name));
    if (!zone) continue;
    const what = zone.kind === 'ip' ? `client ${listing.item}` : `domain ${listing.item}`;
    const page = zone.lookupPage(listing.item);
    return `${what} listed at ${zone.name}${page ? `; see ${page}` : ''}`;
  }
  return undefined;
}
