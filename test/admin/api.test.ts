// The admin listener over real HTTP, in front of a real gateway and downstream sink.
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { parseConfig, ConfigError } from '../../src/config/load.ts';
import type { QuarantineEntry } from '../../src/store/types.ts';
import { newId } from '../../src/util/ids.ts';
import { GTUBE, message, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import { installedRedisVersion } from '../helpers/redis-server.ts';

const TOKEN = 'test-admin-token-0123456789';
const ALICE = 'alice-token-abcdefghijklmnop';

let g: TestGateway;
let base: string;

const api = (path: string, init: RequestInit & { token?: string | null } = {}) => {
  const headers = new Headers(init.headers);
  const token = init.token === undefined ? TOKEN : init.token;
  if (token) headers.set('Authorization', `Bearer ${token}`);
  return fetch(base + path, { ...init, headers });
};
const json = async (path: string, init?: RequestInit & { token?: string | null }) => {
  const res = await api(path, init);
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};

async function until<T>(fn: () => Promise<T>, ok: (v: T) => boolean, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (ok(v) || Date.now() > deadline) return v;
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Holds a message straight in the quarantine (as the gateway would), for paging and filter tests. */
async function hold(over: Partial<QuarantineEntry>, raw = message({ subject: over.subject ?? 'held' })): Promise<QuarantineEntry> {
  const entry: QuarantineEntry = {
    id: newId(over.time ?? Date.now()), time: Date.now(), clientIp: '192.0.2.7', helo: 'bad.example', mailFrom: 'spam@bad.example',
    rcptTo: ['user@example.net'], subject: 'held', size: raw.length, score: 11, action: 'quarantine', symbols: [{ name: 'GTUBE', score: 11 }], ...over,
  };
  await g.gateway.core.quarantine.hold(entry, Buffer.from(raw));
  return entry;
}

beforeAll(async () => {
  g = await startTestGateway({
    scores: { GTUBE: 12 },
    admin: { enabled: true, token: TOKEN, tokens: { alice: ALICE }, readyIntervalMs: 200 },
  });
  base = `http://127.0.0.1:${g.adminPort}`;
});

afterAll(async () => {
  await g?.stop();
});

describe('access', () => {
  it('answers the probes without a token', async () => {
    expect(await json('/healthz', { token: null })).toEqual({ status: 200, body: { status: 'ok' } });
    const ready = await until(() => json('/readyz', { token: null }), (r) => r.status === 200);
    expect(ready.status).toBe(200);
    expect(ready.body).toMatchObject({ ready: true, store: { ok: true }, downstream: { ok: true } });
    // The embedded store has no servers behind it to show.
    expect(ready.body.store).toEqual({ ok: true });
  });

  it('shows on the Redis store the server behind it, its role, version and replicas', async () => {
    const r = await startTestGateway({ store: { backend: 'redis', url: inject('redisUrl'), prefix: `readyz:${process.pid}:` }, admin: { enabled: true, token: TOKEN } });
    try {
      const body = (await (await fetch(`http://127.0.0.1:${r.adminPort}/readyz`)).json()) as Record<string, any>;
      expect(body.store).toEqual({ ok: true, topology: { mode: 'standalone', role: 'master', version: installedRedisVersion(), replicas: 0 } });
    } finally {
      await r.stop();
    }
  });

  it('refuses everything else without the right token, and logs it', async () => {
    for (const path of ['/metrics', '/api/quarantine', '/api/overview', '/api/info']) {
      const missing = await api(path, { token: null });
      expect(missing.status).toBe(401);
      expect(missing.headers.get('www-authenticate')).toMatch(/^Bearer/);
      expect((await api(path, { token: 'wrong-token-wrong-token-wrong' })).status).toBe(401);
    }
    expect((await api('/api/quarantine', { headers: { Authorization: `Basic ${TOKEN}` }, token: null })).status).toBe(401);
    const denied = g.logs.filter((l) => l.msg === 'admin request unauthorized');
    expect(denied.some((l) => l.reason === 'no token' && l.path === '/metrics')).toBe(true);
    expect(denied.some((l) => l.reason === 'wrong token')).toBe(true);
    expect(JSON.stringify(denied)).not.toContain('wrong-token-wrong-token');
  });

  it('knows who is acting by the token', async () => {
    expect((await json('/api/info')).body).toMatchObject({ who: 'admin', hostname: 'mx.test.example', store: 'embedded' });
    expect((await json('/api/info', { token: ALICE })).body.who).toBe('alice');
  });

  it('sends strict security headers', async () => {
    const res = await api('/', { token: null });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'self'");
    expect(res.headers.get('x-frame-options')).toBe('DENY');
    expect(res.headers.get('x-content-type-options')).toBe('nosniff');
  });

  it('refuses to start enabled without a token, naming the fix', () => {
    const saved = process.env.SLUICE_ADMIN_TOKEN;
    delete process.env.SLUICE_ADMIN_TOKEN;
    try {
      expect(() => parseConfig({ admin: { enabled: true } })).toThrow(ConfigError);
      expect(() => parseConfig({ admin: { enabled: true } })).toThrow(/admin\.token.*SLUICE_ADMIN_TOKEN/);
      expect(() => parseConfig({ admin: { enabled: true, token: 'short' } })).toThrow(/at least 16/);
      process.env.SLUICE_ADMIN_TOKEN = 'from-the-environment-123';
      expect(parseConfig({ admin: { enabled: true } }).admin.token).toBe('from-the-environment-123');
    } finally {
      if (saved === undefined) delete process.env.SLUICE_ADMIN_TOKEN;
      else process.env.SLUICE_ADMIN_TOKEN = saved;
    }
  });
});

describe('metrics', () => {
  it('counts what went through the gateway', async () => {
    await g.send({ raw: message({ subject: 'Spam one', body: GTUBE }) });
    await g.send({ raw: message({ subject: 'Spam two', body: GTUBE }) });
    await g.send({ raw: message({ subject: 'Fine' }) });
    await expect(g.send({ raw: message(), to: ['someone@elsewhere.example'] })).rejects.toThrow(/550/);
    const res = await until(() => api('/metrics').then((r) => r.text()), (t) => t.includes('sluice_smtp_connections_open 0'));
    expect(res).toContain('sluice_messages_total{action="quarantine"} 2');
    expect(res).toContain('sluice_messages_total{action="accept"} 1');
    expect(res).toContain('sluice_symbols_total{symbol="GTUBE"} 2');
    expect(res).toMatch(/sluice_smtp_replies_total\{code="250"\} \d+/);
    expect(res).toMatch(/sluice_smtp_replies_total\{code="550"\} 1/);
    expect(res).toMatch(/sluice_check_duration_seconds_count\{check="gtube",outcome="ok"\} 3/);
    expect(res).toMatch(/sluice_relay_duration_seconds_count\{outcome="ok"\} 1/);
    expect(res).toContain('sluice_quarantine_messages 2');
    expect(res).toContain('sluice_smtp_connections_open 0');
    for (const name of ['sluice_refused_before_data_total', 'sluice_refused_before_data_bytes_total', 'sluice_relay_failures_total',
      'sluice_store_errors_total', 'sluice_dns_lookups_total', 'sluice_dns_cache_hit_ratio', 'sluice_process_resident_memory_bytes']) {
      expect(res).toContain(`# TYPE ${name}`);
    }
    const overview = (await json('/api/overview?minutes=60&step=5')).body;
    expect(overview).toMatchObject({ step: 300_000, totals: { quarantine: 2, accept: 1, reject: 0 }, quarantined: 2 });
    expect(overview.counts.quarantine).toHaveLength(12);
  });
});

describe('quarantine API', () => {
  it('lists with paging and filters, newest first', async () => {
    const t0 = Date.UTC(2026, 0, 1);
    const made: QuarantineEntry[] = [];
    for (let i = 0; i < 12; i++) {
      made.push(await hold({
        time: t0 + i * 60_000,
        mailFrom: i % 3 === 0 ? 'boss@corp.example' : 'spam@bad.example',
        rcptTo: [i % 2 ? 'odd@example.net' : 'even@example.net'],
        score: 10 + i,
        symbols: i % 4 === 0 ? [{ name: 'BAYES_SPAM', score: 10 + i }] : [{ name: 'GTUBE', score: 10 + i }],
        subject: `paged ${i}`,
      }));
    }
    const window = `since=${t0}&until=${t0 + 12 * 60_000}`;
    const page1 = (await json(`/api/quarantine?${window}&limit=5`)).body;
    expect(page1.total).toBe(12);
    expect(page1.entries.map((e: QuarantineEntry) => e.subject)).toEqual(['paged 11', 'paged 10', 'paged 9', 'paged 8', 'paged 7']);
    const page3 = (await json(`/api/quarantine?${window}&limit=5&offset=10`)).body;
    expect(page3.entries.map((e: QuarantineEntry) => e.subject)).toEqual(['paged 1', 'paged 0']);
    const bySender = (await json(`/api/quarantine?${window}&sender=BOSS@corp.example`)).body;
    expect(bySender.entries.map((e: QuarantineEntry) => e.subject)).toEqual(['paged 9', 'paged 6', 'paged 3', 'paged 0']);
    expect((await json(`/api/quarantine?${window}&recipient=odd@example.net`)).body.total).toBe(6);
    expect((await json(`/api/quarantine?${window}&symbol=bayes_spam`)).body.total).toBe(3);
    expect((await json(`/api/quarantine?${window}&minScore=19.5`)).body.total).toBe(2);
    const iso = (await json(`/api/quarantine?since=${new Date(t0 + 10 * 60_000).toISOString()}&until=${t0 + 12 * 60_000}`)).body;
    expect(iso.entries.map((e: QuarantineEntry) => e.subject)).toEqual(['paged 11', 'paged 10']);
    expect((await json('/api/quarantine?limit=0')).status).toBe(400);
    expect((await json('/api/quarantine?limit=501')).status).toBe(400);
    expect((await json('/api/quarantine?since=yesterday')).status).toBe(400);
    for (const e of made) await g.gateway.core.quarantine.delete(e.id);
  });

  it('shows headers, a safe text preview, symbols and our authentication results only', async () => {
    const raw = [
      'Authentication-Results: mx.test.example; spf=pass smtp.mailfrom=news@origin.example; dkim=fail (bad signature) header.d=origin.example; dmarc=fail reason="policy says so" header.from=origin.example',
      'Authentication-Results: evil.example; spf=pass smtp.mailfrom=news@origin.example',
      'From: News <news@origin.example>',
      'To: user@example.net',
      'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=',
      'MIME-Version: 1.0',
      'Content-Type: text/html; charset=utf-8',
      '',
      '<html><head><style>p{color:red}</style><script>alert(1)</script></head><body><p>Hello &amp; welcome</p>',
      '<img src="http://tracker.example/pixel.gif"><a href="http://phish.example/login">Log in</a></body></html>',
      '',
    ].join('\r\n');
    const entry = await hold({ subject: 'Grüße', symbols: [{ name: 'GTUBE', score: 11 }, { name: 'HELO_NOT_FQDN', score: 0.5 }] }, raw);
    const { status, body } = await json(`/api/quarantine/${entry.id}`);
    expect(status).toBe(200);
    expect(body.entry).toMatchObject({ id: entry.id, symbols: [{ name: 'GTUBE', score: 11 }, { name: 'HELO_NOT_FQDN', score: 0.5 }] });
    expect(body.headers).toContainEqual({ name: 'From', value: 'News <news@origin.example>' });
    expect(body.preview.source).toBe('html');
    expect(body.preview.text).toContain('Hello & welcome');
    expect(body.preview.text).toContain('Log in [http://phish.example/login]');
    expect(body.preview.text).not.toMatch(/<|alert|color:red/);
    expect(body.authResults).toEqual([
      { method: 'spf', result: 'pass', props: { 'smtp.mailfrom': 'news@origin.example' } },
      { method: 'dkim', result: 'fail', props: { 'header.d': 'origin.example' } },
      { method: 'dmarc', result: 'fail', reason: 'policy says so', props: { 'header.from': 'origin.example' } },
    ]);

    const download = await api(`/api/quarantine/${entry.id}/raw`);
    expect(download.status).toBe(200);
    expect(download.headers.get('content-type')).toBe('message/rfc822');
    expect(download.headers.get('content-disposition')).toBe(`attachment; filename="${entry.id}.eml"`);
    expect(Buffer.from(await download.arrayBuffer()).toString()).toBe(raw);

    expect((await json('/api/quarantine/0000000000000ZZ')).status).toBe(404);
    expect((await api('/api/quarantine/../../etc/passwd')).status).toBe(404);
    await g.gateway.core.quarantine.delete(entry.id);
  });

  it('releases to the downstream sink, and logs who did it', async () => {
    const before = g.sink.messages.length;
    await g.send({ raw: message({ subject: 'Wanted after all', body: GTUBE }) });
    const { entries } = (await json('/api/quarantine?limit=1')).body;
    expect(entries[0].subject).toBe('Wanted after all');
    const id = entries[0].id as string;
    const released = await json(`/api/quarantine/${id}/release`, { method: 'POST', token: ALICE });
    expect(released.status).toBe(200);
    expect(released.body).toMatchObject({ id, released: true, relayId: expect.stringMatching(/^SINK\d+$/) });
    const delivered = (await g.sink.waitFor(before + 1))[before];
    expect(delivered.raw.toString()).toContain('Subject: Wanted after all');
    expect(delivered.raw.toString()).toContain('X-Sluice-Released:');
    expect(delivered.to).toEqual(['user@example.net']);
    expect((await json(`/api/quarantine/${id}`)).status).toBe(404);
    // Asked again (here, or on another node of the same store): the claim of the first release answers.
    const again = await json(`/api/quarantine/${id}/release`, { method: 'POST' });
    expect([again.status, again.body.error]).toEqual([409, `${id} is already released (or being released)`]);
    expect((await json('/api/quarantine/0000000000000ZZ/release', { method: 'POST' })).status).toBe(404);
    expect(g.logs.find((l) => l.msg === 'quarantine release' && l.id === id)).toMatchObject({ who: 'alice', action: 'release' });
  });

  it('keeps the message when the downstream is down (502)', async () => {
    const entry = await hold({ subject: 'Downstream away' });
    await g.sink.stop();
    try {
      const res = await json(`/api/quarantine/${entry.id}/release`, { method: 'POST' });
      expect(res.status).toBe(502);
      expect((await json(`/api/quarantine/${entry.id}`)).status).toBe(200);
      // Readiness notices the downstream is gone at the next probe.
      expect((await until(() => json('/readyz', { token: null }), (r) => r.status === 503)).body.downstream.ok).toBe(false);
    } finally {
      await g.sink.restart();
    }
    expect((await until(() => json('/readyz', { token: null }), (r) => r.status === 200)).status).toBe(200);
    await g.gateway.core.quarantine.delete(entry.id);
  });

  it('deletes, and logs who did it', async () => {
    const entry = await hold({ subject: 'Junk' });
    // While a release has it (on this node or another), a delete would race it: refused.
    await g.gateway.core.store.quarantine.claim(entry.id, 'a release elsewhere', 60_000);
    expect(await json(`/api/quarantine/${entry.id}`, { method: 'DELETE' })).toEqual({ status: 409, body: { error: `${entry.id} is already released (or being released)` } });
    await g.gateway.core.store.quarantine.unclaim(entry.id, 'a release elsewhere');
    expect(await json(`/api/quarantine/${entry.id}`, { method: 'DELETE' })).toEqual({ status: 200, body: { id: entry.id, deleted: true } });
    expect((await json(`/api/quarantine/${entry.id}`, { method: 'DELETE' })).status).toBe(404);
    expect(g.logs.find((l) => l.msg === 'quarantine delete' && l.id === entry.id)).toMatchObject({ who: 'admin' });
    expect((await json(`/api/quarantine/${entry.id}`, { method: 'PUT' })).status).toBe(405);
  });

  it('learns through the core hooks when they exist, else answers 501', async () => {
    const core = g.gateway.core;
    const entry = await hold({ subject: 'Learn me' }, message({ subject: 'Learn me', body: 'cheap pills' }));
    expect((await json(`/api/quarantine/${entry.id}/learn-spam`, { method: 'POST' })).status).toBe(501);
    expect((await json(`/api/quarantine/${entry.id}/release`, { method: 'POST', body: JSON.stringify({ learn: true }) })).status).toBe(501);
    expect((await json(`/api/quarantine/${entry.id}/release`, { method: 'POST', body: '{"learn":"yes"}' })).status).toBe(400);
    expect((await json(`/api/quarantine/${entry.id}`)).status).toBe(200);

    const learned: { as: string; raw: string }[] = [];
    core.learnSpam = async (raw) => { learned.push({ as: 'spam', raw: raw.toString() }); return 'learned'; };
    core.learnHam = async (raw) => { learned.push({ as: 'ham', raw: raw.toString() }); return 'relearned'; };
    try {
      expect((await json(`/api/quarantine/${entry.id}/learn-spam`, { method: 'POST' })).body).toEqual({ id: entry.id, learned: 'learned' });
      expect((await json(`/api/quarantine/${entry.id}`)).status).toBe(200); // learning as spam keeps it held
      const res = await json(`/api/quarantine/${entry.id}/release`, { method: 'POST', body: JSON.stringify({ learn: true }) });
      expect(res.body).toMatchObject({ id: entry.id, released: true, learned: 'relearned' });
      expect(learned.map((l) => l.as)).toEqual(['spam', 'ham']);
      expect(learned[1].raw).toContain('cheap pills');
      expect(g.logs.find((l) => l.msg === 'quarantine learn spam' && l.id === entry.id)).toMatchObject({ who: 'admin' });
    } finally {
      delete core.learnSpam;
      delete core.learnHam;
    }
  });
});

describe('lifecycle', () => {
  it('starts after SMTP, stops with the gateway, and a busy port stops the start', async () => {
    const other = await startTestGateway({ admin: { enabled: true, token: TOKEN } }, { sink: g.sink });
    const url = `http://127.0.0.1:${other.adminPort}/healthz`;
    expect((await fetch(url)).status).toBe(200);
    await other.stop();
    await expect(fetch(url)).rejects.toThrow();

    await expect(startTestGateway({ admin: { enabled: true, token: TOKEN, port: g.adminPort } }, { sink: g.sink })).rejects.toThrow(/EADDRINUSE/);
  });
});
