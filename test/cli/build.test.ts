// The compiled build (`npm run build` → dist/), which `npm start` and the Docker image run: it must work
// without Node's TypeScript support, worker threads and admin page included, and `bin/sluice.js` must
// never prefer a build older than the sources.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import nodemailer from 'nodemailer';
import { startSink, type Sink } from '../helpers/sink.ts';
import { GTUBE, message } from '../helpers/gateway.ts';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const run = promisify(execFile);
let dir: string;
beforeAll(() => { dir = mkdtempSync(join(tmpdir(), 'sluice-build-')); });
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bin/sluice.js', () => {
  // A stand-in tree: bin/sluice.js as shipped, with a src/ and a dist/ entry point that say which ran.
  function tree(): { root: string; runs: () => Promise<string> } {
    const root = mkdtempSync(join(dir, 'tree-'));
    mkdirSync(join(root, 'bin'));
    copyFileSync('bin/sluice.js', join(root, 'bin/sluice.js'));
    for (const [file, said] of [['src/cli/main.ts', 'src'], ['dist/cli/main.js', 'dist']]) {
      mkdirSync(join(root, file, '..'), { recursive: true });
      writeFileSync(join(root, file), `export async function main() { console.log('${said}'); return 0; }\n`);
    }
    return { root, runs: async () => (await run(process.execPath, [join(root, 'bin/sluice.js')])).stdout.trim() };
  }
  const secondsAgo = (s: number) => new Date(Date.now() - s * 1000);

  it('runs the build while no source file is newer than it, else the sources', async () => {
    const { root, runs } = tree();
    expect(await runs()).toBe('src'); // never built

    utimesSync(join(root, 'src/cli/main.ts'), secondsAgo(60), secondsAgo(60));
    writeFileSync(join(root, 'dist/BUILD'), `${Date.now() - 30_000}\n`);
    expect(await runs()).toBe('dist');

    mkdirSync(join(root, 'src/deep/er'), { recursive: true });
    writeFileSync(join(root, 'src/deep/er/edited.ts'), ''); // an edit after the build, anywhere under src/
    expect(await runs()).toBe('src');

    rmSync(join(root, 'src'), { recursive: true }); // an install of the build alone
    expect(await runs()).toBe('dist');
  });
});

describe('bin/sluice.js serve', () => {
  // A stand-in tree whose entry points print how they were started, and a stand-in build that counts its runs.
  function tree(): string {
    const root = mkdtempSync(join(dir, 'serve-'));
    mkdirSync(join(root, 'bin'));
    mkdirSync(join(root, 'src/cli'), { recursive: true });
    copyFileSync('bin/sluice.js', join(root, 'bin/sluice.js'));
    symlinkSync(resolve('node_modules'), join(root, 'node_modules')); // TypeScript, which a build needs
    const report = (ran: string) => `export async function main() { console.log(JSON.stringify({ ran: '${ran}', pid: process.pid, execArgv: process.execArgv, arenas: process.env.MALLOC_ARENA_MAX })); return 0; }\n`;
    writeFileSync(join(root, 'src/cli/main.ts'), report('src'));
    utimesSync(join(root, 'src/cli/main.ts'), new Date(Date.now() - 60_000), new Date(Date.now() - 60_000));
    writeFileSync(join(root, 'bin/build.ts'), [
      "import { appendFileSync, mkdirSync, writeFileSync } from 'node:fs';",
      "const root = new URL('../', import.meta.url);",
      "appendFileSync(new URL('builds', root), 'x');",
      'Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 500);',
      "mkdirSync(new URL('dist/cli/', root), { recursive: true });",
      `writeFileSync(new URL('dist/cli/main.js', root), ${JSON.stringify(report('dist'))});`,
      "writeFileSync(new URL('dist/BUILD', root), `${Date.now()}\\n`);",
    ].join('\n'));
    return root;
  }
  const serve = async (root: string, nodeFlags: string[] = [], env: Record<string, string> = {}) => {
    const { MALLOC_ARENA_MAX: _, ...rest } = process.env;
    const child = run(process.execPath, [...nodeFlags, join(root, 'bin/sluice.js'), 'serve'], { env: { ...rest, ...env } });
    const { stdout } = await child;
    return { childPid: child.child.pid, ...JSON.parse(stdout) };
  };

  it('builds a missing dist/ once for gateways that start together, then runs it with the memory settings, in the same process', async () => {
    const root = tree();
    const started = await Promise.all([serve(root), serve(root), serve(root)]);
    expect(readFileSync(join(root, 'builds'), 'utf8')).toBe('x');
    for (const s of started) {
      expect(s).toMatchObject({ ran: 'dist', arenas: '2', execArgv: ['--max-semi-space-size=8', '--heap-growing-percent=30'] });
      expect(s.pid).toBe(s.childPid); // execve keeps the pid that systemd and the signals know
    }
  });

  it("keeps an operator's own settings", async () => {
    const s = await serve(tree(), ['--max-semi-space-size=16'], { MALLOC_ARENA_MAX: '4' });
    expect(s).toMatchObject({ arenas: '4', execArgv: ['--max-semi-space-size=16', '--heap-growing-percent=30'] });
  });
});

describe('the compiled build', () => {
  let out: string;
  let sink: Sink;
  let gateway: ChildProcess;
  let smtpPort: number;
  let adminPort: number;
  const TOKEN = 'build-test-token-0123456789';

  beforeAll(async () => {
    // Inside the project, so that its node_modules resolve as they do for dist/.
    mkdirSync('test-artifacts', { recursive: true });
    out = mkdtempSync(join(resolve('test-artifacts'), 'build-'));
    await run(process.execPath, ['bin/build.ts', out]);
    sink = await startSink();
    const config = join(dir, 'sluice.yaml');
    writeFileSync(config, [
      `relay: { host: 127.0.0.1, port: ${sink.port} }`,
      'smtp: { port: 0 }',
      `store: { path: ${join(dir, 'store')} }`,
      `quarantine: { dir: ${join(dir, 'q')} }`,
      // No DNS here; the content checks run on a worker thread, which must load from the build too.
      'checks: { auth: false, dnsbl: false, uribl: false, client: false, workers: 1 }',
      `admin: { enabled: true, port: 0, token: ${TOKEN} }`,
    ].join('\n'));
    // Without Node's TypeScript support: any .ts module still reached from the build fails to load.
    const entry = join(out, 'serve.mjs');
    writeFileSync(entry, `import { main } from './cli/main.js';\nprocess.exitCode = await main(['serve', '-c', ${JSON.stringify(config)}]);\n`);
    gateway = spawn(process.execPath, ['--no-experimental-strip-types', entry], { stdio: ['ignore', 'pipe', 'inherit'] });
    let logs = '';
    await new Promise<void>((resolve, reject) => {
      gateway.once('exit', (code) => reject(new Error(`the build exited with ${code}: ${logs}`)));
      gateway.stdout!.on('data', (chunk: Buffer) => {
        logs += chunk;
        const port = (what: string) => Number(new RegExp(`"port":(\\d+),"msg":"${what} listening"`).exec(logs)?.[1]);
        smtpPort = port('smtp');
        adminPort = port('admin');
        if (smtpPort && adminPort) resolve();
      });
    });
  });
  afterAll(async () => {
    if (gateway?.exitCode === null) {
      gateway.kill('SIGKILL');
      await new Promise((r) => gateway.once('exit', r));
    }
    await sink?.stop();
    rmSync(out, { recursive: true, force: true });
  });

  const send = async (raw: string) => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true, logger: false });
    try {
      return String((await transport.sendMail({ envelope: { from: 'sender@origin.example', to: ['user@example.net'] }, raw })).response);
    } finally {
      transport.close();
    }
  };

  it('holds JavaScript only, and the files the code reads next to it', async () => {
    const { readdirSync } = await import('node:fs');
    const files = readdirSync(out, { recursive: true, withFileTypes: true }).filter((e) => e.isFile()).map((e) => e.name);
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([]);
    expect(files).toEqual(expect.arrayContaining(['main.js', 'scan-worker.js', 'index.html', 'learn.lua', 'BUILD']));
  });

  it('relays, refuses GTUBE, serves the admin page, and stops cleanly on SIGTERM', async () => {
    expect(await send(message({ subject: 'from the build' }))).toMatch(/^250 /);
    const [relayed] = await sink.waitFor(1);
    expect(relayed.raw.toString()).toMatch(/^X-Spam-Status: No/m);

    await expect(send(message({ body: GTUBE }))).rejects.toMatchObject({ responseCode: 550 });

    const page = await fetch(`http://127.0.0.1:${adminPort}/`);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<html');
    const api = await fetch(`http://127.0.0.1:${adminPort}/api/quarantine`, { headers: { authorization: `Bearer ${TOKEN}` } });
    expect(api.status).toBe(200);

    const exited = new Promise<number | null>((r) => gateway.once('exit', r));
    gateway.kill('SIGTERM');
    expect(await exited).toBe(0);
  });
});
