// `npm run eval`: Bayes accuracy and speed on the SpamAssassin public corpus, each figure beside
// bogofilter's on the same split in the same run. For each split: an empty model learns the split's
// learning set through the code of `sluice learn`, then its scoring set is scored through the code of
// `sluice check` (the pipeline, with only Bayes on); bogofilter learns and scores the same messages.
//
// Splits (bench/corpus/README.md has the fold assignment and the protocol):
//   folds   10-fold cross-validation (learn nine folds, score the tenth), pooled over folds 0–9 and 0–1
//   splits  chronological 2002→2003 and 2003→2002, hard ham never learned, the years crossed (ham of one
//           year and spam of the other learned, the rest scored); each on headers + body and body only
//   curve   the chronological splits after 50, 200, 1,000 and all learned messages of each class
//   balance one class learned from a quarter or a tenth as many messages (folds 2–9 learned, 0–1 scored)
//   redis   one split on the Redis store, every score compared with the embedded store's
//
// bogofilter (and, for the redis part, redis-server) are Debian packages: run as root, the eval installs
// them when missing (test/helpers/debian-packages.ts).
//
// Every message first loses the marks of earlier filters (X-Spam* fields, [SPAM] / *****SPAM***** subject
// tags). Body only: both classifiers get the message with only the Subject, MIME-Version, Content-Type and
// Content-Transfer-Encoding fields of its header, and Sluice runs with bayes.headerTokens off.
//
//   npm run eval [-- --parts folds,splits,curve,balance,redis] [--folds 0-9] [--redis-url URL] [--concurrency N] [--scores FILE]
//
// --scores FILE writes every scored message as a JSON line (split, view, message, spam, Sluice's score,
// bogofilter's spamicity): which messages make up a gap between the two. `npm run tune`
// (bench/bayes-tune.ts) gives the same accuracy figures in seconds, for trying settings.
import { appendFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { parseConfig } from '../src/config/load.ts';
import { buildCore } from '../src/app.ts';
import { bayesSettings } from '../src/bayes/index.ts';
import { learnSources } from '../src/bayes/learner.ts';
import { parseMessage } from '../src/scan/pipeline.ts';
import type { Envelope } from '../src/scan/types.ts';
import { redisInstalled, startRedisServer, type RedisServer } from '../test/helpers/redis-server.ts';
import { Redis } from 'ioredis';
import { installWhenMissing } from '../test/helpers/debian-packages.ts';
import { Bogofilter, ensureBogofilter, BOGOFILTER_SPAM_CUTOFF } from './eval/bogofilter.ts';
import { balanceSplits, curveSplits, FIRST_TWO_FOLDS, foldSplits, generalizationSplits, loadCorpus, parseFolds, rowLabel, scoredOf, type Split, type View } from './eval/splits.ts';
import { auc, errorsAt, recallAt, type Scored } from './eval/metrics.ts';
import { pairedBootstrap } from './eval/bootstrap.ts';

const PARTS = ['folds', 'splits', 'curve', 'balance', 'redis'];

const { values: args } = parseArgs({
  options: {
    parts: { type: 'string', default: PARTS.join(',') },
    folds: { type: 'string', default: '0-9' },
    'redis-url': { type: 'string' },
    /** Messages scanned at once, as a gateway does with concurrent connections (1: one after another). */
    concurrency: { type: 'string', default: '1' },
    scores: { type: 'string' },
  },
});

interface SluiceRun {
  /** Scores in the order of the parts' scoring sets. */
  scores: number[];
  learned: number;
  learnSeconds: number;
  scored: number;
  scoreSeconds: number;
  /** Time spent parsing the scored messages alone (the pipeline parses once for all checks). */
  parseSeconds: number;
  memory?: string;
}

async function runSluice(split: Split, storeConfig: object, withMemory = false): Promise<SluiceRun> {
  const dataDir = mkdtempSync(join(tmpdir(), 'sluice-eval-'));
  const config = parseConfig({
    store: { path: dataDir, ...storeConfig },
    checks: { auth: false, dnsbl: false, uribl: false, client: false, bayes: true },
    bayes: { headerTokens: split.view === 'full', ...(split.minLearns ? { minLearns: split.minLearns } : {}) },
    log: { level: 'silent' },
  });
  const core = await buildCore(config, pino({ level: 'silent' }));
  const settings = bayesSettings(config);
  const envelope: Envelope = { clientIp: '192.0.2.1', helo: 'eval.example.org', mailFrom: '', rcptTo: [`postmaster@${config.domains[0]}`] };
  const run: SluiceRun = { scores: [], learned: 0, learnSeconds: 0, scored: 0, scoreSeconds: 0, parseSeconds: 0 };
  try {
    for (const [index, part] of split.parts.entries()) {
      await core.store.bayes.reset();
      let started = performance.now();
      for (const spam of [false, true]) {
        const messages = part.learn.filter((s) => s.spam === spam).map((s) => ({ file: s.full.id, raw: s[split.view].raw }));
        const summary = await learnSources(core.store.bayes, messages, spam ? 'spam' : 'ham', settings);
        if (summary.failed) throw new Error(`${summary.failed} messages failed to learn`);
        run.learned += summary.learned + summary.relearned + summary.unchanged;
      }
      run.learnSeconds += (performance.now() - started) / 1000;
      if (withMemory && index === split.parts.length - 1) run.memory = await memoryNote(core.store.backend, core.store.bayes, storeConfig);

      const held = part.score.map((s) => s[split.view].raw);
      started = performance.now();
      for (const raw of held) parseMessage(raw);
      run.parseSeconds += (performance.now() - started) / 1000;
      started = performance.now();
      const scores = new Array<number>(held.length);
      let next = 0;
      const worker = async () => {
        while (next < held.length) {
          const i = next++;
          scores[i] = (await core.pipeline.scan(envelope, held[i], `eval-${i}`)).verdict.score;
        }
      };
      await Promise.all(Array.from({ length: Math.max(1, Number(args.concurrency)) }, worker));
      run.scoreSeconds += (performance.now() - started) / 1000;
      run.scores.push(...scores);
      run.scored += held.length;
    }
  } finally {
    await core.store.bayes.reset().catch(() => {});
    await core.close();
    rmSync(dataDir, { recursive: true, force: true });
  }
  return run;
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

function runBogofilter(bogofilter: Bogofilter, split: Split): number[] {
  return split.parts.flatMap((part) => bogofilter.run(part.learn.map((s) => s[split.view]), part.score.map((s) => s[split.view])));
}

// ---- report --------------------------------------------------------------------------------

interface Figures {
  oneMinusAuc: number;
  recall01: number;
  recall1: number;
  fp: number;
  fn: number;
}

function figures(scored: Scored[], cutoff: number): Figures {
  const { fp, fn } = errorsAt(scored, cutoff);
  return { oneMinusAuc: (1 - auc(scored)) * 100, recall01: recallAt(scored, 0.001), recall1: recallAt(scored, 0.01), fp, fn };
}

/** One JSON line per scored message of a split, in scoring order. */
function writeScores(file: string, split: Split, sluice: number[], bogo: number[]): void {
  const scored = split.parts.flatMap((part) => part.score);
  const lines = scored.map((s, i) => JSON.stringify({ split: split.name, view: split.view, message: s.full.id, spam: s.spam, sluice: sluice[i], bogofilter: bogo[i] }));
  appendFileSync(file, `${lines.join('\n')}\n`);
}

function learnedCounts(split: Split): string {
  const part = split.parts[0];
  const ham = part.learn.filter((s) => !s.spam).length;
  return split.parts.length > 1 ? '9 folds' : `${ham}+${part.learn.length - ham}`;
}

const ratio = (a: number, b: number) => (b === 0 ? (a === 0 ? '1.00' : '∞') : (a / b).toFixed(2));

const TABLE_HEADER =
  `${rowLabel('split', 'view')}${'learned h+s'.padStart(12)}${'scored h+s'.padStart(12)}  ` +
  `${'(1-AUC)%: Sluice'.padStart(16)}${'bogo'.padStart(8)}${'ratio'.padStart(7)}  ` +
  `${'R@0.1%: Sluice'.padStart(14)}${'bogo'.padStart(7)}  ${'R@1%: Sluice'.padStart(12)}${'bogo'.padStart(7)}  ` +
  `${'FP%/FN% at tag: Sluice'.padStart(22)}${'bogo'.padStart(14)}`;

function tableRow(name: string, view: View, learned: string, sluice: Scored[], bogo: Scored[], tag: number): string {
  const s = figures(sluice, tag);
  const b = figures(bogo, BOGOFILTER_SPAM_CUTOFF);
  const ham = sluice.filter((x) => !x.spam).length;
  const errors = (f: Figures) => `${f.fp.toFixed(2)}/${f.fn.toFixed(2)}`;
  return (
    `${rowLabel(name, view)}${learned.padStart(12)}${`${ham}+${sluice.length - ham}`.padStart(12)}  ` +
    `${s.oneMinusAuc.toFixed(4).padStart(16)}${b.oneMinusAuc.toFixed(4).padStart(8)}${ratio(s.oneMinusAuc, b.oneMinusAuc).padStart(7)}  ` +
    `${s.recall01.toFixed(4).padStart(14)}${b.recall01.toFixed(4).padStart(7)}  ${s.recall1.toFixed(4).padStart(12)}${b.recall1.toFixed(4).padStart(7)}  ` +
    `${errors(s).padStart(22)}${errors(b).padStart(14)}`
  );
}

// The targets every split is held to: (1-AUC)% at most this share of bogofilter's, recall at 0.1% FPR at least bogofilter's.
const RATIO_TARGET = 0.6;
const REDRAWS = 1000;

const CONFIDENCE_HEADER =
  `${rowLabel('split', 'view')}  ${'R@0.1% >= bogo'.padStart(14)}  ${'Sluice - bogo, 90%'.padStart(20)}  ${`ratio <= ${RATIO_TARGET}`.padStart(12)}`;

function confidenceRow(name: string, view: View, sluice: Scored[], bogo: Scored[]): string {
  const c = pairedBootstrap(sluice, bogo, RATIO_TARGET, REDRAWS);
  const signed = (x: number) => `${x >= 0 ? '+' : ''}${x.toFixed(3)}`;
  const interval = `${signed(c.recallDifference[0])} … ${signed(c.recallDifference[1])}`;
  return `${rowLabel(name, view)}  ${`${(100 * c.recallAtLeast).toFixed(1)}%`.padStart(14)}  ${interval.padStart(20)}  ${`${(100 * c.ratioWithin).toFixed(1)}%`.padStart(12)}`;
}

function speedLine(name: string, run: SluiceRun): string {
  const checkSeconds = Math.max(1e-9, run.scoreSeconds - run.parseSeconds);
  return (
    `${name}: learn ${(run.learned / run.learnSeconds).toFixed(0)} msgs/s (read, parse, tokenize, store)  ` +
    `score ${(run.scored / run.scoreSeconds).toFixed(0)} msgs/s through the pipeline, ` +
    `Bayes check alone ${(run.scored / checkSeconds).toFixed(0)} msgs/s (pipeline minus MIME parsing); one thread`
  );
}

// ---- main ----------------------------------------------------------------------------------

const parts = new Set(args.parts.split(',').map((p) => p.trim()));
for (const p of parts) if (!PARTS.includes(p)) throw new Error(`unknown part '${p}' (parts: ${PARTS.join(', ')})`);
ensureBogofilter();
const folds = parseFolds(args.folds);
const samples = await loadCorpus();
const tag = parseConfig({}).actions.tag;
process.stdout.write(
  `corpus: ${samples.filter((s) => !s.spam).length} ham, ${samples.filter((s) => s.spam).length} spam; X-Spam* fields and subject tags stripped; scoring ${args.concurrency} at a time\n` +
    `Sluice: score with only Bayes on, tag at ${tag}; bogofilter: built-in defaults (-C), spamicity, spam at ${BOGOFILTER_SPAM_CUTOFF}\n`,
);

if (args.scores) writeFileSync(args.scores, '');
const bogofilter = new Bogofilter();
const table: string[] = [];
const confidence: string[] = [];
const speeds: string[] = [];
const addRow = (name: string, split: Split, sluice: Scored[], bogo: Scored[]) => {
  table.push(tableRow(name, split.view, learnedCounts(split), sluice, bogo, tag));
  confidence.push(confidenceRow(name, split.view, sluice, bogo));
};
let redis: RedisServer | undefined;
try {
  const evaluate = async (split: Split, keepRun?: (run: SluiceRun) => void) => {
    const sluice = await runSluice(split, { backend: 'embedded' }, keepRun !== undefined);
    keepRun?.(sluice);
    const bogo = runBogofilter(bogofilter, split);
    process.stderr.write(`  ${split.name} (${split.view}) done\n`);
    if (args.scores) writeScores(args.scores, split, sluice.scores, bogo);
    return { sluice, bogo };
  };
  if (parts.has('folds')) {
    for (const split of foldSplits(samples, folds)) {
      const { sluice, bogo } = await evaluate(split, split.view === 'full' ? (run) => {
        speeds.push(speedLine('10-fold, embedded store', run));
        if (run.memory) speeds.push(`store: ${run.memory}`);
      } : undefined);
      addRow(split.name, split, scoredOf(split, sluice.scores), scoredOf(split, bogo));
      if (folds.length > 2) {
        const { name, keep } = FIRST_TWO_FOLDS;
        addRow(name, split, scoredOf(split, sluice.scores, keep), scoredOf(split, bogo, keep));
      }
    }
  }
  for (const [part, make] of [['splits', generalizationSplits], ['curve', curveSplits], ['balance', balanceSplits]] as const) {
    if (!parts.has(part)) continue;
    for (const split of make(samples)) {
      const { sluice, bogo } = await evaluate(split);
      addRow(split.name, split, scoredOf(split, sluice.scores), scoredOf(split, bogo));
    }
  }
  if (parts.has('redis')) {
    const [split] = generalizationSplits(samples);
    let url = args['redis-url'];
    if (!url) {
      const failure = installWhenMissing('redis-server', redisInstalled);
      if (failure) throw new Error(`redis-server is not installed, and ${failure} (or give --redis-url)`);
      redis = await startRedisServer();
      url = redis.url;
    }
    const embedded = await runSluice(split, { backend: 'embedded' });
    const onRedis = await runSluice(split, { backend: 'redis', url, prefix: 'eval:' }, true);
    const same = embedded.scores.filter((score, i) => score === onRedis.scores[i]).length;
    speeds.push(speedLine(`${split.name}, redis store`, onRedis));
    if (onRedis.memory) speeds.push(`redis store: ${onRedis.memory}`);
    speeds.push(`redis store: ${same} of ${embedded.scores.length} scores of split ${split.name} (${split.view}) identical to the embedded store's`);
    if (same !== embedded.scores.length) process.exitCode = 1;
  }
  if (bogofilter.learned) {
    speeds.push(`bogofilter: learn ${(bogofilter.learned / bogofilter.learnSeconds).toFixed(0)} msgs/s, score ${(bogofilter.scored / bogofilter.scoreSeconds).toFixed(0)} msgs/s (bulk, files on disk)`);
  }
} finally {
  bogofilter.close();
  await redis?.stop();
}
const curveNote = parts.has('curve') ? '\nlearning curve: bayes.minLearns 1 so that 50 learned messages of each class are scored (the default waits for 200)' : '';
process.stdout.write(
  `\nR@x%: spam recall at x% false-positive rate; ratio: Sluice (1-AUC)% / bogofilter's; hard ham unlearned scores hard ham and the spam of folds 0–1, having learned all easy ham and the spam of folds 2–9${curveNote}\n` +
    `${TABLE_HEADER}\n${table.join('\n')}\n\n` +
    `How sure each row's verdict is: the share of ${REDRAWS} paired redraws of the scored messages (each class keeping its size) in which\n` +
    `Sluice's recall at 0.1% FPR is at least bogofilter's, the 90% range of the difference, and the share in which (1-AUC)% is at most ${RATIO_TARGET}× bogofilter's\n` +
    `${CONFIDENCE_HEADER}\n${confidence.join('\n')}\n\n${speeds.join('\n')}\n`,
);
