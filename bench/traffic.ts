// `npx node bench/traffic.ts [--messages 20000] [--stores embedded,redis]`
// Cost per message of greylisting and rate limits, the checks as the gateway runs them at RCPT TO:
// microseconds per message one after another (latency) and with 50 in flight (throughput), for new and
// known triplets and for three rate limits (ip, sender, recipient). Embedded store always; Redis when
// redis-server is installed (started on a free port, stopped at the end).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { parseConfig } from '../src/config/load.ts';
import { openStore } from '../src/store/index.ts';
import { createResolver } from '../src/dns/resolver.ts';
import { greylistCheck } from '../src/checks/greylist/index.ts';
import { rateLimitCheck } from '../src/checks/ratelimit/index.ts';
import type { Check, ScanContext } from '../src/scan/types.ts';
import type { Store } from '../src/store/types.ts';

const { values: args } = parseArgs({
  options: { messages: { type: 'string', default: '20000' }, stores: { type: 'string', default: 'embedded,redis' } },
});
const MESSAGES = Number(args.messages);
const IN_FLIGHT = 50;
const log = pino({ level: 'silent' });

const config = parseConfig({
  greylist: { enabled: true },
  ratelimit: { limits: [{ key: 'ip', rate: '1000000/1h' }, { key: 'sender', rate: '1000000/1h' }, { key: 'recipient', rate: '1000000/1h' }] },
}, 'bench');

/** Message i of a run: its own client network, sender and recipient. */
function context(i: number, run: string): ScanContext {
  const rcpt = `user${i}@example.net`;
  return {
    tid: `t${i}`,
    envelope: { clientIp: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, helo: 'mail.example', mailFrom: `sender${i}-${run}@origin.example`, rcptTo: [rcpt] },
    rcpt, signal: new AbortController().signal, log, authResults: [],
  };
}

/** µs per message over `MESSAGES`, with `inFlight` running at once. */
async function measure(check: Check, run: string, inFlight: number): Promise<number> {
  let next = 0;
  const started = performance.now();
  await Promise.all(Array.from({ length: inFlight }, async () => {
    while (next < MESSAGES) await check.run(context(next++, run));
  }));
  return ((performance.now() - started) * 1000) / MESSAGES;
}

async function bench(name: string, store: Store): Promise<void> {
  const clock = { now: Date.now() };
  const now = () => clock.now;
  const greylist = greylistCheck({ config, store: store.greylist, dns: createResolver(config.dns), now });
  const ratelimit = rateLimitCheck({ config, store: store.ratelimit, now });
  const row = (what: string, sequential: number, parallel: number) =>
    console.log(`${name.padEnd(9)} ${what.padEnd(34)} ${sequential.toFixed(1).padStart(8)} µs/message   ${parallel.toFixed(1).padStart(8)} µs/message at ${IN_FLIGHT} in flight`);
  // New triplets (first sight: one write), then the same ones known (after the delay: passed, then known).
  const newSeq = await measure(greylist, 'a', 1);
  const newPar = await measure(greylist, 'b', IN_FLIGHT);
  row('greylist, new triplet', newSeq, newPar);
  clock.now += config.greylist.delay;
  await measure(greylist, 'a', IN_FLIGHT);
  await measure(greylist, 'b', IN_FLIGHT);
  row('greylist, known triplet', await measure(greylist, 'a', 1), await measure(greylist, 'b', IN_FLIGHT));
  row('rate limits (ip, sender, recipient)', await measure(ratelimit, 'c', 1), await measure(ratelimit, 'd', IN_FLIGHT));
}

console.log(`${MESSAGES} messages each, one recipient; wall time per message (store round trips included)`);
const stores = String(args.stores).split(',');
if (stores.includes('embedded')) {
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-traffic-'));
  const store = await openStore({ backend: 'embedded', path: dir, url: '', prefix: '' });
  try {
    await bench('embedded', store);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
if (stores.includes('redis')) {
  const { assertRedisInstalled, startRedisServer } = await import('../test/helpers/redis-server.ts');
  let installed = true;
  try { assertRedisInstalled(); } catch { installed = false; }
  if (!installed) console.log('redis: skipped (redis-server is not installed)');
  else {
    const server = await startRedisServer();
    const store = await openStore({ backend: 'redis', path: '', url: server.url, prefix: 'bench:' });
    try {
      await bench('redis', store);
    } finally {
      await store.close();
      await server.stop();
    }
  }
}
