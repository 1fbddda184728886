// Two gateways as one on Redis Sentinel (1 master, 1 replica, 3 sentinels, real processes on loopback):
// Bayes learned on one node scores on the other, a message held by one is listed, shown and released by
// the other exactly once, and when the master is killed mid-run mail keeps flowing, both nodes follow
// the promoted replica without a restart, and every 250 a sender heard is downstream or in the quarantine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startSentinelSet, type SentinelSet } from '../helpers/redis-sentinel.ts';
import { startSink, type Sink } from '../helpers/sink.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { checkSwitch, checkSharedBayes, checkSharedRelease, startTwoNodes, topologySeen, waitsOn } from '../helpers/two-nodes.ts';

let set: SentinelSet;
let sink: Sink;
let a: TestGateway;
let b: TestGateway;

beforeAll(async () => {
  set = await startSentinelSet({ downAfterMs: 1000, failoverTimeoutMs: 5000 });
  sink = await startSink();
  [a, b] = await startTwoNodes(set.url, sink);
}, 40_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await sink?.stop();
  await set?.stop();
});

describe('two gateways on Redis Sentinel', () => {
  it('scores on node B with what node A learned', async () => {
    await checkSharedBayes(a, b);
  });

  it('lists, shows and releases on node B what node A held, once when both are asked at the same time', async () => {
    console.info(`sentinel release: ${await checkSharedRelease(a, b, sink)}`);
    // The held message waited for the replica of the master that took it.
    expect(await waitsOn(set.master.port)).toBeGreaterThan(0);
  });

  it('reports the master the sentinels name, three sentinels and one replica, in doctor and /readyz on each node', async () => {
    for (const g of [a, b]) {
      const seen = await topologySeen(g);
      expect(seen.doctor).toEqual({ name: 'topology', status: 'ok', detail: `Sentinel: master ${set.masterName} at 127.0.0.1:${set.master.port}, 3 sentinels, 1 replica` });
      expect(seen.readyz).toEqual({ mode: 'sentinel', masterName: set.masterName, master: `127.0.0.1:${set.master.port}`, sentinels: 3, replicas: 1 });
    }
    console.info(`sentinel topology: ${JSON.stringify(await topologySeen(a))}`);
  });

  it('keeps taking mail while the master is killed and a replica promoted, and loses none of what it said 250 to', async () => {
    const oldMaster = await set.masterPort();
    expect(oldMaster).toBe(set.master.port);
    const summary = await checkSwitch(a, b, sink, {
      begin: () => set.master.kill(),
      settled: async () => { expect(await set.promoted(oldMaster, 30_000)).toBe(set.replica.port); },
      newPort: set.replica.port,
    });
    console.info(`sentinel failover: ${JSON.stringify(summary)}`);
    // The promoted replica is master now, with no replica of its own: doctor warns, /readyz shows it.
    const after = await topologySeen(b);
    expect(after.doctor).toMatchObject({ status: 'warn', detail: `Sentinel: master ${set.masterName} at 127.0.0.1:${set.replica.port}, 3 sentinels, 0 replicas` });
    expect(after.readyz).toMatchObject({ master: `127.0.0.1:${set.replica.port}`, replicas: 0 });
    console.info(`sentinel topology after the failover: ${JSON.stringify(after)}`);
  }, 60_000);
});
