// Reverse-lookup names and the adapter that sends smtp-server's own reverse lookup through our layer.
import net from 'node:net';
import type { DnsResolver } from './types.ts';
import { ipv6ToBytes } from './wire.ts';

/** `192.0.2.1` → `1.2.0.192`; `2001:db8::1` → its 32 nibbles reversed. The caller appends a zone. */
export function reversedAddress(ip: string): string {
  if (net.isIPv4(ip)) return ip.split('.').reverse().join('.');
  if (net.isIPv6(ip)) {
    const v4 = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
    if (v4) return reversedAddress(v4[1]);
    return [...ipv6ToBytes(ip).toString('hex')].reverse().join('.');
  }
  throw new Error(`not an IP address: ${ip}`);
}

/** The PTR name of an address: `1.2.0.192.in-addr.arpa` or `….ip6.arpa`. */
export function ptrName(ip: string): string {
  const isV4 = net.isIPv4(ip) || /^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(ip);
  return `${reversedAddress(ip)}.${isV4 ? 'in-addr.arpa' : 'ip6.arpa'}`;
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
