// Client addresses as sockets report them: an IPv4 client on a dual-stack listener shows as `::ffff:a.b.c.d`.
import { isIPv4, isIPv6 } from 'node:net';
import { bytesToIpv6, ipv6ToBytes } from '../dns/wire.ts';

/** The IPv4 address of `ip`, also when written IPv4-mapped (`::ffff:1.2.3.4`); undefined for real IPv6. */
export function ipv4Of(ip: string): string | undefined {
  if (isIPv4(ip)) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped && isIPv4(mapped[1]) ? mapped[1] : undefined;
}

/** The network of `ip` in CIDR form (`192.0.2.0/24`, `2001:db8:1:2::/64`), as greylisting and rate limits group clients. */
export function networkOf(ip: string, ipv4Bits: number, ipv6Bits: number): string {
  const v4 = ipv4Of(ip);
  if (v4) {
    const n = v4.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const masked = ipv4Bits === 0 ? 0 : n - (n % 2 ** (32 - ipv4Bits));
    return `${[24, 16, 8, 0].map((shift) => Math.floor(masked / 2 ** shift) % 256).join('.')}/${ipv4Bits}`;
  }
  if (!isIPv6(ip)) return ip;
  const bytes = ipv6ToBytes(ip);
  for (let bit = ipv6Bits; bit < 128; bit++) bytes[bit >> 3] &= ~(0x80 >> (bit & 7));
  return `${bytesToIpv6(bytes)}/${ipv6Bits}`;
}
