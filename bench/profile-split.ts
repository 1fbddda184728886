// `node bench/profile-split.ts DIR [MESSAGES]`: where a gateway's CPU went, from the profiles that
// `BENCH_PROFILE=DIR npm run bench:throughput` writes (one per thread of the gateway: the main thread,
// and each scan worker): busy time by area (the package or source folder of the function that was
// running), idle left out, for each thread of the newest process in DIR.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string };
}
interface Profile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

const [dir, messages] = process.argv.slice(2);
if (!dir) {
  console.error('usage: node bench/profile-split.ts DIR [MESSAGES]   (DIR as given to BENCH_PROFILE)');
  process.exit(2);
}
// Node names them CPU.<date>.<time>.<pid>.<thread id>.<sequence>.cpuprofile; thread 0 is the main thread.
const PROFILE_NAME = /^CPU\.(\d+\.\d+)\.(\d+)\.(\d+)\.\d+\.cpuprofile$/;
const files = readdirSync(dir).flatMap((name) => {
  const m = PROFILE_NAME.exec(name);
  return m ? [{ name, startedAt: m[1], pid: m[2], thread: Number(m[3]) }] : [];
});
if (!files.length) {
  console.error(`no .cpuprofile in ${dir}`);
  process.exit(1);
}
const newest = files.reduce((a, b) => (b.startedAt > a.startedAt ? b : a)).pid;
const threads = files.filter((f) => f.pid === newest).sort((a, b) => a.thread - b.thread);

// First match wins: package names before our own folders.
const AREAS: [RegExp, string][] = [
  [/mailparser|mailsplit|libmime|libqp|libbase64|iconv-lite|encoding-japanese|\/he\/|linkify|html-to-text/, 'MIME: mailparser'],
  [/\/(?:dist|src)\/mail\/|addressparser/, 'MIME: walker (and address parsing)'],
  [/tldts/, 'URI lists (tldts)'],
  [/mailauth|@peculiar|asn1js|pvtsutils|pvutils|punycode/, 'DKIM/ARC/DMARC/SPF (mailauth)'],
  [/smtp-server/, 'SMTP server (smtp-server)'],
  [/nodemailer/, 'relay (nodemailer)'],
  [/pino|sonic-boom|thread-stream|safe-stable-stringify|quick-format/, 'logging (pino)'],
  [/prom-client/, 'metrics (prom-client)'],
  [/\/(?:dist|src)\/(?:bayes|store)\//, 'Bayes and store'],
  [/\/(?:dist|src)\/dns\//, 'DNS client'],
  [/\/(?:dist|src)\/checks\//, 'other checks'],
  [/\/(?:dist|src)\//, 'gateway (smtp, scan, deliver…)'],
  [/^node:|^$/, 'Node core (streams, net, crypto, timers…)'],
];

function areaOf(node: ProfileNode): string | null {
  const { functionName, url } = node.callFrame;
  if (functionName === '(idle)') return null;
  if (functionName === '(garbage collector)') return 'garbage collector';
  if (functionName === '(program)') return 'native, unattributed';
  return AREAS.find(([pattern]) => pattern.test(url))?.[1] ?? 'other packages';
}

const perMessage = messages ? Number(messages) : 0;
for (const { name, thread } of threads) {
  const profile = JSON.parse(readFileSync(join(dir, name), 'utf8')) as Profile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const times = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const area = areaOf(byId.get(id)!);
    if (!area) return;
    const us = profile.timeDeltas[i] ?? 0;
    times.set(area, (times.get(area) ?? 0) + us);
    busy += us;
  });
  const label = thread === 0 ? 'main thread' : `worker thread ${thread}`;
  console.log(`${name} (${label}): ${(busy / 1000).toFixed(0)} ms busy${perMessage ? `, ${(busy / 1000 / perMessage).toFixed(2)} ms per message over ${perMessage}` : ''}`);
  for (const [area, us] of [...times].sort((a, b) => b[1] - a[1])) {
    const ms = perMessage ? `  ${(us / 1000 / perMessage).toFixed(3)} ms/msg` : '';
    console.log(`${((us / busy) * 100).toFixed(1).padStart(5)}%${ms}  ${area}`);
  }
  console.log('');
}
