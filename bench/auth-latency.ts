// `npx node bench/auth-latency.ts`: the latency authentication adds to a message — SPF, DKIM, ARC and DMARC
// through Sluice's DNS layer to a DNS server on loopback — with a warm cache and, for comparison, a cold one.
// Messages are real ones (the SpamAssassin corpus sample the throughput bench uses), re-addressed and
// DKIM-signed for a test domain whose SPF and DMARC records the local server publishes.
import { generateKeyPairSync } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import pino from 'pino';
import { dkimSign } from 'mailauth';
import { loadCorpus, sample } from './corpus.ts';
import { startDnsServer } from '../test/helpers/dns-server.ts';
import { createResolver } from '../src/dns/resolver.ts';
import { authChecks, type AuthDeps } from '../src/checks/auth/index.ts';
import type { Envelope, MessageContent, ScanContext } from '../src/scan/types.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 500);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 4);
const DOMAIN = 'bench.example';

const { privateKey, publicKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const dns = await startDnsServer({
  zone: {
    [DOMAIN]: { TXT: ['v=spf1 ip4:127.0.0.0/24 -all'] },
    [`sel._domainkey.${DOMAIN}`]: { TXT: [`v=DKIM1; k=rsa; p=${publicKey.export({ type: 'spki', format: 'der' }).toString('base64')}`] },
    [`_dmarc.${DOMAIN}`]: { TXT: ['v=DMARC1; p=reject'] },
  },
});

/** Real messages with From set to the test domain, signed the way an outbound MTA would. */
async function prepare(): Promise<Buffer[]> {
  const pem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const out: Buffer[] = [];
  for (const m of sample(loadCorpus(), MESSAGES)) {
    const text = m.raw.toString('latin1').replace(/\r?\n/g, '\r\n');
    const headerEnd = text.indexOf('\r\n\r\n');
    const head = (headerEnd < 0 ? text : text.slice(0, headerEnd)).replace(/^(From|DKIM-Signature|Authentication-Results):.*(\r\n[ \t].*)*\r\n?/gim, '');
    const raw = Buffer.from(`From: Sender <news@${DOMAIN}>\r\n${head}\r\n\r\n${headerEnd < 0 ? '' : text.slice(headerEnd + 4)}`, 'latin1');
    const options = { signatureData: [{ signingDomain: DOMAIN, selector: 'sel', privateKey: pem }] };
    const { signatures } = await dkimSign(raw, options as unknown as Parameters<typeof dkimSign>[1]);
    out.push(Buffer.concat([Buffer.from(signatures), raw]));
  }
  return out;
}

const log = pino({ level: 'silent' });

/** One message through every authentication check, as the pipeline runs them: SPF at MAIL, the rest at DATA. */
async function authenticate(deps: AuthDeps, raw: Buffer, i: number): Promise<{ ms: number; symbols: string[] }> {
  const checks = authChecks(deps);
  const envelope: Envelope = { clientIp: `127.0.0.${1 + (i % 200)}`, helo: 'mta.bench.example', mailFrom: `bounce@${DOMAIN}`, rcptTo: ['user@example.net'] };
  const message: MessageContent = { raw, parsed: null };
  const ctx = (withMessage: boolean): ScanContext => ({
    tid: String(i), envelope, message: withMessage ? message : undefined, signal: new AbortController().signal, log, authResults: [],
  });
  const t0 = performance.now();
  const mail = await Promise.all(checks.filter((c) => c.stage === 'mail').map((c) => c.run(ctx(false))));
  const data = await Promise.all(checks.filter((c) => c.stage === 'data').map((c) => c.run(ctx(true))));
  const ms = performance.now() - t0;
  return { ms, symbols: [...mail.flat(), ...data.flat()].map((h) => h.name) };
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

function report(label: string, times: number[]): void {
  const sorted = [...times].sort((a, b) => a - b);
  const mean = times.reduce((a, b) => a + b, 0) / times.length;
  console.log(`${label.padEnd(34)} n=${String(times.length).padStart(5)}  p50=${percentile(sorted, 50).toFixed(2)} ms  p99=${percentile(sorted, 99).toFixed(2)} ms  mean=${mean.toFixed(2)} ms`);
}

const messages = await prepare();
const meanKb = messages.reduce((a, m) => a + m.length, 0) / messages.length / 1024;
console.log(`auth latency: ${messages.length} corpus messages (mean ${meanKb.toFixed(1)} kB), DNS on ${dns.address}, node ${process.version}`);

const resolver = createResolver({ servers: [dns.address], timeoutMs: 2000 });
const deps: AuthDeps = { dns: resolver, hostname: 'mx.sluice.test', maxQueriesPerMessage: 250, evaluationTimeoutMs: 9500, trustedArcSealers: [] };

// Cold: the cache emptied before each message, so every lookup crosses the loopback.
const cold: number[] = [];
for (let i = 0; i < Math.min(200, messages.length); i++) {
  resolver.clear();
  cold.push((await authenticate(deps, messages[i], i)).ms);
}

// Warm: the records are cached, as they are for a domain that sends steadily.
const first = await authenticate(deps, messages[0], 0);
if (!['SPF_PASS', 'DKIM_PASS', 'DMARC_PASS'].every((s) => first.symbols.includes(s))) throw new Error(`unexpected symbols ${first.symbols.join(',')}`);
const warm: number[] = [];
for (let r = 0; r < ROUNDS; r++) for (let i = 0; i < messages.length; i++) warm.push((await authenticate(deps, messages[i], i)).ms);

// Ten messages at a time, as a busy gateway sees them.
const parallel: number[] = [];
for (let i = 0; i < messages.length; i += 10) {
  const batch = await Promise.all(messages.slice(i, i + 10).map((m, j) => authenticate(deps, m, i + j)));
  parallel.push(...batch.map((b) => b.ms));
}

report('cold cache (sequential)', cold);
report('warm cache (sequential)', warm);
report('warm cache (10 concurrent)', parallel);
console.log(`DNS layer: ${resolver.stats.queries} queries sent, ${resolver.stats.cacheHits} cache hits, ${resolver.stats.coalesced} coalesced`);
await dns.stop();
