// Shared by the blocklist unit tests: a config with test zones, a logger kept in memory, a scan context.
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { parseConfig } from '../../../src/config/load.ts';
import type { Config } from '../../../src/config/schema.ts';
import type { Envelope, ScanContext } from '../../../src/scan/types.ts';

export const TEST_ZEN = {
  zone: 'zen.test',
  lookupUrl: 'https://lists.test/lookup?q={ip}',
  codes: { '127.0.0.2': 'DNSBL_TEST_SBL', '127.0.0.4': 'DNSBL_TEST_XBL', '127.0.0.10': 'DNSBL_TEST_PBL' },
};

export const TEST_DBL = {
  zone: 'dbl.test',
  codes: { '127.0.1.2': 'URIBL_TEST_SPAM' },
};

export const TEST_MULTI = {
  zone: 'multi.test',
  mask: { '2': 'URIBL_MULTI_BLACK', '4': 'URIBL_MULTI_GREY', '8': 'URIBL_MULTI_RED' },
  blockedCodes: ['127.0.0.1'],
};

export function testConfig(overrides: Record<string, unknown> = {}): Readonly<Config> {
  return parseConfig({
    smtp: { hostname: 'mx.ours.example' },
    domains: ['ours.example'],
    dns: { timeoutMs: 200 },
    dnsbl: { zones: [TEST_ZEN] },
    uribl: { zones: [TEST_DBL, TEST_MULTI] },
    scores: { DNSBL_TEST_SBL: 15, DNSBL_TEST_XBL: 15, DNSBL_TEST_PBL: 5, URIBL_TEST_SPAM: 7, URIBL_MULTI_BLACK: 5, URIBL_MULTI_GREY: 1, URIBL_MULTI_RED: 3 },
    ...overrides,
  });
}

export function memoryLog(): { log: Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) lines.push(JSON.parse(line));
      cb();
    },
  });
  return { log: pino({ level: 'debug' }, stream), lines };
}

export function envelope(overrides: Partial<Envelope> = {}): Envelope {
  return { clientIp: '192.0.2.7', helo: 'mail.sender.example', mailFrom: 'someone@sender.example', rcptTo: ['user@ours.example'], ...overrides };
}

export function scanContext(log: Logger, env: Envelope = envelope(), signal = new AbortController().signal): ScanContext {
  return { tid: 't1', envelope: env, signal, log, authResults: [] };
}
