// `npm run bench:mime`: MIME parsing alone, per message over the whole corpus: mailparser (the
// scan path's reader before the walker, with the options it used) against the walker. CPU time
// (process.cpuUsage) is what counts on a shared machine; each reader runs ROUNDS times, best kept.
import { simpleParser } from 'mailparser';
import { loadCorpus } from './corpus.ts';
import { readMail } from '../src/mail/mime.ts';

const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const OPTIONS = { skipImageLinks: true, skipTextToHtml: true, skipTextLinks: true, skipHtmlToText: true } as const;
const messages = loadCorpus();

async function measure(name: string, parse: (raw: Buffer) => unknown): Promise<number> {
  let best = Infinity;
  for (let round = 0; round < ROUNDS; round++) {
    const before = process.cpuUsage();
    for (const m of messages) {
      try {
        await parse(m.raw);
      } catch {
        // a refused message costs what it cost
      }
    }
    const used = process.cpuUsage(before);
    best = Math.min(best, (used.user + used.system) / messages.length);
  }
  console.log(`${name.padEnd(10)} ${best.toFixed(1).padStart(7)} µs CPU per message (best of ${ROUNDS} rounds over ${messages.length} messages)`);
  return best;
}

const reference = await measure('mailparser', (raw) => simpleParser(raw, OPTIONS));
const walker = await measure('walker', (raw) => readMail(raw));
console.log(`walker / mailparser: ${(walker / reference).toFixed(3)}`);
