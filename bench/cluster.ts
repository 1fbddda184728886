// `npm run bench:cluster`: one gateway node against two on one standalone Redis, the load split between them,
// every check on (DNS from a local server, Bayes trained, rate limits counted, the quarantine in Redis).
// On a 2-core machine the two nodes share the cores, so the figure that says how many nodes one Redis
// carries is the Redis-side cost per message: commands and server CPU µs (from INFO commandstats and
// INFO cpu, reset before each run), and the messages per second one Redis core serves at that cost.
// BENCH_MESSAGES (default 500), BENCH_CONCURRENCY (in flight over all nodes, default 50), BENCH_TRAIN (default 1000).
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { loadCorpus, sample } from './corpus.ts';
import { runLoad, type LoadMessage } from './smtp-load.ts';
import { cpuMs } from './proc-stats.ts';
import { BENCH_ZONE, gatewayConfig, learn, loadMessages, startChild, startCommand, stopChild, trainingSet } from './gateway-process.ts';
import { startDnsServer } from '../test/helpers/dns-server.ts';
import { startRedisServer } from '../test/helpers/redis-server.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 500);
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 50);
const TRAIN = Number(process.env.BENCH_TRAIN ?? 1000);

/** What the Redis server has done since the last CONFIG RESETSTAT (commands) and since it started (CPU, which RESETSTAT keeps). */
interface RedisCounters {
  commands: number;
  /** Time spent inside commands, as commandstats counts it. */
  commandUs: number;
  /** The server's whole CPU time, user + system: commands, network I/O, expiry. */
  cpuUs: number;
  /** Calls and µs in commands, by command. */
  byCommand: Map<string, { calls: number; us: number }>;
}

async function redisCounters(redis: Redis): Promise<RedisCounters> {
  const stats = await redis.info('commandstats');
  let commands = 0;
  let commandUs = 0;
  const byCommand: RedisCounters['byCommand'] = new Map();
  for (const m of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) {
    // The bench's own questions are not the gateway's.
    if (m[1] === 'info' || m[1] === 'config') continue;
    commands += Number(m[2]);
    commandUs += Number(m[3]);
    byCommand.set(m[1], { calls: Number(m[2]), us: Number(m[3]) });
  }
  const cpu = await redis.info('cpu');
  const seconds = (field: string) => Number(new RegExp(`^${field}:([\\d.]+)`, 'm').exec(cpu)?.[1] ?? NaN);
  return { commands, commandUs, cpuUs: (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6, byCommand };
}

interface Run {
  nodes: number;
  perSecond: number;
  replies: Record<string, number>;
  gatewayCpuMs: number;
  commands: number;
  commandUs: number;
  redisCpuUs: number;
  /** The commands that cost most: name, calls and µs per message. */
  topCommands: string;
}

/** Sends `messages` split evenly over the nodes, all at once, `CONCURRENCY` in flight in all. */
async function run(ports: number[], pids: number[], redis: Redis, messages: LoadMessage[]): Promise<Run> {
  const shares = ports.map((_, i) => messages.filter((_, j) => j % ports.length === i));
  await Promise.all(ports.map((port, i) => runLoad(port, shares[i].slice(0, 20), 10))); // warm up connections, caches and the JIT
  await redis.config('RESETSTAT');
  const before = await redisCounters(redis);
  const cpu0 = pids.map((pid) => cpuMs(pid));
  const started = performance.now();
  const results = await Promise.all(ports.map((port, i) => runLoad(port, shares[i], Math.max(1, Math.round(CONCURRENCY / ports.length)))));
  const seconds = (performance.now() - started) / 1000;
  const gatewayCpu = pids.reduce((sum, pid, i) => sum + cpuMs(pid) - cpu0[i], 0);
  const after = await redisCounters(redis);
  const replies: Record<string, number> = {};
  for (const r of results) for (const [k, v] of Object.entries(r.replies)) replies[k] = (replies[k] ?? 0) + v;
  const n = messages.length;
  return {
    nodes: ports.length,
    perSecond: n / seconds,
    replies,
    gatewayCpuMs: gatewayCpu / n,
    commands: after.commands / n,
    commandUs: after.commandUs / n,
    redisCpuUs: (after.cpuUs - before.cpuUs) / n,
    topCommands: [...after.byCommand].sort((a, b) => b[1].us - a[1].us).slice(0, 4)
      .map(([name, c]) => `${name} ${(c.calls / n).toFixed(1)} calls ${(c.us / n).toFixed(0)} µs`).join(', '),
  };
}

function print(runs: Run[]): void {
  console.log(`\nnodes | msgs/s | gateway CPU ms/msg | Redis commands/msg | Redis µs/msg in commands | Redis server CPU µs/msg | msgs/s one Redis core serves | replies`);
  for (const r of runs) {
    const replies = Object.entries(r.replies).map(([k, v]) => `${k}xx:${v}`).join(' ');
    console.log(`${String(r.nodes).padStart(5)} | ${r.perSecond.toFixed(1).padStart(6)} | ${r.gatewayCpuMs.toFixed(2).padStart(18)} | ${r.commands.toFixed(1).padStart(18)} | ${r.commandUs.toFixed(1).padStart(24)} | ${r.redisCpuUs.toFixed(1).padStart(23)} | ${(1e6 / r.redisCpuUs).toFixed(0).padStart(28)} | ${replies}`);
  }
  for (const r of runs) console.log(`${r.nodes} node${r.nodes > 1 ? 's' : ''}, per message, costliest in Redis: ${r.topCommands}`);
  const worst = Math.max(...runs.map((r) => r.redisCpuUs));
  const perNode = runs[0].perSecond;
  console.log(`\nthis machine has ${availableParallelism()} cores, shared by the nodes, Redis, the load and the sink: msgs/s of 2 nodes here is no measure of 2 machines.`);
  console.log(`one Redis core at ${worst.toFixed(1)} µs per message serves ${(1e6 / worst).toFixed(0)} msgs/s: about ${(1e6 / worst / perNode).toFixed(0)} nodes at ${perNode.toFixed(0)} msgs/s each (one node's rate here).`);
}

async function main(): Promise<void> {
  const corpus = loadCorpus();
  const bench = sample(corpus, MESSAGES);
  const messages = loadMessages(bench);
  const meanKb = bench.reduce((n, m) => n + m.raw.length, 0) / bench.length / 1024;
  console.log(`bench:cluster: ${bench.length} corpus messages (mean ${meanKb.toFixed(1)} kB), one connection each, ${CONCURRENCY} in flight over all nodes; standalone Redis`);

  const redisServer = await startRedisServer();
  const redis = new Redis(redisServer.url);
  const sink = await startChild(['bench/sink-server.ts']);
  const dns = await startDnsServer({ zone: BENCH_ZONE });
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-cluster-'));
  const gateways: Awaited<ReturnType<typeof startChild>>[] = [];
  try {
    const config = join(dir, 'sluice.yaml');
    writeFileSync(config, gatewayConfig({
      sinkPort: sink.port,
      dnsAddress: dns.address,
      store: [`store: { backend: redis, url: "${redisServer.url}" }`, `quarantine: { dir: ${join(dir, 'quarantine')} }`],
      // Limits no load here reaches: each message still counts against three keys, as a deployment's would.
      extra: ['ratelimit: { limits: [ { key: ip, rate: 100000000/1h }, { key: sender, rate: 100000000/1h }, { key: recipient, rate: 100000000/1h } ] }'],
    }));
    if (TRAIN > 0) await learn(config, dir, trainingSet(corpus, bench, TRAIN));
    const { env, nodeFlags } = startCommand();
    const runs: Run[] = [];
    for (const nodes of [1, 2]) {
      while (gateways.length < nodes) gateways.push(await startChild([...nodeFlags, 'bin/sluice.js', 'serve', '-c', config], env));
      runs.push(await run(gateways.map((g) => g.port), gateways.map((g) => g.child.pid!), redis, messages));
    }
    print(runs);
    console.log(`dns queries answered by the local server: ${dns.queries.length}`);
  } finally {
    for (const g of gateways) await stopChild(g.child);
    redis.disconnect();
    await redisServer.stop();
    await dns.stop();
    await stopChild(sink.child);
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
