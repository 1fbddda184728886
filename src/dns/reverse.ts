// Reverse-lookup names and the adapter that sends smtp-server's own reverse lookup through our layer.
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

/** smtp-server's `resolver` option: its reverse lookup of each client then uses our cache and time limits. */
export function smtpServerResolver(resolver: DnsResolver): { reverse(ip: string, callback: (err: Error | null, hostnames?: string[]) => void): void } {
  return {
    reverse(ip, callback) {
      let name: string;
      try {
        name = ptrName(ip);
      } catch (err) {
        callback(err as Error);
        return;
      }
      resolver.resolve(name, 'PTR').then(
        (names) => callback(null, names as string[]),
        (err: Error) => callback(err),
      );
    },
  };
}

/** A reverse lookup through our layer, in the form the SMTP server takes (`reverse` option). */
export function reverseLookup(resolver: DnsResolver): (ip: string) => Promise<string[]> {
  return async (ip) => (await resolver.resolve(ptrName(ip), 'PTR')) as string[];
}
