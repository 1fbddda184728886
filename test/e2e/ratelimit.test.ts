// Rate limits over real SMTP, on one gateway and on two gateways sharing one real Redis.
import { afterEach, describe, expect, inject, it } from 'vitest';
import { startTestGateway, message, type TestGateway, type Overrides } from '../helpers/gateway.ts';
import { startRedisServer, type RedisServer } from '../helpers/redis-server.ts';

const MIN = 60_000;
const T0 = Date.UTC(2026, 11, 2, 9, 0, 0);
let clock = T0;
const gateways: TestGateway[] = [];
let redis: RedisServer | undefined;
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((g) => g.stop()));
  await redis?.stop();
  redis = undefined;
});
const start = async (o: Overrides, now: (() => number) | undefined = () => clock) => {
  const g = await startTestGateway(o, { now });
  gateways.push(g);
  return g;
};
const attempt = (g: TestGateway, input: { from?: string; to?: string[] } = {}) =>
  g.send({ raw: message(), ...input }).then((r) => r.response, (err: { response?: string }) => err.response ?? String(err));
/** A sender of its own per test, so that tests sharing the suite's Redis never share a bucket. */
const sender = () => `bulk-${Math.random().toString(36).slice(2)}@origin.example`;

// RFC 5321 4.2.1: 4yz transient (the client retries), 5yz permanent; RFC 3463 3.8: X.7.1 "Delivery not
// authorized, message refused".
const DEFERRED = /^451 4\.7\.1 /;
const REFUSED = /^550 5\.7\.1 /;

describe('rate limits at RCPT', () => {
  it('takes a burst, defers the rest saying when to retry, and takes more as the allowance refills', async () => {
    clock = T0;
    const g = await start({ ratelimit: { limits: [{ key: 'sender', rate: '10/1h', burst: 3 }] } });
    const from = sender();
    const replies = [];
    for (let i = 0; i < 4; i++) replies.push(await attempt(g, { from }));
    expect(replies.slice(0, 3).every((r) => r.startsWith('250 '))).toBe(true);
    expect(replies[3]).toMatch(/^451 4\.7\.1 Too much mail from this sender, please try again in 360 seconds \(reference [0-9A-Z]{15}\)$/);
    // Another sender has an allowance of its own.
    expect(await attempt(g, { from: sender() })).toMatch(/^250 /);
    clock += 6 * MIN;
    expect(await attempt(g, { from })).toMatch(/^250 /);
    expect(await attempt(g, { from })).toMatch(DEFERRED);
    expect(g.verdicts().at(-1)).toMatchObject({ action: 'tempfail', stage: 'rcpt', symbols: { RATELIMIT_SENDER: 0 } });
    await g.sink.waitFor(5);
  });

  it('refuses with 550 when the limit says reject, and counts each recipient', async () => {
    clock = T0;
    const g = await start({ ratelimit: { limits: [{ key: 'recipient', rate: '2/1d', action: 'reject' }] } });
    expect(await attempt(g, { to: ['a@example.net', 'b@example.net'] })).toMatch(/^250 /);
    expect(await attempt(g, { to: ['a@example.net'] })).toMatch(/^250 /);
    expect(await attempt(g, { to: ['a@example.net'] })).toMatch(/^550 5\.7\.1 Too much mail for this recipient \(reference [0-9A-Z]{15}\)$/);
    // b has had one: the message goes to b alone.
    expect(await attempt(g, { to: ['a@example.net', 'b@example.net'] })).toMatch(/^250 /);
    const delivered = await g.sink.waitFor(3);
    expect(delivered[2].to).toEqual(['b@example.net']);
  });

  it('gives bounces (MAIL FROM:<>) their own limit', async () => {
    clock = T0;
    const g = await start({ ratelimit: { limits: [{ key: 'bounce', rate: '1/1h', action: 'reject' }, { key: 'sender', rate: '100/1h' }] } });
    expect(await attempt(g, { from: '' })).toMatch(/^250 /);
    expect(await attempt(g, { from: '' })).toMatch(REFUSED);
    expect(await attempt(g, { from: 'person@origin.example' })).toMatch(/^250 /);
    expect(g.verdicts().map((v) => v.from)).toEqual(['', '', 'person@origin.example']);
  });

  it('does not count attempts that greylisting defers: the retry of a message is the same message', async () => {
    clock = T0;
    const g = await start({ greylist: { enabled: true }, ratelimit: { limits: [{ key: 'sender', rate: '1/1h' }] } });
    const from = sender();
    expect(await attempt(g, { from })).toMatch(/^451 4\.7\.1 Greylisted/);
    clock += 4 * MIN;
    expect(await attempt(g, { from })).toMatch(/^451 4\.7\.1 Greylisted/);
    clock += MIN;
    expect(await attempt(g, { from })).toMatch(/^250 /);
    expect(await attempt(g, { from })).toMatch(/^451 4\.7\.1 Too much mail from this sender/);
  });

  it('fails open when the store is down, with RATELIMIT_ERROR', async () => {
    redis = await startRedisServer();
    const g = await start({ store: { backend: 'redis', url: redis.url, prefix: 'ratelimit-down:' }, ratelimit: { limits: [{ key: 'ip', rate: '1/1d' }] } });
    expect(await attempt(g)).toMatch(/^250 /);
    expect(await attempt(g)).toMatch(DEFERRED);
    await redis.stop();
    expect(await attempt(g)).toMatch(/^250 /);
    expect(g.verdicts().at(-1)).toMatchObject({ action: 'accept', symbols: { RATELIMIT_ERROR: 0 } });
    expect(g.logs.some((l) => l.msg === 'check failed' && l.check === 'ratelimit')).toBe(true);
  });
});

describe('two gateways on one Redis', () => {
  const limit = { key: 'sender' as const, rate: '10/1h', burst: 5 };
  const pair = async (now?: () => number) => {
    const store = { backend: 'redis' as const, url: inject('redisUrl'), prefix: `ratelimit-pair:${process.pid}:` };
    return Promise.all([start({ store, ratelimit: { limits: [limit] } }, now), start({ store, ratelimit: { limits: [limit] } }, now)]);
  };

  it('let through no more than the limit plus one burst to many parallel senders', async () => {
    // The gateways' own clocks: the test takes far less than one interval (6 minutes), so exactly the burst passes.
    const [a, b] = await pair(undefined);
    const from = sender();
    const replies = await Promise.all(Array.from({ length: 40 }, (_, i) => attempt(i % 2 ? a : b, { from })));
    const accepted = replies.filter((r) => r.startsWith('250 ')).length;
    expect(replies.filter((r) => DEFERRED.test(r))).toHaveLength(40 - accepted);
    expect(accepted).toBe(limit.burst);
    expect(accepted).toBeLessThanOrEqual(10 + limit.burst);
  });

  it('over an hour of steady attempts on both, let through the burst and the refill, never more than rate + burst', async () => {
    clock = T0;
    const [a, b] = await pair(() => clock);
    const from = sender();
    let accepted = 0;
    for (let round = 0; round < 12; round++) {
      const replies = await Promise.all(Array.from({ length: 6 }, (_, i) => attempt(i % 2 ? a : b, { from })));
      accepted += replies.filter((r) => r.startsWith('250 ')).length;
      clock += 5 * MIN;
    }
    // 5 at once at the start, then one per 6 minutes over the 55 minutes until the last round.
    expect(accepted).toBe(5 + Math.floor(55 / 6));
    expect(accepted).toBeLessThanOrEqual(10 + limit.burst);
  });
});
