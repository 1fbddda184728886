// `node bench/bayes-store.ts`: CPU per message of Bayes on the embedded store, as a gateway runs it:
// a store trained on 1,000 corpus messages in one batch as `sluice learn` writes them, then 2,000 other messages
// tokenized, looked up and classified one after another (cold: the first pass, warm: a second pass
// over the same messages). Tokenizing and the store's lookups are timed apart; the slowest lookup of
// the cold pass is the one that read the whole table into the cache. Then learning on that
// table: 100 of the scored messages one write transaction each (as autolearn once wrote them), and
// 200 others fifty per transaction (as autolearn writes them now, and `sluice learn` a folder).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadCorpus, sample } from './corpus.ts';
import { EmbeddedStore } from '../src/store/embedded/index.ts';
import { tokenize, DEFAULT_TOKENIZER_OPTIONS } from '../src/bayes/tokenizer.ts';
import { classify, DEFAULT_CLASSIFIER_OPTIONS } from '../src/bayes/classifier.ts';
import { learnItemOf } from '../src/bayes/learner.ts';
import { bayesSettings } from '../src/bayes/index.ts';
import { parseConfig } from '../src/config/load.ts';
import { parseMessage } from '../src/scan/pipeline.ts';

const corpus = loadCorpus();
const train = sample(corpus, 1000);
const trained = new Set(train);
const score = sample(corpus.filter((m) => !trained.has(m)), 2000);
const settings = bayesSettings(parseConfig({}));
const dir = mkdtempSync(join(tmpdir(), 'sluice-bayes-bench-'));
try {
  const writer = new EmbeddedStore(dir);
  // In one batch, as `sluice learn` writes a folder.
  await writer.bayes.learnMany(train.map((m) => learnItemOf(parseMessage(m.raw), m.label, settings)));
  const stats = await writer.bayes.stats();
  await writer.close();
  console.log(`bayes store bench: learned ${train.length} messages (${stats.tokens} tokens), scoring ${score.length} others`);

  const store = new EmbeddedStore(dir);
  const parsed = score.map((m) => parseMessage(m.raw));
  const tokensPerMessage = parsed.reduce((n, m) => n + tokenize(m.parsed!, DEFAULT_TOKENIZER_OPTIONS, m.raw).ids.length, 0) / parsed.length;
  console.log(`${tokensPerMessage.toFixed(0)} tokens per message`);
  for (const pass of ['cold', 'warm']) {
    let tokenizeMs = 0;
    let lookupMs = 0;
    let classifyMs = 0;
    let slowestLookupMs = 0;
    for (const message of parsed) {
      const t0 = process.cpuUsage();
      const tokens = tokenize(message.parsed!, DEFAULT_TOKENIZER_OPTIONS, message.raw);
      const t1 = process.cpuUsage();
      const counts = await store.bayes.counts(tokens.ids);
      const t2 = process.cpuUsage();
      classify(counts.spam, counts.ham, { spam: counts.learnedSpam, ham: counts.learnedHam }, tokens.words, DEFAULT_CLASSIFIER_OPTIONS, tokens.kinds);
      const t3 = process.cpuUsage();
      const ms = (a: NodeJS.CpuUsage, b: NodeJS.CpuUsage) => (b.user - a.user + b.system - a.system) / 1000;
      tokenizeMs += ms(t0, t1);
      lookupMs += ms(t1, t2);
      slowestLookupMs = Math.max(slowestLookupMs, ms(t1, t2));
      classifyMs += ms(t2, t3);
    }
    const per = (x: number) => ((x / parsed.length) * 1000).toFixed(0).padStart(5);
    console.log(`${pass}: µs of CPU per message: tokenize ${per(tokenizeMs)}, store lookup ${per(lookupMs)}, classify ${per(classifyMs)}; slowest lookup ${slowestLookupMs.toFixed(0)} ms`);
  }
  const learnItems = parsed.map((m, i) => learnItemOf(m, score[i].label, settings));
  for (const [batch, items] of [[1, learnItems.slice(0, 100)], [50, learnItems.slice(100, 300)]] as const) {
    const before = process.cpuUsage();
    const started = performance.now();
    for (let i = 0; i < items.length; i += batch) await store.bayes.learnMany(items.slice(i, i + batch));
    const used = process.cpuUsage(before);
    const cpu = (used.user + used.system) / 1000 / items.length;
    console.log(`learning ${batch} per transaction: ${cpu.toFixed(2)} ms of CPU, ${((performance.now() - started) / items.length).toFixed(2)} ms of wall time per message`);
  }
  await store.close();
} finally {
  rmSync(dir, { recursive: true, force: true });
}
