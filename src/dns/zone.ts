// Zone literals: DNS data written as a plain object. The zone transport answers from one in process,
// so unit tests exercise the same cache, budget and adapters as production without any socket;
// the loopback test server (test/helpers/dns-server.ts) serves the same literals over the wire.
import type { Answer, RecordType } from './types.ts';
import { dnsError, type Lookup, type Transport } from './transport.ts';

export interface RecordSet {
  A?: string[];
  AAAA?: string[];
  /** Each entry is one record: a string, or the record's character-strings as an array. */
  TXT?: (string | string[])[];
  MX?: { exchange: string; priority: number }[];
  PTR?: string[];
  NS?: string[];
  CNAME?: string;
  ttl?: number;
  /** Queries for this name are never answered: the client times out. */
  timeout?: boolean;
  /** Queries for this name get SERVFAIL. */
  servfail?: boolean;
}

/** Names (case-insensitive, trailing dot ignored; `*.example.com` is a wildcard) → their records. */
export type Zone = Record<string, RecordSet>;

export const normalizeName = (name: string): string => name.toLowerCase().replace(/\.$/, '');

export interface ZoneMatch {
  set?: RecordSet;
  /** False for NXDOMAIN. A parent of a name in the zone exists even without records of its own. */
  exists: boolean;
}

/** Finds the record set of a name: exact, else empty non-terminal, else the closest wildcard. */
export function matchName(zone: ReadonlyMap<string, RecordSet>, name: string): ZoneMatch {
  const exact = zone.get(name);
  if (exact) return { set: exact, exists: true };
  const suffix = '.' + name;
  for (const key of zone.keys()) if (key.endsWith(suffix) && !key.startsWith('*.')) return { exists: true };
  const labels = name.split('.');
  for (let i = 1; i < labels.length; i++) {
    const wild = zone.get('*.' + labels.slice(i).join('.'));
    if (wild) return { set: wild, exists: true };
  }
  return { exists: false };
}

export function zoneMap(zone: Zone): Map<string, RecordSet> {
  return new Map(Object.entries(zone).map(([k, v]) => [normalizeName(k), v]));
}

export interface ZoneTransportOptions {
  ttl?: number;
  negativeTtl?: number;
  /** How long a `timeout: true` name takes to fail with ETIMEOUT. */
  timeoutMs?: number;
}

/** Answers from a zone literal with DNS semantics: CNAME chains, wildcards, NXDOMAIN vs NODATA. */
export class ZoneTransport implements Transport {
  private zone: Map<string, RecordSet>;
  private readonly options: Required<ZoneTransportOptions>;
  /** Every question asked, as `TYPE name`, so tests can count lookups. */
  readonly asked: string[] = [];

  constructor(zone: Zone, options: ZoneTransportOptions = {}) {
    this.zone = zoneMap(zone);
    this.options = { ttl: 300, negativeTtl: 60, timeoutMs: 50, ...options };
  }

  setZone(zone: Zone): void {
    this.zone = zoneMap(zone);
  }

  async query(qname: string, type: RecordType, signal?: AbortSignal): Promise<Lookup> {
    this.asked.push(`${type} ${qname}`);
    let name = qname;
    let ttl = Infinity;
    for (let hops = 0; hops < 8; hops++) {
      const { set, exists } = matchName(this.zone, name);
      if (set?.timeout) {
        await new Promise((resolve) => {
          const timer = setTimeout(resolve, this.options.timeoutMs);
          signal?.addEventListener('abort', () => {
            clearTimeout(timer);
            resolve(undefined);
          });
        });
        throw dnsError('ETIMEOUT', type, qname);
      }
      if (set?.servfail) throw dnsError('ESERVFAIL', type, qname);
      if (!exists) throw dnsError(hops === 0 ? 'ENOTFOUND' : 'ENODATA', type, qname, this.options.negativeTtl);
      ttl = Math.min(ttl, set?.ttl ?? this.options.ttl);
      if (set?.CNAME && type !== 'CNAME') {
        name = normalizeName(set.CNAME);
        continue;
      }
      const answer = recordsOf(set, type);
      if (answer.length === 0) throw dnsError('ENODATA', type, qname, this.options.negativeTtl);
      return { answer, ttl };
    }
    throw dnsError('ESERVFAIL', type, qname);
  }
}

function recordsOf(set: RecordSet | undefined, type: RecordType): Answer {
  if (!set) return [];
  switch (type) {
    case 'TXT':
      // On the wire a TXT string is at most 255 bytes: split long ones as the wire would.
      return (set.TXT ?? []).map((r) => (Array.isArray(r) ? r : splitTxt(r)));
    case 'MX':
      return (set.MX ?? []).map((mx) => ({ exchange: normalizeName(mx.exchange), priority: mx.priority }));
    case 'CNAME':
      return set.CNAME ? [normalizeName(set.CNAME)] : [];
    case 'A':
    case 'AAAA':
      return [...(set[type] ?? [])];
    default:
      return (set[type] ?? []).map(normalizeName);
  }
}

function splitTxt(s: string): string[] {
  const b = Buffer.from(s, 'utf8');
  if (b.length <= 255) return [s];
  const parts: string[] = [];
  for (let i = 0; i < b.length; i += 255) parts.push(b.subarray(i, i + 255).toString('utf8'));
  return parts;
}
