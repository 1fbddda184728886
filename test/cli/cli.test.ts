// The CLI as a user runs it: a child process on the project's Node, with real files.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSluice, runSluiceWithInput } from '../helpers/cli.ts';
import { pino } from 'pino';
import { startSink, type Sink } from '../helpers/sink.ts';
import { GTUBE, message } from '../helpers/gateway.ts';
import { EmbeddedStore } from '../../src/store/embedded/index.ts';
import { Quarantine } from '../../src/quarantine/quarantine.ts';
import { newId } from '../../src/util/ids.ts';

const run = runSluice;

let dir: string;
let sink: Sink;
let configFile: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-cli-'));
  sink = await startSink();
  configFile = join(dir, 'sluice.yaml');
  writeFileSync(configFile, [
    `relay: { host: 127.0.0.1, port: ${sink.port} }`,
    `store: { path: ${join(dir, 'store')} }`,
    `quarantine: { dir: ${join(dir, 'q')} }`,
    'checks: { auth: false, dnsbl: false, uribl: false, bayes: false }',
    'log: { level: warn }',
  ].join('\n'));
});
afterAll(async () => {
  await sink.stop();
  rmSync(dir, { recursive: true, force: true });
});

// Each command is a new process that loads the whole program: allow for a loaded machine.
vi.setConfig({ testTimeout: 60_000 });

describe('sluice CLI', () => {
  it('config check: ok, or every problem and a non-zero exit', async () => {
    expect(await run('config', 'check', '-c', configFile)).toMatchObject({ code: 0, stdout: `${configFile}: ok\n` });
    const bad = join(dir, 'bad.yaml');
    writeFileSync(bad, 'smtp: { port: -1 }\nactions: { tag: x }\ndomains: []\n');
    const r = await run('config', 'check', '-c', bad);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('smtp.port');
    expect(r.stderr).toContain('actions.tag');
    expect(r.stderr).toContain('domains');
    expect((await run('config', 'check', '-c', join(dir, 'missing.yaml'))).stderr).toContain('cannot read');
  });

  it('check --json: one line per message, from files, directories and mbox', async () => {
    const msgs = join(dir, 'msgs');
    rmSync(msgs, { recursive: true, force: true });
    await import('node:fs').then((fs) => fs.mkdirSync(msgs));
    writeFileSync(join(msgs, 'a.eml'), message());
    writeFileSync(join(msgs, 'b.mbox'), `From x Sat Jan  1 00:00:00 2000\n${message({ body: GTUBE })}\nFrom y Sat Jan  1 00:00:00 2000\n${message()}`);
    const r = await run('check', '-c', configFile, '--json', msgs);
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([
      { file: join(msgs, 'a.eml'), score: 0, action: 'accept', symbols: [] },
      { file: `${join(msgs, 'b.mbox')}:1`, score: 1000, action: 'reject', symbols: [{ name: 'GTUBE', score: 1000 }] },
      { file: `${join(msgs, 'b.mbox')}:2`, score: 0, action: 'accept', symbols: [] },
    ]);
  });

  it('check -: reads the message from standard input, as an operator pipes a GTUBE test in', async () => {
    // The command of the GTUBE test in the README, with the string as SpamAssassin's rule has it.
    const r = await runSluiceWithInput(`Subject: t\r\n\r\n${GTUBE}\r\n`, 'check', '-c', configFile, '-');
    expect(r).toMatchObject({ code: 0, stdout: '-\treject\t1000\tGTUBE(1000)\n' });
  });

  it('check: names a path it cannot read, scans the rest, and exits non-zero', async () => {
    const ok = join(dir, 'ok.eml');
    writeFileSync(ok, message());
    const r = await run('check', '-c', configFile, '--json', join(dir, 'missing.eml'), ok);
    expect(r.code).toBe(1);
    expect(r.stderr).toBe(`sluice check: cannot read ${join(dir, 'missing.eml')}: ENOENT: no such file or directory\n`);
    expect(r.stdout.trim().split('\n').map((l) => JSON.parse(l).file)).toEqual([ok]);
  });

  it('serve: a port in use is one fatal log line and exit 1, not a stack trace', async () => {
    const { createServer } = await import('node:net');
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const port = (taken.address() as { port: number }).port;
    const busy = join(dir, 'busy.yaml');
    writeFileSync(busy, [`smtp: { port: ${port} }`, `store: { path: ${join(dir, 'busy-store')} }`, `quarantine: { dir: ${join(dir, 'busy-q')} }`,
      'checks: { auth: false, dnsbl: false, uribl: false, client: false }', 'log: { level: warn }'].join('\n'));
    try {
      const r = await run('serve', '-c', busy);
      expect(r.code).toBe(1);
      const lines = r.stdout.trim().split('\n').map((l) => JSON.parse(l));
      expect(lines).toEqual([expect.objectContaining({ level: 60, msg: 'cannot start', err: expect.stringContaining('EADDRINUSE') })]);
      expect(r.stderr).toBe('');
    } finally {
      taken.close();
    }
  });

  it('quarantine list, show, release and delete', async () => {
    const store = new EmbeddedStore(join(dir, 'store'));
    const q = new Quarantine(join(dir, 'q'), 30, store.quarantine, pino({ level: 'silent' }));
    const ids = [newId(), newId()];
    for (const [i, id] of ids.entries()) {
      await q.hold({ id, time: Date.now() + i, clientIp: '192.0.2.7', helo: 'h', mailFrom: 'spam@bad.example', rcptTo: ['user@example.net'], subject: `held ${id}`, size: 10, score: 11, action: 'quarantine', symbols: [{ name: 'GTUBE', score: 11 }] }, Buffer.from(message({ subject: `held ${id}` })));
    }
    await store.close();

    const list = JSON.parse((await run('quarantine', 'list', '-c', configFile, '--json')).stdout);
    expect(list.total).toBe(2);
    expect(list.entries.map((e: { id: string }) => e.id)).toEqual([...ids].reverse());
    expect((await run('quarantine', 'list', '-c', configFile)).stdout).toContain('spam@bad.example -> user@example.net');
    const show = await run('quarantine', 'show', ids[0], '-c', configFile);
    expect(show.stdout).toContain('symbols:  GTUBE(11)');
    expect(show.stdout).toContain(`Subject: held ${ids[0]}`);

    expect(await run('quarantine', 'release', ids[0], '-c', configFile)).toMatchObject({ code: 0 });
    expect((await sink.waitFor(1))[0].raw.toString()).toContain(`held ${ids[0]}`);
    // Asked again (or on another node of the store): the first release's claim answers, nothing is sent.
    expect(await run('quarantine', 'release', ids[0], '-c', configFile)).toMatchObject({ code: 1, stderr: `${ids[0]} is already released (or being released)\n` });
    expect(sink.messages).toHaveLength(1);
    expect(JSON.parse((await run('quarantine', 'delete', ids[1], '-c', configFile, '--json')).stdout)).toEqual({ id: ids[1], deleted: true });
    expect(JSON.parse((await run('quarantine', 'list', '-c', configFile, '--json')).stdout).total).toBe(0);
    expect(await run('quarantine', 'show', ids[1], '-c', configFile)).toMatchObject({ code: 1 });
    expect((await run('quarantine', 'frobnicate', '-c', configFile)).code).toBe(2);
  });
});
