// The checks that make two gateways on one Redis (Sentinel or Cluster) one gateway, run by
// test/e2e/sentinel.test.ts and test/e2e/cluster.test.ts on their own set-ups.
import { expect } from 'vitest';
import { Redis } from 'ioredis';
import type { Sink } from './sink.ts';
import { GTUBE, message, startTestGateway, type Overrides, type TestGateway } from './gateway.ts';
import type { RedisStore } from '../../src/store/redis/index.ts';
import { storeChecks } from '../../src/doctor/store.ts';
import type { CheckResult } from '../../src/doctor/result.ts';

export const TOKEN = 'two-nodes-test-token-0123456789';
const SPAM = (i: number) => `Cheap pills and casino bonus ${i}, viagra replica watches, claim your lottery prize now, click to unsubscribe.`;
const HAM = (i: number) => `Minutes of the project meeting ${i}: the agenda, the budget review and the schedule for the release are attached.`;

/** Two gateways on one store URL and one downstream: Bayes on, GTUBE held, the admin API on. */
export async function startTwoNodes(url: string, sink: Sink): Promise<[TestGateway, TestGateway]> {
  const overrides: Overrides = {
    store: { backend: 'redis', url, prefix: `nodes:${process.pid}:` },
    checks: { bayes: true },
    bayes: { minLearns: 5 },
    // Held whatever Bayes adds to GTUBE's 12.
    scores: { GTUBE: 12 },
    actions: { reject: 100 },
    admin: { enabled: true, token: TOKEN },
    quarantine: { replicaTimeoutMs: 1000 },
    log: { level: 'info' },
  };
  const a = await startTestGateway(overrides, { sink });
  try {
    return [a, await startTestGateway(overrides, { sink })];
  } catch (err) {
    await a.stop();
    throw err;
  }
}

async function admin(g: TestGateway, path: string, method = 'GET'): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(`http://127.0.0.1:${g.adminPort}${path}`, {
    method,
    headers: { Authorization: `Bearer ${TOKEN}`, ...(method === 'POST' ? { 'Content-Type': 'application/json' } : {}) },
    ...(method === 'POST' ? { body: '{}' } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

const deliveredTo = (sink: Sink, subject: string) => sink.messages.filter((m) => m.raw.toString().includes(`\r\nSubject: ${subject}\r\n`));
const queuedAs = (reply: string) => /queued as (\S+)/.exec(reply)?.[1];

/** Node A learns; node B reads A's counts and scores with them. */
export async function checkSharedBayes(a: TestGateway, b: TestGateway): Promise<void> {
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
}

/** A message held by A is listed and shown by B; A and B asked to release it at once deliver it once. */
export async function checkSharedRelease(a: TestGateway, b: TestGateway, sink: Sink): Promise<string> {
  const subject = `Held by A ${Date.now()}`;
  const id = queuedAs((await a.send({ raw: message({ subject, body: GTUBE }) })).response)!;
  expect(a.verdicts().at(-1)).toMatchObject({ action: 'quarantine', quarantineId: id });
  const list = await admin(b, '/api/quarantine?limit=10');
  expect((list.body.entries as { id: string }[]).map((e) => e.id)).toContain(id);
  const shown = await admin(b, `/api/quarantine/${id}`);
  expect(shown.status).toBe(200);
  expect(shown.body.entry).toMatchObject({ id, subject });
  expect((await b.gateway.core.quarantine.get(id))!.raw.toString()).toContain('XJS*C4JDBQADN1.NSBN3*2IDNEN*GTUBE');

  const [fromA, fromB] = await Promise.all([admin(a, `/api/quarantine/${id}/release`, 'POST'), admin(b, `/api/quarantine/${id}/release`, 'POST')]);
  const outcome = { statuses: [fromA.status, fromB.status].sort(), loser: [fromA, fromB].find((r) => r.status === 409)?.body.error };
  expect(outcome).toEqual({ statuses: [200, 409], loser: `${id} is already released (or being released)` });
  await until(() => deliveredTo(sink, subject).length > 0, 5000);
  await new Promise((r) => setTimeout(r, 300));
  expect(deliveredTo(sink, subject)).toHaveLength(1);
  expect((await admin(b, `/api/quarantine/${id}`)).status).toBe(404);
  return `${id}: A ${fromA.status}, B ${fromB.status}, delivered once`;
}

/** A change of the server that holds the quarantine, made while mail flows: a failover, a slot migration. */
export interface Switch {
  /** Starts it: kills the master, or moves the slot. */
  begin(): Promise<void>;
  /** Resolves once Redis has settled: a replica promoted, the slot moved. */
  settled(): Promise<void>;
  /** The port of the server that should answer each node for the quarantine afterwards. */
  newPort: number;
}

/**
 * Four senders (two per node, every third message held) keep sending through the switch (a master killed,
 * a slot moved); a 4xx is retried as an MTA would. Afterwards both nodes answer from the new server on the
 * clients they started with, and every 250 is downstream once or in the quarantine (read through node B).
 */
export async function checkSwitch(a: TestGateway, b: TestGateway, sink: Sink, change: Switch): Promise<Record<string, unknown>> {
  interface Sent { subject: string; node: 'A' | 'B'; held: boolean; id?: string; tries: number; at: number }
  const accepted: Sent[] = [];
  const deferred: { reply: string; at: number }[] = [];
  let beganAt = 0;
  let settledAt = 0;
  let stop = false;
  let n = 0;
  const t0 = Date.now();
  const sender = async (g: TestGateway, node: 'A' | 'B') => {
    while (!stop) {
      const held = n % 3 === 0;
      const subject = `flow ${t0} ${n++}`;
      for (let tries = 1; ; tries++) {
        try {
          const { response } = await g.send({ raw: message({ subject, body: held ? GTUBE : HAM(n) }) });
          accepted.push({ subject, node, held, id: queuedAs(response), tries, at: Date.now() - t0 });
          break;
        } catch (err) {
          const code = (err as { responseCode?: number }).responseCode ?? 0;
          if (code < 400 || code >= 500) throw err;
          deferred.push({ reply: String((err as Error).message), at: Date.now() - t0 });
          await new Promise((r) => setTimeout(r, 250));
        }
      }
    }
  };
  const senders = [sender(a, 'A'), sender(a, 'A'), sender(b, 'B'), sender(b, 'B')];
  try {
    await new Promise((r) => setTimeout(r, 1500));
    await change.begin();
    beganAt = Date.now() - t0;
    await change.settled();
    settledAt = Date.now() - t0;
    // Mail flows afterwards, held messages included: both nodes write to the new server.
    await until(() => ['A', 'B'].every((node) => accepted.some((s) => s.held && s.node === node && s.at > settledAt + 500)), 20_000);
    await new Promise((r) => setTimeout(r, 1000));
  } finally {
    stop = true;
    await Promise.all(senders);
  }

  for (const g of [a, b]) {
    const store = g.gateway.core.store as RedisStore;
    // A command on a quarantine key goes to the server that holds the family (on a Cluster too).
    const [, [, port]] = (await store.client.pipeline().exists(store.keys.quarantineByTime).call('CONFIG', 'GET', 'port').exec())!;
    expect(port).toEqual(['port', String(change.newPort)]);
  }
  // What node A learned is still there (a replica had it before its master went).
  expect(await b.gateway.core.store.bayes.stats()).toMatchObject({ learnedSpam: 6, learnedHam: 6 });

  const lost: string[] = [];
  for (const s of accepted) {
    if (s.held) {
      const found = s.id ? await b.gateway.core.quarantine.get(s.id) : null;
      if (found?.entry.subject !== s.subject) lost.push(`${s.subject} (held as ${s.id})`);
    } else if (deliveredTo(sink, s.subject).length !== 1) {
      lost.push(`${s.subject} (relayed ${deliveredTo(sink, s.subject).length} times)`);
    }
  }
  const held = accepted.filter((s) => s.held).length;
  const summary = {
    beganAtMs: beganAt, settledAtMs: settledAt, accepted: accepted.length, held, relayed: accepted.length - held,
    acceptedDuringSwitch: accepted.filter((s) => s.at > beganAt && s.at < settledAt).length,
    deferred: deferred.length, firstDeferred: deferred[0]?.reply, retriedThenAccepted: accepted.filter((s) => s.tries > 1).length, lost: lost.length,
  };
  expect(lost).toEqual([]);
  expect(accepted.filter((s) => s.at > settledAt).length).toBeGreaterThan(4);
  // Deferrals come only from the switch: a held message cannot be written while its server is away or moving.
  for (const d of deferred) expect(d.reply).toMatch(/^Message failed: 451 /);
  return summary;
}

/** What a node reports of the servers behind its store: `sluice doctor`'s topology line and /readyz's `store.topology`. */
export async function topologySeen(g: TestGateway): Promise<{ doctor: CheckResult; readyz: unknown }> {
  const [, doctor] = await storeChecks(g.config);
  const readyz = (await (await fetch(`http://127.0.0.1:${g.adminPort}/readyz`)).json()) as { store: { topology?: unknown } };
  return { doctor, readyz: readyz.store.topology };
}

/** How many WAIT commands the Redis on `port` has run: a held message waits for its replica there. */
export async function waitsOn(port: number): Promise<number> {
  const client = new Redis({ host: '127.0.0.1', port, maxRetriesPerRequest: 1 });
  try {
    return Number(/^cmdstat_wait:calls=(\d+)/m.exec(await client.info('commandstats'))?.[1] ?? 0);
  } finally {
    client.disconnect();
  }
}

export async function until(ok: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!ok()) {
    if (Date.now() > deadline) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}
