// Rspamd as a live peer in `npm run bench:throughput`: the Debian package `rspamd` (installed when missing
// and this runs as root), started on loopback with a config written here — its stock rules, no Redis,
// DNS from the bench's own server — scanning the same messages over its HTTP protocol (POST /checkv2)
// at the same concurrencies. Its CPU and memory are read from /proc over all its processes.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CLIENT_HELO, runConcurrent, type LoadMessage, type LoadResult } from '../smtp-load.ts';
import { TICK_MS, peakRssMb, procStat } from '../proc-stats.ts';
import { RSPAMD_TEST_PATTERNS } from '../../test/helpers/gtube.ts';
import { installWhenMissing } from '../../test/helpers/debian-packages.ts';

// Rspamd's GTUBE pattern and the action its documentation gives it (https://rspamd.com/doc/gtube_patterns.html,
// copied in test/fixtures/gtube/rspamd-test-patterns.md): the one enabled by default, `reject`.
const [GTUBE, GTUBE_ACTION] = [...RSPAMD_TEST_PATTERNS].find(([, action]) => action === 'reject')!;

// Modules that need Redis, or reach the network other than through DNS (fuzzy hashes, rule updates):
// off, so every machine runs the same scan. Those that only need DNS stay on and ask the bench's server.
const DISABLED_MODULES = ['fuzzy_check', 'rspamd_update', 'greylist', 'ratelimit', 'replies', 'neural', 'history_redis', 'reputation', 'url_redirector', 'mx_check'];

// The user the Debian package runs its workers as; rspamd refuses to run them as root.
const DEBIAN_USER = '_rspamd';

// The address the load connects from, given to Rspamd as the SMTP client's.
const CLIENT_IP = '127.0.0.1';

export interface RspamdPeer {
  version: string;
  /** Config, pid, log, hyperscan cache and other state: kept across rounds, removed by `removeRspamd`. */
  dir: string;
  /** The bench's loopback DNS server, which rspamd asks. */
  dns: { address: string; queries: readonly unknown[] };
  /** `-u`/`-g` when running as root. */
  user?: { name: string; group: string; uid: number; gid: number };
}

export interface RspamdRun {
  results: LoadResult[];
  /** CPU time of all rspamd's processes per message over all levels, and per level. */
  cpuMsPerMessage: number;
  levelCpuMs: number[];
  /** Sum of each process's peak resident size; forked workers share pages, so this counts some twice. */
  peakRssMb: number;
  /** Highest total proportional set size seen while scanning (shared pages shared out). */
  peakPssMb: number;
  /** Process titles, e.g. "normal" × 2. */
  processes: Record<string, number>;
  actions: Record<string, number>;
  /** 200 replies without `action`, `score` and `symbols`. */
  malformed: number;
  gtube: string;
  /** Questions rspamd asked the loopback DNS server while scanning. */
  dnsQueries: number;
  readySeconds: number;
  idleSeconds: number;
}

/** Finds rspamd (installing it when missing and possible) and makes its directory; undefined, with one line saying why, when there is no peer. */
export function setUpRspamd(dns: RspamdPeer['dns']): RspamdPeer | undefined {
  if (process.env.BENCH_RSPAMD === 'off') {
    console.log('rspamd: BENCH_RSPAMD=off, no Rspamd peer in this run');
    return undefined;
  }
  let version = rspamdVersion();
  if (!version) {
    // The check that tells whether it runs also keeps its version.
    const failure = installWhenMissing('rspamd', () => (version = rspamdVersion()) !== undefined);
    if (failure || !version) {
      console.log(`rspamd: not installed, and ${failure}; no Rspamd peer in this run`);
      return undefined;
    }
    console.log(`rspamd: installed the Debian package, version ${version}`);
  }
  const user = process.getuid?.() === 0 ? workerUser() : undefined;
  const dir = mkdtempSync(join(tmpdir(), 'sluice-bench-rspamd-'));
  if (user) chownSync(dir, user.uid, user.gid);
  return { version, dir, dns, user };
}

export function removeRspamd(peer: RspamdPeer): void {
  rmSync(peer.dir, { recursive: true, force: true });
}

function rspamdVersion(): string | undefined {
  const out = spawnSync('rspamd', ['--version'], { encoding: 'utf8' });
  return out.status === 0 ? /version (\S+)/.exec(out.stdout)?.[1] ?? out.stdout.trim() : undefined;
}

function workerUser(): RspamdPeer['user'] {
  for (const name of [DEBIAN_USER, 'nobody']) {
    const entry = readFileSync('/etc/passwd', 'utf8').split('\n').find((line) => line.startsWith(`${name}:`));
    if (entry) {
      const [, , uid, gid] = entry.split(':');
      const group = readFileSync('/etc/group', 'utf8').split('\n').find((line) => line.split(':')[2] === gid)?.split(':')[0] ?? gid;
      return { name, group, uid: Number(uid), gid: Number(gid) };
    }
  }
  return undefined;
}

/**
 * The stock rules and options of the installed package ($CONFDIR), with this directory as $LOCAL_CONFDIR
 * (so no local.d of the machine applies) and $DBDIR; the normal worker only (rspamd's default count of
 * them, or BENCH_RSPAMD_WORKERS), no controller, proxy or fuzzy storage.
 */
function writeConfig(peer: RspamdPeer, port: number): string {
  const localD = join(peer.dir, 'local.d');
  mkdirSync(localD, { recursive: true });
  const files: Record<string, string> = {
    'rspamd.conf': [
      '# Written by bench/peers/rspamd.ts for npm run bench:throughput.',
      '.include "$CONFDIR/common.conf"',
      'options {',
      '  pidfile = "$DBDIR/rspamd.pid";',
      '  .include "$CONFDIR/options.inc"',
      '  .include(try=true; priority=1,duplicate=merge) "$LOCAL_CONFDIR/local.d/options.inc"',
      '}',
      'logging {',
      '  type = "file";',
      '  filename = "$DBDIR/rspamd.log";',
      '  .include "$CONFDIR/logging.inc"',
      '}',
      'worker "normal" {',
      `  bind_socket = "127.0.0.1:${port}";`,
      ...(process.env.BENCH_RSPAMD_WORKERS ? [`  count = ${Number(process.env.BENCH_RSPAMD_WORKERS)};`] : []),
      '  .include "$CONFDIR/worker-normal.inc"',
      '}',
      '',
    ].join('\n'),
    'local.d/options.inc': `dns { nameserver = ["${peer.dns.address}"]; }\n`,
    ...Object.fromEntries(DISABLED_MODULES.map((m) => [`local.d/${m}.conf`, 'enabled = false;\n'])),
  };
  for (const [name, text] of Object.entries(files)) writeFileSync(join(peer.dir, name), text);
  if (peer.user) for (const path of [localD, ...Object.keys(files).map((f) => join(peer.dir, f))]) chownSync(path, peer.user.uid, peer.user.gid);
  return join(peer.dir, 'rspamd.conf');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** The pids of a process's children (rspamd's workers are all children of its main process). */
function childPids(pid: number): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (Number(procStat(Number(entry))[1]) === pid) out.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return out;
}

/** CPU time of the main process and its workers so far, in ms; with the main's reaped children, so a worker that ended still counts. */
function treeCpuMs(main: number): number {
  const f = procStat(main);
  let ticks = Number(f[11]) + Number(f[12]) + Number(f[13]) + Number(f[14]);
  for (const pid of childPids(main)) {
    try {
      const c = procStat(pid);
      ticks += Number(c[11]) + Number(c[12]);
    } catch {
      // the worker ended meanwhile; its time is in the main's cutime once reaped
    }
  }
  return ticks * TICK_MS;
}

function pssMb(pids: number[]): number {
  let kb = 0;
  for (const pid of pids) {
    try {
      kb += Number(/^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'))?.[1] ?? 0);
    } catch {
      // ended meanwhile
    }
  }
  return kb / 1024;
}

/** What a process calls itself: rspamd sets titles such as "rspamd: normal process (127.0.0.1:11333)". */
function processRole(pid: number): string {
  try {
    return /rspamd: (\S+)/.exec(readFileSync(`/proc/${pid}/cmdline`, 'utf8'))?.[1] ?? 'other';
  } catch {
    return 'ended';
  }
}

function isRspamd(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').startsWith('rspamd');
  } catch {
    return false;
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function httpGet(port: number, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve(body));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end();
  });
}

interface Reply {
  status: string;
  action?: string;
  symbols?: string[];
}

/** POST /checkv2 with the envelope the SMTP load gives (client address, HELO, MAIL FROM, RCPT TO). */
function checkv2(agent: Agent, port: number, m: LoadMessage): Promise<Reply> {
  return new Promise((resolve) => {
    try {
      const headers = { IP: CLIENT_IP, Helo: CLIENT_HELO, From: m.from, Rcpt: m.to, 'Content-Length': m.raw.length };
      const req = request({ host: '127.0.0.1', port, path: '/checkv2', method: 'POST', agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('error', () => resolve({ status: '0' }));
        res.on('end', () => {
          const status = String(res.statusCode);
          try {
            const body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
            const whole = typeof body.action === 'string' && typeof body.score === 'number' && body.symbols && typeof body.symbols === 'object';
            resolve(whole ? { status, action: body.action, symbols: Object.keys(body.symbols) } : { status });
          } catch {
            resolve({ status });
          }
        });
      });
      req.setTimeout(60_000, () => req.destroy(new Error('timeout')));
      req.on('error', () => resolve({ status: '0' }));
      req.end(m.raw);
    } catch {
      resolve({ status: '0' }); // a header value Node refuses to send
    }
  });
}

function gtubeMessage(from: string, to: string): LoadMessage {
  const raw = [
    `From: <${from}>`,
    `To: <${to}>`,
    'Subject: GTUBE sanity check',
    'Date: Wed, 02 Dec 2026 12:00:00 +0000',
    `Message-ID: <gtube.${Date.now()}@bench.example>`,
    'MIME-Version: 1.0',
    'Content-Type: text/plain; charset=us-ascii',
    '',
    'This message carries the GTUBE pattern:',
    '',
    GTUBE,
    '',
  ].join('\r\n');
  return { from, to, raw: Buffer.from(raw) };
}

/** Waits until `/ping` answers, then until rspamd's processes go idle (config load, hyperscan compile). */
async function waitReady(child: ChildProcess, port: number, started: number, log: string): Promise<{ readySeconds: number; idleSeconds: number }> {
  const deadline = started + 300_000;
  const fail = (why: string) => {
    const tail = existsSync(log) ? readFileSync(log, 'utf8').split('\n').slice(-8).join('\n') : '';
    return new Error(`rspamd ${why}; last lines of its log:\n${tail}`);
  };
  for (;;) {
    if (child.exitCode !== null) throw fail(`exited with ${child.exitCode} before answering /ping`);
    if (Date.now() > deadline) throw fail('did not answer /ping within 300 s');
    if ((await httpGet(port, '/ping').catch(() => '')).trim() === 'pong') break;
    await sleep(250);
  }
  const readySeconds = (Date.now() - started) / 1000;
  // Idle: under 3 clock ticks of CPU in a second over all its processes.
  for (let before = treeCpuMs(child.pid!); Date.now() < deadline; ) {
    await sleep(1000);
    const now = treeCpuMs(child.pid!);
    if (now - before <= 3 * TICK_MS) break;
    before = now;
  }
  return { readySeconds, idleSeconds: (Date.now() - started) / 1000 };
}

/** Kills processes that are still there; rspamd's workers would outlive a main process killed outright. */
function killAll(pids: Iterable<number>): void {
  for (const pid of pids) {
    if (!isRspamd(pid)) continue; // ended, and the pid perhaps someone else's by now
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

/** Stops rspamd (its main process stops its workers) and any worker of it still there. */
async function stopRspamd(child: ChildProcess, workers: Set<number>): Promise<void> {
  if (child.exitCode === null) {
    childPids(child.pid!).forEach((pid) => workers.add(pid));
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  killAll(workers);
}

/**
 * One round of the peer: measures it and prints its figures beside the gateway's; if rspamd does not
 * start or scan, says why and the bench carries on.
 */
export async function rspamdRound(peer: RspamdPeer, messages: LoadMessage[], startup: LoadMessage[], levels: number[], batchAt: (c: number) => LoadMessage[], gateway: GatewayFigures, gatewayRss: number): Promise<void> {
  try {
    printRspamd(peer, await measureRspamd(peer, messages, startup, levels, batchAt), gateway, gatewayRss, levels);
  } catch (err) {
    console.log(`\n${(err as Error).message}\nno Rspamd figures in this round`);
  }
}

/**
 * Starts rspamd, checks with a GTUBE message that it scans, sends it `batchAt(c)` at each concurrency
 * (after the same start-up pass as the SMTP servers get), and stops it, also on error and on SIGINT/SIGTERM.
 */
async function measureRspamd(peer: RspamdPeer, messages: LoadMessage[], startup: LoadMessage[], levels: number[], batchAt: (c: number) => LoadMessage[]): Promise<RspamdRun> {
  const port = await freePort();
  const config = writeConfig(peer, port);
  const log = join(peer.dir, 'rspamd.log');
  const vars = ['DBDIR', 'LOCAL_CONFDIR', 'RUNDIR', 'LOGDIR'].map((v) => `--var=${v}=${peer.dir}`);
  const asUser = peer.user ? ['-u', peer.user.name, '-g', peer.user.group] : [];
  const started = Date.now();
  const child = spawn('rspamd', ['-f', '-c', config, ...asUser, ...vars], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.resume();
  const workers = new Set<number>();
  // The bench ends on these before any `finally` runs, so rspamd and its workers go with it here.
  const onExit = () => killAll([child.pid!, ...childPids(child.pid!), ...workers]);
  const onSignal = (signal: NodeJS.Signals) => {
    onExit();
    removeRspamd(peer);
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal).once('SIGTERM', onSignal).once('exit', onExit);
  try {
    const { readySeconds, idleSeconds } = await waitReady(child, port, started, log);
    const main = child.pid!;
    const seeWorkers = () => childPids(main).forEach((pid) => workers.add(pid));
    seeWorkers();
    const processes: Record<string, number> = {};
    for (const pid of [main, ...workers]) processes[processRole(pid)] = (processes[processRole(pid)] ?? 0) + 1;

    const actions: Record<string, number> = {};
    let malformed = 0;
    const scanAll = async (batch: LoadMessage[], concurrency: number) => {
      const agent = new Agent({ keepAlive: true, maxSockets: concurrency });
      try {
        return await runConcurrent(batch, concurrency, async (m) => {
          const reply = await checkv2(agent, port, m);
          if (reply.action) actions[reply.action] = (actions[reply.action] ?? 0) + 1;
          else if (reply.status === '200') malformed++;
          return reply.status;
        });
      } finally {
        agent.destroy();
      }
    };
    const gtubeAgent = new Agent({ keepAlive: false });
    const gtubeReply = await checkv2(gtubeAgent, port, gtubeMessage(messages[0].from, messages[0].to));
    gtubeAgent.destroy();
    const gtube = gtubeReply.action
      ? `a GTUBE message (pattern from https://rspamd.com/doc/gtube_patterns.html) got "${gtubeReply.action}"${gtubeReply.action === GTUBE_ACTION ? ', as documented' : `, not the documented "${GTUBE_ACTION}"`} (symbols include GTUBE: ${gtubeReply.symbols!.includes('GTUBE') ? 'yes' : 'no'})`
      : `a GTUBE message got no verdict (HTTP ${gtubeReply.status})`;

    await scanAll(startup, 10); // the same start-up pass as the SMTP servers get
    for (const key of Object.keys(actions)) delete actions[key];
    malformed = 0;

    let peakPss = 0;
    const sampler = setInterval(() => (peakPss = Math.max(peakPss, pssMb([main, ...workers]))), 250);
    const results: LoadResult[] = [];
    const levelCpuMs: number[] = [];
    const cpuBefore = treeCpuMs(main);
    const dnsBefore = peer.dns.queries.length;
    let sent = 0;
    try {
      for (const c of levels) {
        const batch = batchAt(c);
        const cpu0 = treeCpuMs(main);
        results.push(await scanAll(batch, c));
        levelCpuMs.push((treeCpuMs(main) - cpu0) / batch.length);
        sent += batch.length;
        seeWorkers();
      }
    } finally {
      clearInterval(sampler);
    }
    const cpuMsPerMessage = (treeCpuMs(main) - cpuBefore) / sent;
    const dnsQueries = peer.dns.queries.length - dnsBefore;
    let rss = 0;
    for (const pid of [main, ...workers]) {
      try {
        rss += peakRssMb(pid);
      } catch {
        // ended meanwhile
      }
    }
    return { results, cpuMsPerMessage, levelCpuMs, peakRssMb: rss, peakPssMb: peakPss, processes, actions, malformed, gtube, dnsQueries, readySeconds, idleSeconds };
  } finally {
    await stopRspamd(child, workers);
    process.off('SIGINT', onSignal).off('SIGTERM', onSignal).off('exit', onExit);
  }
}

/** The gateway's figures as the throughput bench measures them. */
export interface GatewayFigures {
  results: LoadResult[];
  cpuMsPerMessage: number;
  levels: { serverMs: number }[];
}

function printRspamd(peer: RspamdPeer, run: RspamdRun, gateway: GatewayFigures, gatewayRss: number, levels: number[]): void {
  const roles = Object.entries(run.processes).map(([role, n]) => `${n} ${role}`).join(', ');
  console.log(`\nRspamd ${peer.version} (${roles}; /ping after ${run.readySeconds.toFixed(0)} s, idle after ${run.idleSeconds.toFixed(0)} s), the same messages over HTTP POST /checkv2:`);
  console.log('concurrency | gateway msgs/s  p50 ms  p99 ms  CPU/msg ms | rspamd msgs/s  p50 ms  p99 ms  CPU/msg ms | rspamd replies');
  levels.forEach((c, i) => {
    const g = gateway.results[i];
    const r = run.results[i];
    const replies = Object.entries(r.replies).map(([k, v]) => `${k}:${v}`).join(' ');
    console.log(`${String(c).padStart(11)} | ${g.perSecond.toFixed(1).padStart(14)} ${g.p50ms.toFixed(0).padStart(7)} ${g.p99ms.toFixed(0).padStart(7)} ${gateway.levels[i].serverMs.toFixed(2).padStart(11)} | ${r.perSecond.toFixed(1).padStart(13)} ${r.p50ms.toFixed(0).padStart(7)} ${r.p99ms.toFixed(0).padStart(7)} ${run.levelCpuMs[i].toFixed(2).padStart(11)} | ${replies}`);
  });
  console.log(`peak RSS: gateway ${gatewayRss.toFixed(0)} MB, rspamd ${run.peakRssMb.toFixed(0)} MB summed over its processes (pages they share counted in each; counted once, as PSS, its highest total while scanning was ${run.peakPssMb.toFixed(0)} MB)`);
  console.log(`CPU per message (all threads / all processes): gateway ${gateway.cpuMsPerMessage.toFixed(2)} ms, rspamd ${run.cpuMsPerMessage.toFixed(2)} ms; Sluice CPU/msg ÷ Rspamd CPU/msg = ${(gateway.cpuMsPerMessage / run.cpuMsPerMessage).toFixed(2)} (target ≤ 0.5)`);
  const replies = run.results.reduce<Record<string, number>>((all, r) => {
    for (const [k, v] of Object.entries(r.replies)) all[k] = (all[k] ?? 0) + v;
    return all;
  }, {});
  const non200 = Object.entries(replies).filter(([k]) => k !== '200');
  console.log(`rspamd actions: ${Object.entries(run.actions).map(([k, v]) => `${k} ${v}`).join(', ')}; 200 replies without action/score/symbols: ${run.malformed}; non-200 replies: ${non200.length ? non200.map(([k, v]) => `${k === '0' ? 'no reply' : k} × ${v}`).join(', ') : 0}`);
  console.log(`rspamd sanity: ${run.gtube}; it asked the loopback DNS server ${run.dnsQueries} questions while scanning`);
}
