import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { ConfigError, parseConfigText, loadConfig } from '../../src/config/load.ts';

describe('config', () => {
  it('gives every default for an empty file, frozen', () => {
    const c = parseConfigText('');
    expect(c.smtp).toMatchObject({ host: '127.0.0.1', port: 2525, maxSize: 26214400, maxRecipients: 100 });
    expect(c.actions).toEqual({ tag: 5, quarantine: 10, reject: 15 });
    expect(c.store.backend).toBe('embedded');
    expect(Object.isFrozen(c.smtp)).toBe(true);
    expect(() => { (c.smtp as { port: number }).port = 1; }).toThrow();
  });

  it('reads checks.workers: auto as one thread per core beyond the first, and refuses other words', () => {
    expect(parseConfigText('checks: { workers: auto }').checks.workers).toBe(Math.min(8, availableParallelism() - 1));
    expect(parseConfigText('checks: { workers: 3 }').checks.workers).toBe(3);
    expect(() => parseConfigText('checks: { workers: many }')).toThrow(/checks\.workers/);
  });

  it('keeps recipient domains in lowercase ASCII form, however they are written', () => {
    expect(parseConfigText('domains: [Example.NET, Bücher.example, XN--BCHER-KVA.example]').domains)
      .toEqual(['example.net', 'xn--bcher-kva.example', 'xn--bcher-kva.example']);
  });

  it('wants smtp.maxInFlightBytes to hold at least one message of smtp.maxSize', () => {
    expect(() => parseConfigText('smtp: { maxSize: 1000, maxInFlightBytes: 999 }')).toThrow(/smtp\.maxInFlightBytes: must be at least smtp\.maxSize/);
    expect(parseConfigText('smtp: { maxSize: 1000, maxInFlightBytes: 1000 }').smtp.maxInFlightBytes).toBe(1000);
  });

  it('accepts the shipped config/sluice.yaml', () => {
    expect(loadConfig('config/sluice.yaml').domains).toEqual(['example.net']);
  });

  it('lists every problem at once, with its path', () => {
    const text = [
      'smtp: { port: 99999, maxSize: -1, bogus: 1 }',
      'domains: []',
      'store: { backend: mongodb }',
      'actions: { tag: 20, quarantine: 10, reject: 15 }',
      'scores: { lower_case: 1, GOOD: "high" }',
      'unknownTop: true',
    ].join('\n');
    const err = (() => { try { parseConfigText(text, 'x.yaml'); } catch (e) { return e as ConfigError; } })();
    expect(err).toBeInstanceOf(ConfigError);
    const joined = err!.problems.join('\n');
    for (const path of ['smtp.port', 'smtp.maxSize', 'smtp', 'domains', 'store.backend', 'actions', 'scores.lower_case', 'scores.GOOD', '(top level)']) {
      expect(joined).toContain(`${path}:`);
    }
    expect(err!.problems.length).toBeGreaterThanOrEqual(9);
    expect(err!.message).toMatch(/^x\.yaml: \d+ problem/);
  });

  it('reports YAML syntax errors with their place', () => {
    expect(() => parseConfigText('smtp:\n  port: [1, 2\n', 'bad.yaml')).toThrow(/bad\.yaml: .*problem[\s\S]*line/);
  });

  it('accepts the configs of docker-compose.yml and docker-compose.sentinel.yml', () => {
    // Both take the admin token from the environment, as the compose files pass it.
    const saved = process.env.SLUICE_ADMIN_TOKEN;
    process.env.SLUICE_ADMIN_TOKEN = 'compose-token-0123456789';
    try {
      expect(loadConfig('config/docker/sluice.yaml').store.url).toBe('redis://redis:6379');
      expect(loadConfig('config/docker/sluice-sentinel.yaml').store.url).toMatch(/^redis-sentinel:\/\/sentinel-1:26379,.+\/sluice$/);
    } finally {
      if (saved === undefined) delete process.env.SLUICE_ADMIN_TOKEN;
      else process.env.SLUICE_ADMIN_TOKEN = saved;
    }
  });

  it('documents every top-level key in config/sluice.yaml', async () => {
    const { configSchema } = await import('../../src/config/schema.ts');
    const doc = readFileSync('config/sluice.yaml', 'utf8');
    for (const key of Object.keys(configSchema.shape)) expect(doc).toMatch(new RegExp(`^${key}:`, 'm'));
  });
});

describe('documentation', () => {
  it('the README lists every symbol with its default weight', async () => {
    await import('../../src/checks/index.ts');
    const { builtinSymbols } = await import('../../src/scan/symbols.ts');
    const readme = readFileSync('README.md', 'utf8');
    for (const [name, info] of Object.entries(builtinSymbols())) {
      expect(readme).toContain(`| \`${name}\` | ${info.weight} |`);
    }
  });
});
