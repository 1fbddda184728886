// Reverse DNS of the client: none at all, or a name that does not resolve back to the client
// (forward-confirmed reverse DNS). Both are common for hijacked home machines and rare for real MTAs.
import { isIP, isIPv6 } from 'node:net';
import type { Check, Envelope, SymbolHit } from '../../scan/types.ts';
import { defineSymbols } from '../../scan/symbols.ts';
import { isNegativeDnsError, type DnsResolver } from '../../dns/types.ts';
import { ptrName } from '../../dns/reverse.ts';
import { ipv6ToBytes } from '../../dns/wire.ts';
import { ipv4Of } from '../../util/ip.ts';

defineSymbols({
  RDNS_NONE: { weight: 1.5, description: 'The client address has no reverse DNS name' },
  RDNS_MISMATCH: { weight: 1.0, description: 'The reverse DNS name of the client does not resolve back to its address' },
  RDNS_ERROR: { weight: 0, description: 'The reverse DNS of the client could not be looked up (DNS trouble)' },
});

/** PTR names beyond this many are not forward-checked: one is normal, a long list is not worth the lookups. */
const MAX_NAMES_CHECKED = 3;

/** `resolverFor` gives the DNS path of a transaction (with its per-message budget). */
export function rdnsCheck(resolverFor: (envelope: Envelope) => DnsResolver): Check {
  return {
    name: 'rdns',
    family: 'RDNS',
    stage: 'connect',
    async run(ctx) {
      const ip = ctx.envelope.clientIp;
      // Local connections have no reverse DNS worth judging.
      if (!ip || isLoopback(ip)) return [];
      return reverseDnsHits(resolverFor(ctx.envelope), ip, ctx.signal);
    },
  };
}

export async function reverseDnsHits(resolver: DnsResolver, ip: string, signal?: AbortSignal): Promise<SymbolHit[]> {
  let names: string[];
  try {
    names = (await resolver.resolve(ptrName(ip), 'PTR', { signal })) as string[];
  } catch (err) {
    if (isNegativeDnsError(err)) return [{ name: 'RDNS_NONE' }];
    return [{ name: 'RDNS_ERROR', detail: `PTR: ${codeOf(err)}` }];
  }
  if (names.length === 0) return [{ name: 'RDNS_NONE' }];

  const v4 = ipv4Of(ip);
  const type = v4 ? 'A' : 'AAAA';
  const wanted = v4 ?? ipv6ToBytes(ip).toString('hex');
  let trouble: string | undefined;
  for (const name of names.slice(0, MAX_NAMES_CHECKED)) {
    try {
      const addresses = (await resolver.resolve(name, type, { signal })) as string[];
      if (addresses.some((a) => (v4 ? a === wanted : isIPv6(a) && ipv6ToBytes(a).toString('hex') === wanted))) return [];
    } catch (err) {
      if (!isNegativeDnsError(err)) trouble = `${type} ${name}: ${codeOf(err)}`;
    }
  }
  // A name that might have confirmed but could not be asked is not evidence of a mismatch.
  if (trouble) return [{ name: 'RDNS_ERROR', detail: trouble }];
  return [{ name: 'RDNS_MISMATCH', detail: names[0] }];
}

const IPV6_LOOPBACK = ipv6ToBytes('::1');

export function isLoopback(ip: string): boolean {
  if (!isIP(ip)) return false;
  const v4 = ipv4Of(ip);
  return v4 ? v4.startsWith('127.') : ipv6ToBytes(ip).equals(IPV6_LOOPBACK);
}

function codeOf(err: unknown): string {
  return (err as { code?: string } | null)?.code ?? (err as Error)?.message ?? String(err);
}
