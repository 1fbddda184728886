// `sluice doctor` as an operator runs it: a child process reading a config file, against a deployment
// built here (loopback DNS server, downstream sink).
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { runSluice } from '../helpers/cli.ts';
import { startDeployment, type Deployment } from '../helpers/deployment.ts';

// Each run is a new process that loads the whole program: allow for a loaded machine.
vi.setConfig({ testTimeout: 60_000 });

let d: Deployment;
beforeAll(async () => {
  d = await startDeployment();
});
afterAll(async () => {
  await d.stop();
});

const NAMES = ['config', 'store', 'quarantine', 'listener', 'admin', 'resolver', 'hostname', 'dnsbl:zen.doctor.test', 'uribl:dbl.doctor.test', 'downstream', 'starttls', 'clock'];

describe('sluice doctor', () => {
  it('a good deployment: one ok line per check, exit 0', async () => {
    const r = await runSluice('doctor', '-c', d.writeConfig());
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines.map((l) => l.split(/\s+/)[1])).toEqual(NAMES);
    expect(lines.every((l) => l.startsWith('ok  '))).toBe(true);
  });

  it('--json: one document of {ok, checks: [{name, status, detail, fix?}]}', async () => {
    d.sink.rcptReplies.set('postmaster@b.doctor.test', { code: 550, text: '5.1.1 User unknown' });
    try {
      const r = await runSluice('doctor', '-c', d.writeConfig(), '--json');
      expect(r.code).toBe(1);
      const report = JSON.parse(r.stdout);
      expect(report.ok).toBe(false);
      expect(report.checks.map((c: { name: string }) => c.name)).toEqual(NAMES);
      for (const c of report.checks) {
        expect(Object.keys(c).sort()).toEqual(c.status === 'ok' ? ['detail', 'name', 'status'] : ['detail', 'fix', 'name', 'status']);
      }
      expect(report.checks.find((c: { name: string }) => c.name === 'downstream')).toEqual({
        name: 'downstream', status: 'fail',
        detail: `127.0.0.1:${d.sink.port} refuses RCPT TO:<postmaster@b.doctor.test> 550 5.1.1 User unknown`,
        fix: 'make the downstream accept mail for every domain in `domains` from the gateway, or remove the domain from `domains`',
      });
    } finally {
      d.sink.rcptReplies.clear();
    }
  });

  it('a broken deployment: fail and warn lines carry their fix, exit 1', async () => {
    const r = await runSluice('doctor', '-c', d.writeConfig({ relay: { host: '127.0.0.1', port: 1 } }));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^fail {2}downstream +127\.0\.0\.1:1 not reachable: ECONNREFUSED; fix: start the downstream MTA, or correct relay\.host and relay\.port$/m);
  });

  it('an invalid config: every problem listed, no other check run, exit 1', async () => {
    const file = d.writeConfig({ smtp: { port: -1 }, actions: { tag: 'x' }, domains: [] });
    const r = await runSluice('doctor', '-c', file);
    expect(r.code).toBe(1);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toMatch(new RegExp(`^fail {2}config {2}${file}: 3 problem\\(s\\); fix: `));
    expect(lines.slice(1)).toEqual([
      expect.stringMatching(/^ {2}- smtp\.port: /),
      expect.stringMatching(/^ {2}- domains: /),
      expect.stringMatching(/^ {2}- actions\.tag: /),
    ]);
  });

  it('admin enabled without a token: the config problem says so, exit 1', async () => {
    const r = await runSluice('doctor', '-c', d.writeConfig({ admin: { enabled: true } }), '--json');
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout)).toEqual({
      ok: false,
      checks: [expect.objectContaining({
        name: 'config', status: 'fail',
        problems: ['admin.token: admin is enabled but has no token: set admin.token or the environment variable SLUICE_ADMIN_TOKEN'],
      })],
    });
  });

  it('a usage error exits 2', async () => {
    expect((await runSluice('doctor', '--bogus')).code).toBe(2);
    expect((await runSluice('doctor', 'extra')).code).toBe(2);
  });
});
