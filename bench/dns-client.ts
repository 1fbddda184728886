// `npm run bench:dns`: CPU the DNS wire client spends per question, with UDP sockets shared between
// questions (as the gateway runs) against a fresh socket per question (the baseline), in the same run.
// The DNS server runs in its own process so that only the client's CPU is counted. Prints numbers; not a test.
//   BENCH_QUESTIONS=20000   questions per run, all different names (no cache)
import { spawn } from 'node:child_process';
import { WireClient } from '../src/dns/client.ts';
import type { UdpSocketOptions } from '../src/dns/udp.ts';

const QUESTIONS = Number(process.env.BENCH_QUESTIONS ?? 20000);

const server = spawn(process.execPath, ['--input-type=module', '-e', `
  const { startDnsServer } = await import('./test/helpers/dns-server.ts');
  const dns = await startDnsServer({ zone: { '*.bl.bench': { A: ['127.0.0.2'] } } });
  process.stdout.write('PORT ' + dns.port + '\\n');
  process.on('SIGTERM', () => dns.stop().then(() => process.exit(0)));
`], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise<number>((resolve, reject) => {
  server.stdout!.on('data', (c: Buffer) => {
    const m = /PORT (\d+)/.exec(c.toString());
    if (m) resolve(Number(m[1]));
  });
  server.once('exit', (code) => reject(new Error(`DNS server exited with ${code}`)));
});

let run = 0;
async function measure(label: string, udp: UdpSocketOptions, concurrency: number): Promise<void> {
  const client = new WireClient({ servers: [{ host: '127.0.0.1', port }], timeoutMs: 2000, udp });
  const prefix = `r${run++}`;
  let next = 0;
  let failed = 0;
  const ask = async () => {
    while (next < QUESTIONS) {
      const i = next++;
      await client.query(`${prefix}q${i}.bl.bench`, 'A').catch(() => failed++);
    }
  };
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, ask));
  const ms = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  const perQuestionUs = (cpu.user + cpu.system) / QUESTIONS;
  console.log(`${label.padEnd(36)} ${String(concurrency).padStart(11)} | ${(QUESTIONS / ms * 1000).toFixed(0).padStart(11)} | ${perQuestionUs.toFixed(1).padStart(18)} | ${failed}`);
}

console.log(`${QUESTIONS} questions per run, each a different name\n`);
console.log('sockets                              concurrency | questions/s | client CPU µs/question | failed');
try {
  for (const concurrency of [1, 20]) {
    await measure('fresh socket per question (baseline)', { questionsPerSocket: 1, idleCloseMs: 0 }, concurrency);
    await measure('shared, 100 questions per socket', { questionsPerSocket: 100, idleCloseMs: 2000 }, concurrency);
  }
} finally {
  server.kill('SIGTERM');
}
