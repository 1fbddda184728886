// The greylisting and rate-limit API over real HTTP, in front of a real gateway fed over SMTP.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { message, startTestGateway, type TestGateway } from '../helpers/gateway.ts';

const TOKEN = 'test-admin-token-0123456789';
let g: TestGateway;
const json = async (path: string, init: RequestInit = {}) => {
  const headers = new Headers(init.headers);
  headers.set('Authorization', `Bearer ${TOKEN}`);
  const res = await fetch(`http://127.0.0.1:${g.adminPort}${path}`, { ...init, headers });
  return { status: res.status, body: (await res.json()) as Record<string, any> };
};
const attempt = (from = 'sender@origin.example') => g.send({ from, raw: message() }).then((r) => r.response, (e: { response: string }) => e.response);

beforeAll(async () => {
  g = await startTestGateway({
    admin: { enabled: true, token: TOKEN },
    greylist: { enabled: true },
    ratelimit: { limits: [{ key: 'sender', rate: '10/1h', burst: 2 }] },
  });
});
afterAll(async () => { await g?.stop(); });

describe('greylist API', () => {
  it('lists what greylisting saw, whitelists a client and drops it', async () => {
    expect(await attempt()).toMatch(/^451 4\.7\.1 Greylisted/);
    const listed = await json('/api/greylist');
    expect(listed.status).toBe(200);
    expect(listed.body.entries).toEqual([expect.objectContaining({ client: '127.0.0.0/24', sender: 'sender@origin.example', recipient: 'user@example.net' })]);
    expect(await json('/api/greylist/allow', { method: 'POST', body: JSON.stringify({ client: '127.0.0.1' }) })).toEqual({ status: 200, body: { client: '127.0.0.0/24', whitelisted: true } });
    expect(await attempt()).toMatch(/^250 /);
    expect(g.logs.some((l) => l.msg === 'greylist allow' && l.who === 'admin' && l.client === '127.0.0.0/24')).toBe(true);
    expect(await json(`/api/greylist/${encodeURIComponent('127.0.0.0/24')}`, { method: 'DELETE' })).toEqual({ status: 200, body: { client: '127.0.0.0/24', dropped: 2 } });
    expect(await attempt()).toMatch(/^451 /);
  });

  it('answers 400 with the reason for a client it cannot read', async () => {
    const bad = await json('/api/greylist/allow', { method: 'POST', body: JSON.stringify({ client: 'nowhere' }) });
    expect(bad.status).toBe(400);
    expect(bad.body.error).toMatch(/'nowhere' is not a client/);
  });
});

describe('rate-limit API', () => {
  it('shows what a sender has left and resets it', async () => {
    await json('/api/greylist/allow', { method: 'POST', body: JSON.stringify({ client: '127.0.0.0/24' }) });
    expect(await attempt('bulk@origin.example')).toMatch(/^250 /);
    expect(await attempt('bulk@origin.example')).toMatch(/^250 /);
    expect(await attempt('bulk@origin.example')).toMatch(/^451 4\.7\.1 Too much mail from this sender/);
    const shown = await json('/api/ratelimit/sender:bulk@origin.example');
    expect(shown.status).toBe(200);
    expect(shown.body.limits).toEqual([expect.objectContaining({ bucket: 'sender:bulk@origin.example 10/1h', burst: 2, available: 0 })]);
    expect((await json('/api/ratelimit/sender:bulk@origin.example', { method: 'DELETE' })).body).toEqual({ key: 'sender:bulk@origin.example', reset: 1 });
    expect(await attempt('bulk@origin.example')).toMatch(/^250 /);
    expect((await json('/api/ratelimit/ip:127.0.0.1')).status).toBe(400);
  });
});
