// The one config schema: every key, its type and its default. config/sluice.yaml documents each key.
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { z } from 'zod';
import { asciiDomain } from '../util/address.ts';

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
  /**
   * Bytes of message data held at once over all connections. A message is kept in memory from DATA
   * until the downstream or the quarantine has it; past this, new mail gets 452 4.3.1 and is retried.
   */
  maxInFlightBytes: positiveInt.default(268_435_456),
  /** A client silent this long is disconnected (421). */
  idleTimeoutMs: positiveInt.default(300_000),
  /** The longest a whole transaction (MAIL FROM to the end of DATA) may take. */
  transactionTimeoutMs: positiveInt.default(600_000),
  /** How long SIGTERM waits for transactions in flight before closing them. */
  shutdownGraceMs: positiveInt.default(30_000),
  tls: z.strictObject({ cert: z.string(), key: z.string() }).optional(),
}).refine((s) => s.maxInFlightBytes >= s.maxSize, {
  path: ['maxInFlightBytes'],
  message: 'must be at least smtp.maxSize, or a message of the largest size would never be taken',
}).prefault({});

const relay = z.strictObject({
  host: z.string().default('127.0.0.1'),
  port: port.default(25),
  /** Implicit TLS to the downstream (port 465 style); STARTTLS is used whenever offered. */
  secure: z.boolean().default(false),
  timeoutMs: positiveInt.default(60_000),
  maxConnections: positiveInt.default(10),
}).prefault({});

// A resolver is reached by address: `1.2.3.4`, `1.2.3.4:5353`, `::1`, `[::1]:5353`.
const dnsServer = z.string().refine((spec) => {
  const bracketed = /^\[([^\]]+)\](?::(\d{1,5}))?$/.exec(spec);
  if (bracketed) return isIP(bracketed[1]) === 6 && Number(bracketed[2] ?? 53) <= 65535;
  if (isIP(spec)) return true;
  const [host, p, extra] = spec.split(':');
  return extra === undefined && isIP(host) === 4 && /^\d{1,5}$/.test(p ?? '') && Number(p) <= 65535;
}, 'an IP address, optionally with a port: 127.0.0.1:5353 or [::1]:5353');

const dns = z.strictObject({
  /** Recursive resolvers to ask, in order; omitted: the system's (resolv.conf). */
  servers: z.array(dnsServer).optional(),
  /** Time for one question over all retries; past it the question fails as a temporary error. */
  timeoutMs: positiveInt.default(2000),
  /** Answers kept in the cache (TTL-honouring, negative answers too). */
  cacheSize: positiveInt.default(10_000),
  /** DNS lookups one message may cause across all checks; further ones fail as temporary errors. */
  maxQueriesPerMessage: positiveInt.default(250),
}).prefault({});

const spf = z.strictObject({
  /** Refuse at RCPT (before the body is sent) when SPF says `fail`; otherwise SPF_FAIL only adds score. */
  rejectFail: z.boolean().default(false),
}).prefault({});

const dmarc = z.strictObject({
  /** Apply the sender's policy: p=reject refuses with 550 5.7.1, p=quarantine quarantines. false: the policy only adds score. */
  enforce: z.boolean().default(true),
  /** ARC sealers (signing domains of ARC-Seal) whose valid chain overrides a DMARC failure: mailing lists, forwarders. */
  trustedArcSealers: z.array(z.string().min(1).transform((d) => d.toLowerCase().replace(/\.$/, ''))).default([]),
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
  /** Releasing a message also learns it as ham (it was a false positive). */
  learnOnRelease: z.boolean().default(false),
  /**
   * Redis store: replicas that must have a held message before the sender hears 250 (WAIT). 'auto': one
   * when the master has any; 0: the master's acknowledgement is enough.
   */
  replicas: z.union([z.literal('auto'), z.number().int().nonnegative()]).default('auto'),
  /** How long a held message waits for those replicas; then the sender gets 451 and retries. */
  replicaTimeoutMs: positiveInt.default(2000),
}).prefault({});

const checks = z.strictObject({
  auth: z.boolean().default(true),
  dnsbl: z.boolean().default(true),
  uribl: z.boolean().default(true),
  bayes: z.boolean().default(true),
  /** Reverse DNS and HELO sanity of the connecting client. */
  client: z.boolean().default(true),
  /** Time limit of one check; a check that takes longer reports `<FAMILY>_ERROR`. */
  timeoutMs: positiveInt.default(10_000),
  /**
   * Worker threads for the data stage (MIME parsing, DKIM/ARC/DMARC, URI lists, Bayes); 0 runs it on the
   * main thread. Each thread costs memory (its own copy of the checks, DNS cache and store connection).
   * `auto` (the default): one per core beyond the first (at most 8), read when the config is loaded;
   * none on one core.
   */
  workers: z
    .union([z.literal('auto'), z.number().int().min(0).max(64)])
    .default('auto')
    .transform((n) => (n === 'auto' ? Math.min(8, availableParallelism() - 1) : n)),
  /**
   * Bytes of a larger message that the content checks (Bayes, URI lists, GTUBE in decoded text) parse:
   * spam is small, and parsing a 25 MB attachment costs about 100 MB and a quarter second for nothing.
   * Authentication (DKIM, ARC, DMARC) always reads the whole message.
   */
  maxScanSize: positiveInt.default(1_048_576),
  /**
   * Rspamd's GTUBE-like test patterns besides the standard GTUBE: YJS… and ZJS… tag the message, AJS… accepts
   * it whatever the score. Off by default, as anyone who knows them could send spam past the filter.
   */
  testPatterns: z.boolean().default(false),
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

const bayes = z.strictObject({
  /** Bayes says nothing until each class has learned this many messages. */
  minLearns: positiveInt.default(200),
  /** Messages with fewer words (subject and body) than this are not judged (0: every message, short ones by their headers). */
  minWords: z.number().int().min(0).default(0),
  /** Header and structure tokens besides the text (false: a body-only model). */
  headerTokens: z.boolean().default(true),
  /** Tokens seen once and not learned again for this many days are pruned (Redis: expire). */
  tokenTtlDays: z.number().positive().default(30),
  /** Learn from the gateway's own verdicts; only when evidence other than Bayes agrees. */
  autolearn: z.boolean().default(false),
  /** Autolearn spam at or above this total score, when the non-Bayes symbols alone reach `autolearnEvidence`. */
  autolearnSpamScore: z.number().default(12),
  /** Autolearn ham at or below this total score, when no non-Bayes symbol scored above 0. */
  autolearnHamScore: z.number().default(-2),
  /** Score the non-Bayes symbols must add up to for a spam autolearn. */
  autolearnEvidence: z.number().default(5),
}).prefault({});

// The operator surface: metrics, health probes, the quarantine API and page. Off the public interface by default.
const adminToken = z.string().min(16, 'use a token of at least 16 characters (e.g. `openssl rand -hex 24`)');
const admin = z.strictObject({
  enabled: z.boolean().default(false),
  host: z.string().default('127.0.0.1'),
  port: port.default(8025),
  /** The bearer token; when absent, the environment variable SLUICE_ADMIN_TOKEN. Actions are logged as by "admin". */
  token: adminToken.optional(),
  /** More tokens, by the name that actions are logged under, e.g. { alice: "…" }. */
  tokens: z.record(z.string().regex(/^[A-Za-z0-9_.@-]{1,64}$/, 'a name of letters, digits and _.@-'), adminToken).default({}),
  /** /readyz needs the downstream to have answered within this interval; it is probed this often. */
  readyIntervalMs: positiveInt.default(30_000),
}).prefault({}).transform((a) => ({ ...a, token: a.token ?? (process.env.SLUICE_ADMIN_TOKEN || undefined) })).check((ctx) => {
  const a = ctx.value;
  if (a.enabled && !a.token && Object.keys(a.tokens).length === 0) {
    ctx.issues.push({ code: 'custom', input: a, path: ['token'], message: 'admin is enabled but has no token: set admin.token or the environment variable SLUICE_ADMIN_TOKEN' });
  }
  if (a.token !== undefined && a.token.length < 16) {
    ctx.issues.push({ code: 'custom', input: a, path: ['token'], message: 'SLUICE_ADMIN_TOKEN must be at least 16 characters' });
  }
});

const log = z.strictObject({
  level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
}).prefault({});

// Blocklists (RFC 5782 DNSxLs). Each zone maps answer codes to symbols; weights live in `scores`.
const symbolName = z.string().regex(/^[A-Z0-9_]+$/, 'symbol names are upper case');
const listingCode = z.string().regex(/^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/, 'answer codes are addresses in 127.0.0.0/8');
const zoneName = z.string().regex(/^([a-z0-9_-]+\.)+[a-z0-9-]+\.?$/i, 'a DNS zone such as zen.spamhaus.org');

function blocklistZone(defaultSelfTest: { listed: string; unlisted: string }) {
  return z.strictObject({
    /** The zone queried; for Spamhaus DQS `<key>.zen.dq.spamhaus.net` (the key is never logged). */
    zone: zoneName,
    /** How the list is named in logs and in SMTP replies; default: the zone (a DQS key removed). */
    name: z.string().regex(/^\S+$/, 'one word, such as zen.spamhaus.org').optional(),
    /** Answer code → symbol. */
    codes: z.record(listingCode, symbolName).default({}),
    /** Bit (decimal, of the last octet) → symbol, for lists that add codes up (URIBL/SURBL multi). */
    mask: z.record(z.string().regex(/^\d+$/, 'a bit value such as 2, 4, 8'), symbolName).default({}),
    /** Symbol for any other 127.0.0.0/8 answer. */
    symbol: symbolName.optional(),
    /** Codes meaning "query refused", in addition to 127.255.255.0/24 (e.g. 127.0.0.1 for multi.uribl.com). */
    blockedCodes: z.array(listingCode).default([]),
    /** Shown in the SMTP refusal; `{ip}`, `{domain}` or `{item}` is replaced by what was listed. */
    lookupUrl: z.url().optional(),
    /** RFC 5782 test entries: `listed` must be listed, `unlisted` must not; false: no self-test. */
    selfTest: z.union([z.literal(false), z.strictObject({ listed: z.string().min(1), unlisted: z.string().min(1) })])
      .default(defaultSelfTest),
  }).check((ctx) => {
    const v = ctx.value;
    if (Object.keys(v.codes).length === 0 && Object.keys(v.mask).length === 0 && !v.symbol) {
      ctx.issues.push({ code: 'custom', input: v, message: `zone ${v.zone}: give codes, mask or symbol, else a listing means nothing` });
    }
  });
}

const SPAMHAUS_ZEN = {
  zone: 'zen.spamhaus.org',
  lookupUrl: 'https://check.spamhaus.org/results/?query={ip}',
  codes: {
    '127.0.0.2': 'DNSBL_ZEN_SBL',
    '127.0.0.3': 'DNSBL_ZEN_SBL_CSS',
    '127.0.0.4': 'DNSBL_ZEN_XBL',
    '127.0.0.5': 'DNSBL_ZEN_XBL',
    '127.0.0.6': 'DNSBL_ZEN_XBL',
    '127.0.0.7': 'DNSBL_ZEN_XBL',
    '127.0.0.9': 'DNSBL_ZEN_DROP',
    '127.0.0.10': 'DNSBL_ZEN_PBL',
    '127.0.0.11': 'DNSBL_ZEN_PBL',
  },
};

const SPAMHAUS_DBL = {
  zone: 'dbl.spamhaus.org',
  lookupUrl: 'https://check.spamhaus.org/results/?query={domain}',
  codes: {
    '127.0.1.2': 'URIBL_DBL_SPAM',
    '127.0.1.4': 'URIBL_DBL_PHISH',
    '127.0.1.5': 'URIBL_DBL_MALWARE',
    '127.0.1.6': 'URIBL_DBL_BOTNET',
    '127.0.1.102': 'URIBL_DBL_ABUSED_SPAM',
    '127.0.1.103': 'URIBL_DBL_ABUSED_REDIRECTOR',
    '127.0.1.104': 'URIBL_DBL_ABUSED_PHISH',
    '127.0.1.105': 'URIBL_DBL_ABUSED_MALWARE',
    '127.0.1.106': 'URIBL_DBL_ABUSED_BOTNET',
  },
  // The DBL's documented test domain; RFC 5782's `test` is not listed there.
  selfTest: { listed: 'dbltest.com', unlisted: 'invalid' },
};

const dnsbl = z.strictObject({
  /** Lists of client IP addresses, asked when the client connects. */
  zones: z.array(blocklistZone({ listed: '127.0.0.2', unlisted: '127.0.0.1' })).prefault([SPAMHAUS_ZEN]),
  /** How often each zone is self-tested (RFC 5782); a failing zone is off until it passes again. */
  selfTestIntervalMs: positiveInt.default(600_000),
}).prefault({});

const uribl = z.strictObject({
  /** Domain lists, asked for the domains of links in the body and of the envelope sender and From. */
  zones: z.array(blocklistZone({ listed: 'test', unlisted: 'invalid' })).prefault([SPAMHAUS_DBL]),
  /** Distinct domains looked up per message at most (sender domains first, then links). */
  maxDomains: positiveInt.default(20),
  selfTestIntervalMs: positiveInt.default(600_000),
}).prefault({});

const cidr = z.string().refine((value) => {
  const [address, bits, extra] = value.split('/');
  const family = isIP(address);
  if (!family || extra !== undefined) return false;
  if (bits === undefined) return true;
  return /^\d+$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128);
}, 'an address or a network such as 192.0.2.0/24 or 2001:db8::/32');

const allowlist = z.strictObject({
  /** Clients in these networks are never looked up in blocklists. */
  networks: z.array(cidr).default([]),
  /** Envelope senders in these domains (and their subdomains) are never looked up in blocklists. Forgeable: prefer networks. */
  senderDomains: z.array(z.string().min(1).transform((d) => d.toLowerCase().replace(/^\.|\.$/g, ''))).default([]),
  /** Allowlisted mail skips scoring altogether: it is accepted unless a force rule says reject. */
  bypassScoring: z.boolean().default(false),
}).prefault({});

// Traffic control before DATA: greylisting and rate limits, their state in the store.
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** `30s`, `5m`, `24h`, `36d` → milliseconds. */
const duration = z.string().regex(/^\d+(s|m|h|d)$/, 'a duration such as 30s, 5m, 24h or 36d')
  .transform((v) => Number(v.slice(0, -1)) * UNIT_MS[v.slice(-1)]).refine((ms) => ms > 0, 'must be longer than 0');
const prefixBits = (max: number) => z.number().int().min(8).max(max);

const greylist = z.strictObject({
  enabled: z.boolean().default(false),
  /** rcpt: first sight of a triplet gets 451 at RCPT TO (no body crosses); data: at the end of DATA, only for mail scoring minScore or more. */
  stage: z.enum(['rcpt', 'data']).default('rcpt'),
  /** A retry is accepted this long after the first attempt… */
  delay: duration.prefault('5m'),
  /** …and no later than this; after it the triplet starts again. */
  window: duration.prefault('24h'),
  /** A passed triplet (and an auto-whitelisted client) is remembered this long after its last use. */
  expiry: duration.prefault('36d'),
  /** A client (network) whose triplets passed this many times is not greylisted any more; 0: never (postgrey: 5). */
  autoWhitelist: z.number().int().min(0).default(5),
  /** The client part of a triplet: its network, so that a sender retrying from another address of its pool is recognised. */
  ipv4Prefix: prefixBits(32).default(24),
  ipv6Prefix: prefixBits(128).default(64),
  /** Clients whose forward-confirmed reverse name is in one of these domains are not greylisted (big senders with large pools). */
  skipDomains: z.array(z.string().min(1).transform((d) => d.toLowerCase().replace(/^\.|\.$/g, ''))).default([]),
  /** Networks and sender domains not greylisted (besides allowlist.networks and allowlist.senderDomains). */
  skipNetworks: z.array(cidr).default([]),
  skipSenders: z.array(z.string().min(1).transform((d) => d.toLowerCase().replace(/^\.|\.$/g, ''))).default([]),
  /** A sender whose SPF passes for the client is matched by its domain instead of the client network (needs checks.auth). */
  skipSpf: z.boolean().default(false),
  /** With stage: data, mail scoring below this is not greylisted (Rspamd's greylist action is at 4). */
  minScore: z.number().default(4),
}).prefault({}).check((ctx) => {
  const g = ctx.value;
  if (g.delay >= g.window) ctx.issues.push({ code: 'custom', input: g, path: ['window'], message: 'must be longer than greylist.delay, or no retry would ever pass' });
});

/** `100/1h`, `10/m`: a count over a period. */
const rate = z.string().regex(/^\d+\/\d*(s|m|h|d)$/, 'a count over a period such as 100/1h, 10/m or 1000/1d').transform((v, ctx) => {
  const [count, period] = v.split('/');
  const ms = (Number(period.slice(0, -1)) || 1) * UNIT_MS[period.slice(-1)];
  if (Number(count) < 1) ctx.issues.push({ code: 'custom', input: v, message: 'the count must be at least 1' });
  return { text: v, count: Number(count), periodMs: ms };
});

const RATE_KEYS = ['ip', 'network', 'sender', 'senderDomain', 'recipient', 'bounce'] as const;
const rateLimit = z.strictObject({
  /** What is counted: per client address, client network, envelope sender, sender domain, recipient, or bounces (null sender) per recipient. */
  key: z.enum(RATE_KEYS),
  rate,
  /** How many may come at once; default: the count of `rate`. Over any period at most rate + burst get through. */
  burst: positiveInt.optional(),
  /** Past the limit: tempfail (451 4.7.1, the sender retries) or reject (550 5.7.1). */
  action: z.enum(['tempfail', 'reject']).default('tempfail'),
  /** The symbol it reports; default RATELIMIT_<KEY>. Give two limits of one key with different actions their own. */
  symbol: symbolName.optional(),
});

const ratelimit = z.strictObject({
  limits: z.array(rateLimit).default([]),
  /** The network of the `network` key. */
  ipv4Prefix: prefixBits(32).default(24),
  ipv6Prefix: prefixBits(128).default(64),
}).prefault({}).check((ctx) => {
  // The action is a force rule on the symbol: one symbol cannot stand for two actions.
  const actionOf = new Map<string, string>();
  ctx.value.limits.forEach((l, i) => {
    const symbol = l.symbol ?? rateLimitSymbol(l.key);
    const seen = actionOf.get(symbol);
    if (seen && seen !== l.action) {
      ctx.issues.push({ code: 'custom', input: l, path: ['limits', i, 'symbol'], message: `${symbol} is already a ${seen} limit: give this one a symbol of its own` });
    }
    actionOf.set(symbol, l.action);
  });
});

/** RATELIMIT_IP, RATELIMIT_SENDER_DOMAIN, …: the default symbol of a limit's key. */
export function rateLimitSymbol(key: (typeof RATE_KEYS)[number]): string {
  return `RATELIMIT_${key.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
}

export const configSchema = z.strictObject({
  smtp,
  // In ASCII form, as recipients are compared: bücher.example and xn--bcher-kva.example are one domain.
  domains: z.array(z.string().min(1).transform(asciiDomain)).min(1, 'list at least one domain to accept mail for').default(['example.net']),
  relay,
  dns,
  store,
  quarantine,
  checks,
  actions,
  bayes,
  /** Symbol weights over the built-in table. */
  scores: z.record(z.string().regex(/^[A-Z0-9_]+$/, 'symbol names are upper case'), z.number()).default({}),
  /** Highest total one symbol family (the part before the first `_`) may add. */
  groupCaps: z.record(z.string(), z.number().positive()).default({}),
  /** Symbols that decide the action whatever the score, e.g. `{ MY_BLOCK: reject }`. */
  force: z.record(z.string(), action).default({}),
  dnsbl,
  uribl,
  allowlist,
  greylist,
  ratelimit,
  spf,
  dmarc,
  admin,
  log,
});

export type Config = z.infer<typeof configSchema>;
