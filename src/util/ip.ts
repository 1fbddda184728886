// Client addresses as sockets report them: an IPv4 client on a dual-stack listener shows as `::ffff:a.b.c.d`.
import { isIPv4 } from 'node:net';

/** The IPv4 address of `ip`, also when written IPv4-mapped (`::ffff:1.2.3.4`); undefined for real IPv6. */
export function ipv4Of(ip: string): string | undefined {
  if (isIPv4(ip)) return ip;
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return mapped && isIPv4(mapped[1]) ? mapped[1] : undefined;
}
