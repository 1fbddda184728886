// Two gateways as one on a Redis Cluster (3 masters, 3 replicas, real processes on loopback): the same
// checks as on Sentinel, then the quarantine's slot is moved to another master mid-run, then the master
// serving it is killed and its replica takes over; through both, mail keeps flowing and every 250 is
// downstream or in the quarantine.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedisCluster, type RedisClusterSet } from '../helpers/redis-cluster.ts';
import { startSink, type Sink } from '../helpers/sink.ts';
import type { TestGateway } from '../helpers/gateway.ts';
import { checkSwitch, checkSharedBayes, checkSharedRelease, startTwoNodes, topologySeen, waitsOn } from '../helpers/two-nodes.ts';
import type { RedisStore } from '../../src/store/redis/index.ts';
import type { StoreTopology } from '../../src/store/types.ts';
import { topologyResult } from '../../src/doctor/store.ts';
import { waitUntil } from '../helpers/redis-server.ts';

let cluster: RedisClusterSet;
let sink: Sink;
let a: TestGateway;
let b: TestGateway;

beforeAll(async () => {
  cluster = await startRedisCluster(1000);
  sink = await startSink();
  [a, b] = await startTwoNodes(cluster.url, sink);
}, 40_000);

afterAll(async () => {
  await a?.stop();
  await b?.stop();
  await sink?.stop();
  await cluster?.stop();
});

describe('two gateways on Redis Cluster', () => {
  it('scores on node B with what node A learned', async () => {
    await checkSharedBayes(a, b);
  });

  it('lists, shows and releases on node B what node A held, once when both are asked at the same time', async () => {
    console.info(`cluster release: ${await checkSharedRelease(a, b, sink)}`);
    // The held message waited for the replica of the master that took it.
    expect(await waitsOn((await cluster.shardOf((a.gateway.core.store as RedisStore).keys.quarantineByTime)).master.port)).toBeGreaterThan(0);
  });

  it('reports three masters, three replicas and every slot served, in doctor and /readyz on each node', async () => {
    for (const g of [a, b]) {
      const seen = await topologySeen(g);
      expect(seen.doctor).toEqual({ name: 'topology', status: 'ok', detail: 'Cluster: state ok, 3 masters, 3 replicas, 16384 of 16384 slots served' });
      expect(seen.readyz).toEqual({ mode: 'cluster', state: 'ok', masters: 3, replicas: 3, slotsServed: 16384, slots: 16384 });
    }
    console.info(`cluster topology: ${JSON.stringify(await topologySeen(a))}`);
  });

  it('keeps taking mail while the quarantine\'s slot moves to another master (MOVED and ASK redirections), and loses none of what it said 250 to', async () => {
    const key = (a.gateway.core.store as RedisStore).keys.quarantineByTime;
    const { master } = await cluster.shardOf(key);
    const bayes = await cluster.shardOf((a.gateway.core.store as RedisStore).keys.bayesLearned);
    // A master that serves neither the quarantine nor Bayes now.
    const to = (await cluster.masters()).find((m) => m !== master && m !== bayes.master)!;
    let moved: Promise<void> | undefined;
    const summary = await checkSwitch(a, b, sink, {
      begin: async () => { moved = cluster.moveSlot(key, to); },
      settled: async () => {
        await moved;
        expect((await cluster.shardOf(key)).master).toBe(to);
      },
      newPort: to.port,
    });
    console.info(`cluster slot migration: ${JSON.stringify(summary)}`);
  }, 60_000);

  it('keeps taking mail while the master of the quarantine slot is killed and its replica promoted, and loses none of what it said 250 to', async () => {
    const key = (a.gateway.core.store as RedisStore).keys.quarantineByTime;
    const { master, replica } = await cluster.shardOf(key);
    const summary = await checkSwitch(a, b, sink, {
      begin: () => master.kill(),
      settled: async () => { expect(await cluster.promoted(key, master.port, 30_000)).toBe(replica.port); },
      newPort: replica.port,
    });
    console.info(`cluster failover: ${JSON.stringify(summary)}`);
    // The dead master is no longer counted, and the shard it left has no replica.
    const after = await topologySeen(b);
    expect(after.readyz).toEqual({ mode: 'cluster', state: 'ok', masters: 3, replicas: 2, slotsServed: 16384, slots: 16384 });
    console.info(`cluster topology after the failover: ${JSON.stringify(after)}`);
  }, 60_000);

  it('reports cluster_state fail once a shard has no server left, and doctor warns', async () => {
    const key = (a.gateway.core.store as RedisStore).keys.quarantineByTime;
    // The replica promoted above has no replica of its own: with it, its shard's slots are gone.
    const { master } = await cluster.shardOf(key);
    await master.kill();
    let seen: Record<string, unknown> = {};
    await waitUntil(async () => (seen = (await topologySeen(b)).readyz as Record<string, unknown>).state === 'fail', 15_000, 'cluster_state did not turn fail');
    expect(seen).toMatchObject({ mode: 'cluster', state: 'fail', masters: 2, replicas: 2, slots: 16384 });
    expect(seen.slotsServed).toBeLessThan(16384);
    expect(topologyResult(seen as StoreTopology)).toMatchObject({ status: 'warn', detail: expect.stringMatching(/^Cluster: state fail, 2 masters, 2 replicas, \d+ of 16384 slots served$/) });
    console.info(`cluster topology with a shard gone: ${JSON.stringify(topologyResult(seen as StoreTopology))}`);
  });
});
