// The operator's guide (docs/) as written: every `sluice …` command of its shell blocks runs against a test
// setup and must exit as the guide implies, and a `jq` it pipes into must run on that command's output (or,
// after `journalctl`, on a real gateway's log); every Sluice config fragment in it must validate; the
// metric names and verdict-log fields it quotes must be what a running gateway exports. A renamed command,
// flag, key, metric or field fails here instead of misleading an operator.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import nodemailer from 'nodemailer';
import { pino } from 'pino';
import { runSluice, type CliResult } from '../helpers/cli.ts';
import { startDnsServer, type DnsTestServer } from '../helpers/dns-server.ts';
import { startSink, type Sink } from '../helpers/sink.ts';
import { message } from '../helpers/gateway.ts';
import { GTUBE } from '../helpers/gtube.ts';
import { ConfigError, parseConfigText } from '../../src/config/load.ts';
import { EmbeddedStore } from '../../src/store/embedded/index.ts';
import { Quarantine } from '../../src/quarantine/quarantine.ts';
import { newId } from '../../src/util/ids.ts';

// The exit codes a command may end with, where the guide implies other than 0: doctor exits 1 on any
// `fail`, and what fails here depends on what the test setup offers (no forward-confirmed DNS of its
// host name, for one). 2, a usage error, is never right.
const EXPECTED_EXIT: Record<string, number[]> = { doctor: [0, 1] };

// What the guide says a command prints, where it says so: a command as written → its output.
const EXPECTED_OUTPUT: { command: RegExp; stdout: RegExp }[] = [
  // Chapter 11: "`gtube.eml  reject  1001.3  GTUBE(1000) DMARC_PERMERROR(1) SPF_NONE(0.3) …`".
  { command: /^sluice check -c \S+ gtube\.eml$/, stdout: /\treject\t1001\.3\tGTUBE\(1000\) DMARC_PERMERROR\(1\) SPF_NONE\(0\.3\) / },
];

const DOCS = 'docs';
// A Sluice config fragment in the guide is a ```yaml block that starts with this line.
const CONFIG_FRAGMENT_MARK = '# /etc/sluice/sluice.yaml';

interface Block { file: string; line: number; info: string; lines: string[] }
interface GuideCommand {
  where: string;
  text: string;
  args: string[];
  /** The arguments of a `jq` the command's output is piped into. */
  jq?: string[];
}
/** A `journalctl … | jq …` line: the filter runs on the log of the gateway the test started. */
interface JournalFilter { where: string; jq: string[] }
interface Segment { words: string[]; piped: boolean }

function guideFiles(): string[] {
  return readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort().map((f) => join(DOCS, f));
}

function fencedBlocks(file: string): Block[] {
  const blocks: Block[] = [];
  let open: Block | undefined;
  readFileSync(file, 'utf8').split('\n').forEach((text, i) => {
    const fence = /^```(.*)$/.exec(text);
    if (fence && !open) {
      open = { file, line: i + 2, info: fence[1].trim(), lines: [] };
    } else if (fence && open) {
      blocks.push(open);
      open = undefined;
    } else if (open) {
      open.lines.push(text);
    }
  });
  return blocks;
}

const SHELL = new Set(['sh', 'shell', 'bash', 'console']);

/**
 * The simple commands of a shell line, as word lists: split at unquoted `|`, `||`, `&&` and `;`, quotes
 * removed, a `#` comment dropped, redirections (`> file`, `2>&1`) left out: what the command itself receives.
 * `piped`: it reads the previous command's output.
 */
function shellCommands(line: string): Segment[] {
  const commands: Segment[] = [{ words: [], piped: false }];
  let word: string | undefined;
  let redirectTarget = false;
  const end = () => {
    if (word === undefined) return;
    if (redirectTarget) redirectTarget = false; // the file after `>`
    else if (/^(\d*>>?|<)$/.test(word)) redirectTarget = true;
    else if (!/^(\d*>>?|<)\S/.test(word)) commands[commands.length - 1].words.push(word); // not `>out`, `2>&1`
    word = undefined;
  };
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (c === "'" || c === '"') {
      const close = line.indexOf(c, i + 1);
      if (close < 0) throw new Error(`unclosed ${c} in: ${line}`);
      word = (word ?? '') + line.slice(i + 1, close);
      i = close;
    } else if (c === '\\' && i + 1 < line.length) {
      word = (word ?? '') + line[++i];
    } else if (c === ' ' || c === '\t') {
      end();
    } else if (c === '#' && word === undefined) {
      break;
    } else if (c === '|' || c === ';' || (c === '&' && line[i + 1] === '&')) {
      end();
      const piped = c === '|' && line[i + 1] !== '|';
      if (line[i + 1] === c) i++;
      commands.push({ words: [], piped });
    } else {
      word = (word ?? '') + c;
    }
  }
  end();
  return commands.filter((c) => c.words.length > 0);
}

function guideShell(): { commands: GuideCommand[]; journalFilters: JournalFilter[] } {
  const commands: GuideCommand[] = [];
  const journalFilters: JournalFilter[] = [];
  for (const file of guideFiles()) {
    for (const block of fencedBlocks(file).filter((b) => SHELL.has(b.info))) {
      // A line ending in a backslash continues on the next.
      const lines = block.lines.join('\n').replace(/\\\n/g, ' ').split('\n');
      lines.forEach((text, i) => {
        const where = `${file}:${block.line + i}`;
        const segments = shellCommands(text).map((c) => (c.words[0] === 'npx' ? { ...c, words: c.words.slice(1) } : c));
        const jqAfter = (k: number) => (segments[k + 1]?.piped && segments[k + 1].words[0] === 'jq' ? segments[k + 1].words.slice(1) : undefined);
        let found = 0;
        segments.forEach(({ words }, k) => {
          if (words[0] === 'sluice') {
            found++;
            commands.push({ where, text: words.join(' '), args: words.slice(1), jq: jqAfter(k) });
          }
          const jq = jqAfter(k);
          if (words[0] === 'journalctl' && jq) journalFilters.push({ where, jq });
        });
        // Every `npx sluice` of the line must have been seen as a command: none may hide in a form this misses.
        const mentions = text.split('#')[0].match(/\bnpx sluice\b/g)?.length ?? 0;
        if (mentions > found) throw new Error(`${where}: a sluice command this test cannot extract: ${text}`);
      });
    }
  }
  return { commands, journalFilters };
}

function configFragments(): { where: string; text: string }[] {
  return guideFiles().flatMap((file) => fencedBlocks(file)
    .filter((b) => b.info === 'yaml' && b.lines[0]?.trim() === CONFIG_FRAGMENT_MARK)
    .map((b) => ({ where: `${b.file}:${b.line}`, text: b.lines.join('\n') })));
}

const { commands, journalFilters } = guideShell();
const STACK_TRACE = /^\s+at .+:\d+:\d+\)?$/m;

// The test's own files for the paths and placeholders the guide uses; everything else runs as written.
let dir: string;
let configFile: string;
let paths: Record<string, string>;
let dns: DnsTestServer;
let sink: Sink;
const ADMIN_TOKEN = 'guide-test-token-0123456789abcdef';
/** What `sluice serve` logged, as the journal holds it (`journalctl -o cat`), with a line of systemd's own. */
let journal: string | undefined;

function runJq(args: string[], input: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync('jq', args, { input, encoding: 'utf8', timeout: 10_000 });
  if (r.error) throw new Error(`jq could not run (${r.error.message}): npm test installs it (test/prerequisites.ts), or apt-get install jq`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** A message held in the test quarantine, for `ID`. */
async function holdMessage(): Promise<string> {
  const store = new EmbeddedStore(join(dir, 'store'));
  try {
    const q = new Quarantine(join(dir, 'quarantine'), 30, store.quarantine, pino({ level: 'silent' }));
    const id = newId();
    await q.hold({ id, time: Date.now(), clientIp: '192.0.2.7', helo: 'mail.origin.example', mailFrom: 'sender@origin.example', rcptTo: ['user@example.net'],
      subject: 'held for the guide', size: 100, score: 9, action: 'quarantine', symbols: [{ name: 'DMARC_POLICY_QUARANTINE', score: 2 }] },
    Buffer.from(message({ subject: 'held for the guide' })));
    return id;
  } finally {
    await store.close();
  }
}

async function substitute(args: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const arg of args) out.push(arg === 'ID' ? await holdMessage() : (paths[arg] ?? arg));
  return out;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-guide-'));
  sink = await startSink();
  // The blocklists' RFC 5782 test entries, so that the self-tests pass as behind a working resolver.
  dns = await startDnsServer({ zone: {
    '2.0.0.127.zen.spamhaus.org': { A: ['127.0.0.2'] },
    'dbltest.com.dbl.spamhaus.org': { A: ['127.0.1.2'] },
  } });
  configFile = join(dir, 'sluice.yaml');
  writeFileSync(configFile, [
    'smtp: { host: 127.0.0.1, port: 0, hostname: mx.test.example, shutdownGraceMs: 2000 }',
    'domains: [example.net]',
    `relay: { host: 127.0.0.1, port: ${sink.port}, timeoutMs: 5000 }`,
    `dns: { servers: ["${dns.address}"], timeoutMs: 1000 }`,
    `store: { path: ${join(dir, 'store')} }`,
    `quarantine: { dir: ${join(dir, 'quarantine')} }`,
    `admin: { enabled: true, host: 127.0.0.1, port: 0, token: ${ADMIN_TOKEN} }`,
    'log: { level: info }',
  ].join('\n'));
  const folder = (name: string, body: string) => {
    const path = join(dir, name);
    mkdirSync(path);
    for (let i = 0; i < 3; i++) writeFileSync(join(path, `${i}.eml`), message({ subject: `${name} ${i}`, body: `${body} number ${i}, written for the guide's test.` }));
    return path;
  };
  const gtube = join(dir, 'gtube.eml');
  writeFileSync(gtube, `Subject: GTUBE test\r\n\r\n${GTUBE}\r\n`);
  // The mapping table: a path of the guide → the test's own file (and `ID` → a message held for the command, holdMessage).
  paths = {
    '/etc/sluice/sluice.yaml': configFile,
    '/etc/sluice/sluice.yaml.new': configFile,
    'spam/': folder('spam', 'Cheap pills and a prize you have won, click now'),
    'ham/': folder('ham', 'The minutes of Tuesday meeting are attached as promised'),
    'gtube.eml': gtube,
  };
});

afterAll(async () => {
  await sink?.stop();
  await dns?.stop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

// Each command is a new process that loads the whole program: allow for a loaded machine.
vi.setConfig({ testTimeout: 60_000 });

let knownCommands: Promise<Set<string>> | undefined;
function sluiceCommands(): Promise<Set<string>> {
  knownCommands ??= runSluice('--help').then((r) => {
    expect(r.code).toBe(0);
    return new Set(r.stdout.split('commands:')[1].split('\n').map((l) => l.trim().split(/\s+/)[0]).filter(Boolean));
  });
  return knownCommands;
}

function expectCleanExit(r: CliResult, name: string): void {
  expect(EXPECTED_EXIT[name] ?? [0], `exit ${r.code}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`).toContain(r.code);
  expect(r.stderr).not.toMatch(STACK_TRACE);
  expect(r.stdout).not.toMatch(STACK_TRACE);
}

describe('the guide', () => {
  it('has its commands and config fragments found (the extraction works)', () => {
    expect(commands.length).toBeGreaterThanOrEqual(20);
    expect(commands.some((c) => c.args[0] === 'serve')).toBe(true);
    expect(configFragments().length).toBeGreaterThanOrEqual(5);
    expect(journalFilters.length).toBeGreaterThanOrEqual(5);
    expect(commands.filter((c) => c.jq).length).toBeGreaterThanOrEqual(3);
    for (const expected of EXPECTED_OUTPUT) expect(commands.some((c) => expected.command.test(c.text)), String(expected.command)).toBe(true);
    expect(shellCommands(`npx sluice check -c a.yaml --json 'x y' 2>/dev/null | jq -r '.a | .b' # note`)).toEqual([
      { words: ['npx', 'sluice', 'check', '-c', 'a.yaml', '--json', 'x y'], piped: false }, { words: ['jq', '-r', '.a | .b'], piped: true },
    ]);
    expect(shellCommands('a > out && b 2>&1 || c; d').map((c) => c.words)).toEqual([['a'], ['b'], ['c'], ['d']]);
  });

  it('names the config with -c in every command (without it, the example file and ./data would be used)', () => {
    for (const c of commands) expect(c.args, `${c.where}: ${c.text}`).toContain('-c');
  });

  it('shows the standard GTUBE string', () => {
    const text = guideFiles().map((f) => readFileSync(f, 'utf8')).join('\n');
    expect(text).toContain(GTUBE);
    for (const gtube of text.match(/XJS\*C4JDBQADN1\S*?C\.34X/g) ?? []) expect(gtube).toBe(GTUBE);
  });

  it('explains every field of its example verdict line', () => {
    const examples = fencedBlocks(join(DOCS, '07-logs-and-metrics.md')).filter((b) => b.info === 'json');
    expect(examples.length).toBeGreaterThan(0);
    for (const example of examples) {
      const line = JSON.parse(example.lines.join('\n')) as Record<string, unknown>;
      expect(line.msg).toBe('verdict');
      expect(unexplained(line, verdictFieldTable())).toEqual([]);
    }
  });

  for (const fragment of configFragments()) {
    it(`${fragment.where}: the config fragment validates`, () => {
      try {
        parseConfigText(fragment.text, fragment.where);
      } catch (err) {
        if (err instanceof ConfigError) expect.fail(err.message);
        throw err;
      }
    });
  }

  for (const command of commands) {
    it(`${command.where}: ${command.text}`, async () => {
      const name = command.args[0];
      if (!(await sluiceCommands()).has(name)) expect.fail(`${command.where}: sluice has no command '${name}'`);
      const args = await substitute(command.args);
      if (name === 'serve') return serveAndCheck(args);
      const r = await runSluice(...args);
      expectCleanExit(r, name);
      for (const expected of EXPECTED_OUTPUT.filter((e) => e.command.test(command.text))) expect(r.stdout).toMatch(expected.stdout);
      if (command.jq) expect(runJq(command.jq, r.stdout), `jq ${command.jq.join(' ')} on:\n${r.stdout}`).toMatchObject({ code: 0, stderr: '' });
    });
  }

  for (const filter of journalFilters) {
    it(`${filter.where}: jq ${filter.jq.join(' ')}`, () => {
      expect(journal, 'the log of the gateway that the serve line started (that test runs first)').toBeDefined();
      expect(runJq(filter.jq, journal!), `jq ${filter.jq.join(' ')}`).toMatchObject({ code: 0, stderr: '' });
    });
  }
});

/** `sluice serve` runs until stopped: start it, have it take a message, read its metrics and log, stop it. */
async function serveAndCheck(args: string[]): Promise<void> {
  const child = spawn(process.execPath, ['bin/sluice.js', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: Record<string, unknown>[] = [];
  let stderr = '';
  let buffered = '';
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    buffered += chunk.toString();
    const complete = buffered.split('\n');
    buffered = complete.pop()!;
    for (const l of complete) if (l.trim()) lines.push(JSON.parse(l));
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const logged = async (msg: string): Promise<Record<string, unknown>> => {
    for (let waited = 0; waited < 30_000; waited += 50) {
      const line = lines.find((l) => l.msg === msg);
      if (line) return line;
      if (child.exitCode !== null) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no '${msg}' line; stderr: ${stderr}; log: ${JSON.stringify(lines)}`);
  };
  try {
    const smtpPort = Number((await logged('smtp listening')).port);
    const adminPort = Number((await logged('admin listening')).port);
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true, name: 'client.test.example' });
    const sent = await transport.sendMail({ envelope: { from: 'sender@origin.example', to: ['user@example.net'] }, raw: message() });
    transport.close();
    expect(sent.response).toMatch(/^250 /);
    await sink.waitFor(1);
    const verdict = await logged('verdict');
    const metrics = await (await fetch(`http://127.0.0.1:${adminPort}/metrics`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } })).text();

    // Every metric the guide names is one this gateway exports (a histogram's series included).
    const exported = new Set<string>();
    for (const [, name, type] of metrics.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
      exported.add(name);
      if (type === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) exported.add(name + suffix);
    }
    const named = new Set(guideFiles().flatMap((f) => readFileSync(f, 'utf8').match(/\bsluice_[a-z0-9_]+/g) ?? []));
    expect(named.size).toBeGreaterThan(10);
    expect([...named].filter((n) => !exported.has(n)), 'metrics the guide names that /metrics does not export').toEqual([]);

    // The verdict line of a relayed message has the fields the guide's table promises, and no field it does not explain.
    const table = verdictFieldTable();
    const promised = Object.entries(table).filter(([, when]) => ['always', 'after DATA', 'relayed'].includes(when)).map(([field]) => field);
    expect(promised.length).toBeGreaterThan(10);
    expect(verdict.action).toBe('accept');
    for (const field of promised) expect(verdict, `verdict field ${field}`).toHaveProperty(field);
    expect(unexplained(verdict, table), 'verdict fields the guide does not explain').toEqual([]);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  // SIGTERM is a graceful stop: exit 0, nothing on stderr but what a clean stop prints.
  expect(await exited, stderr).toBe(0);
  expect(stderr).not.toMatch(STACK_TRACE);
  journal = `Started sluice.service - Sluice SMTP spam-filtering gateway.\n${stdout}`;
}

// Every pino line has these; the guide's table explains the verdict's own.
const PINO_FIELDS = ['level', 'name', 'msg'];
const unexplained = (line: object, table: Record<string, string>) => Object.keys(line).filter((k) => !(k in table) && !PINO_FIELDS.includes(k));

/** The guide's table of verdict fields: field → when it is present. */
function verdictFieldTable(): Record<string, string> {
  const text = readFileSync(join(DOCS, '07-logs-and-metrics.md'), 'utf8');
  const start = text.indexOf('| field | when | meaning |');
  expect(start, 'the verdict field table of chapter 7').toBeGreaterThan(0);
  const table: Record<string, string> = {};
  for (const row of text.slice(start).split('\n').slice(2)) {
    const m = /^\| `(\w+)` \| ([^|]+) \|/.exec(row);
    if (!m) break;
    table[m[1]] = m[2].trim();
  }
  return table;
}
