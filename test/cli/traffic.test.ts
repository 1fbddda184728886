// `sluice greylist` and `sluice ratelimit` as an operator runs them, on a real embedded store.
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runSluice as run } from '../helpers/cli.ts';
import { EmbeddedStore } from '../../src/store/embedded/index.ts';

let dir: string;
let configFile: string;
const policy = { delayMs: 300_000, windowMs: 86_400_000, expiryMs: 36 * 86_400_000, autoWhitelistAfter: 5 };
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'sluice-traffic-cli-'));
  configFile = join(dir, 'sluice.yaml');
  writeFileSync(configFile, [
    `store: { path: ${join(dir, 'store')} }`,
    `quarantine: { dir: ${join(dir, 'q')} }`,
    'greylist: { enabled: true }',
    'ratelimit: { limits: [{ key: sender, rate: 10/1h, burst: 3 }, { key: sender, rate: 100/1d }] }',
    'log: { level: warn }',
  ].join('\n'));
  const store = new EmbeddedStore(join(dir, 'store'));
  await store.greylist.sight({ client: '192.0.2.0/24', sender: 'news@list.example', recipient: 'user@example.net' }, Date.now(), policy);
  await store.ratelimit.take('sender:alice@example.org 10/1h', Date.now(), { intervalMs: 360_000, burst: 3 });
  await store.close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

vi.setConfig({ testTimeout: 60_000 });

describe('sluice greylist', () => {
  it('lists, whitelists and drops clients', async () => {
    const list = await run('greylist', 'list', '-c', configFile);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^192\.0\.2\.0\/24 {2}news@list\.example -> user@example\.net {2}first \S+ {2}waiting for a retry {2}until \S+$/m);
    const allow = await run('greylist', 'allow', '198.51.100.23', '-c', configFile);
    expect(allow.stdout).toMatch(/^198\.51\.100\.0\/24 whitelisted until /);
    const json = JSON.parse((await run('greylist', 'list', '--json', '-c', configFile)).stdout);
    expect(json.entries).toContainEqual(expect.objectContaining({ client: '198.51.100.0/24', whitelisted: true }));
    expect((await run('greylist', 'drop', '192.0.2.0/24', '-c', configFile)).stdout).toBe('192.0.2.0/24: 1 record(s) dropped\n');
    expect((await run('greylist', 'list', '-c', configFile)).stdout).not.toContain('192.0.2.0/24');
  });

  it('names a client it cannot read, with usage and exit 2', async () => {
    const bad = await run('greylist', 'allow', 'not-an-address', '-c', configFile);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe("sluice greylist: 'not-an-address' is not a client: give an address, a network such as 192.0.2.0/24, or spf:<domain>\n");
    expect((await run('greylist', 'drop', '-c', configFile)).code).toBe(2);
  });
});

describe('sluice ratelimit', () => {
  it('shows what a key has left under each of its limits, and resets it', async () => {
    const show = await run('ratelimit', 'show', 'sender:Alice@Example.org', '-c', configFile);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/^sender:alice@example\.org 10\/1h {2}2 of 3 left, full again in 3[0-6]\d s$/m);
    expect(show.stdout).toMatch(/^sender:alice@example\.org 100\/1d {2}100 of 100 left$/m);
    expect((await run('ratelimit', 'reset', 'sender:alice@example.org', '-c', configFile)).stdout).toBe('sender:alice@example.org: 1 bucket(s) reset\n');
    expect((await run('ratelimit', 'show', 'sender:alice@example.org', '-c', configFile)).stdout).toMatch(/10\/1h {2}3 of 3 left$/m);
  });

  it('explains a key it cannot use', async () => {
    const unknown = await run('ratelimit', 'show', 'colour:blue', '-c', configFile);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/^sluice ratelimit: 'colour:blue' is not a rate-limit key: give KIND:VALUE, KIND one of ip, network, sender, senderDomain, recipient, bounce\n$/);
    expect((await run('ratelimit', 'show', 'ip:192.0.2.7', '-c', configFile)).stderr).toBe('sluice ratelimit: no limit on ip in ratelimit.limits\n');
  });
});
