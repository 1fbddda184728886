// Reverse-lookup names, and the reverse lookup smtp-server makes through our DNS layer.
import net from 'node:net';
import type { DnsResolver } from './types.ts';
import { ipv6ToBytes } from './wire.ts';
import { ipv4Of } from '../util/ip.ts';

/** `192.0.2.1` → `1.2.0.192`; `2001:db8::1` → its 32 nibbles reversed. The caller appends a zone. */
export function reversedAddress(ip: string): string {
  const v4 = ipv4Of(ip);
  if (v4) return v4.split('.').reverse().join('.');
  if (net.isIPv6(ip)) return [...ipv6ToBytes(ip).toString('hex')].reverse().join('.');
  throw new Error(`not an IP address: ${ip}`);
}

/** The PTR name of an address: `1.2.0.192.in-addr.arpa` or `….ip6.arpa`. */
export function ptrName(ip: string): string {
  return `${reversedAddress(ip)}.${ipv4Of(ip) ? 'in-addr.arpa' : 'ip6.arpa'}`;
}

/** A reverse lookup through our layer, in the form the SMTP server takes (`reverse` option). */
export function reverseLookup(resolver: DnsResolver): (ip: string) => Promise<string[]> {
  return async (ip) => (await resolver.resolve(ptrName(ip), 'PTR')) as string[];
}
