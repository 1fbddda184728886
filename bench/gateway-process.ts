// The gateway and its neighbours as the throughput benchmarks run them: each server in its own process,
// every check on, DNS from a local server, Bayes trained through `sluice learn`.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CorpusMessage } from './corpus.ts';
import type { LoadMessage } from './smtp-load.ts';

/** Starts a server process and resolves with the SMTP port it prints ("PORT n" or the gateway's "smtp listening" log line). */
export function startChild(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env } });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (c: Buffer) => {
      out += c.toString();
      const m = /PORT (\d+)|"msg":"smtp listening".*?"port":(\d+)|"port":(\d+).*?"msg":"smtp listening"/.exec(out);
      if (m) {
        child.stdout!.removeAllListeners('data');
        child.stdout!.resume();
        resolve({ child, port: Number(m[1] ?? m[2] ?? m[3]) });
      }
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${code}: ${out.slice(-500)}`)));
  });
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  await exited;
}

function envelopeFrom(raw: Buffer): string {
  const from = /^From:.*?<?([^\s<>"]+@[^\s<>"]+?)>?\s*$/im.exec(raw.toString('latin1').split(/\r?\n\r?\n/)[0]);
  return from?.[1] ?? 'sender@bench.example';
}

/** Corpus messages as the load sends them: the envelope sender from From:, one local recipient. */
export function loadMessages(messages: CorpusMessage[]): LoadMessage[] {
  return messages.map((m) => ({ from: envelopeFrom(m.raw), to: 'user@example.net', raw: m.raw }));
}

/** CPU time this process (load generator and DNS server) has used so far, in ms. */
export function ownCpuMs(): number {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** The DNS zone of the local server: a test blocklist that passes the RFC 5782 self-test, all else NXDOMAIN. */
export const BENCH_ZONE = { '2.0.0.127.bl.bench.test': { A: ['127.0.0.2'], TXT: ['test'] } };

/** The gateway's configuration with every check on; `store` and `extra` are further YAML lines. */
export function gatewayConfig(options: { sinkPort: number; dnsAddress: string; store: string[]; extra?: string[] }): string {
  return [
    'smtp: { host: 127.0.0.1, port: 0, hostname: mx.bench.test, maxConnectionsPerIp: 1000 }',
    'domains: [example.net]',
    `relay: { host: 127.0.0.1, port: ${options.sinkPort} }`,
    `dns: { servers: ["${options.dnsAddress}"] }`,
    ...options.store,
    'dnsbl: { zones: [ { zone: bl.bench.test, codes: { "127.0.0.2": DNSBL_BENCH } } ] }',
    'uribl: { zones: [ { zone: dbl.bench.test, codes: { "127.0.1.2": URIBL_BENCH } } ] }',
    'log: { level: info }',
    ...(options.extra ?? []),
  ].join('\n');
}

/** Up to `count` corpus messages not in the bench set, spread over the corpus, to train Bayes with. */
export function trainingSet(corpus: CorpusMessage[], bench: CorpusMessage[], count: number): CorpusMessage[] {
  const benchSet = new Set(bench);
  return corpus.filter((m) => !benchSet.has(m)).filter((_, i, all) => i % Math.max(1, Math.floor(all.length / count)) === 0).slice(0, count);
}

/** The environment and Node flags of `npm start` (or BENCH_NODE_FLAGS): the gateway runs as users run it. */
export function startCommand(): { env: Record<string, string>; nodeFlags: string[] } {
  const start = /^((?:\w+=\S+ +)*)node (.*?)bin\/sluice\.js/.exec(JSON.parse(readFileSync('package.json', 'utf8')).scripts.start);
  const env = Object.fromEntries((start?.[1] ?? '').split(' ').filter(Boolean).map((a) => [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]));
  return { env, nodeFlags: (process.env.BENCH_NODE_FLAGS ?? start?.[2] ?? '').split(' ').filter(Boolean) };
}

/** Trains Bayes through the same `sluice learn` a user runs. */
export async function learn(config: string, dir: string, train: { label: string; raw: Buffer }[]): Promise<void> {
  for (const label of ['spam', 'ham'] as const) {
    const folder = join(dir, `train-${label}`);
    mkdirSync(folder);
    train.filter((m) => m.label === label).forEach((m, i) => writeFileSync(join(folder, `${i}.eml`), m.raw));
    const child = spawn(process.execPath, ['bin/sluice.js', 'learn', '-c', config, `--${label}`, folder], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.stdout!.resume();
    const code = await new Promise((r) => child.once('exit', r));
    if (code !== 0) throw new Error(`sluice learn --${label} failed (${code}): ${err.slice(-500)}`);
  }
  console.log(`bayes: learned ${train.length} messages not in the bench set`);
}
