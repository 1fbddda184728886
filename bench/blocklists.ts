// `npx node bench/blocklists.ts`: what the blocklist checks (client signals, DNSBL, URI lists) add to
// each message, with DNS answered by a local server, cold cache and warm cache; and how many lookups
// a message costs on the SpamAssassin mix. Prints numbers; not a test.
//   BENCH_MESSAGES=500         messages from the corpus sample
//   BENCH_DNS_DELAY_MS=0       added to every DNS answer (a recursive resolver missing its own cache: try 20)
import { performance } from 'node:perf_hooks';
import { pino } from 'pino';
import { loadCorpus, sample } from './corpus.ts';
import { startDnsServer } from '../test/helpers/dns-server.ts';
import { parseConfig } from '../src/config/load.ts';
import { createResolver } from '../src/dns/resolver.ts';
import { blocklistChecks } from '../src/checks/dnsbl/index.ts';
import { gtubeCheck } from '../src/checks/gtube.ts';
import { Pipeline } from '../src/scan/pipeline.ts';
import type { Envelope } from '../src/scan/types.ts';
import { messageDomains } from '../src/checks/uribl/extract.ts';
import { simpleParser } from 'mailparser';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 500);
const DNS_DELAY_MS = Number(process.env.BENCH_DNS_DELAY_MS ?? 0);

const messages = sample(loadCorpus(), MESSAGES);

// A client address per message, public-looking and repeated now and then as real senders are;
// one in ten is listed, as is one linked domain in twenty.
const envelopes: Envelope[] = messages.map((m, i) => {
  const head = m.raw.subarray(0, 8192).toString('latin1');
  const sender = /^Return-Path:\s*<([^>]*)>/im.exec(head)?.[1] ?? /^From:.*?([\w.+-]+@[\w.-]+)/im.exec(head)?.[1] ?? '';
  return { clientIp: `198.51.${(i * 7) % 40}.${(i * 13) % 200 + 1}`, helo: 'mail.sender.example', mailFrom: sender, rcptTo: ['user@example.net'] };
});

const zone: Record<string, { A: string[] }> = {
  '2.0.0.127.zen.bench': { A: ['127.0.0.2'] },
  'test.dbl.bench': { A: ['127.0.1.2'] },
};
envelopes.forEach((e, i) => {
  if (i % 10 === 0) zone[`${e.clientIp.split('.').reverse().join('.')}.zen.bench`] = { A: ['127.0.0.4'] };
});
const allDomains = new Set<string>();
for (const m of messages) {
  const parsed = await simpleParser(m.raw, { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true }).catch(() => null);
  for (const d of messageDomains({ html: parsed?.html || undefined, text: parsed?.text }, 1000)) allDomains.add(d.domain);
}
[...allDomains].forEach((d, i) => {
  if (i % 20 === 0) zone[`${d}.dbl.bench`] = { A: ['127.0.1.2'] };
});

const dns = await startDnsServer({ zone });
dns.behaviour.delayMs = DNS_DELAY_MS;
const config = parseConfig({
  dns: { servers: [dns.address], timeoutMs: 2000 },
  dnsbl: { zones: [{ zone: 'zen.bench', codes: { '127.0.0.2': 'DNSBL_ZEN_SBL', '127.0.0.4': 'DNSBL_ZEN_XBL' } }] },
  uribl: { zones: [{ zone: 'dbl.bench', codes: { '127.0.1.2': 'URIBL_DBL_SPAM' } }] },
  checks: { auth: false, bayes: false },
});
const log = pino({ level: 'silent' });
const resolver = createResolver(config.dns);
const policy = { scores: config.scores, groupCaps: {}, force: {}, actions: config.actions };
const baseline = new Pipeline({ checks: [gtubeCheck()], policy, timeoutMs: 10_000, log });
const withBlocklists = new Pipeline({ checks: [gtubeCheck(), ...blocklistChecks({ config, dns: resolver, log })], policy, timeoutMs: 10_000, log });

async function timeAll(pipeline: Pipeline, beforeEach?: () => void): Promise<{ ms: number[]; lookups: number[]; queries: number[]; listed: number }> {
  const ms: number[] = [];
  const lookups: number[] = [];
  const queries: number[] = [];
  let listed = 0;
  for (let i = 0; i < messages.length; i++) {
    beforeEach?.();
    const before = { ...resolver.stats };
    const started = performance.now();
    const { verdict } = await pipeline.scan({ ...envelopes[i], rcptTo: [...envelopes[i].rcptTo] }, messages[i].raw);
    ms.push(performance.now() - started);
    lookups.push(resolver.stats.lookups - before.lookups);
    queries.push(resolver.stats.queries - before.queries);
    if (verdict.symbols.some((s) => s.name.startsWith('DNSBL_ZEN_') || s.name.startsWith('URIBL_DBL_'))) listed++;
  }
  return { ms, lookups, queries, listed };
}

const pct = (xs: number[], p: number) => {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
};
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const f = (n: number) => n.toFixed(2);

// Warm-up of the JIT and the parser, not measured.
await timeAll(baseline);
const base = await timeAll(baseline);
const cold = await timeAll(withBlocklists, () => resolver.clear());
// Warm: every name of the mix already asked once (and within its TTL).
await timeAll(withBlocklists);
const warm = await timeAll(withBlocklists);

console.log(`blocklist checks: ${messages.length} messages from the SpamAssassin corpus, sequential, DNS on loopback` +
  (DNS_DELAY_MS ? ` with ${DNS_DELAY_MS} ms added per answer` : ''));
console.log(`zones: 1 IP list, 1 domain list; ${Object.keys(zone).length} listed entries; messages with a listing: ${warm.listed}`);
console.log('');
console.log('                         mean ms   p50 ms   p99 ms   added mean   added p50   added p99');
const row = (name: string, r: { ms: number[] }) => {
  const added = r.ms.map((v, i) => v - base.ms[i]);
  console.log(`${name.padEnd(24)} ${f(mean(r.ms)).padStart(7)}  ${f(pct(r.ms, 50)).padStart(7)}  ${f(pct(r.ms, 99)).padStart(7)}` +
    `   ${f(mean(added)).padStart(10)}  ${f(pct(added, 50)).padStart(10)}  ${f(pct(added, 99)).padStart(10)}`);
};
row('scan, no blocklists', { ms: base.ms });
row('blocklists, cold cache', cold);
row('blocklists, warm cache', warm);
console.log('');
console.log(`lookups per message (asked of the DNS layer): mean ${f(mean(cold.lookups))}, p50 ${pct(cold.lookups, 50)}, p99 ${pct(cold.lookups, 99)}, max ${Math.max(...cold.lookups)}`);
console.log(`queries sent per message, cold cache:         mean ${f(mean(cold.queries))}, p50 ${pct(cold.queries, 50)}, max ${Math.max(...cold.queries)}`);
console.log(`queries sent per message, warm cache:         mean ${f(mean(warm.queries))}, max ${Math.max(...warm.queries)}`);
console.log(`distinct linked domains in the mix: ${allDomains.size}`);

await dns.stop();
