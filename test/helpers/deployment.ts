// A whole deployment for `sluice doctor`: a loopback DNS server answering for our hostname and two
// blocklists, a downstream (the sink) and the config that ties them together.
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig } from '../../src/config/load.ts';
import type { Config } from '../../src/config/schema.ts';
import { startDnsServer, type DnsTestServer, type Zone } from './dns-server.ts';
import { freePort } from './redis-server.ts';
import { startSink, type Sink, type SinkOptions } from './sink.ts';

export const HOSTNAME = 'mx.doctor.test';
export const ADDRESS = '192.0.2.25';
export const DOMAINS = ['a.doctor.test', 'b.doctor.test'];

// RFC 5782 section 5: "IPv4-based DNSxLs MUST contain an entry for 127.0.0.2 for testing purposes.
// IPv4-based DNSxLs MUST NOT contain an entry for 127.0.0.1." and "Domain-name-based DNSxLs MUST
// contain an entry for the reserved domain name "TEST" [...] MUST NOT contain an entry for the reserved
// domain name "INVALID"". Asked as section 2.1 and 3 build names: IPv4 octets reversed, then the zone.
export const IP_LISTED = '2.0.0.127.zen.doctor.test';
export const IP_UNLISTED = '1.0.0.127.zen.doctor.test';
export const DOMAIN_LISTED = 'test.dbl.doctor.test';
export const DOMAIN_UNLISTED = 'invalid.dbl.doctor.test';

/** DNS of a deployment done right: A and a matching PTR for our name, both lists with their test entries. */
export const healthyZone: Zone = {
  [HOSTNAME]: { A: [ADDRESS] },
  '25.2.0.192.in-addr.arpa': { PTR: [HOSTNAME] },
  [IP_LISTED]: { A: ['127.0.0.2'] },
  [DOMAIN_LISTED]: { A: ['127.0.1.2'] },
};

/** A date as Exim's greeting carries it (`$tod_full`, e.g. "Wed, 16 Oct 1995 09:51:40 +0100"). */
export function eximDate(time: number): string {
  return new Date(time).toUTCString().replace(/GMT$/, '+0000');
}

export interface Deployment {
  dns: DnsTestServer;
  sink: Sink;
  dir: string;
  /** The config as it would be written in the file, before validation. */
  raw: Record<string, unknown>;
  config(overrides?: Record<string, unknown>): Readonly<Config>;
  /** Writes the config (JSON is YAML) and returns its path. */
  writeConfig(overrides?: Record<string, unknown>): string;
  stop(): Promise<void>;
}

/** A downstream offering STARTTLS and dating its greeting as Exim does, unless `sink` options say otherwise. */
export async function startDeployment(sinkOptions: SinkOptions = { starttls: true, banner: `Exim 4.97 ${eximDate(Date.now())}` }): Promise<Deployment> {
  const dns = await startDnsServer({ zone: healthyZone });
  const sink = await startSink(0, sinkOptions);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-doctor-'));
  const raw: Record<string, unknown> = {
    smtp: { host: '127.0.0.1', port: await freePort(), hostname: HOSTNAME },
    domains: DOMAINS,
    relay: { host: '127.0.0.1', port: sink.port },
    dns: { servers: [dns.address], timeoutMs: 1000 },
    store: { path: join(dir, 'store') },
    quarantine: { dir: join(dir, 'quarantine') },
    dnsbl: { zones: [{ zone: 'zen.doctor.test', codes: { '127.0.0.2': 'DNSBL_DOCTOR_SBL' } }] },
    uribl: { zones: [{ zone: 'dbl.doctor.test', codes: { '127.0.1.2': 'URIBL_DOCTOR_SPAM' } }] },
    log: { level: 'silent' },
  };
  // Overrides are merged one level deep: a section's keys given replace those of the base.
  const merged = (overrides: Record<string, unknown>) => {
    const out: Record<string, unknown> = { ...raw };
    const isSection = (v: unknown) => Boolean(v) && typeof v === 'object' && !Array.isArray(v);
    for (const [key, value] of Object.entries(overrides)) {
      out[key] = isSection(raw[key]) && isSection(value) ? { ...(raw[key] as object), ...(value as object) } : value;
    }
    return out;
  };
  let files = 0;
  return {
    dns, sink, dir, raw,
    config: (overrides = {}) => parseConfig(merged(overrides), 'test'),
    writeConfig(overrides = {}) {
      const file = join(dir, `sluice-${++files}.yaml`);
      writeFileSync(file, JSON.stringify(merged(overrides), null, 2));
      return file;
    },
    async stop() {
      await sink.stop().catch(() => {});
      await dns.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
