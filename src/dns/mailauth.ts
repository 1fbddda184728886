// mailauth takes a `resolver(name, type)` shaped like node:dns `resolve`; this feeds it from our layer.
import type { DnsResolver, RecordType } from './types.ts';
import { dnsError } from './transport.ts';

/** mailauth's declared shape; MX answers are objects, as node:dns gives them, whatever the declaration says. */
export type MailauthResolver = (name: string, type: string) => Promise<string[][] | string[]>;

const SUPPORTED = new Set<string>(['A', 'AAAA', 'TXT', 'MX', 'PTR', 'CNAME', 'NS']);

/** Every lookup mailauth makes for one message goes through `resolver` (typically a budgeted view), abortable by `signal`. */
export function mailauthResolver(resolver: DnsResolver, signal?: AbortSignal): MailauthResolver {
  return (name, type) => {
    const t = String(type).toUpperCase();
    // A question type we do not carry is answered as "no such data", which every caller treats as absent.
    if (!SUPPORTED.has(t)) return Promise.reject(dnsError('ENODATA', t, name));
    return resolver.resolve(name, t as RecordType, { signal }) as Promise<string[][] | string[]>;
  };
}
