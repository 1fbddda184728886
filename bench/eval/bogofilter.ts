// bogofilter run live beside Sluice on the same messages: its built-in defaults (-C: no config file
// read), a fresh word list in a temporary directory per model, bulk learning (-s / -n with -B) and
// bulk scoring with the spamicity printed to 16 digits (-v -TT -B).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { installWhenMissing } from '../../test/helpers/debian-packages.ts';

/** bogofilter's default spam_cutoff (`bogofilter -C -Q`): at or above it a message is spam. */
export const BOGOFILTER_SPAM_CUTOFF = 0.99;

/** Files handed to one bogofilter call: bounds the command line. */
const FILES_PER_CALL = 500;

export interface EvalMessage {
  /** Unique within the view, e.g. `spam-2/00001.….txt`. */
  id: string;
  raw: Buffer;
  spam: boolean;
}

function bogofilter(args: string[]): string {
  const result = spawnSync('bogofilter', ['-C', ...args], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`cannot run bogofilter (apt-get install bogofilter): ${result.error.message}`);
  // Scoring exits 0 spam, 1 ham, 2 unsure (of the last message); 3 is an error.
  if (result.status === 3 || result.status === null || result.stderr.trim()) {
    throw new Error(`bogofilter ${args.slice(0, 4).join(' ')} … failed (${result.status}): ${result.stderr.trim()}`);
  }
  return result.stdout;
}

/** Makes sure bogofilter runs: installs the Debian package when it is missing and root may; throws saying why not. */
export function ensureBogofilter(): void {
  const runs = () => spawnSync('bogofilter', ['-V'], { encoding: 'utf8' }).status === 0;
  const failure = installWhenMissing('bogofilter', runs);
  if (failure) throw new Error(`bogofilter is not installed, and ${failure}`);
}

/** The messages as files (each written once) and a word list per model, all under one temporary directory. */
export class Bogofilter {
  private readonly dir = mkdtempSync(join(tmpdir(), 'sluice-eval-bogofilter-'));
  private readonly paths = new Map<EvalMessage, string>();
  private models = 0;
  learnSeconds = 0;
  learned = 0;
  scoreSeconds = 0;
  scored = 0;

  private pathOf(message: EvalMessage): string {
    let path = this.paths.get(message);
    if (!path) {
      const folder = join(this.dir, 'messages', String(Math.floor(this.paths.size / 1000)));
      if (this.paths.size % 1000 === 0) mkdirSync(folder, { recursive: true });
      path = join(folder, String(this.paths.size));
      writeFileSync(path, message.raw);
      this.paths.set(message, path);
    }
    return path;
  }

  /** Learns `learn` into an empty word list, scores `score` with it frozen; scores in the order of `score`. */
  run(learn: readonly EvalMessage[], score: readonly EvalMessage[]): number[] {
    const words = join(this.dir, `model-${this.models++}`);
    mkdirSync(words);
    try {
      const learnPaths = { spam: learn.filter((m) => m.spam).map((m) => this.pathOf(m)), ham: learn.filter((m) => !m.spam).map((m) => this.pathOf(m)) };
      const scorePaths = score.map((m) => this.pathOf(m));
      let started = performance.now();
      for (const [flag, paths] of [['-n', learnPaths.ham], ['-s', learnPaths.spam]] as const) {
        for (let i = 0; i < paths.length; i += FILES_PER_CALL) bogofilter(['-d', words, flag, '-B', ...paths.slice(i, i + FILES_PER_CALL)]);
      }
      this.learnSeconds += (performance.now() - started) / 1000;
      this.learned += learn.length;
      started = performance.now();
      const spamicity = new Map<string, number>();
      for (let i = 0; i < scorePaths.length; i += FILES_PER_CALL) {
        for (const line of bogofilter(['-d', words, '-v', '-TT', '-B', ...scorePaths.slice(i, i + FILES_PER_CALL)]).split('\n')) {
          const [path, value] = line.trim().split(/\s+/);
          if (path && value !== undefined) spamicity.set(path, Number(value));
        }
      }
      this.scoreSeconds += (performance.now() - started) / 1000;
      this.scored += score.length;
      return scorePaths.map((path) => {
        const value = spamicity.get(path);
        if (value === undefined || Number.isNaN(value)) throw new Error(`bogofilter gave no spamicity for ${path}`);
        return value;
      });
    } finally {
      rmSync(words, { recursive: true, force: true });
    }
  }

  close(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}
