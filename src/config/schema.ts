// The one config schema: every key, its type and its default. config/sluice.yaml documents each key.
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const positiveInt = z.number().int().positive();
const action = z.enum(['accept', 'tag', 'quarantine', 'reject', 'tempfail']);

const smtp = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: port.default(2525),
  /** Our name in the greeting, in Received: and as the authserv-id of Authentication-Results. */
  hostname: z.string().min(1).default('mx.example.net'),
  maxSize: positiveInt.default(26_214_400),
  maxRecipients: positiveInt.default(100),
  maxConnections: positiveInt.default(500),
  maxConnectionsPerIp: positiveInt.default(20),
  /** A client silent this long is disconnected (421). */
  idleTimeoutMs: positiveInt.default(300_000),
  /** The longest a whole transaction (MAIL FROM to the end of DATA) may take. */
  transactionTimeoutMs: positiveInt.default(600_000),
  /** How long SIGTERM waits for transactions in flight before closing them. */
  shutdownGraceMs: positiveInt.default(30_000),
  tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
}).prefault({});

const relay = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: port.default(25),
  /** Implicit TLS to the downstream (port 465 style); STARTTLS is used whenever offered. */
  secure: z.boolean().default(false),
  timeoutMs: positiveInt.default(60_000),
  maxConnections: positiveInt.default(10),
}).prefault({});

const dns = z.strictObject({
  servers: z.array(z.string().regex(/^(\[[0-9a-fA-F:.]+\]|[^\s:]+)(:\d+)?$/, 'host or host:port')).optional(),
  timeoutMs: positiveInt.default(2000),
}).prefault({});

const store = z.strictObject({
  backend: z.enum(['embedded', 'redis']).default('embedded'),
  /** Folder of the embedded store. */
  path: z.string().default('./data'),
  url: z.string().default('redis://127.0.0.1:6379'),
  prefix: z.string().default('sluice:'),
}).prefault({});

const quarantine = z.strictObject({
  dir: z.string().default('./data/quarantine'),
  retentionDays: z.number().positive().default(30),
}).prefault({});

const checks = z.strictObject({
  auth: z.boolean().default(true),
  dnsbl: z.boolean().default(true),
  uribl: z.boolean().default(true),
  bayes: z.boolean().default(true),
  /** Time limit of one check; a check that takes longer reports `<FAMILY>_ERROR`. */
  timeoutMs: positiveInt.default(10_000),
}).prefault({});

const actions = z.strictObject({
  tag: z.number().default(5),
  quarantine: z.number().default(10),
  reject: z.number().default(15),
}).prefault({}).check((ctx) => {
  const a = ctx.value;
  if (!(a.tag <= a.quarantine && a.quarantine <= a.reject)) {
    ctx.issues.push({ code: 'custom', input: a, message: 'thresholds must satisfy tag <= quarantine <= reject' });
  }
});

const log = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).prefault({});

export const configSchema = z.strictObject({
  smtp,
  domains: z.array(z.string().min(1).transform((d) => d.toLowerCase())).min(1, 'list at least one domain to accept mail for').default(['example.net']),
  relay,
  dns,
  store,
  quarantine,
  checks,
  actions,
  /** Symbol weights over the built-in table. */
  scores: z.record(z.string().regex(/^[A-Z0-9_]+$/, 'symbol names are upper case'), z.number()).default({}),
  /** Highest total one symbol family (the part before the first `_`) may add. */
  groupCaps: z.record(z.string(), z.number().positive()).default({}),
  /** Symbols that decide the action whatever the score, e.g. `{ MY_BLOCK: reject }`. */
  force: z.record(z.string(), action).default({}),
  log,
});

export type Config = z.infer<typeof configSchema>;
