// `npx node bench/quarantine-list.ts [--entries 100000] [--runs 30] [--stores embedded,redis]`
// Time to list a page of 50 from a quarantine of 100,000 entries: straight from the store's index, and
// through the admin API over HTTP (what the quarantine page waits for). Embedded store always; Redis when
// src/store/redis exists and redis-server is installed (started on a free port, stopped at the end).
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { parseConfig } from '../src/config/load.ts';
import { startGateway } from '../src/app.ts';
import { openStore } from '../src/store/index.ts';
import type { QuarantineEntry, QuarantineQuery, Store } from '../src/store/types.ts';
import { newId } from '../src/util/ids.ts';

const { values: args } = parseArgs({
  options: {
    entries: { type: 'string', default: '100000' },
    runs: { type: 'string', default: '30' },
    stores: { type: 'string', default: 'embedded,redis' },
  },
});
const ENTRIES = Number(args.entries);
const RUNS = Number(args.runs);
const TOKEN = 'bench-token-0123456789abcdef';
const silent = pino({ level: 'silent' });

const SYMBOLS = ['BAYES_SPAM', 'DNSBL_ZEN_SBL', 'URIBL_DBL_SPAM', 'SPF_FAIL', 'DKIM_FAIL', 'RDNS_NONE', 'HELO_NOT_FQDN', 'DMARC_FAIL'];

function entry(i: number, now: number): QuarantineEntry {
  // Spread over 30 days, newest last; 500 senders, 2,000 recipients, two or three symbols each.
  const time = now - Math.floor(((ENTRIES - i) / ENTRIES) * 30 * 86_400_000);
  const symbols = [SYMBOLS[i % 8], SYMBOLS[(i * 7 + 3) % 8], ...(i % 3 ? [] : [SYMBOLS[(i * 5 + 1) % 8]])]
    .filter((s, k, all) => all.indexOf(s) === k)
    .map((name, k) => ({ name, score: k === 0 ? 6 : 2.5 }));
  return {
    id: newId(time), time, clientIp: `198.51.100.${i % 250}`, helo: `host${i % 997}.example`,
    mailFrom: `sender${i % 500}@spam${i % 37}.example`, rcptTo: [`user${i % 2000}@example.net`],
    subject: `Offer number ${i} for you`, size: 4000 + (i % 9000), action: 'quarantine',
    score: symbols.reduce((s, x) => s + x.score, 0), symbols,
  };
}

async function fill(store: Store): Promise<number> {
  const started = performance.now();
  const now = Date.now();
  const db = (store as { db?: { exec(sql: string): void } }).db;
  // One transaction for the embedded store, batches in flight for Redis: the fill is not what is measured.
  db?.exec('BEGIN');
  for (let i = 0; i < ENTRIES; i += 1000) {
    const batch: Promise<void>[] = [];
    for (let j = i; j < Math.min(ENTRIES, i + 1000); j++) batch.push(store.quarantine.add(entry(j, now)));
    await Promise.all(batch);
  }
  db?.exec('COMMIT');
  return performance.now() - started;
}

/** Median and p95 of `--runs` timings (fewer for slow cases: at least 5, within about 3 s). */
async function time(fn: () => Promise<unknown>): Promise<{ median: number; p95: number }> {
  for (let i = 0; i < 2; i++) await fn(); // warm caches and JIT
  const samples: number[] = [];
  const deadline = performance.now() + 3000;
  for (let i = 0; i < RUNS && (i < 5 || performance.now() < deadline); i++) {
    const t = performance.now();
    await fn();
    samples.push(performance.now() - t);
  }
  samples.sort((a, b) => a - b);
  return { median: samples[Math.floor(samples.length / 2)], p95: samples[Math.min(samples.length - 1, Math.ceil(samples.length * 0.95) - 1)] };
}

const CASES: { name: string; query: Omit<QuarantineQuery, 'limit'> }[] = [
  { name: 'first page', query: {} },
  { name: 'page at offset 50,000', query: { offset: 50_000 } },
  { name: 'last page', query: { offset: ENTRIES - 50 } },
  { name: 'last 24 hours', query: { since: Date.now() - 86_400_000 } },
  { name: 'sender filter', query: { sender: 'sender7@spam7.example' } },
  { name: 'recipient filter', query: { recipient: 'user42@example.net' } },
  { name: 'symbol filter', query: { symbol: 'DMARC_FAIL' } },
  { name: 'minScore 10.5', query: { minScore: 10.5 } },
  // Two broad filters: the total needs the whole intersection.
  { name: 'symbol + minScore 10.5', query: { symbol: 'DMARC_FAIL', minScore: 10.5 } },
  { name: 'minScore, offset 20,000', query: { minScore: 10.5, offset: 20_000 } },
];

function toParams(q: Omit<QuarantineQuery, 'limit'>): string {
  const p = new URLSearchParams({ limit: '50' });
  for (const [k, v] of Object.entries(q)) p.set(k, String(v));
  return p.toString();
}

const fmt = (ms: number) => ms.toFixed(ms < 10 ? 2 : 1).padStart(8);

async function benchStore(backend: 'embedded' | 'redis', redisUrl?: string): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-q-'));
  const storeConfig = backend === 'embedded' ? { backend, path: join(dir, 'store') } : { backend, url: redisUrl!, prefix: 'bench:' };
  try {
    const store = await openStore(parseConfig({ store: storeConfig }).store);
    const fillMs = await fill(store);
    const { total } = await store.quarantine.list({ limit: 0 });
    console.log(`\n${backend} store: ${total.toLocaleString()} entries (filled in ${(fillMs / 1000).toFixed(1)} s); page of 50, up to ${RUNS} runs, ms`);
    console.log(`${'case'.padEnd(24)} ${'matches'.padStart(8)}  ${'index p50'.padStart(9)} ${'p95'.padStart(8)}  ${'HTTP p50'.padStart(9)} ${'p95'.padStart(8)}`);
    const direct = new Map<string, { median: number; p95: number; total: number }>();
    for (const c of CASES) {
      const n = (await store.quarantine.list({ ...c.query, limit: 50 })).total;
      direct.set(c.name, { ...(await time(() => store.quarantine.list({ ...c.query, limit: 50 }))), total: n });
    }
    await store.close();

    // The same through the admin API: HTTP, auth, JSON, as the page sees it.
    const config = parseConfig({
      smtp: { port: 0 },
      relay: { port: 9, timeoutMs: 500 },
      store: storeConfig,
      quarantine: { dir: join(dir, 'quarantine') },
      checks: { auth: false, dnsbl: false, uribl: false, bayes: false, client: false },
      admin: { enabled: true, port: 0, token: TOKEN },
      log: { level: 'silent' },
    });
    const gateway = await startGateway(config, silent);
    const base = `http://127.0.0.1:${gateway.adminPort}/api/quarantine?`;
    const get = async (q: string) => {
      const res = await fetch(base + q, { headers: { Authorization: `Bearer ${TOKEN}` } });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}`);
      return res.json();
    };
    for (const c of CASES) {
      const http = await time(() => get(toParams(c.query)));
      const d = direct.get(c.name)!;
      console.log(`${c.name.padEnd(24)} ${String(d.total).padStart(8)}  ${fmt(d.median)}  ${fmt(d.p95)}  ${fmt(http.median)}  ${fmt(http.p95)}`);
    }
    await gateway.stop();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const stores = args.stores.split(',').map((s) => s.trim());
console.log(`quarantine list benchmark: Node ${process.version}, ${ENTRIES.toLocaleString()} entries`);
if (stores.includes('embedded')) await benchStore('embedded');
if (stores.includes('redis')) {
  const { assertRedisInstalled, startRedisServer } = await import('../test/helpers/redis-server.ts');
  let installed = true;
  try { assertRedisInstalled(); } catch { installed = false; }
  if (!existsSync(new URL('../src/store/redis/index.ts', import.meta.url))) console.log('\nredis: skipped (no Redis store in this build)');
  else if (!installed) console.log('\nredis: skipped (redis-server is not installed)');
  else {
    const server = await startRedisServer();
    try {
      await benchStore('redis', server.url);
    } finally {
      await server.stop();
    }
  }
}
