// `npm run bench:tokenize`: the Bayes tokenizer alone over the whole corpus, messages parsed beforehand:
// CPU (process.cpuUsage, best of BENCH_ROUNDS) and bytes allocated on the JS heap per message (the
// heap's growth between GCs, from v8.GCProfiler). BENCH_TOKENIZER names other tokenizer modules
// (comma-separated paths) to measure in the same run, rounds alternating, e.g. an earlier version.
import { GCProfiler, getHeapStatistics } from 'node:v8';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { loadCorpus } from './corpus.ts';
import { parseMessage } from '../src/scan/pipeline.ts';
import * as current from '../src/bayes/tokenizer.ts';

type Tokenizer = Pick<typeof current, 'tokenize' | 'DEFAULT_TOKENIZER_OPTIONS'>;

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 5));
const others = (process.env.BENCH_TOKENIZER ?? '').split(',').filter(Boolean);
const tokenizers: { name: string; module: Tokenizer; cpu: number; bytes: number }[] = [{ name: 'src', module: current, cpu: Infinity, bytes: Infinity }];
for (const path of others) tokenizers.push({ name: path, module: (await import(pathToFileURL(resolve(path)).href)) as Tokenizer, cpu: Infinity, bytes: Infinity });

const messages = loadCorpus()
  .map((m) => parseMessage(m.raw))
  .filter((m) => m.parsed);

/** Bytes allocated while `run` runs: what each GC found before it, less what the previous one left. */
function allocated(run: () => void): number {
  const profiler = new GCProfiler();
  const start = getHeapStatistics().used_heap_size;
  profiler.start();
  run();
  const end = getHeapStatistics().used_heap_size;
  let bytes = 0;
  let previous = start;
  for (const gc of profiler.stop()?.statistics ?? []) {
    bytes += gc.beforeGC.heapStatistics.usedHeapSize - previous;
    previous = gc.afterGC.heapStatistics.usedHeapSize;
  }
  return bytes + end - previous;
}

for (let round = 0; round < ROUNDS; round++) {
  for (const t of tokenizers) {
    const { tokenize, DEFAULT_TOKENIZER_OPTIONS } = t.module;
    const before = process.cpuUsage();
    for (const m of messages) tokenize(m.parsed!, DEFAULT_TOKENIZER_OPTIONS, m.raw);
    const used = process.cpuUsage(before);
    t.cpu = Math.min(t.cpu, (used.user + used.system) / messages.length);
    t.bytes = Math.min(t.bytes, allocated(() => {
      for (const m of messages) tokenize(m.parsed!, DEFAULT_TOKENIZER_OPTIONS, m.raw);
    }) / messages.length);
  }
}
for (const t of tokenizers) {
  console.log(`${t.name.padEnd(Math.max(...tokenizers.map((x) => x.name.length)))} ${t.cpu.toFixed(1).padStart(7)} µs CPU, ${(t.bytes / 1024).toFixed(1).padStart(7)} KB allocated per message (best of ${ROUNDS} rounds over ${messages.length} messages)`);
}
