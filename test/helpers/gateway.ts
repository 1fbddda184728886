// Starts a real gateway for end-to-end tests: SMTP on a free loopback port, a downstream sink,
// a fresh data folder, logs kept in memory for assertions.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import nodemailer from 'nodemailer';
import type SMTPConnection from 'nodemailer/lib/smtp-connection';
import { parseConfig } from '../../src/config/load.ts';
import type { z } from 'zod';
import type { Config, configSchema } from '../../src/config/schema.ts';
import { startGateway, type Gateway } from '../../src/app.ts';
import { startSink, type Sink } from './sink.ts';

export interface TestGateway {
  gateway: Gateway;
  sink: Sink;
  config: Readonly<Config>;
  port: number;
  /** The admin listener's port, when the overrides enable it. */
  adminPort?: number;
  dataDir: string;
  /** Every log line as an object. */
  logs: Record<string, unknown>[];
  verdicts(): Record<string, unknown>[];
  /** Sends with nodemailer as a real MTA would; resolves to the final reply or rejects with the SMTP error. */
  send(message: SendInput): Promise<{ response: string }>;
  stop(): Promise<void>;
}

export interface SendInput {
  from?: string;
  to?: string[];
  raw: string | Buffer;
  /** Source address of the client connection (127.0.0.x are all this machine). */
  localAddress?: string;
  name?: string;
  /** A DSN request (RFC 3461) as nodemailer takes it: the same NOTIFY and ORCPT for every recipient. */
  dsn?: { ret?: 'FULL' | 'HDRS'; envid?: string; notify?: string[]; orcpt?: string };
}

/** Config overrides, as they would be written in the YAML file, merged one level deep over the test defaults. */
export type Overrides = z.input<typeof configSchema>;

/** `now`: the clock of greylisting and rate limits, which a test moves forward instead of sleeping. */
export async function startTestGateway(overrides: Overrides = {}, options: { sink?: Sink; now?: () => number } = {}): Promise<TestGateway> {
  const sink = options.sink ?? (await startSink());
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-test-'));
  const base: Record<string, unknown> = {
    smtp: { host: '127.0.0.1', port: 0, hostname: 'mx.test.example', shutdownGraceMs: 2000 },
    admin: { enabled: false, host: '127.0.0.1', port: 0 },
    domains: ['example.net'],
    relay: { host: '127.0.0.1', port: sink.port, timeoutMs: 3000 },
    store: { backend: 'embedded', path: join(dataDir, 'store') },
    quarantine: { dir: join(dataDir, 'quarantine') },
    checks: { auth: false, dnsbl: false, uribl: false, bayes: false },
    log: { level: 'debug' },
  };
  const merged: Record<string, unknown> = { ...base };
  for (const [key, value] of Object.entries(overrides)) {
    const b = base[key];
    merged[key] = b && typeof b === 'object' && !Array.isArray(b) && value && typeof value === 'object' && !Array.isArray(value) ? { ...b, ...value } : value;
  }
  // A test's clock reaches the main thread only: a test that sets one runs the data stage there, not
  // on the scan workers the default (`checks.workers: auto`) starts on a machine of two cores or more.
  const checks = merged.checks as Record<string, unknown>;
  if (options.now && checks.workers === undefined) merged.checks = { ...checks, workers: 0 };
  const config = parseConfig(merged, 'test');
  const logs: Record<string, unknown>[] = [];
  const logStream = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  const log = pino({ level: config.log.level }, logStream);
  const gateway = await startGateway(config, log, { now: options.now });
  const port = gateway.port;
  return {
    gateway, sink, config, port, dataDir, logs,
    adminPort: gateway.adminPort,
    verdicts: () => logs.filter((l) => l.msg === 'verdict'),
    async send(input) {
      const transport = nodemailer.createTransport({
        host: '127.0.0.1', port, secure: false, ignoreTLS: true, localAddress: input.localAddress,
        name: input.name ?? 'client.test.example', connectionTimeout: 5000, socketTimeout: 10000, logger: false,
      });
      try {
        const info = await transport.sendMail({
          envelope: { from: input.from ?? 'sender@origin.example', to: input.to ?? ['user@example.net'] },
          raw: input.raw,
          ...(input.dsn ? { dsn: input.dsn as SMTPConnection.DSNOptions } : {}),
        });
        return { response: String(info.response) };
      } finally {
        transport.close();
      }
    },
    async stop() {
      await gateway.stop();
      if (!options.sink) await sink.stop().catch(() => {});
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export function message(opts: { subject?: string; body?: string; headers?: string[]; from?: string } = {}): string {
  return [
    `From: ${opts.from ?? 'Sender <sender@origin.example>'}`,
    'To: User <user@example.net>',
    `Subject: ${opts.subject ?? 'Hello'}`,
    'Date: Sat, 28 Nov 2026 10:00:00 +0000',
    // Unique, and of one shape: Bayes reads the shape of an id, and a shape that by chance only the
    // spam a test learned had would make the test's verdicts random.
    `Message-ID: <test.${Math.floor(Math.random() * 1e12)}@origin.example>`,
    ...(opts.headers ?? []),
    '',
    opts.body ?? 'Just a normal message.',
    '',
  ].join('\r\n');
}

export { GTUBE } from './gtube.ts';
