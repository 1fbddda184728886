// `npm run bench`: messages per second, latency and peak memory of the gateway against the bare stack.
// (a) a bare relay built from the same parts (smtp-server → nodemailer pool → sink): the ceiling;
// (b) the gateway (`sluice serve`) with every check on, DNS from a local server, Bayes trained;
// (c) Rspamd, a peer scanning the same messages over HTTP (bench/peers/rspamd.ts; BENCH_RSPAMD=off leaves it out).
// Each server runs in its own process; the load comes from this one, one new connection per message.
// BENCH_WORKERS=N runs the gateway with `checks.workers: N` (the data stage on N worker threads);
// BENCH_ROUNDS=N repeats the bare relay and the gateway N times and prints the medians too.
// Before the levels, each server gets a start-up pass (BENCH_WARMUP messages at concurrency 10, the whole
// bench set by default): V8 compiles the hot code during the first few hundred messages, which a gateway
// pays once after it starts. The pass's CPU per message is printed on its own.
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCorpus, sample } from './corpus.ts';
import { runLoad, type LoadMessage, type LoadResult } from './smtp-load.ts';
import { cpuMs, peakRssMb } from './proc-stats.ts';
import { BENCH_ZONE, gatewayConfig, learn, loadMessages, ownCpuMs, startChild, startCommand, stopChild, trainingSet } from './gateway-process.ts';
import { removeRspamd, rspamdRound, setUpRspamd } from './peers/rspamd.ts';
import { startDnsServer } from '../test/helpers/dns-server.ts';

const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 500);
const LEVELS = (process.env.BENCH_CONCURRENCY ?? '1,10,50,100').split(',').map(Number);
const TRAIN = Number(process.env.BENCH_TRAIN ?? 1000);
// Single runs on a shared 2-core machine vary by a tenth or more, hence rounds.
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 1));
const WARMUP = Math.max(1, Number(process.env.BENCH_WARMUP ?? MESSAGES));

/** CPU time so far of each of a process's scan worker threads (Node names them WorkerThread), by thread id. */
function workerThreadsCpuMs(pid: number): Map<string, number> {
  const threads = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === 'WorkerThread') threads.set(tid, cpuMs(pid, Number(tid)));
    } catch {
      // the thread ended meanwhile
    }
  }
  return threads;
}

interface Measured {
  results: LoadResult[];
  /** The server's CPU time per message over all levels (the start-up pass excluded). */
  cpuMsPerMessage: number;
  /** The server's CPU time per message during the start-up pass. */
  startupMsPerMessage: number;
  /**
   * Per level: CPU per message of the server and of everything else on the machine (load, DNS, sink),
   * and how busy the server's main thread (its event loop) and its busiest scan worker were, in %.
   */
  levels: { serverMs: number; othersMs: number; mainThreadBusy: number; workerThreadBusy?: number }[];
}

/** The messages of the start-up pass: the bench set over again until there are WARMUP. */
function startupPass(messages: LoadMessage[]): LoadMessage[] {
  return Array.from({ length: WARMUP }, (_, i) => messages[i % messages.length]);
}

/** The messages sent at concurrency `c`: at 1, the first 100. */
function batchAt(messages: LoadMessage[], c: number): LoadMessage[] {
  return c === 1 ? messages.slice(0, Math.min(100, messages.length)) : messages;
}

async function measure(port: number, pid: number, sinkPid: number, messages: LoadMessage[]): Promise<Measured> {
  const startup = startupPass(messages);
  const startupBefore = cpuMs(pid);
  await runLoad(port, startup, 10);
  const startupMsPerMessage = (cpuMs(pid) - startupBefore) / startup.length;
  const results: LoadResult[] = [];
  const levels: Measured['levels'] = [];
  const cpuBefore = cpuMs(pid);
  let sent = 0;
  for (const c of LEVELS) {
    const batch = batchAt(messages, c);
    const server0 = cpuMs(pid);
    const main0 = cpuMs(pid, pid);
    const workers0 = workerThreadsCpuMs(pid);
    const others0 = ownCpuMs() + cpuMs(sinkPid);
    const result = await runLoad(port, batch, c);
    results.push(result);
    const workerMs = [...workerThreadsCpuMs(pid)].map(([tid, ms]) => ms - (workers0.get(tid) ?? 0));
    levels.push({
      serverMs: (cpuMs(pid) - server0) / batch.length,
      othersMs: (ownCpuMs() + cpuMs(sinkPid) - others0) / batch.length,
      mainThreadBusy: (cpuMs(pid, pid) - main0) / (result.seconds * 10),
      ...(workerMs.length ? { workerThreadBusy: Math.max(...workerMs) / (result.seconds * 10) } : {}),
    });
    sent += batch.length;
  }
  return { results, cpuMsPerMessage: (cpuMs(pid) - cpuBefore) / sent, startupMsPerMessage, levels };
}

async function main(): Promise<void> {
  const corpus = loadCorpus();
  const bench = sample(corpus, MESSAGES);
  const messages = loadMessages(bench);
  const meanKb = bench.reduce((n, m) => n + m.raw.length, 0) / bench.length / 1024;
  console.log(`bench: ${bench.length} corpus messages (mean ${meanKb.toFixed(1)} kB), one connection each, concurrency ${LEVELS.join(', ')} (concurrency 1: first 100)`);

  const sink = await startChild(['bench/sink-server.ts']);
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-'));
  const dns = await startDnsServer({ zone: BENCH_ZONE });
  // (c) Rspamd, a peer, when it is installed or can be (BENCH_RSPAMD=off leaves it out)
  const rspamd = setUpRspamd(dns);
  try {
    const config = join(dir, 'sluice.yaml');
    writeFileSync(config, gatewayConfig({
      sinkPort: sink.port,
      dnsAddress: dns.address,
      store: [`store: { backend: embedded, path: ${join(dir, 'store')} }`, `quarantine: { dir: ${join(dir, 'quarantine')} }`],
      extra: [
        ...(process.env.BENCH_WORKERS ? [`checks: { workers: ${process.env.BENCH_WORKERS} }`] : []),
        // BENCH_CHECKS=off measures the gateway's own cost (parse, score, headers, log) without checks.
        ...(process.env.BENCH_CHECKS === 'off' ? ['checks: { auth: false, dnsbl: false, uribl: false, bayes: false, client: false }'] : []),
      ],
    }));
    const train = trainingSet(corpus, bench, TRAIN);
    if (TRAIN > 0) await learn(config, dir, train);
    // BENCH_PROFILE=DIR writes a CPU profile of the gateway there.
    const profile = process.env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE}`] : [];
    const { env: startEnv, nodeFlags } = startCommand();

    const rounds: Round[] = [];
    for (let round = 1; round <= ROUNDS; round++) {
      if (ROUNDS > 1) console.log(`\n--- round ${round} of ${ROUNDS}`);
      // (a) bare relay
      const bare = await startChild(['bench/bare-relay.ts', String(sink.port)]);
      const bareRun = await measure(bare.port, bare.child.pid!, sink.child.pid!, messages);
      const bareRss = peakRssMb(bare.child.pid!);
      await stopChild(bare.child);
      // (b) the gateway with every check on
      const gw = await startChild([...profile, ...nodeFlags, 'bin/sluice.js', 'serve', '-c', config], startEnv);
      const gwRun = await measure(gw.port, gw.child.pid!, sink.child.pid!, messages);
      const gwRss = peakRssMb(gw.child.pid!);
      await stopChild(gw.child);
      rounds.push({ bare: bareRun, gateway: gwRun, bareRss, gatewayRss: gwRss });
      printRound(rounds.at(-1)!);
      if (rspamd) await rspamdRound(rspamd, messages, startupPass(messages), LEVELS, (c) => batchAt(messages, c), gwRun, gwRss);
      console.log(`dns queries answered by the local server so far: ${dns.queries.length}`);
    }
    if (ROUNDS > 1) printMedians(rounds);
  } finally {
    await dns.stop();
    await stopChild(sink.child);
    if (rspamd) removeRspamd(rspamd);
    rmSync(dir, { recursive: true, force: true });
  }
}

interface Round {
  bare: Measured;
  gateway: Measured;
  bareRss: number;
  gatewayRss: number;
}

function printRound({ bare, gateway, bareRss, gatewayRss }: Round): void {
  console.log('\nconcurrency | bare relay msgs/s  p50 ms  p99 ms  CPU ms | gateway msgs/s  p50 ms  p99 ms  CPU ms | ratio b/a | gateway replies');
  LEVELS.forEach((c, i) => {
    const a = bare.results[i];
    const b = gateway.results[i];
    const replies = Object.entries(b.replies).map(([k, v]) => `${k}xx:${v}`).join(' ');
    const cpu = (m: Measured) => m.levels[i].serverMs.toFixed(2).padStart(7);
    console.log(`${String(c).padStart(11)} | ${a.perSecond.toFixed(1).padStart(17)} ${a.p50ms.toFixed(0).padStart(7)} ${a.p99ms.toFixed(0).padStart(7)} ${cpu(bare)} | ${b.perSecond.toFixed(1).padStart(14)} ${b.p50ms.toFixed(0).padStart(7)} ${b.p99ms.toFixed(0).padStart(7)} ${cpu(gateway)} | ${(b.perSecond / a.perSecond).toFixed(2).padStart(9)} | ${replies}`);
  });
  console.log('(CPU ms: the server\'s CPU time per message at that level, all its threads)');
  console.log(`\npeak RSS: bare relay ${bareRss.toFixed(0)} MB, gateway ${gatewayRss.toFixed(0)} MB`);
  console.log(`CPU per message (all threads): bare relay ${bare.cpuMsPerMessage.toFixed(2)} ms, gateway ${gateway.cpuMsPerMessage.toFixed(2)} ms; this machine has ${availableParallelism()} cores`);
  console.log(`start-up pass (${WARMUP} messages, concurrency 10, before the levels): bare relay ${bare.startupMsPerMessage.toFixed(2)} ms, gateway ${gateway.startupMsPerMessage.toFixed(2)} ms per message`);
  // What 0.8 of the bare relay would take here: the cores minus what the load generator, DNS server
  // and sink use at that rate, shared out over the messages.
  console.log('\nCPU budget at 0.8 of the bare relay (ms per message):');
  console.log('concurrency | target msgs/s | load+DNS+sink use | left for the gateway | gateway used | main thread busy | busiest scan worker');
  LEVELS.forEach((c, i) => {
    if (c < 50) return;
    const target = 0.8 * bare.results[i].perSecond;
    const { serverMs, othersMs, mainThreadBusy, workerThreadBusy } = gateway.levels[i];
    const left = (availableParallelism() * 1000 - target * othersMs) / target;
    console.log(`${String(c).padStart(11)} | ${target.toFixed(0).padStart(13)} | ${othersMs.toFixed(2).padStart(17)} | ${left.toFixed(2).padStart(20)} | ${serverMs.toFixed(2).padStart(12)} | ${mainThreadBusy.toFixed(0).padStart(15)}% | ${(workerThreadBusy === undefined ? '-' : `${workerThreadBusy.toFixed(0)}%`).padStart(19)}`);
  });
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

function printMedians(rounds: Round[]): void {
  console.log(`\n--- medians over ${rounds.length} rounds`);
  console.log('concurrency | bare relay msgs/s  CPU ms | gateway msgs/s  CPU ms | ratio b/a (each round)');
  LEVELS.forEach((c, i) => {
    const ratios = rounds.map((r) => r.gateway.results[i].perSecond / r.bare.results[i].perSecond);
    const cpu = (side: 'bare' | 'gateway') => median(rounds.map((r) => r[side].levels[i].serverMs)).toFixed(2).padStart(7);
    console.log(`${String(c).padStart(11)} | ${median(rounds.map((r) => r.bare.results[i].perSecond)).toFixed(1).padStart(17)} ${cpu('bare')} | ${median(rounds.map((r) => r.gateway.results[i].perSecond)).toFixed(1).padStart(14)} ${cpu('gateway')} | ${median(ratios).toFixed(2)} (${ratios.map((x) => x.toFixed(2)).join(', ')})`);
  });
  console.log(`peak RSS: bare relay ${median(rounds.map((r) => r.bareRss)).toFixed(0)} MB, gateway ${median(rounds.map((r) => r.gatewayRss)).toFixed(0)} MB (each round: ${rounds.map((r) => r.gatewayRss.toFixed(0)).join(', ')})`);
  console.log(`CPU per message: bare relay ${median(rounds.map((r) => r.bare.cpuMsPerMessage)).toFixed(2)} ms, gateway ${median(rounds.map((r) => r.gateway.cpuMsPerMessage)).toFixed(2)} ms`);
  console.log(`start-up pass: bare relay ${median(rounds.map((r) => r.bare.startupMsPerMessage)).toFixed(2)} ms, gateway ${median(rounds.map((r) => r.gateway.startupMsPerMessage)).toFixed(2)} ms per message`);
}

await main();
