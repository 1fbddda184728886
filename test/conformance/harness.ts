// Shared pieces of the conformance runs: where the suites live, turning their zone data into zone
// literals, running Sluice's own SPF and message-authentication code over them, and counting passes.
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll } from 'vitest';
import type { DnsLayer } from '../../src/dns/types.ts';
import { zoneResolver, createResolver } from '../../src/dns/resolver.ts';
import type { Zone, RecordSet } from '../../src/dns/zone.ts';
import type { Envelope, MessageContent } from '../../src/scan/types.ts';
import type { AuthDeps } from '../../src/checks/auth/context.ts';
import { evaluateSpf, type SpfOutcome } from '../../src/checks/auth/spf.ts';
import { evaluateMessage, type MessageAuth } from '../../src/checks/auth/message.ts';
import { startDnsServer } from '../helpers/dns-server.ts';

/** The suites, copied into the repository with their licences and origins (each folder's README.md). */
export const SUITES = resolve(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'conformance');

export function readSuite(...parts: string[]): string {
  return readFileSync(join(SUITES, ...parts), 'utf8');
}

export function crlf(text: string): Buffer {
  return Buffer.from(text.replace(/\r?\n/g, '\r\n'));
}

/** Adds records to a zone literal, merging with what the name already has. */
export function addRecords(zone: Zone, name: string, records: RecordSet): void {
  const key = name.toLowerCase().replace(/\.$/, '');
  const set = (zone[key] ??= {});
  for (const [type, value] of Object.entries(records) as [keyof RecordSet, unknown][]) {
    if (Array.isArray(value)) (set as Record<string, unknown[]>)[type] = [...(((set as Record<string, unknown[]>)[type]) ?? []), ...value];
    else (set as Record<string, unknown>)[type] = value;
  }
}

export function authDeps(dns: DnsLayer, options: Partial<AuthDeps> = {}): AuthDeps {
  return { dns, hostname: 'mx.sluice.test', maxQueriesPerMessage: 1000, evaluationTimeoutMs: 20_000, trustedArcSealers: [], ...options };
}

export function envelope(clientIp: string, helo: string, mailFrom: string): Envelope {
  return { clientIp, helo, mailFrom, rcptTo: ['user@sluice.test'] };
}

/** SPF of one envelope through Sluice's SPF code and DNS layer, answering from `zone`. */
export async function spfOver(zone: Zone, env: Envelope, options: Partial<AuthDeps> = {}): Promise<SpfOutcome> {
  return evaluateSpf(authDeps(zoneResolver(zone, { timeoutMs: 50 }), options), env);
}

/** The same, with the zone served by a real DNS server on loopback, reached over UDP/TCP by our wire client. */
export async function withWireDns<T>(zone: Zone, run: (dns: DnsLayer) => Promise<T>): Promise<T> {
  const server = await startDnsServer({ zone });
  try {
    return await run(createResolver({ servers: [server.address], timeoutMs: 300 }));
  } finally {
    await server.stop();
  }
}

/** DKIM, ARC and DMARC of one message through Sluice's code and DNS layer. */
export async function authOver(zone: Zone, raw: Buffer, options: Partial<AuthDeps> = {}): Promise<MessageAuth> {
  const message: MessageContent = { raw, parsed: null };
  return evaluateMessage(authDeps(zoneResolver(zone), options), envelope('192.0.2.200', 'client.sluice.test', ''), message);
}

/** Stalwart's layout: `<name> <TXT value>` lines, an empty line, then the message (LF line ends). */
export function stalwartVector(text: string): { zone: Zone; message: Buffer } {
  const split = text.indexOf('\n\n');
  const zone: Zone = {};
  for (const line of text.slice(0, split).split('\n')) {
    const at = line.indexOf(' ');
    if (at > 0) addRecords(zone, line.slice(0, at), { TXT: [line.slice(at + 1)] });
  }
  return { zone, message: crlf(text.slice(split + 2)) };
}

/** Per-suite pass counts, printed when the file's tests are done. */
export class Tally {
  readonly suite: string;
  passed = 0;
  knownFailures = 0;
  total = 0;

  constructor(suite: string) {
    this.suite = suite;
    afterAll(() => {
      console.log(`[conformance] ${this.suite}: ${this.passed}/${this.total} pass, ${this.knownFailures} known failures`);
    });
  }

  record(ok: boolean, known: boolean): void {
    this.total++;
    if (ok) this.passed++;
    if (known) this.knownFailures++;
  }
}
