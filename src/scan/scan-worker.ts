// A scan worker thread: builds its own data-stage checks from the gateway's config (its own store
// connection, DNS cache and blocklist zones) and runs the data stage of the messages it is sent.
import { parentPort, workerData } from 'node:worker_threads';
import type { Config } from '../config/schema.ts';
import { createForwardingLogger } from '../log.ts';
import { openStore } from '../store/index.ts';
import { createResolver } from '../dns/resolver.ts';
import { messageResolver } from '../dns/budget.ts';
import { Blocklists } from '../checks/dnsbl/index.ts';
import { buildChecks } from '../checks/index.ts';
import { adoptSpfOutcome } from '../checks/auth/spf.ts';
import { Pipeline, logParse, parseMessage } from './pipeline.ts';
import type { CheckTiming, DataStageRequest, FromWorker, ToWorker } from './worker-pool.ts';

const port = parentPort!;
const config = (workerData as { config: Config }).config;
const send = (message: FromWorker) => port.postMessage(message);

try {
  // Lines go to the main thread, which writes them where its own go.
  const log = createForwardingLogger(config.log.level, (line) => send({ type: 'log', line })).child({ component: 'scan-worker' });
  const store = await openStore(config.store, { tokenTtlDays: config.bayes.tokenTtlDays });
  const dns = createResolver(config.dns);
  const blocklists = new Blocklists({ config, dns, log });
  const checks = buildChecks({ config, store, log, dns, blocklists, traffic: true }).filter((c) => c.stage === 'data');
  let timings: CheckTiming[] = [];
  const pipeline = new Pipeline({
    checks,
    // Scoring happens on the main thread; this pipeline only runs the data stage.
    policy: { scores: config.scores, groupCaps: config.groupCaps, force: {}, actions: config.actions },
    timeoutMs: config.checks.timeoutMs,
    log,
    metrics: { check: (name, seconds, ok) => void timings.push([name, seconds, ok]) },
  });
  const running = new Map<number, AbortController>();
  const takeTimings = () => {
    const taken = timings;
    timings = [];
    return taken;
  };

  const scan = async (id: number, request: DataStageRequest) => {
    const controller = new AbortController();
    running.set(id, controller);
    try {
      // Structured clone delivers a plain Uint8Array.
      const raw = Buffer.from(request.raw.buffer, request.raw.byteOffset, request.raw.byteLength);
      const { envelope, tid } = request;
      messageResolver(dns, envelope, Math.max(0, config.dns.maxQueriesPerMessage - request.dnsUsed));
      blocklists.adoptDisabled(request.disabledZones);
      if (request.spf) adoptSpfOutcome(envelope, request.spf);
      const message = parseMessage(raw, config.checks.maxScanSize);
      const messageLog = log.child({ tid });
      logParse(message, messageLog);
      const outcome = await pipeline.runStage('data', tid, envelope, messageLog, controller.signal, message);
      send({ type: 'result', id, reply: { ...outcome, parseError: message.parseError }, timings: takeTimings(), dns: dns.stats });
    } catch (err) {
      send({ type: 'error', id, error: (err as Error).message, timings: takeTimings(), dns: dns.stats });
    } finally {
      running.delete(id);
      if (running.size === 0) allDone?.();
    }
  };

  // Closing waits for the scans in flight (the pool bounds the wait), then closes the store.
  let allDone: (() => void) | undefined;
  const close = async () => {
    if (running.size > 0) await new Promise<void>((resolve) => (allDone = resolve));
    await store.close();
    process.exit(0);
  };

  port.on('message', (message: ToWorker) => {
    if (message.type === 'scan') void scan(message.id, message.request);
    else if (message.type === 'abort') running.get(message.id)?.abort();
    else void close();
  });
  send({ type: 'ready' });
} catch (err) {
  send({ type: 'failed-to-start', error: (err as Error).message });
}
