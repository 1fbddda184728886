// Two gateways as one on Redis Sentinel (1 master, 1 replica, 3 sentinels, real processes on loopback):
// Bayes learned on one node scores on the other, a message held by one is listed, shown and released by
// the other exactly once, and when the master is killed mid-run mail keeps flowing, both nodes follow
// the promoted replica without a restart, and every 250 a sender heard is downstream or in the quarantine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSentinelSet, type SentinelSet } from '../helpers/redis-sentinel.ts';
import { startSink, type Sink } from '../helpers/sink.ts';
import { GTUBE, message, startTestGateway, type TestGateway } from '../helpers/gateway.ts';
import type { RedisStore } from '../../src/store/redis/index.ts';

const TOKEN = 'sentinel-test-token-0123456789';
const SPAM = (i: number) => `Cheap pills and casino bonus ${i}, viagra replica watches, claim your lottery prize now, click to unsubscribe.`;
const HAM = (i: number) => `Minutes of the project meeting ${i}: the agenda, the budget review and the schedule for the release are attached.`;

let set: SentinelSet;
let sink: Sink;
let a: TestGateway;
let b: TestGateway;

beforeAll(async () => {
  set = await startSentinelSet({ downAfterMs: 1000, failoverTimeoutMs: 5000 });
  sink = await startSink();
  const overrides = {
    store: { backend: 'redis' as const, url: set.url, prefix: `sentinel:${process.pid}:` },
    checks: { bayes: true },
    bayes: { minLearns: 5 },
    scores: { GTUBE: 12 },
    admin: { enabled: true, token: TOKEN },
    quarantine: { replicaTimeoutMs: 1000 },
    log: { level: 'info' as const },
  };
  a = await startTestGateway(overrides, { sink });
  b = await startTestGateway(overrides, { sink });
}, 40_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await sink?.stop();
  await set?.stop();
});

async function admin(g: TestGateway, path: string, method = 'GET'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${g.adminPort}${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(method === 'POST' ? { 'Content-Type': 'application/json' } : {}) },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const delivered = (subject: string) => sink.messages.filter((m) => m.raw.toString().includes(`\r\nSubject: ${subject}\r\n`));
const queuedAs = (reply: string) => /queued as (\S+)/.exec(reply)?.[1];

describe('two gateways on Redis Sentinel', () => {
  it('scores on node B with what node A learned', async () => {
    for (let i = 0; i < 6; i++) {
      await a.gateway.core.learnSpam!(Buffer.from(message({ subject: `Offer ${i}`, body: SPAM(i) })));
      await a.gateway.core.learnHam!(Buffer.from(message({ subject: `Meeting ${i}`, body: HAM(i) })));
    }
    expect(await b.gateway.core.store.bayes.stats()).toMatchObject({ learnedSpam: 6, learnedHam: 6 });
    await b.send({ raw: message({ subject: 'Offer today', body: SPAM(99) }) });
    await b.send({ raw: message({ subject: 'Meeting today', body: HAM(99) }) });
    const [spam, ham] = b.verdicts().slice(-2).map((v) => v.symbols as Record<string, number>);
    expect(spam.BAYES_SPAM).toBeGreaterThan(0);
    expect(ham.BAYES_HAM).toBeLessThan(0);
  });

  it('lists, shows and releases on node B what node A held, once when both are asked at the same time', async () => {
    const reply = await a.send({ raw: message({ subject: 'Held by A', body: GTUBE }) });
    const id = queuedAs(reply.response)!;
    expect(a.verdicts().at(-1)).toMatchObject({ action: 'quarantine', quarantineId: id });
    const list = await admin(b, '/api/quarantine?limit=10');
    expect((list.body.entries as { id: string }[]).map((e) => e.id)).toContain(id);
    const shown = await admin(b, `/api/quarantine/${id}`);
    expect(shown.status).toBe(200);
    expect(shown.body.entry).toMatchObject({ id, subject: 'Held by A' });
    expect((await b.gateway.core.quarantine.get(id))!.raw.toString()).toContain('XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE');

    const [fromA, fromB] = await Promise.all([admin(a, `/api/quarantine/${id}/release`, 'POST'), admin(b, `/api/quarantine/${id}/release`, 'POST')]);
    expect([fromA.status, fromB.status].sort()).toEqual([200, 409]);
    expect([fromA, fromB].find((r) => r.status === 409)!.body.error).toBe(`${id} is already released (or being released)`);
    await until(() => delivered('Held by A').length > 0, 5000);
    await new Promise((r) => setTimeout(r, 300));
    expect(delivered('Held by A')).toHaveLength(1);
    expect((await admin(b, `/api/quarantine/${id}`)).status).toBe(404);
  });

  it('keeps taking mail while the master is killed and a replica promoted, and loses none of what it said 250 to', async () => {
    const oldMaster = await set.masterPort();
    expect(oldMaster).toBe(set.master.port);
    interface Sent { subject: string; node: 'A' | 'B'; held: boolean; id?: string; tries: number; at: number }
    const accepted: Sent[] = [];
    const deferred: { subject: string; reply: string; at: number }[] = [];
    let killedAt = 0;
    let promotedAt = 0;
    let stop = false;
    let n = 0;
    const t0 = Date.now();

    // Four senders, two per node; every third message is held (GTUBE scores 12 here). A 4xx is retried, as an MTA would.
    const sender = async (g: TestGateway, node: 'A' | 'B') => {
      while (!stop) {
        const held = n % 3 === 0;
        const subject = `flow ${n++}`;
        for (let tries = 1; ; tries++) {
          try {
            const { response } = await g.send({ raw: message({ subject, body: held ? GTUBE : HAM(n) }) });
            accepted.push({ subject, node, held, id: queuedAs(response), tries, at: Date.now() - t0 });
            break;
          } catch (err) {
            const code = (err as { responseCode?: number }).responseCode ?? 0;
            if (code < 400 || code >= 500) throw err;
            deferred.push({ subject, reply: String((err as Error).message), at: Date.now() - t0 });
            await new Promise((r) => setTimeout(r, 250));
          }
        }
      }
    };
    const senders = [sender(a, 'A'), sender(a, 'A'), sender(b, 'B'), sender(b, 'B')];
    try {
      await new Promise((r) => setTimeout(r, 1500));
      await set.master.kill();
      killedAt = Date.now() - t0;
      const newMaster = await set.promoted(oldMaster, 30_000);
      promotedAt = Date.now() - t0;
      expect(newMaster).toBe(set.replica.port);
      // Mail flows after the promotion, held messages included: both nodes write to the new master.
      await until(() => ['A', 'B'].every((node) => accepted.some((s) => s.held && s.node === node && s.at > promotedAt + 500)), 20_000);
      await new Promise((r) => setTimeout(r, 1000));
    } finally {
      stop = true;
      await Promise.all(senders);
    }

    // Both nodes now talk to the promoted replica, on the clients they started with.
    for (const g of [a, b]) {
      const client = (g.gateway.core.store as RedisStore).client;
      expect(await client.call('CONFIG', 'GET', 'port')).toEqual(['port', String(set.replica.port)]);
      expect(((await client.call('ROLE')) as unknown[])[0]).toBe('master');
    }
    // What node A learned was on the replica before the master went.
    expect(await b.gateway.core.store.bayes.stats()).toMatchObject({ learnedSpam: 6, learnedHam: 6 });

    // Every 250: the relayed ones downstream, the held ones in the quarantine, read through node B.
    const lost: string[] = [];
    for (const s of accepted) {
      if (s.held) {
        const found = s.id ? await b.gateway.core.quarantine.get(s.id) : null;
        if (found?.entry.subject !== s.subject) lost.push(`${s.subject} (held as ${s.id})`);
      } else if (delivered(s.subject).length !== 1) {
        lost.push(`${s.subject} (relayed ${delivered(s.subject).length} times)`);
      }
    }
    const held = accepted.filter((s) => s.held);
    const summary = {
      killedAtMs: killedAt, promotedAtMs: promotedAt, accepted: accepted.length, held: held.length, relayed: accepted.length - held.length,
      deferredReplies: deferred.length, firstDeferred: deferred[0]?.reply, retriedThenAccepted: accepted.filter((s) => s.tries > 1).length,
      acceptedDuringSwitch: accepted.filter((s) => s.at > killedAt && s.at < promotedAt).length, lost: lost.length,
    };
    console.info(`sentinel failover: ${JSON.stringify(summary)}`);
    expect(lost).toEqual([]);
    expect(accepted.filter((s) => s.at > promotedAt).length).toBeGreaterThan(4);
    // Deferrals come only from the switch: a held message cannot be written while there is no master.
    for (const d of deferred) expect(d.reply).toMatch(/^Message failed: 451 /);
  }, 60_000);
});

async function until(ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
